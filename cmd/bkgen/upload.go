package main

import (
	"bytes"
	"errors"
	"flag"
	"fmt"
	"os/exec"
	"strconv"
	"strings"

	"github.com/bkgen/bkgen/buildenv"
	"github.com/bkgen/bkgen/generator"
	"github.com/bkgen/bkgen/internal/pipetext"
	"github.com/bkgen/bkgen/preview"
)

type uploadFlags struct {
	planFlags
	annotate bool
}

func uploadCommand() *command {
	return &command{
		name:      "upload",
		takesArgs: true,
		usage:     "upload [flags] [-- PIPELINE-UPLOAD-ARGS]",
		summary: "Generate the pipeline in memory, then hand it to `buildkite-agent pipeline upload`. " +
			"Nothing is uploaded unless generation succeeds; a pipeline of more than --max-jobs jobs goes up in several uploads, each after the steps it depends on; the exit status is the agent's.",
		example: `  # The first step of a pipeline:
  steps:
    - label: ":pipeline: bkgen"
      command: bkgen upload --annotate

  # Let the agent check it without uploading:
  bkgen upload -- --dry-run

  # An upload without interpolation: bkgen sees it, and writes every $ as it is:
  bkgen upload -- --no-interpolation`,
		flags: func(fs *flag.FlagSet) any {
			f := &uploadFlags{}
			f.register(fs)
			fs.BoolVar(&f.annotate, "annotate", false, "also add the plan to the build as an annotation (context bkgen)")
			return f
		},
		run: func(ctx *cmdContext, v any, args []string) int {
			f := v.(*uploadFlags)
			interpolates, err := agentInterpolates(args, ctx.getenv)
			if err != nil {
				fmt.Fprintf(ctx.io.err, "bkgen upload: %v\n", err)
				return exitUsage
			}
			args = append(f.agentArgs(), args...)
			f.literal, f.split, f.uploadArgs = !interpolates, true, args
			agent, err := exec.LookPath("buildkite-agent")
			if err != nil {
				fmt.Fprintln(ctx.io.err, "bkgen upload: buildkite-agent is not on PATH. Run bkgen upload in a Buildkite job, or use bkgen generate to see the pipeline here.")
				return exitUsage
			}
			p, status := ctx.plan(&f.planFlags)
			if p == nil {
				return status
			}
			// Buildkite takes at most --max-jobs jobs in one upload: a bigger
			// pipeline goes up in parts, each after the steps it depends on.
			parts := p.Result.Pipeline.Parts(f.maxJobs)
			uploads := make([][]byte, len(parts))
			for i, part := range parts {
				if uploads[i], err = part.YAML(); err != nil {
					fmt.Fprintf(ctx.io.err, "bkgen upload: %v\n", err)
					return exitUsage
				}
			}
			if len(parts) > 1 && !f.quiet {
				fmt.Fprintf(ctx.io.err, "bkgen upload: %d steps in %d uploads of at most %d jobs each\n", len(p.Result.Pipeline.Steps), len(parts), f.maxJobs)
			}
			for _, out := range uploads {
				cmd := exec.Command(agent, append([]string{"pipeline", "upload"}, args...)...)
				cmd.Stdin = bytes.NewReader(out)
				cmd.Stdout, cmd.Stderr = ctx.io.out, ctx.io.err
				if status := exitStatus(cmd.Run(), ctx); status != exitOK {
					return status
				}
			}
			if f.annotate {
				var body bytes.Buffer
				if err := preview.Markdown(&body, preview.FromResult(f.specPath, p.Changes, &p.Agent, f.ifChanged == string(generator.EvaluateAgent), p.Result)); err == nil {
					ann := exec.Command(agent, "annotate", "--context", "bkgen", "--style", "info")
					ann.Stdin = &body
					ann.Stdout, ann.Stderr = ctx.io.err, ctx.io.err
					if err := ann.Run(); err != nil {
						// The pipeline is uploaded: a missing annotation is worth a warning, not a failure.
						fmt.Fprintf(ctx.io.err, "bkgen upload: warning: annotating the build failed: %v\n", err)
					}
				}
			}
			return exitOK
		},
	}
}

// exitStatus is the agent's exit status, or exitUsage if it could not run.
func exitStatus(err error, ctx *cmdContext) int {
	if err == nil {
		return exitOK
	}
	var exit *exec.ExitError
	if errors.As(err, &exit) && exit.ExitCode() > 0 {
		return exit.ExitCode()
	}
	fmt.Fprintf(ctx.io.err, "bkgen upload: running buildkite-agent: %v\n", err)
	return exitUsage
}

// noInterpolationEnv is the agent's variable for --no-interpolation.
const noInterpolationEnv = "BUILDKITE_PIPELINE_NO_INTERPOLATION"

