package glob

import (
	"math/rand/v2"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
)

// The doublestar translation is the delicate part: it rests on doublestar's
// reading of "**" and on the rewrites in branch.globs. These tests hold it
// against a regular expression built straight from the parsed pattern, in
// which every atom is its textbook equivalent ("**" is ".*", "*" is
// "[^/]*", a class is a class).

// oracle returns the regular expression for pattern, or nil if the pattern
// is invalid. The agent's quirks are applied to the parsed pattern, so they
// are in the oracle too (TestStarQuirkAgreesWithExpansion checks them).
func oracle(t testing.TB, pattern string) *regexp.Regexp {
	t.Helper()
	pp, err := parsePattern(pattern)
	if err != nil {
		return nil
	}
	re, err := compileRegexp(pp.s)
	if err != nil {
		t.Fatalf("%q: %v", pattern, err)
	}
	return re
}

// TestOracleConformance checks the oracle itself against the agent's cases,
// so that agreeing with it means something.
func TestOracleConformance(t *testing.T) {
	agentHome(t)
	for _, dir := range conformanceDirs(t) {
		file := filepath.Join(dir, "globs.tsv")
		for _, c := range readGlobCases(t, file) {
			re := oracle(t, c.pattern)
			got := "invalid"
			if re != nil {
				got = map[bool]string{true: "true", false: "false"}[re.MatchString(c.path)]
			}
			if got != c.expected {
				t.Errorf("%s:%d: oracle says %s for %q and %q, the agent %s", file, c.line, got, c.pattern, c.path, c.expected)
			}
		}
	}
}

// patternPieces are concatenated into random patterns; they lean on what
// is hard: "**" next to "/" or text, braces with slashes or empty
// branches, classes that can match "/".
var patternPieces = []string{
	"a", "b", "a", "b", "ab", ".", ".go", "/", "/", "/",
	"*", "*", "**", "**", "?", "{", "}", ",",
	"{a,b}", "{,a/}", "{b/**/,}", "{a,**}", "{/,b}",
	"[ab]", "[^a]", "[/]", "[^/]", "[]", "[^]", "[a/]",
	`\*`, `\/`, `\\`, "/**/", "**/", "/**", "***",
}

func randomPattern(rng *rand.Rand) string {
	var sb strings.Builder
	for range 1 + rng.IntN(7) {
		sb.WriteString(patternPieces[rng.IntN(len(patternPieces))])
	}
	return sb.String()
}

