package glob

import (
	"bufio"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"gopkg.in/yaml.v3"
)

// conformanceDirs are the copies of the agent's cases to check: the
// package's own, and the project's shared one when it is there, so the
// tests stand alone but also follow the shared copy as it grows.
func conformanceDirs(t *testing.T) []string {
	t.Helper()
	dirs := []string{filepath.Join("testdata", "conformance")}
	shared := filepath.Join("..", "..", "shared", "conformance")
	if _, err := os.Stat(shared); err == nil {
		dirs = append(dirs, shared)
	} else {
		t.Logf("no shared conformance cases at %s; using the package's copy only", shared)
	}
	return dirs
}

// globCase is one line of globs.tsv.
type globCase struct {
	line                    int
	pattern, path, expected string
}

func readGlobCases(t testing.TB, file string) []globCase {
	t.Helper()
	f, err := os.Open(file)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()

	var cases []globCase
	sc := bufio.NewScanner(f)
	for n := 1; sc.Scan(); n++ {
		line := sc.Text()
		if line == "" || strings.HasPrefix(line, "#") {
			continue
		}
		fields := strings.Split(line, "\t")
		if len(fields) != 3 {
			t.Fatalf("%s:%d: want 3 tab-separated fields, got %d: %q", file, n, len(fields), line)
		}
		switch fields[2] {
		case "true", "false", "invalid":
		default:
			t.Fatalf("%s:%d: expected value %q is not true, false or invalid", file, n, fields[2])
		}
		cases = append(cases, globCase{line: n, pattern: fields[0], path: fields[1], expected: fields[2]})
	}
	if err := sc.Err(); err != nil {
		t.Fatal(err)
	}
	if len(cases) == 0 {
		t.Fatalf("%s: no cases", file)
	}
	return cases
}

// outcome is how the agent answers a pattern and a path.
func outcome(pattern, path string) (string, error) {
	p, err := Compile(pattern)
	if err != nil {
		var se *SyntaxError
		if !errors.As(err, &se) {
			return "", fmt.Errorf("error is a %T, not a *SyntaxError: %v", err, err)
		}
		return "invalid", nil
	}
	return fmt.Sprint(p.Match(path)), nil
}

func TestConformanceGlobs(t *testing.T) {
	agentHome(t)
	for _, dir := range conformanceDirs(t) {
		file := filepath.Join(dir, "globs.tsv")
		for _, c := range readGlobCases(t, file) {
			got, err := outcome(c.pattern, c.path)
			if err != nil {
				t.Errorf("%s:%d: %q: %v", file, c.line, c.pattern, err)
				continue
			}
			if got != c.expected {
				t.Errorf("%s:%d: pattern %q, path %q: got %s, the agent says %s", file, c.line, c.pattern, c.path, got, c.expected)
			}
		}
	}
}

// ifChangedCase is one entry of if-changed.yaml.
type ifChangedCase struct {
	IfChanged any      `yaml:"if_changed"`
	Changed   []string `yaml:"changed"`
	Runs      *bool    `yaml:"runs"`
}

func TestConformanceIfChanged(t *testing.T) {
	for _, dir := range conformanceDirs(t) {
		file := filepath.Join(dir, "if-changed.yaml")
		data, err := os.ReadFile(file)
		if err != nil {
			t.Fatal(err)
		}
		var cases []ifChangedCase
		if err := yaml.Unmarshal(data, &cases); err != nil {
			t.Fatalf("%s: %v", file, err)
		}
		if len(cases) == 0 {
			t.Fatalf("%s: no cases", file)
		}
		for i, c := range cases {
			if c.Runs == nil {
				t.Fatalf("%s: case %d has no runs", file, i)
			}
			if got := RunsForIfChanged(c.IfChanged, NewIndex(c.Changed)); got != *c.Runs {
				t.Errorf("%s: case %d: if_changed %v, changed %q: runs = %v, the agent says %v", file, i, c.IfChanged, c.Changed, got, *c.Runs)
			}
		}
	}
}

