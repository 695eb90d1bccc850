package glob

import (
	"math/rand/v2"
	"regexp"
	"slices"
	"strings"
	"testing"
)

// TestQuirkMatch holds cases of the agent's two quirks beyond the
// conformance files, worked out from the confirmed rule.
func TestQuirkMatch(t *testing.T) {
	agentHome(t)
	tests := []matchCase{
		// A leading "~/" is the home directory, as text: its runes are not
		// pattern syntax, and only the raw pattern's first two count.
		{"~/x", []string{"/home/agent/x"}, []string{"~/x", "x"}},
		{"~/**.go", []string{"/home/agent/a/b.go"}, []string{"~/a.go", "a.go"}},
		{"~/{a,b}", []string{"/home/agent/a", "/home/agent/b"}, []string{"~/a"}},
		{"~", []string{"~"}, []string{"/home/agent"}},
		{"~/", []string{"/home/agent/"}, []string{"~/"}},
		{`\~/x`, []string{"~/x"}, []string{"/home/agent/x"}},
		{"{~/x,y}", []string{"~/x", "y"}, nil},

		// The last star after a branch that is empty or ends in a star
		// needs a rune of its kind; after other branches it needs none.
		{"{a*,b}**", []string{"ab", "a/", "a/x", "b", "bx"}, []string{"a"}},
		{"{a**,b}*", []string{"ax", "a/x", "b"}, []string{"a", "a/", "a/x/"}},
		{"{a***,b}*", []string{"ax", "a/x"}, []string{"a"}},
		{"x{,y}**", []string{"x/", "xy", "x/y", "xa"}, []string{"x"}},
		{"x{,y}*", []string{"xy", "xa"}, []string{"x", "x/"}},
		{"{{a,}}*", []string{"a", "x", "ax"}, []string{""}},
		{"{a{,b}}*", []string{"a", "ab", "ax"}, []string{""}}, // no branch expands to "" or ends in a star
		{"{a*{,b}}*", []string{"ab", "ax", "abx"}, []string{"a"}},
		{"{a,b}{,c}*", []string{"ac", "bc", "ax", "acx"}, []string{"a", "b"}},
		{"{,a}{,b}*", []string{"a", "ab", "ax", "b", "x"}, []string{""}}, // "a" is "" then "a"
		{"{[ab],c?}*", []string{"a", "b", "cx", "ax"}, []string{"c"}},
		{"{a,\\*}*", []string{"a", "*", "*x"}, []string{""}}, // an escaped star is a literal
		{"{a,b*}*", []string{"a", "bx", "bxy"}, []string{"b"}},
		{"{a,b?}*", []string{"a", "bx"}, []string{"b"}},
		{"{,a}*/x", []string{"/x", "a/x", "ab/x"}, nil},

		// Not at the end, or not one star token: no quirk.
		{"{a,}***", []string{"", "a", "a/b"}, nil},
		{"{a,}*}", []string{"}", "a}", "ax}"}, nil},
		{"{a,}\\*", []string{"*", "a*"}, []string{""}},
		{"{x{a,}*}", []string{"x", "xa", "xb"}, nil},
		{"{a,}*{b,}", []string{"", "a", "x", "xb"}, nil},
		{"{a,}?", []string{"x", "ax"}, []string{""}},

		// The groups the "**/" and "/**/" rewrites make.
		{"**/*", []string{"x", "a/x", "a/b/x", "a/"}, []string{""}}, // "a/" by "**/" and "*" matching nothing
		{"**/**", []string{"x", "/", "a/"}, []string{""}},
		{"a/**/*", []string{"a/x", "a/b/x"}, []string{"a/", "a"}},
		{"a/**/**", []string{"a/x", "a//", "a/b/"}, []string{"a/"}},
		{"a/**/{,b}*", []string{"a/x", "a/b", "a/c/b"}, []string{"a/", "a/c/"}},
	}
	checkMatches(t, tests)
}

