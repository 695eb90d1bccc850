package pipetext

import (
	"os/exec"
	"strconv"
	"strings"
	"testing"
	"unicode/utf8"

	"github.com/bkgen/bkgen/internal/pipetest"
	"github.com/buildkite/interpolate"
)

// nasty are texts that have broken escaping before, or could.
var nasty = []string{
	"", "plain", "$", "$$", "$$$", "${", "${X}", "$X", "$(id)", "$$X", "$${X}",
	`\`, `\\`, `\\\`, `\\$`, `\\\\$X`, `\\${X}`, `a\b`, `\n`, `C:\path\`,
	"\n", "\nMIIB0", "a\nb\n", "\r\n", "\r", "tab\there", " lead", "trail ",
	"'", `"`, "'\"'", "`id`", "<<", "*alias", "&anchor", "!tag", "!!binary x",
	"#c", "- item", "key: value", "? q", "{a: b}", "[a]", "null", "~", "true",
	"0x10", "1e3", "ünïcödé", "\u202eevil", "\u2028", "\ufeffbom", "\x1b[31mred",
	"\x7f", "emoji 🚀", "\ufffd", "%{x}", "$1", "${X:-$(id)}", "${X?err}", "${1}",
}

// unrepresentable are texts Escape must refuse.
var unrepresentable = []string{
	`\$`, `\${X}`, `\$X`, `a\$`, `\\\$`, `awk '{print \$1}'`, "nul\x00", "\xff", "a\xc3",
}

// envs are environments the agent might interpolate with.
var envs = []map[string]string{
	nil,
	{"X": "SECRET", "1": "one", "BUILDKITE_AGENT_ACCESS_TOKEN": "token"},
	{"X": "$(touch PWNED)", "Y": `\$`},
}

func interpolated(t testing.TB, env map[string]string, s string) string {
	t.Helper()
	var pairs []string
	for k, v := range env {
		pairs = append(pairs, k+"="+v)
	}
	out, err := interpolate.Interpolate(interpolate.NewSliceEnv(pairs), s)
	if err != nil {
		t.Fatalf("interpolating %q: %v", s, err)
	}
	return out
}

func TestEscapeIsExact(t *testing.T) {
	for _, s := range nasty {
		e, err := Escape(s)
		if err != nil {
			t.Errorf("Escape(%q): %v", s, err)
			continue
		}
		for _, env := range envs {
			if got := interpolated(t, env, e); got != s {
				t.Errorf("Escape(%q) = %q, which interpolates to %q", s, e, got)
			}
		}
	}
}

func TestEscapeRefuses(t *testing.T) {
	for _, s := range unrepresentable {
		if e, err := Escape(s); err == nil {
			t.Errorf("Escape(%q) = %q, want an error", s, e)
		}
	}
}

func TestShellQuote(t *testing.T) {
	for _, s := range append(append([]string{}, nasty...), unrepresentable...) {
		q, err := ShellQuote(s)
		if strings.IndexByte(s, 0) >= 0 {
			if err == nil {
				t.Errorf("ShellQuote(%q) = %q, want an error", s, q)
			}
			continue
		}
		if err != nil {
			t.Errorf("ShellQuote(%q): %v", s, err)
			continue
		}
		checkShellWord(t, s, q)
	}
}

// checkShellWord checks that q, escaped for the pipeline and interpolated
// as the agent does, is one word that bash expands to s.
func checkShellWord(t *testing.T, s, q string) {
	t.Helper()
	e, err := Escape(q)
	if err != nil {
		t.Fatalf("ShellQuote(%q) = %q, which Escape refuses: %v", s, q, err)
	}
	for _, env := range envs {
		script := interpolated(t, env, "printf '%s\\0' "+e)
		out, err := exec.Command("bash", "-c", script).Output()
		if err != nil {
			t.Fatalf("bash -c %q: %v", script, err)
		}
		if want := s + "\x00"; string(out) != want {
			t.Fatalf("ShellQuote(%q) = %q: bash printed %q", s, q, out)
		}
	}
}

// FuzzEscape holds Escape to its promise for any text: exact after the
// agent's interpolation in any environment, or refused, and refused
// exactly when the text has a NUL, invalid UTF-8 or an escaping backslash
// before a $. Every quoted shell word passes Check and, through bash,
// gives the text back.
func FuzzEscape(f *testing.F) {
	for _, s := range append(append([]string{}, nasty...), unrepresentable...) {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		e, err := Escape(s)
		if refusable := strings.IndexByte(s, 0) >= 0 || !utf8.ValidString(s) || oddBackslashDollar(s); refusable != (err != nil) {
			t.Fatalf("Escape(%q): err = %v", s, err)
		}
		if err == nil {
			for _, env := range envs {
				if got := interpolated(t, env, e); got != s {
					t.Fatalf("Escape(%q) = %q, which interpolates to %q", s, e, got)
				}
			}
		}
		if q, err := ShellQuote(s); err == nil {
			checkShellWord(t, s, q)
		} else if strings.IndexByte(s, 0) < 0 {
			t.Fatalf("ShellQuote(%q): %v", s, err)
		}
		if err := Check(Display(s)); err != nil {
			t.Fatalf("Display(%q) = %q: %v", s, Display(s), err)
		}
	})
}

func oddBackslashDollar(s string) bool {
	b := []byte(s)
	for i := range b {
		if b[i] != '$' {
			continue
		}
		n := 0
		for j := i - 1; j >= 0 && b[j] == '\\'; j-- {
			n++
		}
		if n%2 == 1 {
			return true
		}
	}
	return false
}

func TestOddBackslashDollar(t *testing.T) {
	if !oddBackslashDollar(`\$`) || oddBackslashDollar(`\\$`) || !oddBackslashDollar(`a\\\$`) {
		t.Fatal("oddBackslashDollar is wrong")
	}
}

func TestDisplay(t *testing.T) {
	for in, want := range map[string]string{
		"services/api/main.go": "services/api/main.go",
		"with space.txt":       "with space.txt",
		"naïve/日本.txt":         "naïve/日本.txt",
		"":                     `""`,
		" lead":                `" lead"`,
		"a\n--- forged":        `"a\n--- forged"`,
		"\x1b[31mred":          `"\x1b[31mred"`,
		`d/\${X}`:              `"d/\\${X}"`,
		`say "hi"`:             `"say \"hi\""`,
		"\u202eevil":           `"\u202eevil"`,
		"bad\xffutf8":          `"bad\xffutf8"`,
	} {
		if got := Display(in); got != want {
			t.Errorf("Display(%q) = %s, want %s", in, got, want)
		}
	}
}

func FuzzDisplay(f *testing.F) {
	for _, s := range []string{"a", "a\nb", `\$`, `\\\${X}`, "\x00", "\xff", "\u2028"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		d := Display(s)
		if err := pipetest.Plain(d); err != nil {
			t.Errorf("Display(%q) = %q %v", s, d, err)
		}
		if d != s {
			if back, err := strconv.Unquote(d); err != nil || back != s {
				t.Errorf("Display(%q) = %q, which does not unquote to it", s, d)
			}
		}
	})
}
