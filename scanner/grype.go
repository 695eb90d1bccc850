package scanner

import (
	"github.com/bkgen/bkgen/templates"
)

// GrypeImage is the image grype runs from when the agent has no grype.
const GrypeImage = "anchore/grype:v0.121.2"

// Grype scans each platform, writing a table, SARIF and JSON at once; its
// exit status 2 says something reached fail_on, which is annotated and,
// with fail, fails the step.
type Grype struct{}

func (Grype) Name() string { return "grype" }

func (Grype) Options() []Option { return []Option{FailOn, Fail, IgnoreUnfixed, Annotate, Image, DBURL} }

func (Grype) Defaults(s *Settings, given func(Option) bool) {
	if !given(FailOn) {
		s.FailOn = "high"
	} else if !given(Fail) {
		// Naming the level to fail on means failing on it.
		s.Fail = true
	}
	defaultAnnotate(s, given)
}

func (Grype) Step(s *Settings, t Target) (*Step, error) {
	rs, keep := reports(t)
	env := []string{"GRYPE_DB_CACHE_DIR", "GRYPE_CHECK_FOR_APP_UPDATE"}
	if s.DBURL != "" {
		env = append(env, "GRYPE_DB_UPDATE_URL")
	}
	d := templates.GrypeData{
		Scan:    scanData(s, t, rs, runner(s, "grype", GrypeImage, env...), s.FailOn+" or above"),
		FailOnQ: quote(s.FailOn), IgnoreUnfixed: s.IgnoreUnfixed,
	}
	if s.DBURL != "" {
		d.DBURLQ = quote(s.DBURL)
	}
	cmd, err := templates.Grype(d)
	return &Step{Command: cmd, ArtifactPaths: keep}, err
}
