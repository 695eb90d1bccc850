package pipetext

import (
	"strconv"
	"testing"
	"unicode"
)

// displayable reports why s could not stand in a log line or a skip value:
// an unprintable character, or a backslash that would escape a $.
func displayable(s string) string {
	backslashes := 0
	for _, r := range s {
		switch {
		case !unicode.IsPrint(r):
			return "holds " + strconv.QuoteRune(r)
		case r == '$' && backslashes%2 == 1:
			return `holds an escaping \ before $`
		case r == '\\':
			backslashes++
			continue
		}
		backslashes = 0
	}
	return ""
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
		if why := displayable(d); why != "" {
			t.Errorf("Display(%q) = %q %s", s, d, why)
		}
		if d != s {
			if back, err := strconv.Unquote(d); err != nil || back != s {
				t.Errorf("Display(%q) = %q, which does not unquote to it", s, d)
			}
		}
	})
}
