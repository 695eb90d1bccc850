package lint

import (
	"fmt"

	"github.com/bkgen/bkgen/diag"
	"github.com/bkgen/bkgen/glob"
	"github.com/bkgen/bkgen/spec"
)

// SpecWarnings checks the if_changed patterns of a loaded bkgen spec: those
// of images and of consumers, as written (the patterns bkgen derives are
// not checked). tracked lists the files git tracks, relative to the
// repository root as the agent matches them; nil means unknown, which skips
// the check that a pattern matches some tracked file.
//
// The spec refuses patterns the agent cannot parse when it loads, so every
// problem here is a warning: a pattern that cannot match what it seems to.
func SpecWarnings(s *spec.Spec, tracked []string) diag.List {
	var ix *glob.Index
	if tracked != nil {
		ix = glob.NewIndex(tracked)
	}
	var ps diag.List
	check := func(p spec.Pattern, role string) {
		msg := patternWarning(p.Text, role)
		if msg == "" && ix != nil {
			msg = untracked(ix, p.Text, role)
		}
		if msg != "" {
			ps = append(ps, diag.Diagnostic{File: s.File, Pos: diag.Pos{Line: max(p.Pos.Line, 1), Col: max(p.Pos.Col, 1)}, Severity: diag.Warning, Rule: "pattern", Msg: msg})
		}
	}
	rule := func(ic *spec.IfChanged) {
		if ic == nil {
			return
		}
		for _, p := range ic.Include {
			check(p, "include")
		}
		for _, p := range ic.Exclude {
			check(p, "exclude")
		}
	}
	for _, im := range s.Images {
		rule(im.IfChanged)
		for _, c := range im.Consumers {
			rule(c.IfChanged)
		}
	}
	for _, us := range spec.AllUserSteps(s.Steps) {
		rule(us.IfChanged)
	}
	return ps.Sorted()
}

// untracked says that a pattern matches none of the tracked files, or "".
// The agent matches patterns against a build's changed files only, so
// such an include pattern cannot trigger the step (not until a matching
// file is added), and such an exclude pattern excludes nothing.
func untracked(ix *glob.Index, text, role string) string {
	p, err := glob.Compile(text)
	if err != nil {
		return "" // the spec refuses these when it loads
	}
	if ix.Evaluate(glob.Rule{Include: []*glob.Pattern{p}}).Matched {
		return ""
	}
	if role == "exclude" {
		return fmt.Sprintf("exclude pattern %q matches no file git tracks, so it excludes nothing: a typo?", text)
	}
	return fmt.Sprintf("pattern %q matches no file git tracks, and the agent matches changed files only, so no change can trigger the step: a typo?", text)
}
