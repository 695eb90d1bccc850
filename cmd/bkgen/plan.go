package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"github.com/bkgen/bkgen/diag"
	"io/fs"
	"path/filepath"
	"strings"
	"time"

	"github.com/bkgen/bkgen/buildenv"
	"github.com/bkgen/bkgen/changes"
	"github.com/bkgen/bkgen/contentkey"
	"github.com/bkgen/bkgen/generator"
	"github.com/bkgen/bkgen/internal/inroot"
	"github.com/bkgen/bkgen/internal/plural"
	"github.com/bkgen/bkgen/spec"
)

// planFlags are the flags of every command that makes a pipeline.
type planFlags struct {
	dir             string
	specPath        string
	changedFiles    string
	diffBase        string
	all             bool
	ifChanged       string
	skipped         string
	verifyRegistry  bool
	registryTimeout time.Duration
	maxJobs         int
	quiet           bool
	// literal: the pipeline is for an upload without interpolation (set by
	// generate --no-interpolation, or upload from the agent's arguments).
	literal bool
}

const defaultSpec = ".buildkite/bkgen.yml"

func (f *planFlags) register(fs *flag.FlagSet) {
	fs.StringVar(&f.dir, "C", ".", "run as if bkgen was started in `DIR` (the repository root)")
	fs.StringVar(&f.specPath, "spec", defaultSpec, "the spec `FILE`, relative to the repository root")
	fs.StringVar(&f.specPath, "f", defaultSpec, "the spec `FILE`, relative to the repository root")
	fs.StringVar(&f.changedFiles, "changed-files", "", "read the changed paths from `FILE`, one a line (- reads stdin); also $BUILDKITE_CHANGED_FILES_PATH")
	fs.StringVar(&f.diffBase, "diff-base", "", "compare HEAD with the merge-base of `REF`; also $BUILDKITE_GIT_DIFF_BASE")
	fs.BoolVar(&f.all, "all", false, "treat every path as changed")
	fs.StringVar(&f.ifChanged, "if-changed", string(generator.EvaluateHere), "`generate`: evaluate if_changed here; agent: emit if_changed for the agent")
	fs.StringVar(&f.skipped, "skipped", string(generator.SkipStep), "steps that need not run: `skip` keeps them with skip: REASON; omit leaves them out")
	fs.BoolVar(&f.verifyRegistry, "verify-registry", false, "look content tags up in the registries now, and leave out builds of images already there")
	fs.DurationVar(&f.registryTimeout, "registry-timeout", 10*time.Second, "with --verify-registry, give up on one lookup after `DURATION` (and keep its build step)")
	fs.BoolVar(&f.quiet, "quiet", false, "do not report the decisions on stderr")
	fs.BoolVar(&f.quiet, "q", false, "do not report the decisions on stderr")
	f.registerMaxJobs(fs)
}

func (f *planFlags) registerMaxJobs(fs *flag.FlagSet) {
	fs.IntVar(&f.maxJobs, "max-jobs", generator.DefaultMaxJobs, "refuse a pipeline of more than `N` jobs (parallelism counted), Buildkite's limit for one upload unless your organization's is raised")
}

func (f *planFlags) validate() error {
	if f.maxJobs < 1 {
		return fmt.Errorf("--max-jobs must be at least 1, not %d", f.maxJobs)
	}
	switch generator.IfChangedMode(f.ifChanged) {
	case generator.EvaluateHere, generator.EvaluateAgent:
	default:
		return fmt.Errorf("--if-changed must be generate or agent, not %q", f.ifChanged)
	}
	switch generator.SkippedMode(f.skipped) {
	case generator.SkipStep, generator.OmitStep:
	default:
		return fmt.Errorf("--skipped must be skip or omit, not %q", f.skipped)
	}
	if f.all && (f.changedFiles != "" || f.diffBase != "") {
		return errors.New("--all cannot be combined with --changed-files or --diff-base")
	}
	return nil
}

// planned is a generated pipeline with what went into it.
type planned struct {
	spec    *spec.Spec
	result  *generator.Result
	changes changes.Result
	inputs  map[string]func(string) bool // by image: is a path one of its build inputs
}

