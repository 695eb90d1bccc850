// Package plan makes bkgen's plan: it loads a repository's spec, works out
// what changed in this build (package changes) and what each image is built
// from (package contentkey), looks content tags up in the registries when
// asked, and generates the pipeline (package generator). Every command that
// makes a pipeline is its flags and one call to Make; lint is Load and
// Check.
//
// It reads the repository and runs git, and with Verify asks registries;
// the environment it is given as a value (package buildenv).
package plan

import (
	"cmp"
	"context"
	"io"
	"time"

	"github.com/bkgen/bkgen/buildenv"
	"github.com/bkgen/bkgen/changes"
	"github.com/bkgen/bkgen/contentkey"
	"github.com/bkgen/bkgen/generator"
	"github.com/bkgen/bkgen/spec"
)

// Options is what a plan is made from: bkgen's flags and the build's
// environment.
type Options struct {
	Dir      string // the repository root (bkgen -C); "" is the working directory
	SpecFile string // the spec, relative to Dir or absolute inside it; "" is DefaultSpec
	Env      buildenv.Build

	// How the changed files are found, first rule that applies (see
	// package changes): every path counts as changed with All, or when the
	// agent evaluates if_changed (IfChanged is EvaluateAgent); else the
	// list in the file ChangedFiles ("-" reads Stdin); else git, from
	// DiffBase or the build's environment.
	All          bool
	ChangedFiles string
	Stdin        io.Reader
	DiffBase     string

	IfChanged generator.IfChangedMode // "" is EvaluateHere
	Skipped   generator.SkippedMode   // "" is SkipStep
	MaxJobs   int                     // 0 is generator.DefaultMaxJobs
	// SplitUploads: the pipeline may go up in several uploads of at most
	// MaxJobs jobs (Pipeline.Parts), as bkgen upload does.
	SplitUploads bool
	// Literal makes the pipeline for an upload without interpolation.
	Literal bool
	// Verify looks content tags up in the registries (--verify-registry);
	// nil looks nothing up.
	Verify *Verify
	// Rebuild names the images to rebuild whatever the registry holds
	// (--rebuild, each "all" or names); without any, Env.Rebuild does.
	Rebuild []string
}

// Plan is a generated pipeline with what went into it.
type Plan struct {
	Spec    *spec.Spec
	Changes changes.Result       // what changed and how that was found, with notes for people
	Agent   changes.AgentResult  // what buildkite-agent pipeline upload will take as changed
	Keys    *contentkey.Analysis // each image's content tag, and which paths are its inputs
	Result  *generator.Result    // the pipeline, and why each image and step is in it as it is
}

// Make makes the plan. Errors are a *ReadError when the spec cannot be
// read, a diag.List of every problem with the spec, at its position, or
// what else stopped it.
func Make(ctx context.Context, o Options) (*Plan, error) {
	dir := root(o.Dir)
	s, err := Load(dir, o.SpecFile)
	if err != nil {
		return nil, err
	}
	rb, err := rebuild(s, o.Rebuild, o.Env.Rebuild)
	if err != nil {
		return nil, err
	}
	// Content tags and changed files are independent reads of the checkout:
	// do both at once.
	changesDone := make(chan changes.Result, 1)
	var agent changes.AgentResult
	go func() {
		// The agent's answer first: finding bkgen's own may deepen a
		// shallow clone, which would change what the agent computes.
		agent = changes.Agent(ctx, changes.AgentOptions{Dir: dir, Env: o.Env})
		changesDone <- o.changes(ctx, dir, agent)
	}()
	// With --verify-registry each image's external bases are looked up,
	// for its content tag, while git works.
	var baseNotes []string
	if o.Verify != nil {
		baseNotes = o.Verify.resolveBases(ctx, dir, s, o.Env)
	}
	keys, err := analyzeImages(ctx, dir, s)
	found := <-changesDone
	if err != nil {
		return nil, err
	}
	in := input(s, keys, found, o.Env, o.MaxJobs)
	in.IfChanged, in.Skipped, in.Literal, in.SplitUploads = o.IfChanged, o.Skipped, o.Literal, o.SplitUploads
	in.Agent = &agent
	in.Rebuild = rb
	prepared, err := generator.Prepare(in)
	if err != nil {
		return nil, err
	}
	var inRegistry map[string]generator.RegistryCheck
	if o.Verify != nil {
		inRegistry = o.Verify.lookUp(ctx, s, prepared.ContentRefs(), o.Env)
	}
	res, err := prepared.Generate(inRegistry)
	if err != nil {
		return nil, err
	}
	found.Notes = append(found.Notes, res.AgentNotes...)
	res.Notes = append(res.Notes, baseNotes...)
	if agent.Fails != "" {
		res.Notes = append(res.Notes, "buildkite-agent pipeline upload fails in this environment: "+agent.Fails)
	}
	return &Plan{Spec: s, Changes: found, Agent: agent, Keys: keys, Result: res}, nil
}

// input is what the generator makes the pipeline from, for Make and Check.
func input(s *spec.Spec, keys *contentkey.Analysis, found changes.Result, env buildenv.Build, maxJobs int) generator.Input {
	return generator.Input{
		Spec:        s,
		Env:         env,
		Changes:     found,
		ContentTags: keys.Tags,
		Inputs:      keys.Inputs,
		Paths:       imagePaths(keys.Paths),
		MaxJobs:     maxJobs,
	}
}

// root is the repository root a caller means.
func root(dir string) string { return cmp.Or(dir, ".") }

// changes works out which paths changed, how that was found, and where the
// spec's root sits in the repository (paths from git are relative to its
// top level). With --if-changed agent they are the agent's (found).
func (o *Options) changes(ctx context.Context, dir string, agent changes.AgentResult) changes.Result {
	switch {
	case o.All:
		return changes.Result{All: true, Reason: "--all"}
	case o.IfChanged == generator.EvaluateAgent:
		return changes.FromAgent(ctx, dir, agent)
	}
	var finder changes.LastPassedFinder
	var notes []string
	if o.Env.APIToken != "" {
		fd, err := changes.NewBuildkiteFinder(o.Env.APIToken, o.Env.OrganizationSlug, o.Env.PipelineSlug, "", 10*time.Second)
		if err != nil {
			notes = append(notes, "not asking Buildkite for the last passed build: "+err.Error())
		} else {
			finder = fd
		}
	}
	res := changes.Detect(ctx, changes.Options{
		Dir:              dir,
		ChangedFilesPath: o.ChangedFiles,
		Stdin:            o.Stdin,
		DiffBase:         o.DiffBase,
		Env:              o.Env,
		Builds:           finder,
	})
	res.Notes = append(notes, res.Notes...)
	return res
}
