package lint

import (
	"strings"
	"testing"

	"github.com/bkgen/bkgen/diag"
	"github.com/bkgen/bkgen/spec"
	"github.com/google/go-cmp/cmp"
)

func TestSpecWarnings(t *testing.T) {
	pat := func(text string, line int) spec.Pattern {
		return spec.Pattern{Text: text, Pos: spec.Pos{Line: line, Col: 11}}
	}
	s := &spec.Spec{
		File: ".buildkite/bkgen.yml",
		Images: []*spec.Image{
			{Name: "base"}, // if_changed derived by bkgen: not checked
			{
				Name: "web",
				IfChanged: &spec.IfChanged{
					Include: []spec.Pattern{pat("web/**", 10), pat("./web/**", 11), pat("wbe/**", 12), pat("!web/docs/**", 13)},
					Exclude: []spec.Pattern{pat("web/docs/**", 14), pat("web/tmp/**", 15)},
				},
				Consumers: []*spec.Consumer{
					{Name: "test", IfChanged: &spec.IfChanged{Include: []spec.Pattern{pat("web/[a-z]*.go", 20), pat("/web/*.go", 21)}}},
					{Name: "lint"},
					{Name: "vet", IfChanged: &spec.IfChanged{Include: []spec.Pattern{pat("go{,.sum}*", 22), pat("~/web/**", 23)}}},
				},
			},
		},
	}
	tracked := []string{"go.mod", "web/main.go", "web/docs/readme.md", "api/main.go"}

	all := []string{
		`11:11: warning: pattern "./web/**" starts with "./", but the agent matches paths relative to the repository root, which never do, so it never matches; write "web/**" [pattern]`,
		`12:11: warning: pattern "wbe/**" matches no file git tracks, and the agent matches changed files only, so no change can trigger the step: a typo? [pattern]`,
		`13:11: warning: pattern "!web/docs/**" starts with "!", which the agent reads as a literal "!" (patterns have no negation): to leave paths out, list them under exclude [pattern]`,
		`15:11: warning: exclude pattern "web/tmp/**" matches no file git tracks, so it excludes nothing: a typo? [pattern]`,
		`20:11: warning: pattern "web/[a-z]*.go" has "[a-z]", but the agent has no ranges in brackets: it matches only the characters listed, "-" included; list each character you mean [pattern]`,
		`21:11: warning: pattern "/web/*.go" starts with "/", but the agent matches paths relative to the repository root, which never do, so it never matches; write "web/*.go" [pattern]`,
		`22:11: warning: pattern "go{,.sum}*" does not match "go": the agent makes a "*" that ends a pattern right after a brace group match at least one character after a branch that is empty or ends in "*" or "**"; add "go{,.sum}" beside it [pattern]`,
		`23:11: warning: pattern "~/web/**" starts with "~/", which the agent expands to its home directory, but the paths it matches are relative to the repository root, so it never matches; write the path from the repository root [pattern]`,
	}
	untracked := func(w string) bool { return strings.Contains(w, "matches no file git tracks") }

	render := func(ps diag.List) []string {
		var out []string
		for _, p := range ps {
			if p.File != s.File || p.Severity != diag.Warning {
				t.Errorf("unexpected file or severity: %v", p)
			}
			out = append(out, p.String()[len(s.File)+1:])
		}
		return out
	}
	t.Run("tracked files known", func(t *testing.T) {
		if diff := cmp.Diff(all, render(SpecWarnings(s, tracked))); diff != "" {
			t.Errorf("(-want +got):\n%s", diff)
		}
	})
	t.Run("tracked files unknown", func(t *testing.T) {
		var want []string
		for _, w := range all {
			if !untracked(w) {
				want = append(want, w)
			}
		}
		if diff := cmp.Diff(want, render(SpecWarnings(s, nil))); diff != "" {
			t.Errorf("(-want +got):\n%s", diff)
		}
	})
	t.Run("no tracked files", func(t *testing.T) {
		// Now web/** and web/docs/** match nothing either.
		got := render(SpecWarnings(s, []string{}))
		if len(got) != len(all)+2 {
			t.Errorf("got %d warnings, want %d:\n%s", len(got), len(all)+2, strings.Join(got, "\n"))
		}
	})
}
