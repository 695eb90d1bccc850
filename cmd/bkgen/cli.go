package main

import (
	"errors"
	"flag"
	"fmt"
	"io"
	"sort"
	"strings"

	"github.com/bkgen/bkgen/internal/suggest"
)

// command is one subcommand: its flags, its help and what it does.
type command struct {
	name    string
	usage   string // the synopsis after "bkgen "
	summary string
	example string
	flags   func(fs *flag.FlagSet) any // registers flags, returns their values
	// takesArgs: the command reads arguments after its flags; others refuse them.
	takesArgs bool
	run       func(ctx *cmdContext, values any, args []string) int
}

type cmdContext struct {
	io        *stdio
	getenv    func(string) string
	lookupEnv func(string) (string, bool) // tells a variable set empty from one not set
}

func commands() []*command {
	return []*command{initCommand(), generateCommand(), uploadCommand(), previewCommand(), lintCommand(), versionCommand()}
}

const overview = `bkgen turns .buildkite/bkgen.yml (which images, which registry, which steps
run inside them) into a complete Buildkite pipeline.

Usage:
  bkgen <command> [flags]

Commands:
%s
Run 'bkgen <command> --help' for a command's flags and an example.
Exit status: 0 success; 1 lint or --check found problems; 2 bad usage or a bad spec.
`

func run(args []string, io *stdio, lookupEnv func(string) (string, bool)) int {
	cmds := commands()
	if len(args) == 0 || args[0] == "help" || args[0] == "-h" || args[0] == "--help" {
		if len(args) > 1 {
			for _, c := range cmds {
				if c.name == args[1] {
					return runCommand(c, []string{"--help"}, io, lookupEnv)
				}
			}
		}
		w, status := io.err, exitUsage
		if len(args) > 0 {
			w, status = io.out, exitOK
		}
		fmt.Fprintf(w, overview, commandList(cmds))
		return status
	}
	for _, c := range cmds {
		if c.name == args[0] {
			return runCommand(c, args[1:], io, lookupEnv)
		}
	}
	var names []string
	for _, c := range cmds {
		names = append(names, c.name)
	}
	fmt.Fprintf(io.err, "bkgen: unknown command %q%s\nRun 'bkgen --help' for usage.\n", args[0], closest(args[0], names))
	return exitUsage
}

func commandList(cmds []*command) string {
	var b strings.Builder
	for _, c := range cmds {
		fmt.Fprintf(&b, "  %-10s %s\n", c.name, c.summary)
	}
	return b.String()
}

func runCommand(c *command, args []string, io *stdio, lookupEnv func(string) (string, bool)) int {
	fs := flag.NewFlagSet("bkgen "+c.name, flag.ContinueOnError)
	fs.SetOutput(io.err)
	var values any
	if c.flags != nil {
		values = c.flags(fs)
	}
	// Help goes to stdout once, below; a bad flag gets a pointer to it.
	fs.Usage = func() {}
	if err := fs.Parse(args); err != nil {
		if errors.Is(err, flag.ErrHelp) {
			printHelp(io.out, c, fs)
			return exitOK
		}
		// flag has printed the problem; point at the help rather than dumping it.
		fmt.Fprintf(io.err, "Run 'bkgen %s --help' for usage.\n", c.name)
		return exitUsage
	}
	if args := fs.Args(); len(args) > 0 && !c.takesArgs {
		fmt.Fprintf(io.err, "bkgen %s: unexpected argument %q (flags go before arguments)\n", c.name, args[0])
		return exitUsage
	}
	getenv := func(k string) string { v, _ := lookupEnv(k); return v }
	return c.run(&cmdContext{io: io, getenv: getenv, lookupEnv: lookupEnv}, values, fs.Args())
}

// printHelp shows a command's synopsis, its flags (long names with their
// short aliases) and an example.
func printHelp(w io.Writer, c *command, fs *flag.FlagSet) {
	fmt.Fprintf(w, "Usage: bkgen %s\n\n%s\n", c.usage, c.summary)
	type entry struct{ names, arg, usage, def string }
	byUsage := map[string]*entry{}
	var entries []*entry
	fs.VisitAll(func(f *flag.Flag) {
		arg, usage := flag.UnquoteUsage(f)
		dash := "--"
		if len(f.Name) == 1 {
			dash = "-"
		}
		if e, ok := byUsage[usage]; ok {
			// An alias: list the short name first, as in "-f, --spec".
			if len(f.Name) == 1 {
				e.names = dash + f.Name + ", " + e.names
			} else {
				e.names += ", " + dash + f.Name
			}
			return
		}
		e := &entry{names: dash + f.Name, arg: arg, usage: usage}
		if f.DefValue != "" && f.DefValue != "false" {
			e.def = f.DefValue
		}
		byUsage[usage] = e
		entries = append(entries, e)
	})
	sort.SliceStable(entries, func(i, j int) bool {
		return strings.TrimLeft(entries[i].names, "-") < strings.TrimLeft(entries[j].names, "-")
	})
	if len(entries) > 0 {
		fmt.Fprintln(w, "\nFlags:")
		for _, e := range entries {
			head := e.names
			if e.arg != "" {
				head += " " + e.arg
			}
			line := fmt.Sprintf("  %-28s %s", head, e.usage)
			if len(head) > 28 {
				line = fmt.Sprintf("  %s\n  %-28s %s", head, "", e.usage)
			}
			if e.def != "" {
				line += fmt.Sprintf(" (default %s)", e.def)
			}
			fmt.Fprintln(w, line)
		}
	}
	if c.example != "" {
		fmt.Fprintf(w, "\nExample:\n%s\n", c.example)
	}
}

func closest(word string, names []string) string {
	return suggest.DidYouMean(word, names)
}
