// Package preview renders bkgen's plan for people: which diff base was
// used, what changed, and for each image and step what happens and why. One
// Plan renders as aligned text, as the markdown of a build annotation, as
// JSON (a stable shape, see JSON) or as a mermaid flowchart.
package preview

import (
	"fmt"
	"strings"

	"github.com/bkgen/bkgen/changes"
	"github.com/bkgen/bkgen/generator"
	"github.com/bkgen/bkgen/internal/plural"
)

// Plan is what a preview shows.
type Plan struct {
	Spec    string         // the spec file, as named on the command line
	Changes changes.Result // what changed, and how that was found
	// Agent is what buildkite-agent pipeline upload will take as changed
	// (nil: not predicted); AgentDecides says the steps' decisions are the
	// agent's (--if-changed agent).
	Agent        *changes.AgentResult
	AgentDecides bool
	Images       []*generator.ImageDecision
	Steps        []*generator.StepDecision
	// DependsOn maps a step key to the keys it depends on, for the graph.
	DependsOn map[string][]string
	Trust     generator.Trust
}

// FromResult builds a Plan from a generated pipeline, how its changes were
// found, and what the agent will take as changed (agent, nil when not
// predicted); agentDecides: the pipeline leaves if_changed to the agent.
func FromResult(specFile string, ch changes.Result, agent *changes.AgentResult, agentDecides bool, res *generator.Result) *Plan {
	p := &Plan{Spec: specFile, Changes: ch, Agent: agent, AgentDecides: agentDecides, Images: res.Decisions.Images, Steps: res.Decisions.Steps, DependsOn: map[string][]string{}, Trust: res.Trust}
	for _, s := range res.Pipeline.Steps {
		p.DependsOn[s.Key] = s.DependsOn
	}
	return p
}

// Totals counts images by action and steps by whether they run.
type Totals struct {
	Images map[generator.BuildAction]int `json:"images"`
	Run    int                           `json:"run"`
	Skip   int                           `json:"skip"`
}

func (p *Plan) totals() Totals {
	t := Totals{Images: map[generator.BuildAction]int{}}
	for _, im := range p.Images {
		t.Images[im.Action]++
	}
	for _, s := range p.Steps {
		if s.Run {
			t.Run++
		} else {
			t.Skip++
		}
	}
	return t
}

var actionOrder = []generator.BuildAction{generator.Build, generator.Guard, generator.Reuse, generator.Skip}

// summary is the one-line count: "3 images: 1 build, 1 guard, 1 skip; 7 steps: 5 run, 2 skip".
func (p *Plan) summary() string {
	t := p.totals()
	var parts []string
	for _, a := range actionOrder {
		if n := t.Images[a]; n > 0 {
			parts = append(parts, fmt.Sprintf("%d %s", n, a))
		}
	}
	return fmt.Sprintf("%s: %s; %s: %d run, %d skipped",
		plural.Count(len(p.Images), "image"), strings.Join(parts, ", "), plural.Count(len(p.Steps), "step"), t.Run, t.Skip)
}

// baseLine says what changed and how that was found, on two lines.
func (p *Plan) baseLine() string {
	c := p.Changes
	if c.All {
		return "Changed: every path\n  why: " + c.Reason
	}
	what := "Changed: " + plural.Count(len(c.Files), "file")
	if c.Base != "" {
		what += fmt.Sprintf(" against %s (%s)", c.Ref, short(c.Base))
	}
	return what + "\n  how: " + c.Reason
}

func short(sha string) string {
	if len(sha) > 12 {
		return sha[:12]
	}
	return sha
}