var pathPieces = []string{"a", "b", "ab", ".", ".go", "/", "/", "/", "*", `\`, "é", ""}

func randomPath(rng *rand.Rand) string {
	var sb strings.Builder
	for range rng.IntN(8) {
		sb.WriteString(pathPieces[rng.IntN(len(pathPieces))])
	}
	return sb.String()
}

// samplePath makes a path a branch of pattern matches, by filling in its
// wildcards at random, so the tests see matches as well as misses.
func samplePath(rng *rand.Rand, pattern string) (string, bool) {
	pp, err := parsePattern(pattern)
	if err != nil {
		return "", false
	}
	branches, ok := expand(pp.s, 1<<10)
	if !ok {
		return "", false
	}
	var sb strings.Builder
	for _, a := range branches[rng.IntN(len(branches))] {
		switch a.kind {
		case aLit:
			sb.WriteRune(a.r)
		case aStar:
			sb.WriteString([]string{"", "a", "xy"}[rng.IntN(3)])
		case aDStar:
			sb.WriteString([]string{"", "a", "/", "a/b", "/x/", "//"}[rng.IntN(6)])
		case aStar1:
			sb.WriteString([]string{"a", "xy"}[rng.IntN(2)])
		case aDStar1:
			sb.WriteString([]string{"a", "/", "a/b", "/x/", "//"}[rng.IntN(5)])
		case aQuest:
			sb.WriteString([]string{"a", "é"}[rng.IntN(2)])
		case aClass:
			switch {
			case a.cls.neg:
				sb.WriteString([]string{"z", "/"}[rng.IntN(2)])
			case len(a.cls.runes) == 0:
				return "", false
			default:
				sb.WriteRune(a.cls.runes[rng.IntN(len(a.cls.runes))])
			}
		}
	}
	return sb.String(), true
}

func TestTranslationAgreesWithOracle(t *testing.T) {
	rng := rand.New(rand.NewPCG(1, 2))
	var patterns, matches, checks int
	for range 20000 {
		pattern := randomPattern(rng)
		p, err := Compile(pattern)
		if err != nil {
			continue
		}
		patterns++
		re := oracle(t, pattern)
		paths := []string{""}
		for range 6 {
			paths = append(paths, randomPath(rng))
			if s, ok := samplePath(rng, pattern); ok {
				paths = append(paths, s, s+"/", "/"+s, s+"a")
			}
		}
		for _, path := range paths {
			want := re.MatchString(path)
			if got := p.Match(path); got != want {
				t.Fatalf("%q against %q: doublestar says %v, the oracle %v\ndoublestar patterns: %q\noracle: %s", pattern, path, got, want, p.globs, re)
			}
			checks++
			if want {
				matches++
			}
		}
	}
	t.Logf("%d patterns, %d checks, %d matches", patterns, checks, matches)
	if matches < checks/10 {
		t.Errorf("only %d of %d checks matched: the test sees too few matches", matches, checks)
	}
}

// TestRegexpFallback covers patterns whose braces expand too far for
// doublestar patterns.
func TestRegexpFallback(t *testing.T) {
	p, err := Compile("{a,b}{a,b}{a,b}{a,b}{a,b}{a,b}{a,b}/**.go")
	if err != nil {
		t.Fatal(err)
	}
	if p.re == nil {
		t.Fatalf("128 branches became %d doublestar patterns, want the regexp fallback", len(p.globs))
	}
	for path, want := range map[string]bool{
		"abababa/x.go": true, "aaaaaaa/x/y.go": true, "abababa/x.gox": false, "abababc/x.go": false, "ababab/x.go": false,
	} {
		if got := p.Match(path); got != want {
			t.Errorf("Match(%q) = %v, want %v", path, got, want)
		}
	}

	// A pattern nested past the regexp package's limit is refused rather
	// than mis-matched.
	deep := strings.Repeat("{a,b", 1100) + strings.Repeat("}", 1100)
	if _, err := Compile(deep); err == nil {
		t.Errorf("Compile of braces nested 1,100 deep: no error")
	}
	if _, err := Compile(strings.Repeat("{", 3000) + strings.Repeat("}", 3000)); err != nil {
		t.Errorf("Compile of one deeply nested branch: %v", err)
	}
}

// TestTranslation pins the doublestar patterns of the shapes that matter
// most, so a change to them is a visible decision.
func TestTranslation(t *testing.T) {
	tests := map[string][]string{
		"services/svc1/**":        {"services/svc1/**/*"},
		"**/svc1/**":              {"svc1/**/*", "**/*/svc1/**/*"},
		"{services,apps}/x/**.go": {"services/x/**/*.go", "apps/x/**/*.go"},
		"a**b":                    {"a*b", "a*/**/*b"},
		"x**":                     {"x*/**"},
		"a/**/b":                  {"a/b", "a/**/*/b"},
		"[c-g]":                   {`[\-\c\g]`},
		"[^x]":                    {"/", `[^\/\x]`},
		"go.{mod,sum}":            {"go.mod", "go.sum"},
		"a{b,b}":                  {"ab"},
		"[]":                      nil,
	}
	for pattern, want := range tests {
		p, err := Compile(pattern)
		if err != nil {
			t.Fatal(err)
		}
		var got []string
		for _, g := range p.globs {
			got = append(got, strings.TrimSuffix(g.pattern, sentinel))
		}
		if strings.Join(got, " ") != strings.Join(want, " ") {
			t.Errorf("%q translates to %q, want %q", pattern, got, want)
		}
	}
}