// agentValueFlags are the flags of buildkite-agent pipeline upload (its
// own, the global and the API ones, agent v3) that take a value: written
// without "=", each takes the next argument, whatever it looks like.
var agentValueFlags = map[string]bool{
	"job": true, "format": true, "redacted-vars": true, "git-diff-base": true, "changed-files-path": true,
	"jwks-file": true, "jwks-key-id": true, "signing-aws-kms-key": true, "signing-ignored-env-vars": true,
	"log-level": true, "experiment": true, "profile": true, "agent-access-token": true, "endpoint": true,
}

// agentFlag is one flag among pipeline upload's arguments: as written
// (arg), its name without dashes, and its value, if it has one.
type agentFlag struct {
	arg, name, value string
	hasValue         bool
}

// agentFlags reads pipeline upload's arguments as the agent's CLI library
// (urfave/cli v1, over Go's flag package) does: up to a "--", each "-name"
// or "--name[=value]" is a flag, and one of agentValueFlags written without
// "=" takes the next argument as its value, whatever it looks like; the
// other arguments are files to upload, wherever they stand.
func agentFlags(args []string) []agentFlag {
	var out []agentFlag
	for i := 0; i < len(args); i++ {
		arg := args[i]
		if arg == "--" {
			break
		}
		name, ok := strings.CutPrefix(arg, "-")
		if !ok || name == "" {
			continue // a file to upload
		}
		name, value, hasValue := strings.Cut(strings.TrimPrefix(name, "-"), "=")
		if agentValueFlags[name] && !hasValue && i+1 < len(args) {
			i++
			value, hasValue = args[i], true
		}
		out = append(out, agentFlag{arg, name, value, hasValue})
	}
	return out
}

// boolValue is a boolean flag's value: true written bare, else what
// strconv.ParseBool reads, whose refusal the agent would not run with.
func (f agentFlag) boolValue() (bool, error) {
	if !f.hasValue {
		return true, nil
	}
	b, err := strconv.ParseBool(f.value)
	if err != nil {
		return false, fmt.Errorf("%s: %s is not true or false: buildkite-agent pipeline upload would refuse to run", pipetext.Display(f.arg), pipetext.Display(f.value))
	}
	return b, nil
}

// agentInterpolates reports whether `buildkite-agent pipeline upload ARGS`
// interpolates the pipeline, reading ARGS and the environment as the
// agent's CLI library (urfave/cli v1, over Go's flag package) does:
// $BUILDKITE_PIPELINE_NO_INTERPOLATION sets the default (empty is false; a
// value strconv.ParseBool rejects fails the agent), then each
// -no-interpolation or --no-interpolation[=BOOL] before a "--" sets it
// again, wherever it stands among the file arguments. What the agent would
// refuse for other reasons is left for it to say.
func agentInterpolates(args []string, getenv func(string) string) (bool, error) {
	skip := false
	if v := getenv(noInterpolationEnv); v != "" {
		b, err := strconv.ParseBool(v)
		if err != nil {
			return false, fmt.Errorf("%s=%s is not true or false: buildkite-agent pipeline upload would refuse to run", noInterpolationEnv, pipetext.Display(v))
		}
		skip = b
	}
	for _, f := range agentFlags(args) {
		if f.name != "no-interpolation" {
			continue
		}
		b, err := f.boolValue()
		if err != nil {
			return false, err
		}
		skip = b
	}
	return !skip, nil
}

// uploadSettings is u with what `buildkite-agent pipeline upload ARGS`
// sets of it on its command line (--apply-if-changed, --fetch-diff-base,
// --git-diff-base, --changed-files-path), read as agentInterpolates reads
// them: a later flag wins, and a boolean flag takes =BOOL or nothing.
func uploadSettings(args []string, u buildenv.Upload) (buildenv.Upload, error) {
	for _, f := range agentFlags(args) {
		var err error
		switch f.name {
		case "apply-if-changed":
			if u.ApplyIfChanged, err = f.boolValue(); err != nil {
				return u, err
			}
			u.ApplySource = ""
			if !u.ApplyIfChanged {
				u.ApplySource = f.arg
			}
		case "fetch-diff-base":
			if u.FetchDiffBase, err = f.boolValue(); err != nil {
				return u, err
			}
		case "git-diff-base":
			u.GitDiffBase = f.value
		case "changed-files-path":
			u.ChangedFilesPath = f.value
		}
	}
	return u, nil
}

// warnIfAgentWillNotInterpolate warns when the environment tells
// buildkite-agent pipeline upload not to interpolate, and the pipeline is
// escaped for an upload that does.
func (ctx *cmdContext) warnIfAgentWillNotInterpolate() {
	if interpolates, err := agentInterpolates(nil, ctx.getenv); err == nil && !interpolates {
		fmt.Fprintf(ctx.io.err, "bkgen: warning: %s=%s: an upload in this environment does not interpolate, and this pipeline is written for one that does (each $ as $$); add --no-interpolation if it goes to pipeline upload here\n",
			noInterpolationEnv, pipetext.Display(ctx.getenv(noInterpolationEnv)))
	}
}