// TestHomeUnknown: without a home directory the "~" stays a literal, but
// the quirk is still reported, as the agent has one.
func TestHomeUnknown(t *testing.T) {
	t.Setenv("HOME", "")
	p, err := Compile("~/x")
	if err != nil {
		t.Fatal(err)
	}
	if !p.Match("~/x") {
		t.Errorf(`"~/x" without a home directory should match "~/x"`)
	}
	if qs := p.Quirks(); len(qs) != 1 || qs[0].Kind != QuirkHome {
		t.Errorf("Quirks() = %+v, want QuirkHome", qs)
	}
}

// quirkReference matches as the agent does by the quirk's rule itself,
// written independently of starQuirk: each branch of the last group is
// expanded in full, and the last star needs a rune after those that are
// empty or end in a star. It returns nil when the rule does not apply.
func quirkReference(t *testing.T, pattern string) *regexp.Regexp {
	t.Helper()
	toks, err := tokenise(pattern)
	if err != nil {
		return nil
	}
	toks, _ = expandHome(pattern, toks)
	s, err := parse(pattern, preprocess(toks))
	if err != nil {
		return nil
	}
	n := len(s)
	if n < 2 || s[n-1].isAlt || (s[n-1].kind != aStar && s[n-1].kind != aDStar) || !s[n-2].isAlt {
		return nil
	}
	star, plus := `[^/]*`, `[^/]+`
	if s[n-1].kind == aDStar {
		star, plus = `.*`, `.+`
	}
	var sb strings.Builder
	sb.WriteString(`\A(?s:`)
	writeRegexp(&sb, s[:n-2])
	sb.WriteString(`(?:`)
	for i, alt := range s[n-2].alts {
		bs, ok := expand(alt, 1<<12)
		if !ok {
			return nil
		}
		for j, b := range bs {
			if i+j > 0 {
				sb.WriteByte('|')
			}
			bseq := make(seq, len(b))
			for k, a := range b {
				bseq[k] = elem{atom: a}
			}
			writeRegexp(&sb, bseq)
			if len(b) == 0 || b[len(b)-1].kind == aStar || b[len(b)-1].kind == aDStar {
				sb.WriteString(plus)
			} else {
				sb.WriteString(star)
			}
		}
	}
	sb.WriteString(`))\z`)
	re, err := regexp.Compile(sb.String())
	if err != nil {
		t.Fatalf("%q: %v", pattern, err)
	}
	return re
}

// quirkGroups are the last groups of the patterns
// TestStarQuirkAgreesWithReference makes: empty branches, stars at the
// end of branches and of nested groups, and branches that end otherwise.
var quirkGroupPieces = []string{
	"", "", "a", "b", "/", "*", "**", "?", "[ab]", "[^a]", `\*`,
	"{a,}", "{,b*}", "{a*,b}", "{/,**}", "{}", "{,}",
}

func randomQuirkPattern(rng *rand.Rand) string {
	var sb strings.Builder
	if rng.IntN(3) > 0 {
		sb.WriteString(randomPattern(rng))
	}
	sb.WriteByte('{')
	for i := range 1 + rng.IntN(3) {
		if i > 0 {
			sb.WriteByte(',')
		}
		for range rng.IntN(3) {
			sb.WriteString(quirkGroupPieces[rng.IntN(len(quirkGroupPieces))])
		}
	}
	sb.WriteByte('}')
	sb.WriteString([]string{"*", "**"}[rng.IntN(2)])
	return sb.String()
}

