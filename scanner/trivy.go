package scanner

import (
	"strings"

	"github.com/bkgen/bkgen/templates"
)

// TrivyImage is the image trivy runs from when the agent has no trivy.
const TrivyImage = "aquasec/trivy:0.74.0"

// Trivy scans each platform once to JSON, then writes a SARIF report and a
// table from it; what it finds is annotated and, with fail, fails the step.
type Trivy struct{}

func (Trivy) Name() string { return "trivy" }

func (Trivy) Options() []Option {
	return []Option{Severity, Fail, IgnoreUnfixed, Annotate, Image, DBRepository, JavaDBRepository}
}

func (Trivy) Defaults(s *Settings, given func(Option) bool) {
	if !given(Severity) {
		s.Severity = highAndCritical()
	}
	defaultAnnotate(s, given)
}

func (Trivy) Step(s *Settings, t Target) (*Step, error) {
	rs, keep := reports(t)
	var db []string
	if s.DBRepository != "" {
		db = append(db, "--db-repository", quote(s.DBRepository))
	}
	if s.JavaDBRepository != "" {
		db = append(db, "--java-db-repository", quote(s.JavaDBRepository))
	}
	cmd, err := templates.Trivy(templates.TrivyData{
		Scan:      scanData(s, t, rs, runner(s, "trivy", TrivyImage), strings.Join(s.Severity, ", ")),
		SeverityQ: quote(strings.Join(s.Severity, ",")), DBArgs: db, IgnoreUnfixed: s.IgnoreUnfixed,
	})
	return &Step{Command: cmd, ArtifactPaths: keep}, err
}

// scanData is what every pulling scanner's template shares.
func scanData(s *Settings, t Target, rs []templates.ScanReport, run templates.Tool, counts string) templates.ScanData {
	return templates.ScanData{
		Login: t.Login, Runner: run, RefQ: t.RefQ, Reports: rs,
		Image: t.Image, Counts: counts, ContextQ: quote("bkgen-scan-" + t.Image),
		Annotate: s.Annotate, Fail: s.Fail,
	}
}

func defaultAnnotate(s *Settings, given func(Option) bool) {
	if !given(Annotate) {
		s.Annotate = true
	}
}
