package scanner

import (
	"strings"

	"github.com/bkgen/bkgen/templates"
)

// Trivy scans an image once to JSON, then writes a SARIF report (kept as
// an artifact) and a table whose exit status follows fail.
type Trivy struct{}

func (Trivy) Name() string { return "trivy" }

func (Trivy) Options() []Option { return []Option{Severity, Fail, IgnoreUnfixed} }

func (Trivy) Defaults(s *Settings, given func(Option) bool) {
	if !given(Severity) {
		s.Severity = highAndCritical()
	}
}

func (Trivy) Step(s *Settings, t Target) (*Step, error) {
	base := reportBase(t)
	cmd, err := templates.Trivy(templates.TrivyData{
		Login: t.Login, SeverityQ: quote(strings.Join(s.Severity, ",")),
		JSONQ: quote(base + ".json"), SARIFQ: quote(base + ".sarif"), RefQ: t.RefQ,
		IgnoreUnfixed: s.IgnoreUnfixed, Fail: s.Fail,
	})
	return &Step{Command: cmd, ArtifactPaths: []string{base + ".sarif"}}, err
}
