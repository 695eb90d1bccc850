package glob

import (
	"fmt"
	"math/rand/v2"
	"strconv"
	"sync"
	"testing"

	"github.com/bkgen/bkgen/internal/workload"
)

// bruteEvaluate is Evaluate without an index: every path against every
// pattern, keeping the smallest path of each kind.
func bruteEvaluate(paths []string, r Rule) Result {
	var res Result
	for _, path := range paths {
		inc := firstMatch(r.Include, path)
		if inc == nil {
			continue
		}
		if exc := firstMatch(r.Exclude, path); exc != nil {
			if res.ExcludedBy == nil || path < res.ExcludedPath {
				res.ExcludedPath, res.ExcludedBy = path, exc
			}
			continue
		}
		if !res.Matched || path < res.Path {
			res.Matched, res.Path, res.Include = true, path, inc
		}
	}
	if res.Matched {
		res.ExcludedPath, res.ExcludedBy = "", nil
	}
	return res
}

// rulePatterns mixes realistic patterns with ones that stress the index:
// literals at odd places, "**" inside segments, classes that may match
// "/", patterns that can match nothing, and regexp-fallback ones.
var rulePatterns = []string{
	"services/svc1/**", "services/svc12/**", "**/svc1/**", "**/svc3/**",
	"{services,apps}/svc1/**.go", "{services,apps}/svc2/**.go",
	"**.go", "**.md", "**/*_test.go", "*.go", "docs/*", "docs/**",
	"go.{mod,sum}", "**/Dockerfile", "services/svc1/cmd/main.go",
	"a**b", "s**1/**", "**svc1**", "services/svc1*/**", "**/cmd/*",
	"apps/[s]vc2/**", "apps/svc[12]/**", "[^x]pps/**", "[/a]**", "x[]",
	"{,services/}svc1/**", "services/{svc1,svc2/cmd}/**", "**/", "",
	"libs/clients/svc1/**", "**/clients/**.proto", "*/*/*",
	"{a,b}{a,b}{a,b}{a,b}{a,b}{a,b}{a,b}", "{services,apps}{/,x}{s,t}{v,w}{c,d}{1,2}{/,}**",
}

func TestEvaluateAgreesWithBruteForce(t *testing.T) {
	rng := rand.New(rand.NewPCG(3, 4))
	pool := make([]*Pattern, 0, len(rulePatterns)+200)
	for _, src := range rulePatterns {
		p, err := Compile(src)
		if err != nil {
			t.Fatalf("%q: %v", src, err)
		}
		pool = append(pool, p)
	}
	for len(pool) < cap(pool) {
		if p, err := Compile(randomPattern(rng)); err == nil {
			pool = append(pool, p)
		}
	}
	pick := func(n int) []*Pattern {
		ps := make([]*Pattern, n)
		for i := range ps {
			ps[i] = pool[rng.IntN(len(pool))]
		}
		return ps
	}

	var matched, excluded int
	for round := range 200 {
		// Paths from the workload generator, a few random ones, and some
		// duplicates, in no particular order.
		paths := workload.ChangedPaths(rng.Uint64(), 1+rng.IntN(300))
		for range rng.IntN(20) {
			paths = append(paths, randomPath(rng))
		}
		paths = append(paths, paths[:rng.IntN(len(paths))]...)
		rng.Shuffle(len(paths), func(i, j int) { paths[i], paths[j] = paths[j], paths[i] })

		ix := NewIndex(paths)
		for range 50 {
			r := Rule{Include: pick(1 + rng.IntN(3)), Exclude: pick(rng.IntN(3))}
			got, want := ix.Evaluate(r), bruteEvaluate(paths, r)
			if got != want {
				t.Fatalf("round %d: %s\nEvaluate:    %s\nbrute force: %s", round, ruleString(r), resultString(got), resultString(want))
			}
			if got.Matched {
				matched++
			} else if got.ExcludedBy != nil {
				excluded++
			}
		}
	}
	t.Logf("%d matched, %d excluded", matched, excluded)
	if matched < 1000 || excluded < 100 {
		t.Errorf("too few interesting rules: %d matched, %d only excluded", matched, excluded)
	}
}

