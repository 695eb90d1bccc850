package generator

import (
	"bytes"
	"errors"
	"fmt"
	"maps"
	"os/exec"
	"slices"
	"strings"
	"testing"

	"github.com/bkgen/bkgen/changes"
	"github.com/bkgen/bkgen/diag"
	"github.com/bkgen/bkgen/internal/pipetest"
	"github.com/bkgen/bkgen/internal/pipetext"
	"github.com/bkgen/bkgen/spec"
	"github.com/buildkite/go-pipeline/ordered"
	"github.com/google/go-cmp/cmp"
	"gopkg.in/yaml.v3"
)

// The promise: text from the spec, and file names, reach the job exactly
// as written, whatever environment the agent interpolates the pipeline
// with; or bkgen refuses them, at their position in the spec. These tests
// hold every field bkgen writes to it, for the nasty cases and, through
// FuzzSpecText, for any text.

// nastyText have broken escaping before, or could.
var nastyText = []string{
	"$", "$$", "${", "${X}", "$X", `\$`, `\${X}`, `\\$X`, `\\\$`, `\`, `a\`,
	"$(touch PWNED)", "x' $(touch PWNED) '", `awk '{print \$1}'`, "\nMIIB0",
	"\r\n", "tab\t", "\x00BUILDKITE_AGENT_ACCESS_TOKEN\x00", "<<", "*a", "!x",
	"!!binary", "0x10", "true", "~", "ünï", "\u202e", "\x1b[31m", "--help", "-",
	"a,b=c", `"`, "'", "`id`", "line1\nline2\n", " lead", "%", "#c",
}

// secretEnv is what the uploading job's environment might hold.
var secretEnv = map[string]string{
	"X": "SECRET-X", "BUILDKITE_AGENT_ACCESS_TOKEN": "SECRET-TOKEN",
	"BUILDKITE_MESSAGE": "x' $(touch PWNED) '", "GITHUB_TOKEN": "SECRET-GH",
}

// textSpec is a spec with text in every field that takes free text: as a
// value, as a key where keys are free, and, with hosted, on both kinds of
// registry.
func textSpec(text string, hosted bool) string {
	registry := map[string]any{"provider": "buildkite", "org": "acme", "registry": "images"}
	if hosted {
		registry = map[string]any{"provider": "hosted"}
	}
	consumer := map[string]any{
		"label":             text,
		"command":           text,
		"env":               map[string]any{"FOO": text},
		"agents":            map[string]any{"queue": text, text: "k"},
		"plugins":           []any{map[string]any{"docker#v5.12.0": map[string]any{"opt": text, text: []any{text}}}},
		"artifact_paths":    text,
		"concurrency_group": text,
		"concurrency":       1,
		"if_changed":        map[string]any{"include": "**", "exclude": "**"},
		"container":         map[string]any{"shell": []any{"/bin/sh", text, "-c"}},
	}
	// Build args and labels refuse variables: spec's tests hold that.
	argText := text
	if spec.NamesVariable(text) {
		argText = "plain"
	}
	s := map[string]any{
		"version":    1,
		"registries": map[string]any{"r": registry},
		"images": map[string]any{"app": map[string]any{
			"if_changed": "never/**", // the image is unchanged: the consumer decides alone
			"args":       map[string]any{"A": argText},
			"labels":     map[string]any{"note": argText},
			"agents":     map[string]any{"queue": text},
			"step":       map[string]any{"env": map[string]any{"FOO": text}, "concurrency_group": text, "concurrency": 1},
			"consumers":  map[string]any{"c": consumer},
		}},
		"steps": []any{map[string]any{"key": "own", "label": text, "command": text, "env": map[string]any{"FOO": text},
			"depends_on": []any{"app-c"}, "plugins": []any{map[string]any{"docker#v5.12.0": map[string]any{"opt": text}}}}},
	}
	out, err := yaml.Marshal(toNode(s))
	if err != nil {
		panic(err)
	}
	return string(out)
}

// toNode writes a value as YAML nodes, every string double-quoted: yaml.v3's
// own encoder loses a leading newline in a block scalar.
func toNode(v any) *yaml.Node {
	switch v := v.(type) {
	case string:
		return &yaml.Node{Kind: yaml.ScalarNode, Tag: "!!str", Value: v, Style: yaml.DoubleQuotedStyle}
	case int:
		return &yaml.Node{Kind: yaml.ScalarNode, Tag: "!!int", Value: fmt.Sprint(v)}
	case []any:
		n := &yaml.Node{Kind: yaml.SequenceNode, Tag: "!!seq"}
		for _, it := range v {
			n.Content = append(n.Content, toNode(it))
		}
		return n
	case map[string]any:
		n := &yaml.Node{Kind: yaml.MappingNode, Tag: "!!map"}
		for _, k := range slices.Sorted(maps.Keys(v)) {
			n.Content = append(n.Content, toNode(k), toNode(v[k]))
		}
		return n
	}
	panic(fmt.Sprintf("toNode: %T", v))
}

