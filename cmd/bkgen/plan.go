package main

import (
	"cmp"
	"context"
	"errors"
	"flag"
	"fmt"
	"io/fs"
	"path/filepath"
	"strings"
	"time"

	"github.com/bkgen/bkgen/buildenv"
	"github.com/bkgen/bkgen/diag"
	"github.com/bkgen/bkgen/generator"
	"github.com/bkgen/bkgen/internal/plural"
	"github.com/bkgen/bkgen/plan"
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
	rebuild         words
	maxJobs         int
	quiet           bool
	// literal: the pipeline is for an upload without interpolation (set by
	// generate --no-interpolation, or upload from the agent's arguments).
	literal bool
	// split: the pipeline may go up in several uploads (bkgen upload).
	split bool
	// uploadArgs are the arguments bkgen upload hands to buildkite-agent
	// pipeline upload, whose flags change how it applies if_changed.
	uploadArgs []string
}

func (f *planFlags) register(fs *flag.FlagSet) {
	fs.StringVar(&f.dir, "C", ".", "run as if bkgen was started in `DIR` (the repository root)")
	fs.StringVar(&f.specPath, "spec", plan.DefaultSpec, "the spec `FILE`, relative to the repository root")
	fs.StringVar(&f.specPath, "f", plan.DefaultSpec, "the spec `FILE`, relative to the repository root")
	fs.StringVar(&f.changedFiles, "changed-files", "", "read the changed paths from `FILE`, one a line (- reads stdin); also $BUILDKITE_CHANGED_FILES_PATH")
	fs.StringVar(&f.diffBase, "diff-base", "", "compare HEAD with the merge-base of `REF`; also $BUILDKITE_GIT_DIFF_BASE")
	fs.BoolVar(&f.all, "all", false, "treat every path as changed")
	fs.StringVar(&f.ifChanged, "if-changed", string(generator.EvaluateHere), "`generate`: evaluate if_changed here; agent: emit if_changed for the agent")
	fs.StringVar(&f.skipped, "skipped", string(generator.SkipStep), "steps that need not run: `skip` keeps them with skip: REASON; omit leaves them out")
	fs.BoolVar(&f.verifyRegistry, "verify-registry", false, "look content tags up in the registries now, and leave out builds of images already there")
	fs.DurationVar(&f.registryTimeout, "registry-timeout", 10*time.Second, "with --verify-registry, give up on one lookup after `DURATION` (and keep its build step)")
	fs.Var(&f.rebuild, "rebuild", "rebuild `IMAGE` (a name, a comma-separated list, or all) whatever the registry holds, from fresh bases and without cache, with the images built on it; repeatable; also $"+buildenv.RebuildVar)
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
	if generator.IfChangedMode(f.ifChanged) == generator.EvaluateAgent {
		switch {
		case f.all:
			return errors.New("--all cannot be combined with --if-changed agent: the agent decides what changed (BUILDKITE_AGENT_APPLY_IF_CHANGED=false makes it run every step)")
		case f.changedFiles == "-":
			return errors.New("--changed-files - cannot be combined with --if-changed agent: the agent reads a file (--changed-files FILE, or BUILDKITE_CHANGED_FILES_PATH)")
		}
	}
	return nil
}

// agentUpload is how buildkite-agent pipeline upload will apply
// if_changed: the environment's settings, then, with --if-changed agent,
// --diff-base and --changed-files as its --git-diff-base and
// --changed-files-path (bkgen upload passes them on), then the arguments
// bkgen upload hands it.
func (f *planFlags) agentUpload(u buildenv.Upload) (buildenv.Upload, error) {
	if generator.IfChangedMode(f.ifChanged) == generator.EvaluateAgent {
		u.GitDiffBase = cmp.Or(f.diffBase, u.GitDiffBase)
		u.ChangedFilesPath = cmp.Or(f.path(f.changedFiles), u.ChangedFilesPath)
	}
	if f.uploadArgs == nil {
		return u, nil
	}
	return uploadSettings(f.uploadArgs, u)
}

// agentArgs are the flags bkgen upload passes buildkite-agent pipeline
// upload ahead of its own arguments: with --if-changed agent, --diff-base
// and --changed-files as the agent's.
func (f *planFlags) agentArgs() []string {
	var args []string
	if generator.IfChangedMode(f.ifChanged) != generator.EvaluateAgent {
		return nil
	}
	if f.diffBase != "" {
		args = append(args, "--git-diff-base", f.diffBase)
	}
	if f.changedFiles != "" {
		args = append(args, "--changed-files-path", f.path(f.changedFiles))
	}
	return args
}

