package glob

import (
	"math/rand/v2"
	"slices"
	"testing"

	"github.com/bkgen/bkgen/internal/workload"
)

// The workload (package internal/workload): one rule per image consumer,
// each with two include patterns of one shape, against the change list of
// a large monorepo. scripts/bench-ifchanged.sh runs the same workload
// through the whole command.

// benchRulesFor compiles the rules of one shape.
func benchRulesFor(tb testing.TB, shape workload.Shape) []Rule {
	tb.Helper()
	rules := make([]Rule, workload.Rules)
	for n := range rules {
		for _, src := range shape.RulePatterns(n) {
			p, err := Compile(src)
			if err != nil {
				tb.Fatal(err)
			}
			rules[n].Include = append(rules[n].Include, p)
		}
	}
	return rules
}

// benchChangeList is the benchmarks' change list, sorted as git lists it.
func benchChangeList() []string {
	return slices.Sorted(slices.Values(workload.ChangedPaths(7, workload.Paths)))
}

// BenchmarkIfChanged measures what bkgen does per run: index the changed
// paths, then evaluate every rule.
func BenchmarkIfChanged(b *testing.B) {
	paths := benchChangeList()
	for _, shape := range workload.Shapes {
		rules := benchRulesFor(b, shape)
		b.Run(shape.Name, func(b *testing.B) {
			matched := 0
			for b.Loop() {
				ix := NewIndex(paths)
				matched = 0
				for _, r := range rules {
					if ix.Evaluate(r).Matched {
						matched++
					}
				}
			}
			b.ReportMetric(float64(matched), "matched")
		})
	}
}

// BenchmarkNestedLoop is the naive evaluation, for comparison: every
// pattern of every rule against every changed path, with Pattern.Match
// (bruteEvaluate, the reference the index is tested against). It takes
// seconds per iteration; -benchtime 1x is enough.
func BenchmarkNestedLoop(b *testing.B) {
	paths := benchChangeList()
	for _, shape := range workload.Shapes {
		rules := benchRulesFor(b, shape)
		b.Run(shape.Name, func(b *testing.B) {
			matched := 0
			for b.Loop() {
				matched = 0
				for _, r := range rules {
					if bruteEvaluate(paths, r).Matched {
						matched++
					}
				}
			}
			b.ReportMetric(float64(matched), "matched")
		})
	}
}

// BenchmarkNewIndex measures indexing alone, for a change list in git's
// order and for one in no order, which NewIndex must sort.
func BenchmarkNewIndex(b *testing.B) {
	sorted := benchChangeList()
	shuffled := slices.Clone(sorted)
	rand.New(rand.NewPCG(8, 8)).Shuffle(len(shuffled), func(i, j int) {
		shuffled[i], shuffled[j] = shuffled[j], shuffled[i]
	})
	for name, paths := range map[string][]string{"sorted": sorted, "shuffled": shuffled} {
		b.Run(name, func(b *testing.B) {
			for b.Loop() {
				NewIndex(paths)
			}
		})
	}
}

// BenchmarkCompile measures compiling one shape's thousand patterns, the
// other part of loading a spec.
func BenchmarkCompile(b *testing.B) {
	for _, shape := range workload.Shapes {
		b.Run(shape.Name, func(b *testing.B) {
			for b.Loop() {
				benchRulesFor(b, shape)
			}
		})
	}
}
