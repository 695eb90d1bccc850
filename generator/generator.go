// Package generator turns a loaded spec into a Buildkite pipeline.
//
// It is a pure library: the spec, the changed files, the content tags and the
// environment come in as values, a pipeline comes out. It never reads the
// environment, runs git or exits; its caller (package plan) does those and
// passes the results in, so everything here runs the same in a test.
package generator

import (
	"fmt"
	"slices"

	"github.com/bkgen/bkgen/buildenv"
	"github.com/bkgen/bkgen/changes"
	"github.com/bkgen/bkgen/diag"
	"github.com/bkgen/bkgen/spec"
)

// IfChangedMode says who evaluates if_changed.
type IfChangedMode string

const (
	EvaluateHere  IfChangedMode = "generate" // bkgen decides, and marks or drops skipped steps
	EvaluateAgent IfChangedMode = "agent"    // emit if_changed for the agent to evaluate at upload
)

// SkippedMode says what happens to a step that does not need to run.
type SkippedMode string

const (
	SkipStep SkippedMode = "skip" // keep it with `skip: "<reason>"`, as the agent does
	OmitStep SkippedMode = "omit" // leave it out and rewrite depends_on around it
)

// Input is everything a pipeline is made from.
type Input struct {
	Spec *spec.Spec
	// Env is the build's environment the pipeline depends on (its
	// organization, branch, hosted registry...), read by the caller.
	Env buildenv.Build
	// Changes is which paths changed in this build (All and Files), and
	// where the spec's root sits in the repository (Prefix, "" at the top):
	// changed paths and if_changed patterns are relative to the top, the
	// spec's contexts and Dockerfiles to its root.
	Changes changes.Result
	// ContentTags maps each image to its content tag (see package contentkey).
	ContentTags map[string]string
	IfChanged   IfChangedMode // "" means EvaluateHere
	Skipped     SkippedMode   // "" means SkipStep
	// Inputs tells, for each image, whether a path (relative to the spec's
	// root) is one of its build inputs: the Dockerfile, or a file of its
	// context that .dockerignore lets through (see contentkey.Analysis).
	// Without one, every path in the context counts.
	Inputs map[string]func(path string) bool
	// Paths is where each image's inputs are once symlinks are followed
	// (see contentkey.Paths): a symlinked context is changed by changes in
	// its target and to the symlinks themselves. Without one, an image's
	// paths are taken as the spec writes them.
	Paths map[string]ImagePaths
	// Agent is what buildkite-agent pipeline upload will take as the
	// changed files (see changes.Agent). With --if-changed agent, the
	// decisions are its; otherwise each decision says where the agent,
	// given if_changed, would decide otherwise. nil: not predicted.
	Agent *changes.AgentResult
	// MaxJobs is the most jobs one upload may hold; 0 means DefaultMaxJobs.
	MaxJobs int
	// SplitUploads: the pipeline goes up in as many uploads as it needs
	// (Pipeline.Parts), so only one step over MaxJobs is refused.
	SplitUploads bool
	// Rebuild is which images are rebuilt whatever the registry holds.
	Rebuild Rebuild
	// Literal makes a Literal pipeline, for an upload with
	// --no-interpolation: the variables the upload would fill in (the
	// hosted registry's URL) are filled in from Env now.
	Literal bool
}

// Rebuild asks for images to be rebuilt whatever the registry holds (the
// --rebuild flag, or BKGEN_REBUILD for a "rebuild" button): built even when
// their content tag is there, from freshly pulled bases and without cache,
// and every image built on one of them with it. Their consumers run, as
// for a change.
type Rebuild struct {
	All    bool
	Images []string // by name; an image's name also names its variants
	// Asked says where the rebuild was asked for, for the reasons:
	// "--rebuild base" or "BKGEN_REBUILD=all".
	Asked string
}

