package generator

import (
	"strings"
	"testing"

	"github.com/bkgen/bkgen/changes"
)

// TestUserSteps: the spec's own steps follow bkgen's as written (a `$`
// escaped), skipped with the reason when their if_changed does not match
// (a group's steps with it), never left out (their depends_on rewired
// around bkgen's steps that are), and with --if-changed agent carry their
// if_changed instead.
func TestUserSteps(t *testing.T) {
	s := load(t, `version: 1
registries:
  r: {provider: buildkite, org: acme, registry: images}
images:
  app:
    context: app
    scan: false
    if_changed: app/**
    consumers:
      unit: {command: make test, if_changed: app/**}
steps:
  - key: deploy
    command: ./deploy "$BUILDKITE_COMMIT"
    depends_on: [app-unit]
    if_changed: app/**
  - wait
  - group: Docs
    key: docs
    if_changed: docs/**
    steps:
      - {key: docs-build, command: make docs}
`)
	yamlOf := func(in Input) string {
		t.Helper()
		out, err := generate(t, in).Pipeline.YAML()
		if err != nil {
			t.Fatal(err)
		}
		return string(out)
	}
	docs := changes.Result{Files: []string{"docs/index.md"}}
	got := yamlOf(Input{Spec: s, Changes: docs})
	for _, want := range []string{
		"  - key: deploy\n    command: ./deploy \"$$BUILDKITE_COMMIT\"\n    depends_on:\n      - app-unit\n    skip: no changed path matched app/**\n",
		"  - wait: null\n",
		"  - group: Docs\n    key: docs\n    steps:\n      - key: docs-build\n        command: make docs\n",
	} {
		if !strings.Contains(got, want) {
			t.Errorf("no\n%s\nin:\n%s", want, got)
		}
	}
	// Left out: bkgen's own steps; the deploy stays, waiting for nothing.
	got = yamlOf(Input{Spec: s, Changes: docs, Skipped: OmitStep})
	if strings.Contains(got, "key: app-unit") || !strings.Contains(got, "  - key: deploy\n    command: ./deploy \"$$BUILDKITE_COMMIT\"\n    skip: no changed path matched app/**\n") {
		t.Errorf("omit:\n%s", got)
	}
	got = yamlOf(Input{Spec: s, Changes: changes.Result{Files: []string{"app/x"}}})
	if !strings.Contains(got, "  - group: Docs\n    key: docs\n    skip: no changed path matched docs/**\n") {
		t.Errorf("the docs group is not skipped:\n%s", got)
	}
	got = yamlOf(Input{Spec: s, Changes: docs, IfChanged: EvaluateAgent})
	if !strings.Contains(got, "    if_changed: docs/**\n") || !strings.Contains(got, "      - app-unit\n    if_changed: app/**\n") {
		t.Errorf("agent:\n%s", got)
	}
}
