package generator

import (
	"fmt"
	"strings"
	"testing"

	"github.com/bkgen/bkgen/changes"
	"github.com/google/go-cmp/cmp"
)

// agentFound is the agent finding exactly these changed paths.
func agentFound(files ...string) *changes.AgentResult {
	return &changes.AgentResult{Apply: true, Files: files, Method: changes.AgentMergeBase, DiffBase: "origin/main", Reason: "The agent diffs."}
}

// With --if-changed agent every decision is the agent's: each step as the
// agent applies the if_changed bkgen emits. A consumer with excludes keeps
// only its own patterns, so a change to its image alone skips it, though
// bkgen's own rule would run it; the default mode says that difference.
func TestAgentPredictsEmittedIfChanged(t *testing.T) {
	s := load(t, monorepo)
	found := agentFound("images/base/Dockerfile")
	in := Input{Spec: s, IfChanged: EvaluateAgent, Changes: changes.Result{Files: found.Files}, Agent: found}
	res := generate(t, in)
	want := map[string]bool{
		"build-base": true, "build-app": true, "build-docs": true, // a later step needs each: no if_changed
		"scan-base": true, "scan-app": true,
		"app-unit":   false, // its own if_changed only (excludes cannot be merged)
		"app-smoke":  true,  // no if_changed
		"docs-build": false,
	}
	if diff := cmp.Diff(want, runs(res.Decisions)); diff != "" {
		t.Errorf("agent runs (-want +got):\n%s", diff)
	}
	if r := step(t, res.Decisions, "app-unit").Reason; !strings.Contains(r, "the agent skips it (if_changed matched no unexcluded changed files in this build)") {
		t.Errorf("app-unit reason = %q", r)
	}
	if diff := cmp.Diff(map[string]BuildAction{"base": Build, "app": Build, "docs": Guard}, actions(res.Decisions)); diff != "" {
		t.Errorf("actions (-want +got):\n%s", diff)
	}
	for _, sd := range res.Decisions.Steps {
		if sd.Agent != nil {
			t.Errorf("%s: the agent decides, yet a difference is recorded: %+v", sd.Key, sd.Agent)
		}
	}

	// bkgen decides: the consumer runs since its image changed; the agent
	// would have skipped it; the docs image's build is left out by bkgen,
	// but the agent would run it (it carries no if_changed).
	in.IfChanged = EvaluateHere
	res = generate(t, in)
	unit := step(t, res.Decisions, "app-unit")
	if !unit.Run || unit.Agent == nil || unit.Agent.Run || !strings.Contains(unit.Reason, "; with --if-changed agent, the agent skips it") {
		t.Errorf("app-unit: %+v, agent %+v", unit, unit.Agent)
	}
	if d := step(t, res.Decisions, "build-docs"); d.Run || d.Agent == nil || !d.Agent.Run {
		t.Errorf("build-docs: %+v, agent %+v", d, d.Agent)
	}
	for _, key := range []string{"build-app", "app-smoke", "docs-build"} {
		if d := step(t, res.Decisions, key); d.Agent != nil {
			t.Errorf("%s: the agent agrees, yet a difference is recorded: %+v", key, d.Agent)
		}
	}
	if len(res.AgentNotes) != 1 {
		t.Errorf("AgentNotes = %q, want one", res.AgentNotes)
	}
	// The skip attribute is bkgen's reason alone.
	for _, st := range res.Pipeline.Steps {
		if strings.Contains(st.Skip, "agent") {
			t.Errorf("%s: skip = %q", st.Key, st.Skip)
		}
	}
}

// When the agent applies no if_changed, every step runs, and bkgen says so
// once rather than on each step it skips.
func TestAgentAppliesNothing(t *testing.T) {
	s := load(t, monorepo)
	off := &changes.AgentResult{Reason: "BUILDKITE_AGENT_APPLY_IF_CHANGED=false turns if_changed off."}
	res := generate(t, Input{Spec: s, IfChanged: EvaluateAgent, Changes: changes.Result{All: true}, Agent: off})
	for _, sd := range res.Decisions.Steps {
		if !sd.Run {
			t.Errorf("%s is skipped: %s", sd.Key, sd.Reason)
		}
	}
	res = generate(t, Input{Spec: s, Changes: changes.Result{Files: []string{"README.md"}}, Agent: off})
	d := step(t, res.Decisions, "docs-build")
	if d.Run || d.Agent == nil || !d.Agent.Run || strings.Contains(d.Reason, "agent") {
		t.Errorf("docs-build: %+v, agent %+v", d, d.Agent)
	}
	if len(res.AgentNotes) != 1 || !strings.Contains(res.AgentNotes[0], "every step would run: BUILDKITE_AGENT_APPLY_IF_CHANGED=false") {
		t.Errorf("AgentNotes = %q", res.AgentNotes)
	}
}

// The agent applies if_changed to command, group and trigger steps (the
// spec refuses it elsewhere, as Buildkite's schema does); a group it skips
// skips its steps.
func TestAgentStepKinds(t *testing.T) {
	s := load(t, `version: 1
registries:
  packages: {provider: buildkite, org: acme, registry: images}
images:
  app: {context: app}
steps:
  - {key: approve, block: "Release"}
  - {key: deploy, command: ./deploy, if_changed: app/**}
  - {key: downstream, trigger: other, if_changed: app/**}
  - group: Docs
    key: docs
    if_changed: docs/**
    steps:
      - {key: docs-build, command: make docs}
`)
	found := agentFound("README.md")
	res := generate(t, Input{Spec: s, IfChanged: EvaluateAgent, Changes: changes.Result{Files: found.Files}, Agent: found})
	got := runs(res.Decisions)
	for key, want := range map[string]bool{"approve": true, "deploy": false, "downstream": false, "docs": false, "docs-build": false} {
		if got[key] != want {
			t.Errorf("%s runs = %t, want %t (%s)", key, got[key], want, step(t, res.Decisions, key).Reason)
		}
	}
	if r := step(t, res.Decisions, "docs-build").Reason; !strings.HasPrefix(r, "its group is skipped: ") {
		t.Errorf("docs-build reason = %q", r)
	}
}

// An image built on many others is looked at once per image, whatever the
// shape of the graph: 40 images, each on the two before it, would be 2^40
// walks otherwise.
func TestAgentImagesOfADeepGraph(t *testing.T) {
	var b strings.Builder
	b.WriteString("version: 1\nregistries:\n  packages: {provider: buildkite, org: acme, registry: images}\ndefaults: {scan: false}\nimages:\n")
	for i := range 40 {
		fmt.Fprintf(&b, "  i%d:\n    context: c%d\n", i, i)
		if i >= 2 {
			fmt.Fprintf(&b, "    depends_on: [i%d, i%d]\n", i-1, i-2)
		}
	}
	s := load(t, b.String())
	found := agentFound("elsewhere.txt")
	res := generate(t, Input{Spec: s, IfChanged: EvaluateAgent, Changes: changes.Result{Files: found.Files}, Agent: found})
	if got := decision(res.Decisions, "i39"); got.Changed {
		t.Errorf("i39 changed: %+v", got)
	}
}