// fresh is the images built whatever the registry holds (see Rebuild),
// each with why, in the spec's order: an image is fresh when asked for, or
// when an image it is built on is.
func (r Rebuild) fresh(s *spec.Spec) map[string]string {
	out := map[string]string{}
	if !r.All && len(r.Images) == 0 {
		return out
	}
	for _, im := range s.Images {
		switch {
		case r.All || slices.Contains(r.Images, im.Name) || im.Of != "" && slices.Contains(r.Images, im.Of):
			out[im.Name] = "asked for by " + r.Asked
		default:
			for _, dep := range im.DependsOn {
				if _, ok := out[dep]; ok {
					out[im.Name] = "built on " + dep + ", which " + r.Asked + " rebuilds"
					break
				}
			}
		}
	}
	return out
}

// ImagePaths is where an image's inputs are, relative to the spec's root.
type ImagePaths struct {
	Context string   // the context directory, symlinks resolved
	Files   []string // the other paths whose change changes the image: its Dockerfile, ignore files, symlinks followed
}

// RegistryCheck is the outcome of looking an image's content tag up.
type RegistryCheck struct {
	Present bool   // definitely there: the build step is not needed
	Reason  string // for people: found, not there, or why it could not be checked
}

// Result is a generated pipeline and why it holds what it holds.
type Result struct {
	Pipeline  *Pipeline
	Decisions *Decisions
	Notes     []string // warnings for people: what they should know about this pipeline
	// Trust is whether the build is trusted, and where an untrusted one's
	// images go.
	Trust Trust
	// AgentNotes say, when bkgen decides, where the agent would have
	// decided otherwise with if_changed left to it, and why (see
	// StepDecision.Agent): notes about the changes, not warnings.
	AgentNotes []string
}

// Generate makes the pipeline for in. Errors are problems with the spec that
// only show with this environment (such as a registry without an org), or
// with this pipeline (its size), as a diag.List.
func Generate(in Input) (*Result, error) {
	p, err := Prepare(in)
	if err != nil {
		return nil, err
	}
	return p.Generate(nil)
}

// Prepared is an input with its registries resolved: where each image is
// pushed and how its steps log in there. --verify-registry looks its
// ContentRefs up, then Generate makes the pipeline from the same
// resolution.
type Prepared struct {
	g *gen
}

// Prepare resolves in's registries. Errors are problems with the spec that
// only show with this environment (such as a registry without an org), as a
// diag.List.
func Prepare(in Input) (*Prepared, error) {
	if in.IfChanged == "" {
		in.IfChanged = EvaluateHere
	}
	if in.Skipped == "" {
		in.Skipped = SkipStep
	}
	g := &gen{in: in, targets: map[string]*target{}, fresh: in.Rebuild.fresh(in.Spec), renewable: in.Spec.Renewable()}
	g.trust = decideTrust(in)
	if err := g.resolveTargets(); err != nil {
		return nil, err
	}
	return &Prepared{g: g}, nil
}

// Generate makes the pipeline. inRegistry is what --verify-registry found
// for each image's content tag (see ContentRefs); nil when nothing was
// looked up.
func (p *Prepared) Generate(inRegistry map[string]RegistryCheck) (*Result, error) {
	g, in := p.g, p.g.in
	// Indexing the changed paths and writing the steps' commands are
	// independent, and the two biggest jobs here: do them at once.
	decided := make(chan *decider, 1)
	go func() { decided <- newDecider(in, inRegistry, g.fresh) }()
	var steps []planned
	size := 0
	for _, im := range in.Spec.Images {
		own, err := g.imageSteps(im)
		if err == nil {
			for _, s := range own {
				size += s.size()
			}
			if size > maxPipelineBytes {
				err = diag.List{{File: in.Spec.File, Pos: im.Pos, Severity: diag.Error, Rule: "pipeline-size", Path: "images." + im.Name, Msg: fmt.Sprintf(
					"with this image's steps the pipeline passes %d MiB, more than bkgen writes: make commands, env, args or defaults smaller, or split the spec", maxPipelineBytes>>20)}}
			}
		}
		if err != nil {
			<-decided
			return nil, err
		}
		steps = append(steps, own...)
	}
	dec := <-decided
	v := dec.decide(in.Spec, func(image string) string { return g.targets[image].ref() })
	steps = append(steps, userSteps(in.Spec)...)
	steps = dependencyOrder(steps, func(p planned) *Step { return p.Step })
	pipeline := &Pipeline{Literal: in.Literal}
	decisions := &Decisions{Images: v.images}
	for i := range steps {
		s := &steps[i]
		pipeline.Steps = append(pipeline.Steps, s.Step)
		if s.user != nil {
			ds := dec.userDecisions(*s, in.IfChanged == EvaluateAgent)
			s.decision = ds[0]
			decisions.Steps = append(decisions.Steps, ds...)
			continue
		}
		s.decision = v.step(s.image, s.ref)
		decisions.Steps = append(decisions.Steps, s.decision)
	}
	res := &Result{Pipeline: pipeline, Decisions: decisions, Trust: g.trust}
	view, notes := g.agentView(steps, dec)
	if in.IfChanged == EvaluateAgent {
		for _, s := range steps {
			if s.user == nil {
				s.IfChanged = view.ifChanged[s.Step]
			}
		}
		res.Notes = notes
		if in.Agent != nil {
			g.predictAgent(steps, view, decisions, in.Agent)
		}
	} else {
		pipeline.apply(steps, in.Skipped)
		if in.Agent != nil {
			res.AgentNotes = compareAgent(steps, view, decisions, in.Agent)
		}
	}
	if err := g.checkJobs(steps, pipeline); err != nil {
		return nil, err
	}
	res.Notes = append(res.Notes, g.notes...)
	return res, nil
}

