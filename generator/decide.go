package generator

import (
	"fmt"
	"path"
	"slices"
	"strings"

	"github.com/bkgen/bkgen/glob"
	"github.com/bkgen/bkgen/internal/pipetext"
	"github.com/bkgen/bkgen/spec"
)

// BuildAction is what happens to an image in this build.
type BuildAction string

const (
	Build BuildAction = "build" // its inputs changed: build and push it
	Guard BuildAction = "guard" // unchanged, but needed: the step checks the content tag and builds only if it is missing
	Reuse BuildAction = "reuse" // --verify-registry found the content tag: no build step
	Skip  BuildAction = "skip"  // unchanged and nothing needs it
)

// ImageDecision is why an image is built, guarded, reused or skipped.
type ImageDecision struct {
	Name     string
	Ref      string // repository:content-tag
	Changed  bool   // its inputs changed
	Evidence string // the decisive evidence for Changed
	Action   BuildAction
	Reason   string // why Action
	// Fresh: rebuilt whatever the registry holds, from fresh bases and
	// without cache (see Rebuild).
	Fresh bool
}

// StepDecision is why a step runs or not.
type StepDecision struct {
	Key    string
	Image  string
	Kind   spec.StepKind
	Run    bool
	Reason string
	// Agent, when bkgen decides, is what the agent would do instead had
	// the pipeline left if_changed to it (--if-changed agent), where that
	// differs from Run; nil where it agrees or cannot be told.
	Agent *AgentVerdict
}

// Decisions is every image's and step's decision, in pipeline order: what
// stderr reports and `bkgen preview` shows.
type Decisions struct {
	Images []*ImageDecision
	Steps  []*StepDecision
}

// decider evaluates if_changed rules against the changed paths.
type decider struct {
	in         Input
	inRegistry map[string]RegistryCheck // what --verify-registry found, by image
	fresh      map[string]string        // images rebuilt whatever the registry holds, with why
	index      *glob.Index
}

func newDecider(in Input, inRegistry map[string]RegistryCheck, fresh map[string]string) *decider {
	d := &decider{in: in, inRegistry: inRegistry, fresh: fresh}
	if !in.Changes.All {
		d.index = glob.NewIndex(in.Changes.Files)
	}
	return d
}

// evaluate says whether a rule matches, with the evidence either way.
//
// Paths and patterns in a reason come from the pull request: each goes
// through pipetext.Display, so a reason stays one plain line on stderr, in a
// preview and in a step's skip attribute.
func (d *decider) evaluate(r glob.Rule) (bool, string) {
	if d.index == nil {
		return true, "every path counts as changed"
	}
	return explain(d.index, r)
}

// explain evaluates a rule against indexed changed paths, with the
// evidence either way.
func explain(ix *glob.Index, r glob.Rule) (bool, string) {
	res := ix.Evaluate(r)
	switch {
	case res.Matched:
		return true, fmt.Sprintf("%s matched %s", pipetext.Display(res.Path), pipetext.Display(res.Include.String()))
	case res.ExcludedPath != "":
		return false, fmt.Sprintf("%s matched but is excluded by %s", pipetext.Display(res.ExcludedPath), pipetext.Display(res.ExcludedBy.String()))
	case ix.Len() == 0:
		return false, "no path changed"
	}
	return false, "no changed path matched " + patternList(r.Include)
}

func patternList(ps []*glob.Pattern) string {
	names := make([]string, len(ps))
	for i, p := range ps {
		names[i] = pipetext.Display(p.String())
	}
	return strings.Join(names, ", ")
}

// rule is an if_changed as a glob rule; the spec loader has compiled the
// spec's own patterns, so only those bkgen derives are compiled here.
func rule(ic *spec.IfChanged) glob.Rule {
	var r glob.Rule
	for _, p := range ic.Include {
		r.Include = append(r.Include, compiled(p))
	}
	for _, p := range ic.Exclude {
		r.Exclude = append(r.Exclude, compiled(p))
	}
	return r
}

func compiled(p spec.Pattern) *glob.Pattern {
	if p.Glob != nil {
		return p.Glob
	}
	g, err := glob.Compile(p.Text)
	if err != nil {
		// Derived patterns are escaped paths: one that does not compile is a bug here.
		panic(fmt.Sprintf("derived pattern %q does not compile: %v", p.Text, err))
	}
	return g
}

// paths is where an image's inputs are: as the caller found them on disk,
// or else as the spec names them.
func (d *decider) paths(im *spec.Image) ImagePaths {
	if p, ok := d.in.Paths[im.Name]; ok {
		return p
	}
	return ImagePaths{Context: im.Context, Files: []string{im.Dockerfile, im.Dockerfile + ".dockerignore"}}
}