// checkText generates the spec for text and checks each field: the spec is
// refused only for text that cannot reach a job, and otherwise every field
// reads back as text after interpolation.
func checkText(t *testing.T, text string, hosted bool) {
	text = strings.ToValidUTF8(text, "\ufffd") // YAML holds only Unicode
	s, err := spec.Load("bkgen.yml", []byte(textSpec(text, hosted)))
	if err != nil {
		if pipetext.Check(text) == nil && strings.TrimSpace(text) != "" {
			t.Fatalf("text %q refused:\n%v", text, err)
		}
		for _, e := range err.(diag.List) {
			if e.Pos.Line < 1 {
				t.Errorf("unpositioned: %v", e)
			}
		}
		return
	}
	res, err := Generate(Input{Spec: s, ContentTags: tags(s), Changes: changes.Result{Files: []string{"x"}}})
	if err != nil {
		t.Fatalf("text %q: generate: %v", text, err)
	}
	out, err := res.Pipeline.YAML()
	if err != nil {
		t.Fatalf("text %q: yaml: %v", text, err)
	}
	steps := pipetest.CommandsWith(t, out, secretEnv)
	c, build := steps["app-c"], steps["build-app"]
	same := func(field string, got any) {
		t.Helper()
		if got != text {
			t.Errorf("text %q: %s = %q", text, field, got)
		}
	}
	same("label", c.Label)
	same("env.FOO", c.Env["FOO"])
	same("concurrency_group", c.RemainingFields["concurrency_group"])
	same("artifact_paths", c.RemainingFields["artifact_paths"])
	agents := c.RemainingFields["agents"].(*ordered.Map[string, any])
	queue, _ := agents.Get("queue")
	same("agents.queue", queue)
	if v, _ := agents.Get(text); v != "k" {
		t.Errorf("text %q: agents key lost: %v", text, agents)
	}
	cfg := c.Plugins[0].Config.(map[string]any)
	same("plugin config", cfg["opt"])
	if list, _ := cfg[text].([]any); len(list) != 1 || list[0] != text {
		t.Errorf("text %q: plugin config key or list lost: %v", text, cfg)
	}
	own := steps["own"]
	same("own label", own.Label)
	same("own command", own.Command)
	same("own env.FOO", own.Env["FOO"])
	same("own plugin config", own.Plugins[0].Config.(map[string]any)["opt"])
	same("build env.FOO", build.Env["FOO"])
	same("build concurrency_group", build.RemainingFields["concurrency_group"])
	bAgents := build.RemainingFields["agents"].(*ordered.Map[string, any])
	queue, _ = bAgents.Get("queue")
	same("build agents", queue)
	args := bashArgs(t, build.Command, "args")
	argText := text
	if spec.NamesVariable(text) {
		argText = "plain"
	}
	if !contains(args, "A="+argText) || !contains(args, "note="+argText) {
		t.Errorf("text %q: build args = %q", text, args)
	}
	// A heredoc in $(...) loses the command's trailing newlines, which
	// mean nothing to the shell that runs it.
	run := bashArgs(t, c.Command, "docker-run")
	if got := run[len(run)-1]; got != text && got != strings.TrimRight(text, "\n") {
		t.Errorf("text %q: consumer command = %q", text, got)
	}
	if got := run[len(run)-3]; got != text {
		t.Errorf("text %q: consumer shell argument = %q", text, got)
	}
}

// checkFileName checks that a changed file's name, however it is spelt,
// cannot change a skip reason once the agent interpolates it.
func checkFileName(t *testing.T, name string) {
	if name == "" || strings.Contains(name, "\n") {
		return // a changed-files list cannot hold either
	}
	s := load(t, `version: 1
registries:
  r: {provider: buildkite, org: acme, registry: images}
images:
  app:
    if_changed: never/**
    consumers:
      c: {command: make, if_changed: {include: "**", exclude: "**"}}
`)
	res, err := Generate(Input{Spec: s, ContentTags: tags(s), Changes: changes.Result{Files: []string{name}}})
	if err != nil {
		t.Fatalf("changed file %q: generate: %v", name, err)
	}
	out, err := res.Pipeline.YAML()
	if err != nil {
		t.Fatalf("changed file %q: yaml: %v", name, err)
	}
	want := skipReason(step(t, res.Decisions, "app-c").Reason)
	if got := pipetest.CommandsWith(t, out, secretEnv)["app-c"].RemainingFields["skip"]; got != want {
		t.Errorf("changed file %q: skip = %q, want %q", name, got, want)
	}
}

