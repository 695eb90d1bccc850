package main

import (
	"bytes"
	"flag"
	"fmt"
	"os"
	"strconv"
	"unicode"
	"unicode/utf8"

	"github.com/bkgen/bkgen/internal/pipetext"
	"github.com/bkgen/bkgen/plan"
	"github.com/rogpeppe/go-internal/diff"
)

type generateFlags struct {
	planFlags
	output string
	format string
	check  string
}

func generateCommand() *command {
	return &command{
		name:    "generate",
		usage:   "generate [flags]",
		summary: "Write the pipeline YAML (or JSON) for the spec to stdout, or to a file.",
		example: `  # In a pipeline's first step:
  bkgen generate | buildkite-agent pipeline upload

  # For an upload without interpolation, say so to both:
  bkgen generate --no-interpolation | buildkite-agent pipeline upload --no-interpolation

  # Preview the whole pipeline, everything counted as changed:
  bkgen generate --all

  # Fail CI when a committed pipeline is stale:
  bkgen generate --all --check .buildkite/pipeline.generated.yml`,
		flags: func(fs *flag.FlagSet) any {
			f := &generateFlags{}
			f.register(fs)
			fs.StringVar(&f.output, "output", "", "write to `FILE` atomically instead of stdout; a symlink is followed only to a file inside the repository")
			fs.StringVar(&f.output, "o", "", "write to `FILE` atomically instead of stdout; a symlink is followed only to a file inside the repository")
			fs.StringVar(&f.format, "format", "yaml", "output `FORMAT`: yaml or json")
			fs.StringVar(&f.check, "check", "", "compare with `FILE`: print a unified diff and exit 1 when they differ")
			fs.BoolVar(&f.literal, "no-interpolation", false, "write every $ as it is, for buildkite-agent pipeline upload --no-interpolation; use both or neither: "+
				"without it each $ is written $$, which only the upload's interpolation turns back into $")
			return f
		},
		run: func(ctx *cmdContext, v any, _ []string) int {
			f := v.(*generateFlags)
			if f.format != "yaml" && f.format != "json" {
				fmt.Fprintf(ctx.io.err, "bkgen generate: --format must be yaml or json, not %q\n", f.format)
				return exitUsage
			}
			if f.check != "" && f.output != "" {
				fmt.Fprintln(ctx.io.err, "bkgen generate: --check compares and writes nothing; drop --output")
				return exitUsage
			}
			if !f.literal {
				ctx.warnIfAgentWillNotInterpolate()
			}
			// Find where the file really is before doing any work.
			var file *repoFile
			if flagName, name := fileFlag(f); name != "" {
				var err error
				if file, err = f.repoFile(name); err != nil {
					fmt.Fprintf(ctx.io.err, "bkgen generate: %s %v\n", flagName, err)
					return exitUsage
				}
			}
			p, status := ctx.plan(&f.planFlags)
			if p == nil {
				return status
			}
			out, err := p.Result.Pipeline.YAML()
			if f.format == "json" {
				out, err = p.Result.Pipeline.JSON()
			}
			if err != nil {
				fmt.Fprintf(ctx.io.err, "bkgen generate: %v\n", err)
				return exitUsage
			}
			if file != nil {
				ctx.warnIfInput(p, file)
			}
			switch {
			case f.check != "":
				return ctx.check(file, out)
			case f.output != "":
				if err := writeFileAtomic(file.path, out); err != nil {
					fmt.Fprintf(ctx.io.err, "bkgen generate: %v\n", err)
					return exitUsage
				}
			default:
				ctx.io.out.Write(out)
			}
			return exitOK
		},
	}
}

// fileFlag is the file generate reads (--check) or writes (-o), if any.
func fileFlag(f *generateFlags) (flagName, name string) {
	if f.check != "" {
		return "--check", f.check
	}
	return "-o", f.output
}

// warnIfInput warns when a pipeline file lies among an image's build
// inputs: the file names the image's content tag, so writing it would change
// that tag, and the next run would never agree with it.
func (ctx *cmdContext) warnIfInput(p *plan.Plan, file *repoFile) {
	if file.rel == "" {
		return
	}
	for _, im := range p.Spec.Images {
		if p.Keys.Inputs[im.Name](file.rel) {
			fmt.Fprintf(ctx.io.err, "bkgen: warning: %s is in the build context of image %s: it records the image's content tag, so writing it changes that tag; list it in %s's .dockerignore\n",
				pipetext.Display(file.name), im.Name, pipetext.Display(im.Context))
			return
		}
	}
}

// check compares the generated pipeline with a committed file.
func (ctx *cmdContext) check(file *repoFile, generated []byte) int {
	committed, err := os.ReadFile(file.path)
	if err != nil {
		fmt.Fprintf(ctx.io.err, "bkgen generate: --check: %v\n", err)
		return exitUsage
	}
	if bytes.Equal(committed, generated) {
		return exitOK
	}
	ctx.io.out.Write(printable(diff.Diff(pipetext.Display(file.name), committed, "generated", generated)))
	fmt.Fprintf(ctx.io.err, "bkgen: %s is stale: regenerate it with the same flags and -o %[1]s\n", pipetext.Display(file.name))
	return exitProblems
}

// printable shows text from a file in the job log: lines stay lines, tabs
// stay tabs, and any other control character, terminal escape or invalid
// byte is written as a Go escape, so a committed file cannot drive the
// terminal or forge log lines with a carriage return.
func printable(text []byte) []byte {
	var b bytes.Buffer
	for len(text) > 0 {
		r, size := utf8.DecodeRune(text)
		switch {
		case r == '\n' || r == '\t' || r != utf8.RuneError && unicode.IsPrint(r):
			b.Write(text[:size])
		case r == utf8.RuneError && size == 1:
			fmt.Fprintf(&b, `\x%02x`, text[0])
		default:
			q := strconv.QuoteRune(r)
			b.WriteString(q[1 : len(q)-1])
		}
		text = text[size:]
	}
	return b.Bytes()
}