// TestConformanceCopy keeps the package's copy honest: it must be the
// shared copy verbatim, when that is there to compare, but for rows the
// package's globs.tsv adds at its end, after a comment line (cases
// confirmed against a newer agent that the shared copy does not hold yet).
func TestConformanceCopy(t *testing.T) {
	shared := filepath.Join("..", "..", "shared", "conformance")
	if _, err := os.Stat(shared); err != nil {
		t.Skip("no shared conformance cases")
	}
	for _, name := range []string{"README.md", "globs.tsv", "if-changed.yaml"} {
		own, err := os.ReadFile(filepath.Join("testdata", "conformance", name))
		if err != nil {
			t.Fatal(err)
		}
		theirs, err := os.ReadFile(filepath.Join(shared, name))
		if err != nil {
			t.Fatal(err)
		}
		if name == "globs.tsv" {
			if extra, ok := strings.CutPrefix(string(own), string(theirs)); ok && (extra == "" || strings.HasPrefix(extra, "#")) {
				continue
			}
			t.Errorf("testdata/conformance/%s does not start with %s: copy it again, keeping the rows added at its end", name, filepath.Join(shared, name))
			continue
		}
		if string(own) != string(theirs) {
			t.Errorf("testdata/conformance/%s differs from %s: copy it again", name, filepath.Join(shared, name))
		}
	}
}

// agentHome sets $HOME for the rest of the test, as the agent always has
// one: the conformance cases with a leading "~/" depend on it.
func agentHome(t *testing.T) {
	t.Setenv("HOME", "/home/agent")
}