// plan loads the spec, works out what changed and generates the pipeline.
// Problems are reported on stderr; the status is exitUsage for a bad spec.
func (ctx *cmdContext) plan(f *planFlags) (*planned, int) {
	if err := f.validate(); err != nil {
		fmt.Fprintf(ctx.io.err, "bkgen: %v\n", err)
		return nil, exitUsage
	}
	s, status := ctx.loadSpec(f)
	if s == nil {
		return nil, status
	}
	bg := context.Background()
	// Content tags and changed files are independent reads of the checkout:
	// do both at once.
	changesDone := make(chan changes.Result, 1)
	go func() { changesDone <- ctx.changes(bg, f) }()
	keys, err := analyzeImages(bg, f.dir, s)
	found := <-changesDone
	if err != nil {
		ctx.printError(err)
		return nil, exitUsage
	}
	in := generator.Input{
		Spec:        s,
		Env:         buildenv.Read(ctx.getenv),
		Changes:     found,
		ContentTags: keys.Tags,
		Inputs:      keys.Inputs,
		Paths:       imagePaths(keys.Paths),
		IfChanged:   generator.IfChangedMode(f.ifChanged),
		Skipped:     generator.SkippedMode(f.skipped),
		MaxJobs:     f.maxJobs,
		Literal:     f.literal,
	}
	prepared, err := generator.Prepare(in)
	if err != nil {
		ctx.printError(err)
		return nil, exitUsage
	}
	var inRegistry map[string]generator.RegistryCheck
	if f.verifyRegistry {
		inRegistry = verifyRegistry(bg, s, prepared.ContentRefs(), in.Env.InJob, f.registryTimeout)
	}
	res, err := prepared.Generate(inRegistry)
	if err != nil {
		ctx.printError(err)
		return nil, exitUsage
	}
	p := &planned{spec: s, result: res, changes: found, inputs: keys.Inputs}
	for _, n := range res.Notes {
		fmt.Fprintf(ctx.io.err, "bkgen: warning: %s\n", n)
	}
	if !f.quiet {
		ctx.report(p)
	}
	return p, exitOK
}

// report writes how the changes were found and every decision to stderr,
// where they never mix with a pipeline on stdout.
func (ctx *cmdContext) report(p *planned) {
	w := ctx.io.err
	c := p.changes
	if c.All {
		fmt.Fprintf(w, "bkgen: every path counts as changed: %s\n", c.Reason)
	} else {
		fmt.Fprintf(w, "bkgen: %s: %s\n", plural.Count(len(c.Files), "changed file"), c.Reason)
	}
	for _, n := range c.Notes {
		fmt.Fprintf(w, "bkgen: note: %s\n", n)
	}
	for _, im := range p.result.Decisions.Images {
		fmt.Fprintf(w, "bkgen: image %s: %s (%s)\n", im.Name, im.Action, im.Reason)
	}
	for _, s := range p.result.Decisions.Steps {
		state := "runs"
		if !s.Run {
			state = "skipped"
		}
		fmt.Fprintf(w, "bkgen: step %s %s: %s\n", s.Key, state, s.Reason)
	}
}

// changes works out which paths changed, how that was found, and where the
// spec's root sits in the repository (paths from git are relative to its
// top level).
func (ctx *cmdContext) changes(bg context.Context, f *planFlags) changes.Result {
	if f.all || generator.IfChangedMode(f.ifChanged) == generator.EvaluateAgent {
		reason := "--all"
		if !f.all {
			reason = "--if-changed agent: the agent evaluates if_changed when the pipeline is uploaded"
		}
		return changes.Result{All: true, Reason: reason}
	}
	var finder changes.LastPassedFinder
	var notes []string
	env := buildenv.Read(ctx.getenv)
	if env.APIToken != "" {
		fd, err := changes.NewBuildkiteFinder(env.APIToken, env.OrganizationSlug, env.PipelineSlug, "", 10*time.Second)
		if err != nil {
			notes = append(notes, "not asking Buildkite for the last passed build: "+err.Error())
		} else {
			finder = fd
		}
	}
	res := changes.Detect(bg, changes.Options{
		Dir:              f.dir,
		ChangedFilesPath: f.path(f.changedFiles),
		Stdin:            ctx.io.in,
		DiffBase:         f.diffBase,
		Env:              env,
		Builds:           finder,
	})
	res.Notes = append(notes, res.Notes...)
	return res
}

// path resolves a file named on the command line: like git -C, -C DIR makes
// every relative path relative to DIR.
func (f *planFlags) path(name string) string {
	if name == "" || name == "-" || filepath.IsAbs(name) {
		return name
	}
	return filepath.Join(f.dir, name)
}

// loadSpec reads and validates the spec, printing every problem.
func (ctx *cmdContext) loadSpec(f *planFlags) (*spec.Spec, int) {
	file, src, ok := ctx.readSpec(f, "bkgen", "use -f to name another file")
	if !ok {
		return nil, exitUsage
	}
	s, err := spec.Load(file, src)
	if err != nil {
		ctx.printError(err)
		return nil, exitUsage
	}
	return s, exitOK
}

// specLimit bounds the spec: a real one is a few kilobytes.
var specLimit = inroot.Limit{Bytes: 1 << 20, Of: "a spec"}

