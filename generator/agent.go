package generator

import (
	"github.com/bkgen/bkgen/changes"
	"github.com/bkgen/bkgen/glob"
	"github.com/bkgen/bkgen/spec"
)

// AgentVerdict is what `buildkite-agent pipeline upload` does with a step's
// if_changed: with --if-changed agent the step's decision itself; when
// bkgen decides, set on a decision only where the agent, given the same
// pipeline with if_changed left to it, would decide otherwise.
type AgentVerdict struct {
	Run    bool
	Reason string
}

// agentSkipMessage is the skip attribute the agent gives a step whose
// if_changed matched nothing.
const agentSkipMessage = "if_changed matched no unexcluded changed files in this build"

// agentEvaluated are the kinds of step whose if_changed the agent applies:
// block, input and wait steps keep it and are never skipped for it.
var agentEvaluated = map[string]bool{"command": true, "group": true, "trigger": true}

// agentView is what the agent will see of each step: its if_changed when
// bkgen leaves the decision to the agent (see gen.agentView), keyed by step,
// the spec's own steps and a group's steps included.
type agentView struct {
	ifChanged map[*Step]*spec.IfChanged
	evaluated map[*Step]bool // the agent applies the step's if_changed (see agentEvaluated)
}

// agentJudge evaluates if_changed as the agent will, against the changed
// files it will find.
type agentJudge struct {
	found *changes.AgentResult
	index *glob.Index
}

func newAgentJudge(found *changes.AgentResult) *agentJudge {
	j := &agentJudge{found: found}
	if found.Apply {
		j.index = glob.NewIndex(found.Files)
	}
	return j
}

// verdict is the agent's answer for one step.
func (j *agentJudge) verdict(ic *spec.IfChanged, evaluated bool) AgentVerdict {
	switch {
	case j.found.Fails != "":
		return AgentVerdict{false, "never uploaded: " + j.found.Fails}
	case ic == nil:
		return AgentVerdict{true, "no if_changed: the agent runs it"}
	case !evaluated:
		return AgentVerdict{true, "the agent applies no if_changed to this kind of step: it runs"}
	case !j.found.Apply:
		return AgentVerdict{true, "the agent runs it: " + j.found.Reason}
	}
	matched, evidence := j.match(ic)
	if matched {
		return AgentVerdict{true, "the agent runs it: " + evidence}
	}
	return AgentVerdict{false, "the agent skips it (" + agentSkipMessage + "): " + evidence}
}

// match evaluates an if_changed against the agent's changed files, with
// the evidence either way; only when the agent applies if_changed.
func (j *agentJudge) match(ic *spec.IfChanged) (bool, string) {
	return explain(j.index, rule(ic))
}

// walkSteps visits the pipeline's steps in the order of their decisions: a
// group, then its steps. The agent itself evaluates a group's steps before
// the group; the answers are the same either way.
func walkSteps(steps []planned, visit func(s *Step, us *spec.UserStep, parent *Step)) {
	var user func(s *Step, us *spec.UserStep, parent *Step)
	user = func(s *Step, us *spec.UserStep, parent *Step) {
		visit(s, us, parent)
		for i, c := range us.Steps {
			user(s.Children[i], c, s)
		}
	}
	for _, p := range steps {
		if p.user != nil {
			user(p.Step, p.user, nil)
			continue
		}
		visit(p.Step, nil, nil)
	}
}

// verdicts is the agent's answer for every step, in decision order;
// a step of a group the agent skips is skipped with it.
func (j *agentJudge) verdicts(steps []planned, view agentView) []AgentVerdict {
	var out []AgentVerdict
	byStep := map[*Step]AgentVerdict{}
	walkSteps(steps, func(s *Step, _ *spec.UserStep, parent *Step) {
		v := j.verdict(view.ifChanged[s], view.evaluated[s])
		if pv, ok := byStep[parent]; ok && parent != nil && !pv.Run {
			v = AgentVerdict{false, "its group is skipped: " + pv.Reason}
		}
		byStep[s] = v
		out = append(out, v)
	})
	return out
}

// predictAgent makes every decision the agent's (--if-changed agent): each
// step as the agent will apply its if_changed, and each image by whether
// the agent runs its build.
func (g *gen) predictAgent(steps []planned, view agentView, decisions *Decisions, found *changes.AgentResult) {
	j := newAgentJudge(found)
	verdicts := j.verdicts(steps, view)
	for i, sd := range decisions.Steps {
		v := verdicts[i]
		sd.Run, sd.Reason = v.Run, v.Reason
	}
	byKey := map[string]*StepDecision{}
	for _, sd := range decisions.Steps {
		byKey[sd.Key] = sd
	}
	imagesChanged := map[string]bool{}
	for _, id := range decisions.Images {
		im := g.in.Spec.Image(id.Name)
		changed, evidence := true, found.Reason
		if found.Apply {
			changed, evidence = g.agentChanged(j, im, imagesChanged)
		}
		sd := byKey[spec.FinalKey(im)]
		if sd == nil || id.Action == Reuse {
			continue
		}
		id.Changed, id.Evidence = changed, evidence
		switch {
		case !sd.Run:
			id.Action, id.Reason = Skip, sd.Reason
		case changed:
			id.Action, id.Reason = Build, "inputs changed: "+evidence
		default:
			id.Action, id.Reason = Guard, "inputs unchanged, but the agent runs its build step (it carries no if_changed, as a later step needs the image); the step builds only if its content tag is missing"
		}
	}
}

// agentChanged says whether an image's inputs (excludes applied) are among
// the agent's changed files, or those of an image it is built on, with the
// evidence. changed holds the images decided already: the spec lists an
// image's bases before it, so each is looked at once.
func (g *gen) agentChanged(j *agentJudge, im *spec.Image, changed map[string]bool) (bool, string) {
	d := &decider{in: g.in}
	c, evidence := j.match(d.imageInputs(im))
	for _, dep := range im.DependsOn {
		if !c && changed[dep] {
			c, evidence = true, "depends on "+dep+", which changed"
		}
	}
	changed[im.Name] = c
	return c, evidence
}

// compareAgent says, on each decision bkgen made itself, where the agent
// would decide otherwise had the pipeline left if_changed to it
// (--if-changed agent), and why; the note it returns says how the agent
// would have found its changes, when that makes a difference.
func compareAgent(steps []planned, view agentView, decisions *Decisions, found *changes.AgentResult) []string {
	if found.Fails != "" {
		return nil // the upload fails whoever decides (see plan.Make's warning)
	}
	verdicts := newAgentJudge(found).verdicts(steps, view)
	differ := false
	for i, sd := range decisions.Steps {
		v := verdicts[i]
		if v.Run == sd.Run {
			continue
		}
		differ = true
		sd.Agent = &v
		// When the agent would apply no if_changed at all, the note says
		// so once, rather than every skipped step.
		if found.Apply {
			sd.Reason += "; with --if-changed agent, " + v.Reason
		}
	}
	if !differ {
		return nil
	}
	if !found.Apply {
		return []string{"with --if-changed agent, every step would run: " + found.Reason}
	}
	return []string{"with --if-changed agent, the agent would decide some steps otherwise: " + found.Reason}
}
