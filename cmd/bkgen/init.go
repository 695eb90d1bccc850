package main

import (
	"errors"
	"flag"
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"strings"

	"github.com/bkgen/bkgen/initspec"
	"github.com/bkgen/bkgen/internal/pipetext"
	"github.com/bkgen/bkgen/internal/plural"
	"github.com/bkgen/bkgen/plan"
	"github.com/bkgen/bkgen/spec"
)

type initFlags struct {
	planFlags
	registry string
	force    bool
}

func initCommand() *command {
	return &command{
		name:    "init",
		usage:   "init [flags]",
		summary: "Write a first spec for this repository: its Dockerfiles (those git would commit), their contexts, the images built on others, and a registry.",
		example: `  # In the repository's root:
  bkgen init
  bkgen lint
  bkgen preview --all

  # Images in ECR; replace a spec written before:
  bkgen init --registry ecr --force`,
		flags: func(fs *flag.FlagSet) any {
			f := &initFlags{}
			fs.StringVar(&f.dir, "C", ".", "run as if bkgen was started in `DIR` (the repository root)")
			fs.StringVar(&f.specPath, "spec", plan.DefaultSpec, "write the spec to `FILE`, relative to the repository root")
			fs.StringVar(&f.specPath, "f", plan.DefaultSpec, "write the spec to `FILE`, relative to the repository root")
			fs.StringVar(&f.registry, "registry", "", "the registry's `PROVIDER`: "+strings.Join(initspec.Providers, ", ")+" (default: hosted on a hosted agent, else buildkite)")
			fs.BoolVar(&f.force, "force", false, "replace the spec if it exists")
			return f
		},
		run: func(ctx *cmdContext, v any, _ []string) int {
			f := v.(*initFlags)
			if f.registry != "" && !slices.Contains(initspec.Providers, f.registry) {
				fmt.Fprintf(ctx.io.err, "bkgen init: --registry %s: choose one of %s\n", pipetext.Display(f.registry), strings.Join(initspec.Providers, ", "))
				return exitUsage
			}
			// Its directory first (.buildkite/ is new to most repositories):
			// repoFile resolves the path's directory.
			if err := os.MkdirAll(filepath.Dir(f.path(f.specPath)), 0o755); err != nil {
				fmt.Fprintf(ctx.io.err, "bkgen init: %v\n", err)
				return exitUsage
			}
			target, err := f.repoFile(f.specPath)
			if err != nil {
				fmt.Fprintf(ctx.io.err, "bkgen init: %v\n", err)
				return exitUsage
			}
			if _, err := os.Lstat(target.path); err == nil && !f.force {
				fmt.Fprintf(ctx.io.err, "bkgen init: %s exists: bkgen init never replaces a spec unless told to (--force)\n", pipetext.Display(f.specPath))
				return exitProblems
			}
			r, err := initspec.Scan(initspec.Options{Root: f.dir, Registry: f.registry, Getenv: ctx.getenv})
			if r != nil {
				for _, s := range r.Skipped {
					fmt.Fprintf(ctx.io.err, "bkgen init: left out %s\n", s)
				}
			}
			if errors.Is(err, initspec.ErrNoDockerfiles) {
				fmt.Fprintf(ctx.io.err, "bkgen init: %v: nothing to write\n", err)
				return exitProblems
			}
			if err != nil {
				fmt.Fprintf(ctx.io.err, "bkgen init: %v\n", err)
				return exitUsage
			}
			src, err := r.YAML()
			if err == nil {
				// What it writes, bkgen reads.
				_, err = spec.Load(f.specPath, src)
			}
			if err != nil {
				fmt.Fprintf(ctx.io.err, "bkgen init: the spec it made does not load (a bug in bkgen init): %v\n", err)
				return exitUsage
			}
			if err := writeFileAtomic(target.path, src); err != nil {
				fmt.Fprintf(ctx.io.err, "bkgen init: %v\n", err)
				return exitUsage
			}
			var names []string
			for _, im := range r.Images {
				names = append(names, im.Name)
			}
			fmt.Fprintf(ctx.io.out, "Wrote %s: %s (%s), registry %s (%s).\n\nNext:\n", pipetext.Display(f.specPath), plural.Count(len(names), "image"), strings.Join(names, ", "), r.Registry, r.Why)
			specFlag := ""
			if f.specPath != plan.DefaultSpec {
				specFlag = " --spec " + pipetext.Display(f.specPath)
			}
			fmt.Fprintf(ctx.io.out, "  bkgen lint%s              # check it\n", specFlag)
			fmt.Fprintf(ctx.io.out, "  bkgen preview --all%s     # what the pipeline would build and run\n", specFlag)
			return exitOK
		},
	}
}