// plan makes the pipeline for the flags, reporting problems and then the
// decisions on stderr; the status is exitUsage for bad flags or a bad spec.
func (ctx *cmdContext) plan(f *planFlags) (*plan.Plan, int) {
	if err := f.validate(); err != nil {
		fmt.Fprintf(ctx.io.err, "bkgen: %v\n", err)
		return nil, exitUsage
	}
	var verify *plan.Verify
	if f.verifyRegistry {
		verify = &plan.Verify{Timeout: f.registryTimeout}
	}
	env := buildenv.ReadLookup(ctx.lookupEnv)
	u, err := f.agentUpload(env.Upload)
	if err != nil {
		fmt.Fprintf(ctx.io.err, "bkgen upload: %v\n", err)
		return nil, exitUsage
	}
	env.Upload = u
	p, err := plan.Make(context.Background(), plan.Options{
		Dir: f.dir, SpecFile: f.specPath, Env: env,
		All: f.all, ChangedFiles: f.path(f.changedFiles), Stdin: ctx.io.in, DiffBase: f.diffBase,
		IfChanged: generator.IfChangedMode(f.ifChanged), Skipped: generator.SkippedMode(f.skipped),
		MaxJobs: f.maxJobs, SplitUploads: f.split, Literal: f.literal, Verify: verify,
		Rebuild: f.rebuild,
	})
	if err != nil {
		if !ctx.printReadError(err, "bkgen", "use -f to name another file") {
			ctx.printError(err)
		}
		return nil, exitUsage
	}
	for _, n := range p.Result.Notes {
		fmt.Fprintf(ctx.io.err, "bkgen: warning: %s\n", n)
	}
	if !f.quiet {
		ctx.report(p)
	}
	return p, exitOK
}

// report writes how the changes were found and every decision to stderr,
// where they never mix with a pipeline on stdout.
func (ctx *cmdContext) report(p *plan.Plan) {
	w := ctx.io.err
	c := p.Changes
	if c.All {
		fmt.Fprintf(w, "bkgen: every path counts as changed: %s\n", c.Reason)
	} else {
		fmt.Fprintf(w, "bkgen: %s: %s\n", plural.Count(len(c.Files), "changed file"), c.Reason)
	}
	for _, n := range c.Notes {
		fmt.Fprintf(w, "bkgen: note: %s\n", n)
	}
	if t := p.Result.Trust; t.Model {
		fmt.Fprintf(w, "bkgen: %s\n", t)
	}
	for _, im := range p.Result.Decisions.Images {
		fmt.Fprintf(w, "bkgen: image %s: %s (%s)\n", im.Name, im.Action, im.Reason)
	}
	for _, s := range p.Result.Decisions.Steps {
		state := "runs"
		if !s.Run {
			state = "skipped"
		}
		fmt.Fprintf(w, "bkgen: step %s %s: %s\n", s.Key, state, s.Reason)
	}
}

// words is a flag that may be given more than once.
type words []string

func (w *words) String() string { return strings.Join(*w, ",") }

func (w *words) Set(v string) error {
	*w = append(*w, v)
	return nil
}

// path resolves a file named on the command line: like git -C, -C DIR makes
// every relative path relative to DIR.
func (f *planFlags) path(name string) string {
	if name == "" || name == "-" || filepath.IsAbs(name) {
		return name
	}
	return filepath.Join(f.dir, name)
}

// printReadError prints a spec that cannot be read, for the command cmd,
// with hint when there is none; false when err is something else.
func (ctx *cmdContext) printReadError(err error, cmd, hint string) bool {
	var re *plan.ReadError
	switch {
	case !errors.As(err, &re):
		return false
	case errors.Is(re, fs.ErrNotExist):
		fmt.Fprintf(ctx.io.err, "%s: %v (%s)\n", cmd, re, hint)
	case errors.Is(re, plan.ErrOutsideRoot):
		fmt.Fprintf(ctx.io.err, "%s: %v (the -C directory)\n", cmd, re)
	default:
		fmt.Fprintf(ctx.io.err, "%s: %v\n", cmd, re)
	}
	return true
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
