// Command bkgen generates Buildkite pipelines that build container images and
// run steps inside them, from one short spec (.buildkite/bkgen.yml).
//
// This package is the thin part: flags, files, reading the environment, exit
// codes and printing. Each command that makes a pipeline is its flags and one
// call to plan.Make; the work is done there.
package main

import (
	"io"
	"os"
	"runtime/debug"
)

func main() {
	// bkgen runs for a fraction of a second on a few megabytes: collecting
	// garbage less often is time saved, not memory that matters.
	debug.SetGCPercent(400)
	os.Exit(run(os.Args[1:], &stdio{in: os.Stdin, out: os.Stdout, err: os.Stderr}, os.LookupEnv))
}

// stdio is the command's standard streams, injected so tests run it in-process.
type stdio struct {
	in       io.Reader
	out, err io.Writer
}

// Exit statuses, part of the contract.
const (
	exitOK       = 0
	exitProblems = 1 // lint or --check found problems
	exitUsage    = 2 // bad usage or a bad spec; nothing was written to stdout
)