// readSpec reads the spec for every command, and returns it with its path
// relative to the repository root. The spec comes with the commit, from
// whoever wrote it: it must be a regular file inside the root, where a
// symlink may lead elsewhere inside but never out (to a private key, say,
// that errors about the spec would print), and of a spec's size. Problems
// are printed, prefixed with cmd, naming the spec relative to the root.
func (ctx *cmdContext) readSpec(f *planFlags, cmd, hint string) (string, []byte, bool) {
	file := filepath.ToSlash(filepath.Clean(f.specPath))
	if filepath.IsAbs(f.specPath) {
		// Named on the command line: say nothing of this machine's paths.
		root, err := filepath.Abs(f.dir)
		if err == nil {
			file, err = filepath.Rel(root, f.specPath)
			file = filepath.ToSlash(file)
		}
		if err != nil || file == ".." || strings.HasPrefix(file, "../") {
			fmt.Fprintf(ctx.io.err, "%s: the spec must be inside the repository root (the -C directory)\n", cmd)
			return "", nil, false
		}
	}
	src, _, err := inroot.ReadFile(f.dir, file, specLimit)
	switch {
	case errors.Is(err, fs.ErrNotExist):
		fmt.Fprintf(ctx.io.err, "%s: no spec at %s (%s)\n", cmd, file, hint)
	case err != nil:
		fmt.Fprintf(ctx.io.err, "%s: cannot read the spec: %v\n", cmd, err)
	}
	return file, src, err == nil
}

func (ctx *cmdContext) printError(err error) {
	var errs diag.List
	if errors.As(err, &errs) {
		for _, e := range errs {
			fmt.Fprintln(ctx.io.err, e)
		}
		return
	}
	fmt.Fprintf(ctx.io.err, "bkgen: %v\n", err)
}

// analyzeImages reads what each image of the spec is built from: its
// content tag, and which paths are its inputs. A problem with an image's
// files (a missing context, a Dockerfile that is not a regular file, a bad
// ignore file, a symlink out of the repository...) is a spec error at the
// image's context or dockerfile, every one at once. generate and lint both
// come here, so that a spec lint passes is one generate accepts.
func analyzeImages(bg context.Context, dir string, s *spec.Spec) (*contentkey.Analysis, error) {
	a, err := contentkey.Analyze(bg, contentkey.Options{Root: dir}, keyInputs(s))
	var problems contentkey.Problems
	if !errors.As(err, &problems) {
		if err != nil {
			return nil, fmt.Errorf("computing content tags: %w", err)
		}
		return a, nil
	}
	var errs diag.List
	for _, p := range problems {
		im := s.Image(p.Image)
		field, pos, msg := "context", im.ContextPos, p.Msg
		switch p.Input {
		case contentkey.InputDockerfile:
			field, pos = "dockerfile", im.DockerfilePos
			if pos == im.Pos && errors.Is(p, fs.ErrNotExist) {
				msg += " (dockerfile defaults to <context>/Dockerfile)"
			}
		case contentkey.InputIgnoreFile:
			// The ignore file says what of the context is sent.
			msg = "ignore file " + msg
		}
		errs = append(errs, diag.Diagnostic{File: s.File, Pos: pos, Severity: diag.Error, Rule: "build-input", Path: "images." + im.Name + "." + field, Msg: msg})
	}
	return nil, errs.Sorted()
}

// generates checks that the spec makes a pipeline, every path counted as
// changed, as lint's last check: what the generator refuses, with the spec's
// positions.
func (ctx *cmdContext) generates(s *spec.Spec, keys *contentkey.Analysis, maxJobs int) error {
	res, err := generator.Generate(generator.Input{
		Spec:        s,
		Env:         buildenv.Read(ctx.getenv),
		Changes:     changes.Result{All: true},
		ContentTags: keys.Tags,
		Inputs:      keys.Inputs,
		Paths:       imagePaths(keys.Paths),
		MaxJobs:     maxJobs,
	})
	if err == nil {
		_, err = res.Pipeline.YAML()
	}
	return err
}

// imagePaths hands the generator where contentkey found each image's
// inputs: the generator reads no files.
func imagePaths(paths map[string]contentkey.Paths) map[string]generator.ImagePaths {
	out := make(map[string]generator.ImagePaths, len(paths))
	for name, p := range paths {
		out[name] = generator.ImagePaths{Context: p.Context, Files: p.Files}
	}
	return out
}

// keyInputs is what decides each image's bytes, for its content tag.
func keyInputs(s *spec.Spec) []contentkey.Image {
	var out []contentkey.Image
	for _, im := range s.Images {
		out = append(out, contentkey.Image{Name: im.Name, Inputs: im.Inputs})
	}
	return out
}
