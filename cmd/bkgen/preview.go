package main

import (
	"flag"
	"fmt"
	"io"
	"os"

	"github.com/bkgen/bkgen/generator"
	"github.com/bkgen/bkgen/preview"
)

type previewFlags struct {
	planFlags
	format string
}

func previewCommand() *command {
	return &command{
		name:    "preview",
		usage:   "preview [flags]",
		summary: "Show what the pipeline would do and why: the diff base, each image built, guarded, reused or skipped, each step run or skipped.",
		example: `  # Before pushing a branch:
  bkgen preview

  # Against a given base, as a mermaid graph:
  bkgen preview --diff-base origin/release --format mermaid

  # The plan as JSON, for scripts:
  bkgen preview --changed-files changed.txt --format json`,
		flags: func(fs *flag.FlagSet) any {
			f := &previewFlags{}
			f.register(fs)
			fs.StringVar(&f.format, "format", "text", "`FORMAT`: text, markdown, json or mermaid")
			return f
		},
		run: func(ctx *cmdContext, v any, _ []string) int {
			f := v.(*previewFlags)
			render, ok := map[string]func(io.Writer, *preview.Plan) error{
				"text":     func(w io.Writer, p *preview.Plan) error { return preview.Text(w, p, ctx.colorful()) },
				"markdown": preview.Markdown,
				"json":     preview.JSON,
				"mermaid":  preview.Mermaid,
			}[f.format]
			if !ok {
				fmt.Fprintf(ctx.io.err, "bkgen preview: --format must be text, markdown, json or mermaid, not %q\n", f.format)
				return exitUsage
			}
			// The plan is the output: no report on stderr, and every step kept
			// so the graph shows what is skipped. It is the plan bkgen upload
			// makes, which splits a pipeline over --max-jobs into uploads.
			f.quiet, f.split = true, true
			f.skipped = string(generator.SkipStep)
			p, status := ctx.plan(&f.planFlags)
			if p == nil {
				return status
			}
			if err := render(ctx.io.out, preview.FromResult(f.specPath, p.Changes, &p.Agent, f.ifChanged == string(generator.EvaluateAgent), p.Result)); err != nil {
				fmt.Fprintf(ctx.io.err, "bkgen preview: %v\n", err)
				return exitUsage
			}
			return exitOK
		},
	}
}

// colorful reports whether to colour text output: only on a terminal, and
// never when NO_COLOR is set (https://no-color.org).
func (ctx *cmdContext) colorful() bool {
	if ctx.getenv("NO_COLOR") != "" {
		return false
	}
	f, ok := ctx.io.out.(*os.File)
	if !ok {
		return false
	}
	info, err := f.Stat()
	return err == nil && info.Mode()&os.ModeCharDevice != 0
}
