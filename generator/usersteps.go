package generator

import (
	"strconv"

	"github.com/bkgen/bkgen/spec"
	"github.com/bkgen/bkgen/stepvalue"
	"gopkg.in/yaml.v3"
)

// userSteps makes the spec's own steps (command, trigger, block, input,
// wait, group): each as written, after bkgen's, in the spec's order
// (dependency order moves one that a step of bkgen's waits for).
func userSteps(s *spec.Spec) []planned {
	var out []planned
	for _, us := range s.Steps {
		ref := spec.StepRef{Kind: spec.UserStepKind, Key: userStepName(us), Pos: us.Pos}
		out = append(out, planned{Step: userStep(us), user: us, ref: ref})
	}
	return out
}

func userStep(us *spec.UserStep) *Step {
	s := &Step{Key: us.Key, DependsOn: us.DependsOn, Raw: us.Fields}
	if p := us.Fields.Get("parallelism"); p != nil && p.Kind == stepvalue.Int {
		s.Parallelism, _ = strconv.Atoi(p.Scalar)
	}
	for _, c := range us.Steps {
		s.Children = append(s.Children, userStep(c))
	}
	return s
}

// userRuns decides whether a spec's own step runs: always, without
// if_changed; else when its patterns match.
func (d *decider) userRuns(us *spec.UserStep) verdict {
	if us.IfChanged == nil {
		return verdict{true, "no if_changed: always runs"}
	}
	matched, why := d.evaluate(rule(us.IfChanged))
	return verdict{matched, why}
}

// userDecisions decides a spec's own step and a group's steps, marking
// what does not run with skip (a spec's own step is never left out: its
// depends_on and a group's steps are the spec's to arrange) or, when the
// agent decides, handing it the step's if_changed.
func (d *decider) userDecisions(p planned, agent bool) []*StepDecision {
	var out []*StepDecision
	var visit func(s *Step, us *spec.UserStep, group *verdict)
	visit = func(s *Step, us *spec.UserStep, group *verdict) {
		v := d.userRuns(us)
		sd := &StepDecision{Key: userStepName(us), Kind: spec.UserStepKind, Run: v.run, Reason: v.reason}
		switch {
		case agent:
			s.IfChanged = us.IfChanged
		case !v.run && us.Fields.Get("skip") == nil:
			s.Skip = skipReason(v.reason)
		}
		if group != nil && !group.run && !agent {
			sd.Run, sd.Reason = false, "its group is skipped: "+group.reason
		}
		out = append(out, sd)
		for i, c := range us.Steps {
			visit(s.Children[i], c, &v)
		}
	}
	visit(p.Step, p.user, nil)
	return out
}

// userStepName names a spec's own step for people: its key, else its
// label, else its kind.
func userStepName(us *spec.UserStep) string {
	if us.Key != "" {
		return us.Key
	}
	for _, k := range []string{"label", us.Kind} {
		if v := us.Fields.Get(k); v != nil && v.Kind == stepvalue.String && v.Scalar != "" {
			return v.Scalar
		}
	}
	return us.Kind
}

// userStep writes a spec's own step: its fields as written, then the
// skip or if_changed bkgen gives it, then a group's steps.
func (w *writer) userStep(s *Step) *yaml.Node {
	m := &yaml.Node{Kind: yaml.MappingNode, Tag: "!!map"}
	add := func(k string, v *yaml.Node) { m.Content = append(m.Content, w.str(k), v) }
	for i, k := range s.Raw.Keys {
		if k == "depends_on" && s.Rewired {
			if len(s.DependsOn) > 0 {
				add(k, w.strings(s.DependsOn))
			}
			continue
		}
		add(k, w.value(s.Raw.Items[i]))
	}
	if s.Skip != "" {
		add("skip", w.str(s.Skip))
	}
	if s.IfChanged != nil {
		add("if_changed", w.ifChanged(s.IfChanged))
	}
	if len(s.Children) > 0 {
		seq := &yaml.Node{Kind: yaml.SequenceNode, Tag: "!!seq"}
		for _, c := range s.Children {
			seq.Content = append(seq.Content, w.userStep(c))
		}
		add("steps", seq)
	}
	return m
}