// imageInputs is an image's if_changed, or, without one, its context and the
// other paths of its inputs, as patterns relative to the repository root.
func (d *decider) imageInputs(im *spec.Image) *spec.IfChanged {
	if im.IfChanged != nil {
		return im.IfChanged
	}
	prefix := d.in.Changes.Prefix
	paths := d.paths(im)
	var ic spec.IfChanged
	ctx := path.Join(prefix, paths.Context)
	if ctx == "." {
		return &spec.IfChanged{Include: []spec.Pattern{{Text: "**"}}}
	}
	ic.Include = append(ic.Include, spec.Pattern{Text: escapeGlob(ctx) + "/**"})
	for _, f := range paths.Files {
		if f = path.Join(prefix, f); !strings.HasPrefix(f, ctx+"/") {
			ic.Include = append(ic.Include, spec.Pattern{Text: escapeGlob(f)})
		}
	}
	return &ic
}

// contextChanged is evaluate for an image without if_changed, knowing which
// paths are its inputs: a change to a file .dockerignore keeps out of the
// context cannot change the image, so it does not count.
func (d *decider) contextChanged(im *spec.Image, isInput func(string) bool) (bool, string) {
	prefix := d.in.Changes.Prefix
	if prefix != "" {
		prefix += "/"
	}
	paths := d.paths(im)
	ctx := path.Join(d.in.Changes.Prefix, paths.Context)
	under := ctx + "/"
	if ctx == "." {
		under = ""
	}
	ignored := ""
	check := func(p string) bool {
		if !strings.HasPrefix(p, prefix) {
			return false
		}
		if isInput(p[len(prefix):]) {
			return true
		}
		if ignored == "" {
			ignored = p
		}
		return false
	}
	for _, p := range d.index.Under(under) {
		if check(p) {
			return true, fmt.Sprintf("%s is in its build context", pipetext.Display(p))
		}
	}
	// The Dockerfile, its ignore file and the symlinks that lead to them
	// and to the context may lie outside it.
	for _, f := range paths.Files {
		p := path.Join(d.in.Changes.Prefix, f)
		for _, q := range d.index.Under(p) {
			if q == p && check(q) {
				return true, fmt.Sprintf("%s changed", pipetext.Display(p))
			}
		}
	}
	if ignored != "" {
		return false, fmt.Sprintf("only .dockerignore'd files changed in its context (%s)", pipetext.Display(ignored))
	}
	if under == "" {
		return false, "nothing changed in the repository"
	}
	return false, "nothing changed in " + pipetext.Display(under)
}

// escapeGlob makes a path match only itself.
func escapeGlob(p string) string {
	var b strings.Builder
	for _, r := range p {
		if strings.ContainsRune(`*?[]{}\,`, r) {
			b.WriteByte('\\')
		}
		b.WriteRune(r)
	}
	return b.String()
}

// verdicts is what decide found: each image's decision, and whether each
// consumer runs.
type verdicts struct {
	images    []*ImageDecision // in the spec's order
	byName    map[string]*ImageDecision
	consumers map[*spec.Consumer]verdict
}

// verdict is whether a step runs, and why.
type verdict struct {
	run    bool
	reason string
}

// decide works out, for every image, whether it changed and what happens to
// it, and for every consumer whether it runs; ref names an image's
// content-tag reference.
func (d *decider) decide(s *spec.Spec, ref func(image string) string) *verdicts {
	v := &verdicts{byName: map[string]*ImageDecision{}, consumers: map[*spec.Consumer]verdict{}}
	consumersRun := map[string][]string{} // image -> keys of its consumers that run
	for _, im := range s.Images {
		id := d.imageChanged(im, v.byName)
		id.Ref = ref(im.Name)
		v.byName[im.Name] = id
		v.images = append(v.images, id)
		for _, c := range im.Consumers {
			cv := d.consumerRuns(im, c, id)
			if cv.run {
				consumersRun[im.Name] = append(consumersRun[im.Name], spec.ConsumerKey(im, c))
			}
			v.consumers[c] = cv
		}
	}
	d.chooseActions(s, v.byName, consumersRun)
	return v
}

// imageChanged decides whether im's inputs changed, or those of an image it
// is built on (decided already: the spec lists those first).
func (d *decider) imageChanged(im *spec.Image, decided map[string]*ImageDecision) *ImageDecision {
	id := &ImageDecision{Name: im.Name}
	if why, ok := d.fresh[im.Name]; ok {
		id.Changed, id.Evidence, id.Fresh = true, why, true
		return id
	}
	if filter := d.in.Inputs[im.Name]; filter != nil && im.IfChanged == nil && d.index != nil {
		id.Changed, id.Evidence = d.contextChanged(im, filter)
	} else {
		id.Changed, id.Evidence = d.evaluate(rule(d.imageInputs(im)))
	}
	for _, dep := range im.DependsOn {
		if !id.Changed && decided[dep].Changed {
			id.Changed, id.Evidence = true, "depends on "+dep+", which changed"
		}
	}
	return id
}