func contains(list []string, s string) bool {
	for _, x := range list {
		if x == s {
			return true
		}
	}
	return false
}

// bashArgs runs a step's command in bash with docker and buildkite-agent
// standing in, and returns the words of the args array (what) or of the
// docker run (docker-run) as bash saw them.
func bashArgs(t *testing.T, command, what string) []string {
	t.Helper()
	script := `
docker() {
  if [ "$1" = login ]; then cat >/dev/null; return 0; fi
  if [ "$1" = run ] && [ "$WHAT" = docker-run ]; then printf '%s\0' "$@"; exit 0; fi
  if [ "$1 $2" = "buildx imagetools" ]; then echo "ERROR: $4: not found" >&2; return 1; fi
  if [ "$1 $2" = "buildx build" ] && [ "$WHAT" = args ]; then printf '%s\0' "${args[@]}"; exit 0; fi
  return 0
}
buildkite-agent() { echo token; }
` + command
	cmd := exec.Command("bash", "-c", script)
	cmd.Env = []string{"WHAT=" + what, "PATH=/usr/bin:/bin", "BUILDKITE_HOSTED_REGISTRY_URL=registry.test"}
	out, err := cmd.Output()
	if err != nil {
		t.Fatalf("bash: %v\n%s", err, command)
	}
	return strings.Split(strings.TrimSuffix(string(out), "\x00"), "\x00")
}

func TestSpecTextReachesTheJob(t *testing.T) {
	for _, text := range nastyText {
		for _, hosted := range []bool{false, true} {
			t.Run(fmt.Sprintf("%q/hosted=%v", text, hosted), func(t *testing.T) {
				checkText(t, text, hosted)
			})
		}
		t.Run(fmt.Sprintf("file %q", text), func(t *testing.T) { checkFileName(t, text) })
	}
}

func FuzzSpecText(f *testing.F) {
	for _, text := range nastyText {
		f.Add(text, false)
	}
	f.Fuzz(func(t *testing.T, text string, hosted bool) {
		checkText(t, text, hosted)
		checkFileName(t, text)
	})
}

// TestPathsAreNotOptions checks a context or Dockerfile named like an
// option, or "-" (stdin), reaches docker as a path.
func TestPathsAreNotOptions(t *testing.T) {
	s := load(t, `version: 1
registries:
  r: {provider: buildkite, org: acme, registry: images}
images:
  help: {context: ./--help}
  stdin: {context: "-", dockerfile: "-"}
`)
	res := generate(t, Input{Spec: s, Changes: changes.Result{All: true}})
	out, err := res.Pipeline.YAML()
	if err != nil {
		t.Fatal(err)
	}
	for key, c := range pipetest.Commands(t, out) {
		if !strings.HasPrefix(key, "build-") {
			continue
		}
		args := bashArgs(t, c.Command, "args")
		context := args[len(args)-1]
		file := args[slices.Index(args, "--file")+1]
		if strings.HasPrefix(context, "-") || strings.HasPrefix(file, "-") {
			t.Errorf("%s: context %q, --file %q", c.Key, context, file)
		}
	}
}

// TestValuesKeepTheirMeaning checks values the YAML encoder or a JSON
// reader would change: a leading newline, a quoted "<<" key, a hex number.
func TestValuesKeepTheirMeaning(t *testing.T) {
	s := load(t, `version: 1
registries:
  r: {provider: buildkite, org: acme, registry: images}
images:
  app:
    agents: {n: 0x10, "<<": x}
    consumers:
      c:
        command: make
        env: {KEY: "\nMIIB0", CR: "a\r\nb", TAB: "\tx\ny"}
`)
	res := generate(t, Input{Spec: s, Changes: changes.Result{All: true}})
	out, err := res.Pipeline.YAML()
	if err != nil {
		t.Fatal(err)
	}
	c := pipetest.CommandsWith(t, out, secretEnv)["app-c"]
	want := map[string]string{"KEY": "\nMIIB0", "CR": "a\r\nb", "TAB": "\tx\ny"}
	for k, v := range want {
		if c.Env[k] != v {
			t.Errorf("env %s = %q, want %q", k, c.Env[k], v)
		}
	}
	agents := c.RemainingFields["agents"].(*ordered.Map[string, any])
	if v, _ := agents.Get("<<"); v != "x" {
		t.Errorf("agents = %v", agents)
	}
	js, err := res.Pipeline.JSON()
	if err != nil {
		t.Fatalf("json: %v", err)
	}
	if !bytes.Contains(js, []byte(`"n": 16`)) {
		t.Errorf("json agents:\n%s", js)
	}
}