// DefaultMaxJobs is how many jobs Buildkite accepts in one upload (steps
// times their parallelism, skipped steps included), unless an
// organization's limit is raised.
const DefaultMaxJobs = 500

// checkJobs refuses a pipeline Buildkite would refuse for its jobs, at the
// step that takes it past the limit.
func (g *gen) checkJobs(steps []planned, p *Pipeline) error {
	limit := g.in.MaxJobs
	if limit == 0 {
		limit = DefaultMaxJobs
	}
	kept := make(map[*Step]bool, len(p.Steps))
	for _, s := range p.Steps {
		kept[s] = true
	}
	jobs := 0
	for _, s := range steps {
		if !kept[s.Step] {
			continue
		}
		where := "steps"
		if s.image != nil {
			where = "images." + s.image.Name
		}
		if g.in.SplitUploads {
			if n := max(1, s.Parallelism); n > limit {
				return diag.List{{File: g.in.Spec.File, Pos: s.ref.Pos, Severity: diag.Error, Rule: "job-limit", Path: where,
					Msg: fmt.Sprintf("step %s runs %d jobs, past the %d Buildkite accepts in one upload, and one step cannot be split: lower its parallelism (--max-jobs if your organization's limit is higher)", s.ref.Key, n, limit)}}
			}
			continue
		}
		if jobs += max(1, s.Parallelism); jobs > limit {
			return diag.List{{File: g.in.Spec.File, Pos: s.ref.Pos, Severity: diag.Error, Rule: "job-limit", Path: where,
				Msg: fmt.Sprintf("step %s takes the pipeline to %d jobs (parallelism counted), past the %d Buildkite accepts in one upload: leave out what does not run (--skipped omit), lower parallelism, or let bkgen upload split it into several uploads (--max-jobs if your organization's limit is higher)", s.ref.Key, jobs, limit)}}
		}
	}
	return nil
}

// ContentRef is where an image's content tag is, for --verify-registry.
type ContentRef struct {
	Ref string // repository:content-tag; "" when MissingVar leaves it unknown
	// MissingVar is the variable the reference needs (the hosted
	// registry's URL), unset in Env.
	MissingVar string
}

// ContentRefs returns each image's content-tag reference, with upload-time
// variables filled in from the input's Env.
func (p *Prepared) ContentRefs() map[string]ContentRef {
	out := map[string]ContentRef{}
	for name, t := range p.g.targets {
		ref, ok := t.baseFilled(t.ref())
		if !ok {
			out[name] = ContentRef{MissingVar: t.BaseVar}
			continue
		}
		out[name] = ContentRef{Ref: ref}
	}
	return out
}

// maxPipelineBytes bounds a pipeline: a few defaults or long commands
// repeated in hundreds of steps can make one of any size from a small spec.
const maxPipelineBytes = 10 << 20