// TestStarQuirkAgreesWithReference holds Compile (the doublestar
// translation and, for big patterns, the regexp) against quirkReference.
func TestStarQuirkAgreesWithReference(t *testing.T) {
	rng := rand.New(rand.NewPCG(5, 6))
	var patterns, checks, matches, quirky int
	for range 10000 {
		pattern := randomQuirkPattern(rng)
		p, err := Compile(pattern)
		if err != nil {
			continue
		}
		ref := quirkReference(t, pattern)
		if ref == nil {
			continue // the pattern's own tokens made it something else
		}
		patterns++
		paths := []string{""}
		for range 6 {
			paths = append(paths, randomPath(rng))
			if s, ok := samplePath(rng, pattern); ok {
				paths = append(paths, s, s+"/", s+"a", strings.TrimSuffix(s, "a"))
			}
		}
		plain := oracleWithoutQuirks(t, pattern)
		re := oracle(t, pattern) // what the regexp fallback would do
		for _, path := range paths {
			want := ref.MatchString(path)
			if got := p.Match(path); got != want {
				t.Fatalf("%q against %q: Compile says %v, the reference %v\ndoublestar patterns: %q\nreference: %s", pattern, path, got, want, p.globs, ref)
			}
			if got := re.MatchString(path); got != want {
				t.Fatalf("%q against %q: the regexp says %v, the reference %v\nregexp: %s\nreference: %s", pattern, path, got, want, re, ref)
			}
			checks++
			if want {
				matches++
			}
			if want != plain.MatchString(path) {
				quirky++
			}
		}
	}
	t.Logf("%d patterns, %d checks, %d matches, %d where the quirk shows", patterns, checks, matches, quirky)
	if matches < checks/10 || quirky < checks/100 {
		t.Errorf("%d matches and %d quirky answers in %d checks: the test sees too few", matches, quirky, checks)
	}
}

// oracleWithoutQuirks is the regexp of a pattern read by the dialect alone.
func oracleWithoutQuirks(t *testing.T, pattern string) *regexp.Regexp {
	t.Helper()
	toks, err := tokenise(pattern)
	if err != nil {
		t.Fatal(err)
	}
	toks, _ = expandHome(pattern, toks)
	s, err := parse(pattern, preprocess(toks))
	if err != nil {
		t.Fatal(err)
	}
	re, err := compileRegexp(s)
	if err != nil {
		t.Fatal(err)
	}
	return re
}

// TestStarQuirkRegexpFallback: a quirky pattern too big for doublestar.
func TestStarQuirkRegexpFallback(t *testing.T) {
	p, err := Compile("{a,b}{a,b}{a,b}{a,b}{a,b}{a,b}{a,b}{,c}*")
	if err != nil {
		t.Fatal(err)
	}
	if p.re == nil {
		t.Fatalf("256 branches became %d doublestar patterns, want the regexp fallback", len(p.globs))
	}
	for path, want := range map[string]bool{
		"abababa": false, "abababac": true, "abababax": true, "abababacx": true, "abababa/": false,
	} {
		if got := p.Match(path); got != want {
			t.Errorf("Match(%q) = %v, want %v", path, got, want)
		}
	}
	qs := p.Quirks()
	if len(qs) != 1 || qs[0].Kind != QuirkStarAfterBraces || qs[0].Missed != nil || qs[0].Fix != "{a,b}{a,b}{a,b}{a,b}{a,b}{a,b}{a,b}{,c}" {
		t.Errorf("Quirks() = %+v, want QuirkStarAfterBraces, Missed nil (too many to list)", qs)
	}
}

