package scanner

import (
	"github.com/bkgen/bkgen/stepvalue"
	"github.com/bkgen/bkgen/templates"
)

// Grype scans an image and exits 2 when something reaches fail_on, which
// fails the step, or, with fail: false, soft-fails it while any other error
// still fails.
type Grype struct{}

func (Grype) Name() string { return "grype" }

func (Grype) Options() []Option { return []Option{FailOn, Fail, IgnoreUnfixed} }

func (Grype) Defaults(s *Settings, given func(Option) bool) {
	if !given(FailOn) {
		s.FailOn = "high"
	} else if !given(Fail) {
		// Naming the level to fail on means failing on it.
		s.Fail = true
	}
}

func (Grype) Step(s *Settings, t Target) (*Step, error) {
	base := reportBase(t)
	cmd, err := templates.Grype(templates.GrypeData{
		Login: t.Login, RefQ: t.RefQ, FailOnQ: quote(s.FailOn),
		SARIFQ: quote(base + ".sarif"), IgnoreUnfixed: s.IgnoreUnfixed,
	})
	step := &Step{Command: cmd, ArtifactPaths: []string{base + ".sarif"}}
	if !s.Fail {
		// Exit status 2 is grype's "found something at --fail-on".
		step.SoftFail = stepvalue.Sequence(stepvalue.Mapping(stepvalue.Field{Key: "exit_status", Value: stepvalue.Integer(2)}))
	}
	return step, err
}