// consumerRuns decides whether a consumer runs: always without if_changed,
// else when it matches or its image changed.
func (d *decider) consumerRuns(im *spec.Image, c *spec.Consumer, id *ImageDecision) verdict {
	if c.IfChanged == nil {
		return verdict{true, "no if_changed: always runs"}
	}
	matched, why := d.evaluate(rule(c.IfChanged))
	switch {
	case matched:
		return verdict{true, why}
	case id.Changed:
		return verdict{true, "image " + im.Name + " changed: " + id.Evidence}
	}
	return verdict{false, why}
}

// chooseActions decides what happens to each image. An image is needed when
// it changed, when a consumer runs in it, or when the build of an image on
// top of it runs. Dependents come later in the spec's order, so walk it
// backwards.
func (d *decider) chooseActions(s *spec.Spec, byName map[string]*ImageDecision, consumersRun map[string][]string) {
	needed := map[string]string{}
	for i := len(s.Images) - 1; i >= 0; i-- {
		im := s.Images[i]
		id := byName[im.Name]
		switch {
		case id.Fresh:
			id.Action, id.Reason = Build, "rebuilt from fresh bases, without cache, whatever the registry holds: "+id.Evidence
		case id.Changed:
			id.Action, id.Reason = Build, "inputs changed: "+id.Evidence
		case len(consumersRun[im.Name]) > 0:
			id.Action, id.Reason = Guard, "inputs unchanged, but "+consumersRun[im.Name][0]+" runs in it"
		case needed[im.Name] != "":
			id.Action, id.Reason = Guard, "inputs unchanged, but "+needed[im.Name]+" is built on it"
		default:
			id.Action, id.Reason = Skip, id.Evidence+"; nothing runs in it"
		}
		if check, ok := d.inRegistry[im.Name]; ok && id.Action != Skip && !id.Fresh {
			if check.Present {
				id.Action, id.Reason = Reuse, check.Reason
			} else {
				id.Reason += "; " + check.Reason
			}
		}
		if id.Action == Guard {
			id.Reason += "; the step builds only if its content tag is missing"
		}
		if id.Action == Build || id.Action == Guard {
			for _, dep := range im.DependsOn {
				if needed[dep] == "" {
					needed[dep] = im.Name
				}
			}
		}
	}
}

// step is the decision about one step of im: a consumer's own, the
// image's other steps following its build.
func (v *verdicts) step(im *spec.Image, ref spec.StepRef) *StepDecision {
	sd := &StepDecision{Key: ref.Key, Image: im.Name, Kind: ref.Kind}
	if ref.Kind == spec.ConsumerStep {
		c := v.consumers[ref.Consumer]
		sd.Run, sd.Reason = c.run, c.reason
		return sd
	}
	id := v.byName[im.Name]
	sd.Run, sd.Reason = id.Action == Build || id.Action == Guard, id.Reason
	if ref.Kind == spec.ScanStep && sd.Run {
		sd.Reason = "scans what " + spec.FinalKey(im) + " pushes"
	}
	if ref.Kind == spec.OutputStep && sd.Run {
		sd.Reason = "takes " + ref.Output.From + " out of what " + spec.FinalKey(im) + " pushes"
	}
	return sd
}

// skipReason is the reason put in a step's skip attribute, which Buildkite
// limits to 70 characters.
func skipReason(reason string) string {
	const limit = 70
	r := []rune(reason)
	if len(r) <= limit {
		return reason
	}
	return string(r[:limit-1]) + "…"
}

// apply marks the steps that need not run with skip, or leaves them out and
// rewrites every depends_on on them to what they depended on, so the graph
// stays whole.
func (p *Pipeline) apply(steps []planned, mode SkippedMode) {
	if mode == SkipStep {
		for _, s := range steps {
			if !s.decision.Run && s.user == nil { // userDecisions skipped the spec's own
				s.Skip = skipReason(s.decision.Reason)
			}
		}
		return
	}
	dropped := map[string][]string{} // key -> what it depended on
	var kept []*Step
	for _, s := range steps {
		if !s.decision.Run && s.user == nil { // the spec's own steps stay, skipped
			dropped[s.Key] = s.DependsOn
			continue
		}
		kept = append(kept, s.Step)
	}
	var resolve func(key string, seen map[string]bool, out *[]string)
	resolve = func(key string, seen map[string]bool, out *[]string) {
		deps, gone := dropped[key]
		if !gone {
			if !seen[key] {
				seen[key] = true
				*out = append(*out, key)
			}
			return
		}
		for _, dep := range deps {
			resolve(dep, seen, out)
		}
	}
	for _, s := range kept {
		var deps []string
		seen := map[string]bool{}
		for _, dep := range s.DependsOn {
			resolve(dep, seen, &deps)
		}
		if s.Raw != nil && !slices.Equal(deps, s.DependsOn) {
			s.Rewired = true
		}
		s.DependsOn = deps
	}
	p.Steps = kept
}