// TestPipelineSizeIsBounded checks a small spec cannot make a huge pipeline:
// a long default repeated into every image's build is refused at the image
// that takes it past the bound.
func TestPipelineSizeIsBounded(t *testing.T) {
	var src strings.Builder
	fmt.Fprintf(&src, "version: 1\nregistries:\n  r: {provider: buildkite, org: acme, registry: images}\ndefaults:\n  args: {BIG: %q}\nimages:\n", strings.Repeat("x", 200_000))
	for i := range 100 {
		fmt.Fprintf(&src, "  i%02d: {context: c%d, scan: false}\n", i, i)
	}
	s := load(t, src.String())
	_, err := Generate(Input{Spec: s, ContentTags: tags(s), Changes: changes.Result{All: true}})
	var errs diag.List
	if !errors.As(err, &errs) || len(errs) != 1 || !strings.Contains(errs[0].Error(), "images.i51: with this image's steps the pipeline passes 10 MiB") {
		t.Fatalf("err = %v", err)
	}
	if errs[0].Pos.Line != 58 {
		t.Errorf("position = %+v, want image i51's", errs[0].Pos)
	}
}

// TestJobLimit checks a pipeline of more jobs than Buildkite takes in one
// upload is refused at the step that passes the limit, counting
// parallelism and skipped steps, and not counting steps left out.
func TestJobLimit(t *testing.T) {
	s := load(t, `version: 1
registries:
  r: {provider: buildkite, org: acme, registry: images}
images:
  app:
    scan: false
    if_changed: never/**
    consumers:
      a: {command: make, parallelism: 400}
      b: {command: make, parallelism: 5000, if_changed: docs/**}
`)
	_, err := Generate(Input{Spec: s, ContentTags: tags(s), Changes: changes.Result{Files: []string{"x"}}})
	var errs diag.List
	if !errors.As(err, &errs) || len(errs) != 1 || errs[0].Error() != "bkgen.yml:10:7: images.app: step app-b takes the pipeline to 5401 jobs (parallelism counted), past the 500 Buildkite accepts in one upload: leave out what does not run (--skipped omit), lower parallelism, or let bkgen upload split it into several uploads (--max-jobs if your organization's limit is higher)" {
		t.Fatalf("err = %v", err)
	}
	// Left out, app-b is no job at all.
	if _, err := Generate(Input{Spec: s, ContentTags: tags(s), Changes: changes.Result{Files: []string{"x"}}, Skipped: OmitStep}); err != nil {
		t.Errorf("omitted: %v", err)
	}
	// An organization with a higher limit says so.
	if _, err := Generate(Input{Spec: s, ContentTags: tags(s), Changes: changes.Result{All: true}, MaxJobs: 10_000}); err != nil {
		t.Errorf("--max-jobs 10000: %v", err)
	}
	// Split into uploads, only the one step that cannot fit is refused.
	_, err = Generate(Input{Spec: s, ContentTags: tags(s), Changes: changes.Result{All: true}, SplitUploads: true})
	if !errors.As(err, &errs) || len(errs) != 1 || errs[0].Error() != "bkgen.yml:10:7: images.app: step app-b runs 5000 jobs, past the 500 Buildkite accepts in one upload, and one step cannot be split: lower its parallelism (--max-jobs if your organization's limit is higher)" {
		t.Fatalf("split: err = %v", err)
	}
}

// TestParts splits a pipeline into uploads within the job limit, each step
// after the steps it depends on, whatever order they were listed in.
func TestParts(t *testing.T) {
	step := func(key string, parallelism int, deps ...string) *Step {
		return &Step{Key: key, Parallelism: parallelism, DependsOn: deps}
	}
	p := &Pipeline{Steps: []*Step{
		step("build-base", 0),
		step("app-smoke", 0, "app-unit", "build-app"), // listed before what it depends on
		step("build-app", 0, "build-base"),
		step("app-unit", 3, "build-app"),
		step("web-e2e", 2, "build-base", "user-step"), // a key from outside the pipeline
	}}
	var got [][]string
	for _, part := range p.Parts(4) {
		var keys []string
		jobs := 0
		for _, s := range part.Steps {
			keys = append(keys, s.Key)
			jobs += max(1, s.Parallelism)
		}
		if jobs > 4 {
			t.Errorf("a part of %d jobs: %v", jobs, keys)
		}
		got = append(got, keys)
	}
	want := [][]string{{"build-base", "build-app"}, {"app-unit", "app-smoke"}, {"web-e2e"}}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("parts (-want +got):\n%s", diff)
	}
	if n := len((&Pipeline{Steps: p.Steps}).Parts(100)); n != 1 {
		t.Errorf("under the limit: %d parts, want 1", n)
	}
}
