package preview

import (
	"bytes"
	"encoding/json"
	"strings"
	"testing"

	"github.com/bkgen/bkgen/changes"
	"github.com/bkgen/bkgen/generator"
	"github.com/bkgen/bkgen/spec"
	"github.com/google/go-cmp/cmp"
)

func plan() *Plan {
	return &Plan{
		Spec:    ".buildkite/bkgen.yml",
		Changes: changes.Result{Method: "branch", Ref: "origin/main", Base: "0123456789abcdef0123", Reason: "merge-base of origin/main and HEAD", Files: []string{"api/a.go", "web/b.go"}, Notes: []string{"fetched 64 more commits"}},
		Images: []*generator.ImageDecision{
			{Name: "api", Ref: "r/api:bk-1111111111111111", Changed: true, Evidence: "a.go matched api/**", Action: generator.Build, Reason: "inputs changed: a.go matched api/**"},
			{Name: "web", Ref: "r/web:bk-2222222222222222", Evidence: "no changed path matched web/**", Action: generator.Skip, Reason: "no changed path matched web/**; nothing runs in it"},
		},
		Steps: []*generator.StepDecision{
			{Key: "build-api", Image: "api", Kind: spec.BuildStep, Run: true, Reason: "inputs changed"},
			{Key: "api-unit", Image: "api", Kind: spec.ConsumerStep, Run: true, Reason: "no if_changed: always runs"},
			{Key: "build-web", Image: "web", Kind: spec.BuildStep, Reason: "unchanged | *really*"},
		},
		DependsOn: map[string][]string{"api-unit": {"build-api"}},
	}
}

func TestText(t *testing.T) {
	var b bytes.Buffer
	if err := Text(&b, plan(), false); err != nil {
		t.Fatal(err)
	}
	want := `Changed: 2 files against origin/main (0123456789ab)
  how: merge-base of origin/main and HEAD
  note: fetched 64 more commits

IMAGE  ACTION  TAG                  WHY
api    build   bk-1111111111111111  inputs changed: a.go matched api/**
web    skip    bk-2222222222222222  no changed path matched web/**; nothing runs in it

STEP       RUNS  WHY
build-api  run   inputs changed
api-unit   run   no if_changed: always runs
build-web  skip  unchanged | *really*

2 images: 1 build, 1 skip; 3 steps: 2 run, 1 skipped
`
	if diff := cmp.Diff(want, b.String()); diff != "" {
		t.Errorf("text (-want +got):\n%s", diff)
	}
	b.Reset()
	if err := Text(&b, plan(), true); err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(b.String(), "\x1b[33mbuild\x1b[0m") {
		t.Errorf("no colour with color=true:\n%q", b.String())
	}
	// Colour must not shift the columns.
	plain := regexpANSI(b.String())
	var nc bytes.Buffer
	Text(&nc, plan(), false)
	if plain != nc.String() {
		t.Errorf("coloured text, escapes removed, differs from plain text:\n%s", plain)
	}
}

func regexpANSI(s string) string {
	for {
		i := strings.Index(s, "\x1b[")
		if i < 0 {
			return s
		}
		j := strings.IndexByte(s[i:], 'm')
		s = s[:i] + s[i+j+1:]
	}
}

func TestMarkdownEscapes(t *testing.T) {
	var b bytes.Buffer
	if err := Markdown(&b, plan()); err != nil {
		t.Fatal(err)
	}
	out := b.String()
	for _, want := range []string{
		"### bkgen plan\n",
		"| api | build | `bk-1111111111111111` | inputs changed: a.go matched api/\\*\\* |\n",
		"| `build-web` | skip | unchanged \\| \\*really\\* |\n",
		"2 images: 1 build, 1 skip; 3 steps: 2 run, 1 skipped\n",
	} {
		if !strings.Contains(out, want) {
			t.Errorf("markdown lacks %q:\n%s", want, out)
		}
	}
}

func TestJSONShape(t *testing.T) {
	var b bytes.Buffer
	if err := JSON(&b, plan()); err != nil {
		t.Fatal(err)
	}
	var got map[string]any
	if err := json.Unmarshal(b.Bytes(), &got); err != nil {
		t.Fatal(err)
	}
	var keys []string
	for k := range got {
		keys = append(keys, k)
	}
	for _, k := range []string{"version", "spec", "decided_by", "changes", "agent", "images", "steps", "totals"} {
		if _, ok := got[k]; !ok {
			t.Errorf("no %q in %v", k, keys)
		}
	}
	steps := got["steps"].([]any)
	first := steps[0].(map[string]any)
	if diff := cmp.Diff(map[string]any{"key": "build-api", "image": "api", "kind": "build", "run": true, "reason": "inputs changed", "depends_on": []any{}, "agent_differs": nil}, first); diff != "" {
		t.Errorf("step (-want +got):\n%s", diff)
	}
	totals := got["totals"].(map[string]any)
	if diff := cmp.Diff(map[string]any{"images": map[string]any{"build": 1.0, "guard": 0.0, "reuse": 0.0, "skip": 1.0}, "steps": map[string]any{"run": 2.0, "skip": 1.0}}, totals); diff != "" {
		t.Errorf("totals (-want +got):\n%s", diff)
	}
}

func TestMermaid(t *testing.T) {
	var b bytes.Buffer
	if err := Mermaid(&b, plan()); err != nil {
		t.Fatal(err)
	}
	for _, want := range []string{"flowchart LR\n", "  s_build_api --> s_api_unit\n", "  class s_build_web skipped\n"} {
		if !strings.Contains(b.String(), want) {
			t.Errorf("mermaid lacks %q:\n%s", want, b.String())
		}
	}
}

// TestMarkdownCellsHoldTheirText: reasons name files, and a file name can
// hold anything markdown or HTML reads; in a table cell each stays text.
func TestMarkdownCellsHoldTheirText(t *testing.T) {
	p := plan()
	p.Steps[2].Reason = "a|b `code` <img src=x onerror=alert(1)> &lt; ~~struck~~ [link](http://x) \\| \"q\""
	var b bytes.Buffer
	if err := Markdown(&b, p); err != nil {
		t.Fatal(err)
	}
	// One row of three cells: only the unescaped | end a cell.
	want := "| `build-web` | skip | a\\|b \\`code\\` &lt;img src=x onerror=alert(1)&gt; &amp;lt; \\~\\~struck\\~\\~ \\[link\\](http://x) \\\\\\| \"q\" |\n"
	if !strings.Contains(b.String(), want) {
		t.Errorf("markdown lacks\n%s\nin:\n%s", want, b.String())
	}
}

// TestMermaidKeepsStepsApart: keys that mermaid would spell the same get
// their own nodes, and a label holds its key as text.
func TestMermaidKeepsStepsApart(t *testing.T) {
	p := &Plan{
		Steps: []*generator.StepDecision{
			{Key: "web.x", Run: true}, {Key: "web_x", Run: true}, {Key: `q"]-->evil["`, Run: true},
		},
		DependsOn: map[string][]string{"web_x": {"web.x"}},
	}
	var b bytes.Buffer
	if err := Mermaid(&b, p); err != nil {
		t.Fatal(err)
	}
	want := "flowchart LR\n" +
		"  s_web_x[\"web.x\"]\n" +
		"  s_web_x_2[\"web_x\"]\n" +
		"  s_q_____evil__[\"q#34;#93;--#62;evil#91;#34;\"]\n" +
		"  s_web_x --> s_web_x_2\n"
	if !strings.HasPrefix(b.String(), want) {
		t.Errorf("mermaid (-want +got):\n%s", cmp.Diff(want, b.String()))
	}
}