// agentView works out the if_changed that bkgen leaves to the agent to
// evaluate at upload (--if-changed agent), where the agent can honour it
// without breaking what bkgen guarantees: a consumer carries its own
// patterns plus its image's inputs (those of the images it is built on
// included), since it also runs when its image changed; an image's steps
// carry its inputs only when nothing else needs the image (otherwise they
// always run, the guard keeping an unchanged image cheap). Exclude patterns
// cannot be merged that way: such a consumer keeps its own patterns, and a
// note says what the agent will not see. The spec's own steps carry their
// own if_changed. Nothing is written into the steps: with --if-changed
// agent the caller does that; otherwise the view says what the agent would
// have done.
func (g *gen) agentView(steps []planned, d *decider) (agentView, []string) {
	view := agentView{ifChanged: map[*Step]*spec.IfChanged{}, evaluated: map[*Step]bool{}}
	var notes []string
	needed := map[string]bool{}
	for _, im := range g.in.Spec.Images {
		if _, fresh := g.fresh[im.Name]; fresh || len(im.Consumers) > 0 {
			needed[im.Name] = true
		}
		for _, dep := range im.DependsOn {
			needed[dep] = true
		}
	}
	var ofImages []planned
	for _, s := range steps {
		if s.user == nil {
			ofImages = append(ofImages, s)
		}
	}
	walkSteps(steps, func(s *Step, us *spec.UserStep, _ *Step) {
		if us != nil {
			view.ifChanged[s], view.evaluated[s] = us.IfChanged, agentEvaluated[us.Kind]
		} else {
			view.evaluated[s] = true // bkgen's own steps are command steps
		}
	})
	for _, own := range byImage(ofImages) {
		im := own[0].image
		inputs, mergeable := d.allInputs(im, g.in.Spec)
		var imageIC *spec.IfChanged // on the image's steps, when nothing else needs it
		if !needed[im.Name] {
			ic := *d.imageInputs(im)
			if mergeable {
				ic.Include = union(nil, inputs)
			}
			imageIC = &ic
		}
		for _, s := range own {
			if s.ref.Kind != spec.ConsumerStep {
				view.ifChanged[s.Step] = imageIC
				continue
			}
			if _, fresh := g.fresh[im.Name]; fresh || s.ref.Consumer.IfChanged == nil {
				continue // runs: a rebuilt image is tested as a changed one is
			}
			ic := *s.ref.Consumer.IfChanged
			if mergeable && len(ic.Exclude) == 0 {
				ic.Include = union(ic.Include, inputs)
			} else {
				notes = append(notes, fmt.Sprintf("%s: the agent sees only its own if_changed; it will not also run when image %s changes (exclude patterns cannot be merged)", s.Key, im.Name))
			}
			view.ifChanged[s.Step] = &ic
		}
	}
	return view, notes
}

// byImage splits the steps into runs of one image's steps.
func byImage(steps []planned) [][]planned {
	var out [][]planned
	for i, s := range steps {
		if i == 0 || s.image != steps[i-1].image {
			out = append(out, nil)
		}
		out[len(out)-1] = append(out[len(out)-1], s)
	}
	return out
}

// allInputs is the include patterns of an image's inputs and of every image
// it is built on; mergeable is false when one of them has excludes.
func (d *decider) allInputs(im *spec.Image, s *spec.Spec) ([]spec.Pattern, bool) {
	var out []spec.Pattern
	mergeable := true
	seen := map[string]bool{}
	var visit func(im *spec.Image)
	visit = func(im *spec.Image) {
		if seen[im.Name] {
			return
		}
		seen[im.Name] = true
		in := d.imageInputs(im)
		if len(in.Exclude) > 0 {
			mergeable = false
		}
		out = append(out, in.Include...)
		for _, dep := range im.DependsOn {
			visit(s.Image(dep))
		}
	}
	visit(im)
	return out, mergeable
}

// union appends the patterns of b not already in a.
func union(a, b []spec.Pattern) []spec.Pattern {
	out := append([]spec.Pattern{}, a...)
	seen := map[string]bool{}
	for _, p := range out {
		seen[p.Text] = true
	}
	for _, p := range b {
		if !seen[p.Text] {
			seen[p.Text] = true
			out = append(out, p)
		}
	}
	return out
}