type gen struct {
	in      Input
	targets map[string]*target // by image name
	fresh   map[string]string  // images rebuilt whatever the registry holds, with why (see Rebuild)
	// renewable: images whose build may rebuild them at run time (see
	// spec.Spec.Renewable)
	renewable map[string]bool
	trust     Trust    // whether this build is trusted (see decideTrust)
	notes     []string // for Result.Notes, each once, in the order made
}

// note adds a note for people to the result, once.
func (g *gen) note(n string) {
	if !slices.Contains(g.notes, n) {
		g.notes = append(g.notes, n)
	}
}

func (g *gen) resolveTargets() error {
	var errs diag.List
	byRegistry := map[string]*access{}
	for _, r := range g.in.Spec.Registries {
		a, err := g.access(r)
		if err != nil {
			errs = append(errs, diag.Diagnostic{File: g.in.Spec.File, Pos: r.Pos, Severity: diag.Error, Rule: "registry", Path: "registries." + r.Name, Msg: err.Error()})
			continue
		}
		byRegistry[r.Name] = a
	}
	if len(errs) > 0 {
		return errs
	}
	trust := g.trust
	for _, im := range g.in.Spec.Images {
		tag := g.in.ContentTags[im.Name]
		if tag == "" {
			return fmt.Errorf("no content tag for image %s", im.Name)
		}
		a := byRegistry[im.Registry]
		t := &target{access: a, repo: a.Base + "/" + im.Repository, tag: tag}
		switch {
		case trust.Trusted:
		case trust.Registry != "":
			// Every image of the build in the registry for untrusted builds.
			a := byRegistry[trust.Registry]
			t = &target{access: a, repo: a.Base + "/" + im.Repository, tag: tag}
		default:
			// The same repository, every tag it writes prefixed; what a
			// trusted build pushed under the content tag is as good.
			t = &target{access: a, repo: t.repo, tag: trust.TagPrefix + tag, prefix: trust.TagPrefix, trusted: t}
		}
		g.targets[im.Name] = t
	}
	return nil
}

// Trust is whether this build is trusted, by the spec's trust model, and
// where an untrusted build's images go.
type Trust struct {
	Model   bool // the spec has a trust model
	Trusted bool
	Reason  string
	// An untrusted build's images go under TagPrefix in their own
	// repositories, or to Registry.
	TagPrefix, Registry string
}

// String says it for people, in a line.
func (t Trust) String() string {
	switch {
	case t.Trusted:
		return "trusted build: " + t.Reason
	case t.Registry != "":
		return "untrusted build: " + t.Reason + "; its images go to registry " + t.Registry + ", which trusted builds never read"
	}
	return "untrusted build: " + t.Reason + "; every tag it writes starts " + t.TagPrefix + ", which trusted builds never read, and it reuses what trusted builds pushed"
}

// decideTrust decides whether the build is trusted: every build is,
// without a trust model in the spec.
func decideTrust(in Input) Trust {
	t := in.Spec.Trust
	if t == nil {
		return Trust{Trusted: true, Reason: "the spec has no trust model"}
	}
	env := in.Env
	ok, why := t.Trusted(env.Branch, env.PullRequest, env.DefaultBranch())
	return Trust{Model: true, Trusted: ok, Reason: why, TagPrefix: t.TagPrefix, Registry: t.Registry}
}

// target is where one image is pushed, under its content tag.
type target struct {
	*access
	repo string // repository reference without a tag
	tag  string // content tag, with prefix
	// prefix starts every tag an untrusted build writes ("" for a trusted
	// one), and trusted is where a trusted build pushes the same image,
	// which an untrusted build reuses (nil when it may not).
	prefix  string
	trusted *target
}

// tagged is the reference of one of the image's other tags (extra tags),
// prefixed as the build's tags are.
func (t *target) tagged(tag string) string { return t.repo + ":" + t.prefix + tag }

// cacheTagged is the reference of one of its registry cache's tags, in the
// registry's cache repository (see provider.Access.CacheRepoSuffix).
func (t *target) cacheTagged(tag string) string {
	return t.repo + t.CacheRepoSuffix + ":" + t.prefix + tag
}

func (t *target) ref() string { return t.repo + ":" + t.tag }

func metaKey(im *spec.Image) string { return "bkgen:image:" + im.Name }
