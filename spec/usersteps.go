package spec

import (
	"fmt"
	"slices"
	"strings"

	"github.com/bkgen/bkgen/stepvalue"
	"gopkg.in/yaml.v3"
)

// UserStep is an ordinary Buildkite step the spec adds beside bkgen's own:
// a command, trigger, block, input, wait or group step, passed through as
// written (every value checked and escaped like the rest), except
// if_changed, which bkgen decides (or leaves to the agent) as it does for
// consumers.
type UserStep struct {
	Kind      string           // command, trigger, block, input, wait, group
	Key       string           // "" when it has none
	Fields    *stepvalue.Value // a mapping: the step as written, without if_changed and a group's steps
	IfChanged *IfChanged
	DependsOn []string
	Steps     []*UserStep // a group's
	Pos       Pos

	dependsOnAt []*yaml.Node
}

// userStepKinds are the kinds of step, each with the fields Buildkite's
// schema gives it (less id, identifier, name, type and signature, which
// the spec has no use for). The kind is the field that names it.
var userStepKinds = []struct {
	kind        string
	fields      []string
	description string // in the JSON Schema
}{
	{"command", []string{"command", "commands", "label", "key", "depends_on", "if", "if_changed", "branches", "agents", "env", "plugins", "parallelism", "matrix", "artifact_paths", "timeout_in_minutes", "retry", "soft_fail", "skip", "concurrency", "concurrency_group", "concurrency_method", "priority", "allow_dependency_failure", "cancel_on_build_failing", "notify", "secrets", "cache", "image"},
		"A command step, as Buildkite has it; if_changed is decided by bkgen."},
	{"trigger", []string{"trigger", "label", "key", "depends_on", "if", "if_changed", "branches", "async", "build", "skip", "soft_fail", "allow_dependency_failure"},
		"A trigger step, as Buildkite has it; if_changed is decided by bkgen."},
	{"block", []string{"block", "label", "key", "depends_on", "if", "branches", "prompt", "fields", "blocked_state", "allowed_teams", "allow_dependency_failure"},
		"A block step, as Buildkite has it."},
	{"input", []string{"input", "label", "key", "depends_on", "if", "branches", "prompt", "fields", "blocked_state", "allowed_teams", "allow_dependency_failure"},
		"An input step, as Buildkite has it."},
	{"wait", []string{"wait", "key", "depends_on", "if", "branches", "continue_on_failure", "allow_dependency_failure"},
		"A wait step, as Buildkite has it."},
	{"group", []string{"group", "label", "key", "depends_on", "if", "if_changed", "skip", "notify", "allow_dependency_failure", "steps"},
		"A group step, as Buildkite has it, of steps that are not groups; if_changed is decided by bkgen."},
}

// userSteps decodes the spec's steps.
func (d *decoder) userSteps(n *yaml.Node, what string, inGroup bool) []*UserStep {
	r := resolve(n)
	if r.Kind != yaml.SequenceNode {
		d.errorf(r, what, "expected a list of steps, found %s", kindName(r))
		return nil
	}
	var out []*UserStep
	for i, item := range r.Content {
		if s := d.userStep(item, fmt.Sprintf("%s[%d]", what, i), inGroup); s != nil {
			out = append(out, s)
		}
	}
	return out
}

func (d *decoder) userStep(n *yaml.Node, what string, inGroup bool) *UserStep {
	r := resolve(n)
	if r.Kind == yaml.ScalarNode && r.Value == "wait" && r.Tag == "!!str" {
		return &UserStep{Kind: "wait", Fields: &stepvalue.Value{Kind: stepvalue.Map, Keys: []string{"wait"}, Items: []*stepvalue.Value{{Kind: stepvalue.Null}}}, Pos: posOf(r)}
	}
	ps, ok := d.mapping(r, what)
	if !ok {
		return nil
	}
	var kinds []string
	for _, p := range ps {
		for _, k := range userStepKinds {
			if p.key.Value == k.kind || (k.kind == "command" && p.key.Value == "commands") {
				kinds = append(kinds, k.kind)
			}
		}
	}
	slices.Sort(kinds)
	kinds = slices.Compact(kinds)
	if len(kinds) != 1 {
		d.errorf(r, what, "a step is one of command, trigger, block, input, wait or group: name exactly one (found %s)", cmpOrNone(strings.Join(kinds, ", ")))
		return nil
	}
	s := &UserStep{Kind: kinds[0], Pos: posOf(r)}
	if inGroup && s.Kind == "group" {
		d.errorf(r, what, "a group cannot hold a group")
		return nil
	}
	var known []string
	for _, k := range userStepKinds {
		if k.kind == s.Kind {
			known = k.fields
		}
	}
	f, ok := d.fields(r, what, known)
	if !ok {
		return nil
	}
	s.Fields = &stepvalue.Value{Kind: stepvalue.Map, Pos: posOf(r)}
	for _, p := range ps {
		name, field := p.key.Value, what+"."+p.key.Value
		switch name {
		case "if_changed":
			s.IfChanged = d.ifChanged(p.value, field)
			continue
		case "steps":
			s.Steps = d.userSteps(p.value, field, true)
			continue
		case "key":
			if k, ok := d.str(p.value, field); ok {
				stepKeyRule.check(d, p.value, field, k)
				s.Key = k
			}
		case "depends_on":
			d.userDependsOn(p.value, field, s)
		case "plugins":
			d.plugins(p.value, field) // pinned, each
		case "matrix":
			d.checkMatrix(p.value, field)
		}
		if v := d.value(p.value, field); v != nil {
			s.Fields.Keys = append(s.Fields.Keys, name)
			s.Fields.Items = append(s.Fields.Items, v)
		}
	}
	if s.Kind == "group" && f["steps"].value == nil {
		d.errorf(r, what, "a group needs steps")
	}
	return s
}

// dependencyFields are those of a user step's dependency in its mapping
// form.
var dependencyFields = []string{"step", "allow_failure"}

// userDependsOn reads depends_on as Buildkite takes it: a key, or a list
// of keys or {step, allow_failure}.
func (d *decoder) userDependsOn(n *yaml.Node, what string, s *UserStep) {
	add := func(k *yaml.Node) {
		key, ok := d.str(k, what)
		if !ok {
			return
		}
		if !stepKeyRule.check(d, k, what, key) {
			return
		}
		s.DependsOn = append(s.DependsOn, key)
		s.dependsOnAt = append(s.dependsOnAt, k)
	}
	r := resolve(n)
	switch r.Kind {
	case yaml.ScalarNode:
		add(r)
	case yaml.SequenceNode:
		for _, it := range r.Content {
			it = resolve(it)
			if it.Kind == yaml.MappingNode {
				if f, ok := d.fields(it, what, dependencyFields); ok {
					if p, ok := f["step"]; ok {
						add(p.value)
					} else {
						d.errorf(it, what, "step is required: the key it depends on")
					}
				}
				continue
			}
			add(it)
		}
	default:
		d.errorf(r, what, "expected a step key or a list of them, found %s", kindName(r))
	}
}

func cmpOrNone(s string) string {
	if s == "" {
		return "none"
	}
	return s
}

// AllUserSteps is every user step, a group's after the group.
func AllUserSteps(steps []*UserStep) []*UserStep {
	var out []*UserStep
	for _, s := range steps {
		out = append(out, s)
		out = append(out, s.Steps...)
	}
	return out
}
