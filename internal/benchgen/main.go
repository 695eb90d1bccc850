// Command benchgen writes the if_changed benchmark workload as a repository
// bkgen can run on: 500 images, each with a consumer whose if_changed has two
// patterns of one shape, and changed.txt, a 50,000-path change list.
//
//	go run ./internal/benchgen -shape anywhere -dir /tmp/work
//
// scripts/bench-ifchanged.sh runs it for every shape and times bkgen.
package main

import (
	"flag"
	"fmt"
	"os"
	"path/filepath"
	"strings"

	"github.com/bkgen/bkgen/internal/workload"
)

func main() {
	dir := flag.String("dir", "", "directory to write the repository into (created)")
	shapeName := flag.String("shape", "prefix", "pattern shape: prefix, anywhere or braces")
	flag.Parse()
	if err := write(*dir, *shapeName); err != nil {
		fmt.Fprintln(os.Stderr, "benchgen:", err)
		os.Exit(1)
	}
}

func write(dir, shapeName string) error {
	if dir == "" {
		return fmt.Errorf("-dir is required")
	}
	var shape *workload.Shape
	for i := range workload.Shapes {
		if workload.Shapes[i].Name == shapeName {
			shape = &workload.Shapes[i]
		}
	}
	if shape == nil {
		return fmt.Errorf("unknown shape %q", shapeName)
	}
	var spec strings.Builder
	spec.WriteString("version: 1\nregistries:\n  packages: {provider: buildkite, org: acme, registry: images}\n")
	spec.WriteString("defaults:\n  scan: false\n  agents: {queue: docker}\nimages:\n")
	for n := range workload.Rules {
		ctx := fmt.Sprintf("images/img%d", n)
		if err := os.MkdirAll(filepath.Join(dir, ctx), 0o755); err != nil {
			return err
		}
		if err := os.WriteFile(filepath.Join(dir, ctx, "Dockerfile"), []byte(fmt.Sprintf("FROM alpine:3.21\nLABEL n=%d\n", n)), 0o644); err != nil {
			return err
		}
		pats := shape.RulePatterns(n)
		fmt.Fprintf(&spec, "  img%d:\n    context: %s\n    consumers:\n      test:\n        command: make test\n        if_changed: [%q, %q]\n", n, ctx, pats[0], pats[1])
	}
	if err := os.MkdirAll(filepath.Join(dir, ".buildkite"), 0o755); err != nil {
		return err
	}
	if err := os.WriteFile(filepath.Join(dir, ".buildkite", "bkgen.yml"), []byte(spec.String()), 0o644); err != nil {
		return err
	}
	changed := strings.Join(workload.ChangedPaths(7, workload.Paths), "\n") + "\n"
	return os.WriteFile(filepath.Join(dir, "changed.txt"), []byte(changed), 0o644)
}
