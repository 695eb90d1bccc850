// Command standin is the execution harness's stand-in for programs a
// Buildkite job calls: installed as buildkite-agent it is the agent's CLI,
// installed as docker it is the docker wrapper (see package agentsim).
package main

import (
	"fmt"
	"os"
	"path/filepath"

	"github.com/bkgen/bkgen/internal/agentsim"
)

func main() {
	dir, _ := os.Getwd()
	sio := agentsim.Stdio{In: os.Stdin, Out: os.Stdout, Err: os.Stderr, Env: os.Environ(), Dir: dir}
	switch name := filepath.Base(os.Args[0]); name {
	case "buildkite-agent":
		os.Exit(agentsim.Agent(os.Args[1:], sio))
	case "docker":
		os.Exit(agentsim.Docker(os.Args[1:], sio))
	default:
		fmt.Fprintf(os.Stderr, "%s: install this program as buildkite-agent or docker\n", name)
		os.Exit(2)
	}
}