// TestMatch holds cases beyond the conformance files, worked out from how
// the agent tokenises, rewrites and matches.
func TestMatch(t *testing.T) {
	tests := []matchCase{
		// Braces: nesting, slashes, empty branches, strays.
		{"{a/{b,c/d},e}/f", []string{"a/b/f", "a/c/d/f", "e/f"}, []string{"a/e/f", "a/c/f", "f"}},
		{"{a/**/b,c}", []string{"a/b", "a/x/y/b", "c"}, []string{"a/c", "ab"}},
		{"x/{**/b,c}", []string{"x/y/b", "x/c"}, []string{"x/b"}}, // only a leading "**/" may match nothing
		{"{,a/}b", []string{"b", "a/b"}, []string{"ab", "a/a/b"}},
		{"{}", []string{""}, []string{"a"}},
		{"a{}b", []string{"ab"}, []string{"a{}b"}},
		{"a}", []string{"a}"}, []string{"a"}},
		{"a,b", []string{"a,b"}, []string{"a", "b"}},
		{"{a,b},c", []string{"a,c", "b,c"}, []string{"a", "c"}},
		{"{a,b}}", []string{"a}", "b}"}, []string{"a", "a}}"}},
		{"{a,{b,{c,d}}}", []string{"a", "b", "c", "d"}, []string{"e", "{c,d}"}},
		{"{[,]}", []string{","}, []string{"", "[,]"}},
		{"{a,b}*", []string{"a", "ab", "bcd"}, []string{"c", "a/b"}},
		// A "\" or "[" ending the pattern opens nothing: the agent keeps it literally.
		{`a\`, []string{`a\`}, []string{"a"}},
		{`{a,b}\`, []string{`a\`, `b\`}, []string{"a"}},
		{"a[", []string{"a["}, []string{"a"}},
		{"*[", []string{"x[", "["}, []string{"x"}},

		// Escapes.
		{`a\*b`, []string{"a*b"}, []string{"axb", "ab"}},
		{`\{a,b\}`, []string{"{a,b}"}, []string{"a", "b"}},
		{`a\/b`, []string{"a/b"}, []string{`a\/b`}},
		{`a\\b`, []string{`a\b`}, []string{"a/b", "ab"}},
		{`\**`, []string{"*", "*x"}, []string{"x", "*/x"}},
		{`\*\*/x`, []string{"**/x"}, []string{"x", "a/x"}},

		// Classes: no ranges, "^" alone negates, "/" is an ordinary member.
		{"[^-]", []string{"x", "/", "é"}, []string{"-", "", "xy"}},
		{"[!a]", []string{"!", "a"}, []string{"b"}},
		{"[a-]", []string{"a", "-"}, []string{"b"}},
		{`[\]]`, []string{"]"}, []string{`\`, "]]"}},
		{`[\^a]`, []string{"^", "a"}, []string{"b"}},
		{"[^^]", []string{"a"}, []string{"^"}},
		{"[*?{]", []string{"*", "?", "{"}, []string{"a"}},
		{"a[/]b", []string{"a/b"}, []string{"axb"}},
		{"a[^x]b", []string{"a/b", "ayb"}, []string{"axb"}},
		{"a[^/]b", []string{"ayb"}, []string{"a/b"}},
		{"x[]", nil, []string{"x", "x[]", "x]"}},
		{"[]]", nil, []string{"]", "[]]"}},
		{"[^]", []string{"a", "/", "é"}, []string{"", "ab"}},
		{"[^]]", []string{"a]", "/]"}, []string{"]", "a"}},

		// "**" at the start, the end and in between.
		{"**", []string{"", "a", "a/b/", ".hidden/x"}, nil},
		{"**/x", []string{"x", "a/x", "a/b/x"}, []string{"ax", "x/a"}},
		{"**/", []string{"", "a/", "a/b/"}, []string{"a"}},
		{"x/**", []string{"x/", "x/a", "x/a/b"}, []string{"x", "xa"}},
		{"x**", []string{"x", "xa", "x/", "x/a/b"}, []string{"a"}},
		{"**x", []string{"x", "ax", "a/bx", "a/x"}, []string{"xa"}},
		{"a**/", []string{"a/", "ab/", "a/b/"}, []string{"a", "ab"}},
		{"**a**", []string{"a", "xa", "x/a", "a/x", "x/ya/z"}, []string{"", "x/y"}},
		{"a**b**c", []string{"abc", "a/b/c", "axbxc", "a/xb/c"}, []string{"acb", "ab"}},
		{"**/**", []string{"a", "a/b", "/"}, []string{""}},        // "{,**/}**": after the empty branch "**" needs a rune
		{"***/x", []string{"a/x", "a/b/x"}, []string{"x"}},        // not the "**/" token pair
		{"a/***/b", []string{"a//b", "a/x/b"}, []string{"a/b"}},   // nor "/**/"
		{"a/**/**/b", []string{"a/x/b", "a//b"}, []string{"a/b"}}, // the rewrites do not overlap
		{"a/**/x/**/b", []string{"a/x/b", "a/y/x/z/b"}, []string{"a/xb"}},
		{"a//**/b", []string{"a///b", "a//x/b"}, []string{"a//b"}}, // the agent's scan misses this one
		{"/**/a", []string{"/a", "/x/a"}, []string{"a", "x/a"}},

		// "*" and "?" stay within a segment.
		{"*/*", []string{"a/b", "/b", "a/"}, []string{"a", "a/b/c"}},
		{"?", []string{"a", "é"}, []string{"", "/", "ab"}},

		// Invalid UTF-8 reads as U+FFFD, a byte at a time.
		{"a?b", []string{"a\xffb", "a\uFFFDb"}, []string{"a\xff\xffb"}},
		{"a\xff", []string{"a\xff", "a\uFFFD"}, []string{"a"}},

		// The empty pattern matches only the empty path.
		{"", []string{""}, []string{"a", "/"}},

		// Spaces and non-ASCII are ordinary runes.
		{"my dir/*.txt", []string{"my dir/a b.txt"}, []string{"my dir/a/b.txt", "mydir/a.txt"}},
		{"dóc/?.md", []string{"dóc/é.md", "dóc/a.md"}, []string{"doc/a.md", "dóc/éé.md"}},
		{"[éü]*", []string{"über", "é"}, []string{"u"}},
		{"日本/**", []string{"日本/語.txt"}, []string{"日本"}},
	}
	checkMatches(t, tests)
}

// matchCase is a pattern with paths it matches and paths it does not.
type matchCase struct {
	pattern string
	yes, no []string
}

func checkMatches(t *testing.T, tests []matchCase) {
	t.Helper()
	for _, tt := range tests {
		p, err := Compile(tt.pattern)
		if err != nil {
			t.Errorf("Compile(%q): %v", tt.pattern, err)
			continue
		}
		for _, path := range tt.yes {
			if !p.Match(path) {
				t.Errorf("%q should match %q (doublestar: %q)", tt.pattern, path, p.globs)
			}
		}
		for _, path := range tt.no {
			if p.Match(path) {
				t.Errorf("%q should not match %q (doublestar: %q)", tt.pattern, path, p.globs)
			}
		}
		if p.String() != tt.pattern {
			t.Errorf("String() = %q, want %q", p.String(), tt.pattern)
		}
	}
}

func TestSyntaxError(t *testing.T) {
	tests := []struct {
		pattern string
		offset  int
		msg     string
	}{
		{"{a,b", 0, `unclosed "{"`},
		{"x/{a,{b}", 2, `unclosed "{"`},
		{"x/{a,{b", 5, `unclosed "{"`},
		{"{", 0, `unclosed "{"`},
		{"a[bc", 1, `unclosed "["`},
		{"[^", 0, `unclosed "["`},
		{`[a\]`, 0, `unclosed "["`},
		{`[a\`, 0, `unclosed "["`},
		{"é{", 2, `unclosed "{"`}, // a byte offset
	}
	for _, tt := range tests {
		_, err := Compile(tt.pattern)
		var se *SyntaxError
		if !errors.As(err, &se) {
			t.Errorf("Compile(%q) = %v, want a *SyntaxError", tt.pattern, err)
			continue
		}
		if se.Pattern != tt.pattern || se.Offset != tt.offset || se.Msg != tt.msg {
			t.Errorf("Compile(%q) = %+v, want offset %d, msg %q", tt.pattern, *se, tt.offset, tt.msg)
		}
	}

	_, err := Compile("{a,b")
	if want := `invalid pattern "{a,b": unclosed "{" at offset 0`; err == nil || err.Error() != want {
		t.Errorf("Error() = %v, want %s", err, want)
	}
}

func TestParseIfChanged(t *testing.T) {
	changed := NewIndex([]string{"api/a.go", "docs/x.md"})
	tests := []struct {
		name    string
		value   any
		runs    bool
		wantErr bool
	}{
		{"string", "api/**", true, false},
		{"string no match", "web/**", false, false},
		{"list", []any{"web/**", "docs/**"}, true, false},
		{"[]string", []string{"web/**"}, false, false},
		{"empty list", []any{}, false, false},
		{"mapping", map[string]any{"include": "**", "exclude": []any{"api/**", "docs/**"}}, false, false},
		{"map[any]any", map[any]any{"include": "**", "exclude": "api/**"}, true, false},
		{"null include", map[string]any{"include": nil}, false, false},
		{"null exclude", map[string]any{"include": "api/**", "exclude": nil}, true, false},
		{"no include", map[string]any{"exclude": "api/**"}, true, true},
		{"bad include", map[string]any{"include": "{api"}, true, true},
		{"bad exclude", map[string]any{"include": "nothing", "exclude": "[x"}, true, true},
		{"bad item", []any{"api/**", 3}, true, true},
		{"bad type", 3, true, true},
		{"null", nil, true, true},
		{"ordered map", getter{"include": "nothing"}, false, false},
	}
	for _, tt := range tests {
		_, err := ParseIfChanged(tt.value)
		if (err != nil) != tt.wantErr {
			t.Errorf("%s: ParseIfChanged error = %v, want error %v", tt.name, err, tt.wantErr)
		}
		if got := RunsForIfChanged(tt.value, changed); got != tt.runs {
			t.Errorf("%s: RunsForIfChanged = %v, want %v", tt.name, got, tt.runs)
		}
	}

	_, err := ParseIfChanged(map[string]any{"include": []any{"ok/**", "{bad"}})
	var se *SyntaxError
	if !errors.As(err, &se) || se.Pattern != "{bad" {
		t.Errorf("ParseIfChanged with a bad pattern: %v, want it to wrap a *SyntaxError", err)
	}
}

// getter stands in for an ordered map such as go-pipeline's.
type getter map[string]any

func (g getter) Get(k string) (any, bool) { v, ok := g[k]; return v, ok }

// FuzzCompile checks that Compile either compiles or returns a positioned
// *SyntaxError, that Match never panics, and that the doublestar
// translation agrees with the regular expression of the same pattern.
func FuzzCompile(f *testing.F) {
	for _, c := range readGlobCases(f, filepath.Join("testdata", "conformance", "globs.tsv")) {
		f.Add(c.pattern, c.path)
	}
	f.Add("{a/**/b,c}[^-]\\*", "a/b")
	f.Add("a//**/b/**", "a///b/c")

	f.Fuzz(func(t *testing.T, pattern, path string) {
		p, err := Compile(pattern)
		if err != nil {
			var se *SyntaxError
			if !errors.As(err, &se) {
				t.Fatalf("Compile(%q) returned a %T: %v", pattern, err, err)
			}
			if se.Pattern != pattern || se.Offset < 0 || se.Offset > len(pattern) || se.Msg == "" {
				t.Fatalf("Compile(%q): bad SyntaxError %+v", pattern, *se)
			}
			return
		}
		got := p.Match(path)
		if p.re != nil {
			return // the regexp is the reference itself
		}
		pp, _ := parsePattern(pattern)
		re, err := compileRegexp(pp.s)
		if err != nil {
			return // nested past the regexp package's limits
		}
		if want := re.MatchString(path); got != want {
			t.Fatalf("%q against %q: doublestar says %v, the regexp %v (doublestar patterns %q)", pattern, path, got, want, p.globs)
		}
	})
}
