package main

import (
	"bytes"
	"context"
	"errors"
	"flag"
	"fmt"
	"os"

	"github.com/bkgen/bkgen/buildenv"
	"github.com/bkgen/bkgen/changes"
	"github.com/bkgen/bkgen/diag"
	"github.com/bkgen/bkgen/internal/plural"
	"github.com/bkgen/bkgen/lint"
	"github.com/bkgen/bkgen/plan"
)

type lintFlags struct {
	planFlags
	strict bool
}

func lintCommand() *command {
	return &command{
		name:      "lint",
		takesArgs: true,
		usage:     "lint [flags] [FILE...]",
		summary: "Check the spec (every error, plus if_changed patterns that cannot work), or any Buildkite pipeline files named. " +
			"Exit 1 on an error, or on a warning with --strict.",
		example: `  # The spec:
  bkgen lint

  # Any pipeline files, bkgen's or not:
  bkgen lint .buildkite/pipeline.yml .buildkite/deploy.yml

  # A generated pipeline, warnings included:
  bkgen generate --all | bkgen lint --strict -`,
		flags: func(fs *flag.FlagSet) any {
			f := &lintFlags{}
			fs.StringVar(&f.dir, "C", ".", "run as if bkgen was started in `DIR` (the repository root)")
			fs.StringVar(&f.specPath, "spec", plan.DefaultSpec, "the spec `FILE`, relative to the repository root")
			fs.StringVar(&f.specPath, "f", plan.DefaultSpec, "the spec `FILE`, relative to the repository root")
			fs.BoolVar(&f.strict, "strict", false, "exit 1 on warnings too")
			f.registerMaxJobs(fs)
			return f
		},
		run: func(ctx *cmdContext, v any, args []string) int {
			f := v.(*lintFlags)
			var problems diag.List
			if len(args) == 0 {
				var status int
				problems, status = ctx.lintSpec(&f.planFlags)
				if status != exitOK {
					return status
				}
			}
			for _, name := range args {
				src, err := ctx.readInput(f.path(name))
				if err != nil {
					fmt.Fprintf(ctx.io.err, "bkgen lint: %v\n", err)
					return exitUsage
				}
				problems = append(problems, lint.Pipeline(name, src)...)
			}
			return ctx.reportProblems(problems, f.strict)
		},
	}
}

func (ctx *cmdContext) readInput(name string) ([]byte, error) {
	if name == "-" {
		var buf bytes.Buffer
		_, err := buf.ReadFrom(ctx.io.in)
		return buf.Bytes(), err
	}
	return os.ReadFile(name)
}

// lintSpec checks the spec: its errors as generate reports them, plus
// warnings about if_changed patterns that cannot do what they seem to.
func (ctx *cmdContext) lintSpec(f *planFlags) (diag.List, int) {
	bg := context.Background()
	s, err := plan.Load(f.dir, f.specPath)
	if ctx.printReadError(err, "bkgen lint", "use -f to name another file, or name pipeline files to lint") {
		return nil, exitUsage
	}
	var problems diag.List
	if err == nil {
		problems, err = plan.Check(bg, f.dir, s, buildenv.ReadLookup(ctx.lookupEnv), f.maxJobs)
	}
	if err != nil && !errors.As(err, &problems) {
		fmt.Fprintf(ctx.io.err, "bkgen lint: %v\n", err)
		return nil, exitUsage
	}
	if s != nil {
		problems = append(problems, lint.SpecWarnings(s, changes.TrackedFiles(bg, f.dir))...)
	}
	return problems, exitOK
}

// reportProblems prints problems grouped by file, in order, with a count on
// stderr, and gives lint's exit status.
func (ctx *cmdContext) reportProblems(problems diag.List, strict bool) int {
	var errorsN, warnings int
	files := map[string]bool{}
	for _, p := range problems {
		fmt.Fprintln(ctx.io.out, p.String())
		files[p.File] = true
		if p.Severity == diag.Error {
			errorsN++
		} else {
			warnings++
		}
	}
	if len(problems) == 0 {
		return exitOK
	}
	fmt.Fprintf(ctx.io.err, "bkgen lint: %s, %s in %s\n", plural.Count(errorsN, "error"), plural.Count(warnings, "warning"), plural.Count(len(files), "file"))
	if errorsN > 0 || (strict && warnings > 0) {
		return exitProblems
	}
	return exitOK
}