// TestEvaluateEvidence pins the evidence rule: smallest path, first
// pattern in rule order, whatever order the paths come in.
func TestEvaluateEvidence(t *testing.T) {
	must := func(src string) *Pattern {
		p, err := Compile(src)
		if err != nil {
			t.Fatal(err)
		}
		return p
	}
	goFiles, svc, docs, tests, lib := must("**.go"), must("svc/**"), must("**/*.md"), must("**_test.go"), must("lib/**")
	paths := []string{"svc/z.go", "svc/b_test.go", "svc/a.md", "lib/x.go", "svc/a_test.go"}

	for range 10 {
		rand.Shuffle(len(paths), func(i, j int) { paths[i], paths[j] = paths[j], paths[i] })
		ix := NewIndex(paths)
		if ix.Len() != 5 {
			t.Fatalf("Len() = %d, want 5", ix.Len())
		}

		got := ix.Evaluate(Rule{Include: []*Pattern{svc, goFiles}, Exclude: []*Pattern{docs, tests, lib}})
		want := Result{Matched: true, Path: "svc/z.go", Include: svc}
		if got != want {
			t.Errorf("Evaluate = %s, want %s", resultString(got), resultString(want))
		}

		got = ix.Evaluate(Rule{Include: []*Pattern{goFiles, svc}, Exclude: []*Pattern{docs, tests}})
		want = Result{Matched: true, Path: "lib/x.go", Include: goFiles}
		if got != want {
			t.Errorf("Evaluate = %s, want %s", resultString(got), resultString(want))
		}

		got = ix.Evaluate(Rule{Include: []*Pattern{svc}, Exclude: []*Pattern{goFiles, docs}})
		want = Result{ExcludedPath: "svc/a.md", ExcludedBy: docs}
		if got != want {
			t.Errorf("Evaluate = %s, want %s", resultString(got), resultString(want))
		}

		got = ix.Evaluate(Rule{Include: []*Pattern{docs}, Exclude: []*Pattern{tests, svc}})
		want = Result{ExcludedPath: "svc/a.md", ExcludedBy: svc}
		if got != want {
			t.Errorf("Evaluate = %s, want %s", resultString(got), resultString(want))
		}

		if got := ix.Evaluate(Rule{}); got != (Result{}) {
			t.Errorf("Evaluate of an empty rule = %s, want nothing", resultString(got))
		}
	}
	if got := NewIndex(nil).Evaluate(Rule{Include: []*Pattern{must("**")}}); got.Matched {
		t.Errorf("no changed paths, but Evaluate = %s", resultString(got))
	}
}

// TestIndexCandidates checks that the index uses its lists: a pattern with
// a literal should look at few paths.
func TestIndexCandidates(t *testing.T) {
	ix := NewIndex(workload.ChangedPaths(5, 20000))
	tests := []struct {
		pattern string
		max     int
	}{
		{"services/svc12/**", 100},
		{"**/svc12/**", 200},
		{"{services,apps}/svc12/**.go", 200},
		{"services/svc12/cmd/main1.go", 1},
		{"**.proto", ix.Len() / 5},
		{"**/nothing-has-this/**", 0},
	}
	for _, tt := range tests {
		p, err := Compile(tt.pattern)
		if err != nil {
			t.Fatal(err)
		}
		n := 0
		c := ix.candidates([]*Pattern{p})
		for _, ok := c.next(); ok; _, ok = c.next() {
			n++
		}
		if n > tt.max {
			t.Errorf("%q: %d candidates of %d paths, want at most %d", tt.pattern, n, ix.Len(), tt.max)
		}
	}
}

// TestIndexConcurrent runs rules that need the lazily built file maps from
// many goroutines at once (run it with -race).
func TestIndexConcurrent(t *testing.T) {
	paths := workload.ChangedPaths(9, 5000)
	var rules []Rule
	var want []Result
	for _, src := range []string{"**/README1.md", "**.proto", "**/*_test.go", "**/svc3/**"} {
		p, err := Compile(src)
		if err != nil {
			t.Fatal(err)
		}
		rules = append(rules, Rule{Include: []*Pattern{p}})
		want = append(want, bruteEvaluate(paths, rules[len(rules)-1]))
	}

	ix := NewIndex(paths)
	var wg sync.WaitGroup
	for range 8 {
		wg.Go(func() {
			for i, r := range rules {
				if got := ix.Evaluate(r); got != want[i] {
					t.Errorf("%s: Evaluate = %s, want %s", ruleString(r), resultString(got), resultString(want[i]))
				}
			}
		})
	}
	wg.Wait()
}

func ruleString(r Rule) string {
	names := func(ps []*Pattern) []string {
		var s []string
		for _, p := range ps {
			s = append(s, p.String())
		}
		return s
	}
	return fmt.Sprintf("include %q exclude %q", names(r.Include), names(r.Exclude))
}

func resultString(r Result) string {
	name := func(p *Pattern) string {
		if p == nil {
			return "<nil>"
		}
		return strconv.Quote(p.String())
	}
	if r.Matched {
		return fmt.Sprintf("matched %q by %s", r.Path, name(r.Include))
	}
	return fmt.Sprintf("not matched, excluded %q by %s", r.ExcludedPath, name(r.ExcludedBy))
}

func TestIndexUnder(t *testing.T) {
	ix := NewIndex([]string{"b/x", "a/z", "a/b", "ab", "a", "a/b/c", "c"})
	for prefix, want := range map[string][]string{
		"a/":   {"a/b", "a/b/c", "a/z"},
		"a":    {"a", "a/b", "a/b/c", "a/z", "ab"},
		"":     {"a", "a/b", "a/b/c", "a/z", "ab", "b/x", "c"},
		"zz/":  nil,
		"a/b/": {"a/b/c"},
	} {
		got := ix.Under(prefix)
		if len(got) != len(want) {
			t.Errorf("Under(%q) = %q, want %q", prefix, got, want)
			continue
		}
		for i := range got {
			if got[i] != want[i] {
				t.Errorf("Under(%q) = %q, want %q", prefix, got, want)
				break
			}
		}
	}
}
