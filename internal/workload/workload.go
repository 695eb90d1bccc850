// Package workload makes the large-monorepo workload that bkgen's
// if_changed benchmarks run against: 500 consumers, each with two patterns
// of one shape, and a 50,000-path change list. The glob benchmarks and the
// whole-command benchmark script share it, so their figures are comparable.
package workload

import (
	"fmt"
	"math/rand/v2"
	"strings"
)

const (
	Rules = 500   // consumers, one rule each
	Paths = 50000 // changed paths
)

// Shape is one way of writing a consumer's patterns.
type Shape struct {
	Name    string
	Pattern func(n int) string
}

// Shapes are the three pattern shapes measured: a literal prefix, a
// directory anywhere, and braces with a file extension.
var Shapes = []Shape{
	{"prefix", func(n int) string { return fmt.Sprintf("services/svc%d/**", n) }},
	{"anywhere", func(n int) string { return fmt.Sprintf("**/svc%d/**", n) }},
	{"braces", func(n int) string { return fmt.Sprintf("{services,apps}/svc%d/**.go", n) }},
}

// RulePatterns are the two patterns of rule n: for services n and n+Rules.
func (s Shape) RulePatterns(n int) []string {
	return []string{s.Pattern(n), s.Pattern(n + Rules)}
}

// ChangedPaths makes n paths shaped like a monorepo's diff, the same for a
// given seed: mostly under services/svcK/ and apps/svcK/ (K < 1000, but never
// K%5 == 4, so a fifth of the rules find nothing), the rest under libs/
// (some in libs/clients/svcK/), docs/ and the root; 2 to 6 segments deep,
// about half of them Go files.
func ChangedPaths(seed uint64, n int) []string {
	rng := rand.New(rand.NewPCG(seed, seed^0x9e3779b97f4a7c15))
	dirs := []string{"cmd", "internal", "pkg", "api", "handlers", "config", "v1", "testdata", "migrations"}
	names := []string{"main", "server", "handler", "client", "types", "util", "README", "config", "schema", "deploy"}
	exts := []string{".go", ".go", ".go", "_test.go", ".md", ".yaml", ".json", ".proto", ".sql"}
	service := func() string {
		for {
			if k := rng.IntN(1000); k%5 != 4 {
				return fmt.Sprintf("svc%d", k)
			}
		}
	}
	paths := make([]string, 0, n)
	for len(paths) < n {
		var segs []string
		switch x := rng.IntN(100); {
		case x < 45:
			segs = []string{"services", service()}
		case x < 70:
			segs = []string{"apps", service()}
		case x < 75:
			segs = []string{"libs", "clients", service()}
		case x < 90:
			segs = []string{"libs", fmt.Sprintf("lib%d", rng.IntN(200))}
		case x < 95:
			segs = []string{"docs"}
		}
		depth := 2 + rng.IntN(5) // segments in all, the file included
		for len(segs) < depth-1 {
			segs = append(segs, dirs[rng.IntN(len(dirs))])
		}
		file := names[rng.IntN(len(names))] + fmt.Sprint(rng.IntN(50)) + exts[rng.IntN(len(exts))]
		paths = append(paths, strings.Join(append(segs, file), "/"))
	}
	return paths
}