func TestQuirks(t *testing.T) {
	agentHome(t)
	tests := []struct {
		pattern string
		want    []Quirk
	}{
		{"Gemfile{,.lock}*", []Quirk{{Kind: QuirkStarAfterBraces, Missed: []string{"Gemfile"}, Fix: "Gemfile{,.lock}"}}},
		{"src/{main,test*}*", []Quirk{{Kind: QuirkStarAfterBraces, Missed: []string{"src/test"}, Fix: "src/{main,test*}"}}},
		{"config{,/**}*", []Quirk{{Kind: QuirkStarAfterBraces, Missed: []string{"config"}, Fix: "config{,/**}"}}},
		{"{a,{b,}}*", nil}, // only "" is missed
		{"{x{a*,b},c}*", []Quirk{{Kind: QuirkStarAfterBraces, Missed: []string{"xa"}, Fix: "{x{a*,b},c}"}}},
		{"a*{,b}*", []Quirk{{Kind: QuirkStarAfterBraces, Missed: []string{"a"}, Fix: "a*{,b}"}}},
		{"{a,b}/Gemfile{,.lock}**", []Quirk{{Kind: QuirkStarAfterBraces, Missed: []string{"a/Gemfile", "b/Gemfile"}, Fix: "{a,b}/Gemfile{,.lock}"}}},
		{"*/[^a]?{x*,}*", []Quirk{{Kind: QuirkStarAfterBraces, Missed: []string{"*/[^a]?"}, Fix: "*/[^a]?{x*,}"}}}, // "*/[^a]?x" is matched after the empty branch
		{`\{,}{,\*}*`, []Quirk{{Kind: QuirkStarAfterBraces, Missed: []string{`\{\,\}`}, Fix: `\{,}{,\*}`}}},
		{"{a,a*}*", nil}, // "a" is matched by the first branch
		{"x/{,a}*", nil}, // only "x/" is missed
		{"{a**,b}*", []Quirk{{Kind: QuirkStarAfterBraces, Missed: []string{"a"}, Fix: "{a**,b}"}}},
		{"**/*", nil}, {"a/**/*", nil}, {"**/**", nil}, {"*{,.lock}*", nil},
		{"{a,b}*", nil}, {"{a,}*x", nil}, {"{a,}***", nil}, {"Gemfile*", nil},
		{"~/x", []Quirk{{Kind: QuirkHome}}},
		{"~/a{,b}*", []Quirk{{Kind: QuirkHome}, {Kind: QuirkStarAfterBraces, Missed: []string{"/home/agent/a"}, Fix: "~/a{,b}"}}},
		{"a/~/b", nil}, {"~x", nil},
	}
	for _, tt := range tests {
		p, err := Compile(tt.pattern)
		if err != nil {
			t.Fatal(err)
		}
		got := p.Quirks()
		if len(got) != len(tt.want) {
			t.Errorf("%q: Quirks() = %+v, want %+v", tt.pattern, got, tt.want)
			continue
		}
		for i := range got {
			if got[i].Kind != tt.want[i].Kind || got[i].Fix != tt.want[i].Fix || !slices.Equal(got[i].Missed, tt.want[i].Missed) {
				t.Errorf("%q: Quirks() = %+v, want %+v", tt.pattern, got, tt.want)
			}
		}
	}
}

// TestQuirkFix checks what Quirk promises: the pattern and its Fix
// together match what the pattern reads as, and each Missed pattern's
// paths are among those, some of them missed by the pattern alone.
func TestQuirkFix(t *testing.T) {
	rng := rand.New(rand.NewPCG(7, 8))
	var fixes int
	for range 5000 {
		pattern := randomQuirkPattern(rng)
		p, err := Compile(pattern)
		if err != nil {
			continue
		}
		for _, q := range p.Quirks() {
			if q.Kind != QuirkStarAfterBraces {
				continue
			}
			fixes++
			fix, err := Compile(q.Fix)
			if err != nil {
				t.Fatalf("%q: Fix %q: %v", pattern, q.Fix, err)
			}
			if fix.tail != nil {
				t.Fatalf("%q: Fix %q meets the quirk too", pattern, q.Fix)
			}
			reads := oracleWithoutQuirks(t, pattern)
			paths := []string{""}
			for range 8 {
				paths = append(paths, randomPath(rng))
				if s, ok := samplePath(rng, pattern); ok {
					paths = append(paths, s, s+"/", s+"a", strings.TrimSuffix(s, "a"))
				}
			}
			for _, m := range q.Missed {
				paths = append(paths, m)
			}
			for _, path := range paths {
				if want, got := reads.MatchString(path), p.Match(path) || fix.Match(path); got != want {
					t.Fatalf("%q with its fix %q against %q: %v, the pattern reads as %v", pattern, q.Fix, path, got, want)
				}
			}
			for _, m := range q.Missed {
				if _, err := Compile(m); err != nil {
					t.Fatalf("%q: Missed %q: %v", pattern, m, err)
				}
				if !strings.ContainsAny(m, `*?[{\`) && (p.Match(m) || !reads.MatchString(m)) {
					t.Fatalf("%q: Missed %q is matched, or not what the pattern reads as", pattern, m)
				}
			}
		}
	}
	if fixes < 100 {
		t.Errorf("only %d patterns with a fix: the test sees too few", fixes)
	}
}
