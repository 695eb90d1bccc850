package main

import (
	"bytes"
	"errors"
	"flag"
	"fmt"
	"os/exec"

	"github.com/bkgen/bkgen/preview"
)

type uploadFlags struct {
	planFlags
	annotate bool
}

func uploadCommand() *command {
	return &command{
		name:  "upload",
		usage: "upload [flags] [-- PIPELINE-UPLOAD-ARGS]",
		summary: "Generate the pipeline in memory, then hand it to `buildkite-agent pipeline upload`. " +
			"Nothing is uploaded unless generation succeeds; the exit status is the agent's.",
		example: `  # The first step of a pipeline:
  steps:
    - label: ":pipeline: bkgen"
      command: bkgen upload --annotate

  # Let the agent check it without uploading:
  bkgen upload -- --dry-run`,
		flags: func(fs *flag.FlagSet) any {
			f := &uploadFlags{}
			f.register(fs)
			fs.BoolVar(&f.annotate, "annotate", false, "also add the plan to the build as an annotation (context bkgen)")
			return f
		},
		run: func(ctx *cmdContext, v any, args []string) int {
			f := v.(*uploadFlags)
			agent, err := exec.LookPath("buildkite-agent")
			if err != nil {
				fmt.Fprintln(ctx.io.err, "bkgen upload: buildkite-agent is not on PATH. Run bkgen upload in a Buildkite job, or use bkgen generate to see the pipeline here.")
				return exitUsage
			}
			p, status := ctx.plan(&f.planFlags)
			if p == nil {
				return status
			}
			out, err := p.result.Pipeline.YAML()
			if err != nil {
				fmt.Fprintf(ctx.io.err, "bkgen upload: %v\n", err)
				return exitUsage
			}
			cmd := exec.Command(agent, append([]string{"pipeline", "upload"}, args...)...)
			cmd.Stdin = bytes.NewReader(out)
			cmd.Stdout, cmd.Stderr = ctx.io.out, ctx.io.err
			if status := exitStatus(cmd.Run(), ctx); status != exitOK {
				return status
			}
			if f.annotate {
				var body bytes.Buffer
				if err := preview.Markdown(&body, preview.FromResult(f.specPath, p.changes, p.result)); err == nil {
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
