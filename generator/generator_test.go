package generator

import (
	"fmt"
	"strings"
	"testing"

	"github.com/bkgen/bkgen/buildenv"
	"github.com/bkgen/bkgen/changes"
	"github.com/bkgen/bkgen/internal/pipetest"
	"github.com/bkgen/bkgen/internal/pipetext"
	"github.com/bkgen/bkgen/spec"
	pipeline "github.com/buildkite/go-pipeline"
	"github.com/google/go-cmp/cmp"
)

const monorepo = `version: 1
registries:
  packages: {provider: buildkite, org: acme, registry: images}
images:
  base:
    context: images/base
  app:
    context: services/app
    depends_on: [base]
    consumers:
      unit:
        command: make test
        if_changed: {include: services/app/**, exclude: services/app/docs/**}
      smoke:
        command: ./smoke.sh
  docs:
    context: docs
    scan: false
    consumers:
      build:
        command: make html
        if_changed: docs/**
`

func load(t *testing.T, src string) *spec.Spec {
	t.Helper()
	s, err := spec.Load("bkgen.yml", []byte(src))
	if err != nil {
		t.Fatalf("spec: %v", err)
	}
	return s
}

// tags gives every image a fixed content tag, as the contentkey package would.
func tags(s *spec.Spec) map[string]string {
	out := map[string]string{}
	for i, im := range s.Images {
		out[im.Name] = "bk-000000000000000" + string(rune('a'+i))
	}
	return out
}

func generate(t *testing.T, in Input) *Result {
	t.Helper()
	if in.ContentTags == nil {
		in.ContentTags = tags(in.Spec)
	}
	res, err := Generate(in)
	if err != nil {
		t.Fatalf("Generate: %v", err)
	}
	out, err := res.Pipeline.YAML()
	if err != nil {
		t.Fatal(err)
	}
	if in.Literal {
		pipetest.CheckLiteral(t, "pipeline", out)
	} else {
		pipetest.Check(t, "pipeline", out)
	}
	return res
}

func actions(d *Decisions) map[string]BuildAction {
	out := map[string]BuildAction{}
	for _, im := range d.Images {
		out[im.Name] = im.Action
	}
	return out
}

// step is the decision about the step with key.
func step(t testing.TB, d *Decisions, key string) *StepDecision {
	t.Helper()
	for _, s := range d.Steps {
		if s.Key == key {
			return s
		}
	}
	t.Fatalf("no decision about a step %s", key)
	return nil
}

func runs(d *Decisions) map[string]bool {
	out := map[string]bool{}
	for _, s := range d.Steps {
		out[s.Key] = s.Run
	}
	return out
}

func TestDecisions(t *testing.T) {
	s := load(t, monorepo)
	for _, tc := range []struct {
		name    string
		changed []string
		actions map[string]BuildAction
		runs    map[string]bool
	}{
		{
			name:    "base changed: everything on it rebuilds",
			changed: []string{"images/base/Dockerfile"},
			actions: map[string]BuildAction{"base": Build, "app": Build, "docs": Skip},
			runs: map[string]bool{
				"build-base": true, "scan-base": true, "build-app": true, "scan-app": true,
				"app-unit": true, "app-smoke": true, "build-docs": false, "docs-build": false,
			},
		},
		{
			name:    "only app docs: unit skipped, smoke still needs app, so its build guards",
			changed: []string{"services/app/docs/guide.md"},
			actions: map[string]BuildAction{"base": Guard, "app": Build, "docs": Skip},
			runs: map[string]bool{
				"build-base": true, "scan-base": true, "build-app": true, "scan-app": true,
				"app-unit": true, "app-smoke": true, "build-docs": false, "docs-build": false,
			},
		},
		{
			name:    "unrelated change: app guarded for smoke, base guarded for app",
			changed: []string{"README.md"},
			actions: map[string]BuildAction{"base": Guard, "app": Guard, "docs": Skip},
			runs: map[string]bool{
				"build-base": true, "build-app": true, "app-unit": false, "app-smoke": true,
				"build-docs": false, "docs-build": false,
			},
		},
		{
			name:    "docs consumer pattern matches: its image is guarded",
			changed: []string{"docs/index.md"},
			actions: map[string]BuildAction{"base": Guard, "app": Guard, "docs": Build},
			runs:    map[string]bool{"build-docs": true, "docs-build": true, "app-unit": false},
		},
	} {
		t.Run(tc.name, func(t *testing.T) {
			res := generate(t, Input{Spec: s, Changes: changes.Result{Files: tc.changed}})
			if diff := cmp.Diff(tc.actions, actions(res.Decisions)); diff != "" {
				t.Errorf("actions (-want +got):\n%s", diff)
			}
			got := runs(res.Decisions)
			for key, want := range tc.runs {
				if got[key] != want {
					t.Errorf("%s runs = %v, want %v (%s)", key, got[key], want, step(t, res.Decisions, key).Reason)
				}
			}
			// Every step that does not run is marked skip, with a reason short
			// enough for Buildkite.
			for _, step := range res.Pipeline.Steps {
				if run := got[step.Key]; run == (step.Skip != "") {
					t.Errorf("%s: runs %v but skip is %q", step.Key, run, step.Skip)
				}
				if len([]rune(step.Skip)) > 70 {
					t.Errorf("%s: skip reason longer than 70: %q", step.Key, step.Skip)
				}
			}
		})
	}
}

func TestDecisionEvidence(t *testing.T) {
	s := load(t, `version: 1
registries:
  packages: {provider: buildkite, org: acme, registry: images}
images:
  app:
    context: services/app
    if_changed: [services/app/src/**, services/app/Dockerfile]
    consumers:
      unit:
        command: make test
        if_changed: {include: services/app/**, exclude: services/app/docs/**}
      lint:
        command: make lint
        if_changed: services/app/lint/**
      smoke:
        command: ./smoke.sh
`)
	res := generate(t, Input{Spec: s, Changes: changes.Result{Files: []string{"services/app/docs/a.md", "zzz"}}})
	for key, want := range map[string]string{
		"app-unit":  "services/app/docs/a.md matched but is excluded by services/app/docs/**",
		"app-lint":  "no changed path matched services/app/lint/**",
		"app-smoke": "no if_changed: always runs",
	} {
		if got := step(t, res.Decisions, key).Reason; got != want {
			t.Errorf("%s reason = %q, want %q", key, got, want)
		}
	}
	app := decision(res.Decisions, "app")
	if want := "no changed path matched services/app/src/**, services/app/Dockerfile"; app.Evidence != want || app.Changed {
		t.Errorf("app: changed %v, %q; want unchanged, %q", app.Changed, app.Evidence, want)
	}
	if app.Action != Guard || !strings.Contains(app.Reason, "app-smoke runs in it") {
		t.Errorf("app: %s, %q", app.Action, app.Reason)
	}
	// Once the image changes, a consumer with patterns runs because of it.
	res = generate(t, Input{Spec: s, Changes: changes.Result{Files: []string{"services/app/src/main.go"}}})
	if got, want := step(t, res.Decisions, "app-lint").Reason, "image app changed: services/app/src/main.go matched services/app/src/**"; got != want {
		t.Errorf("app-lint reason = %q, want %q", got, want)
	}
}

func TestOmitRewritesDependsOn(t *testing.T) {
	s := load(t, monorepo)
	res := generate(t, Input{Spec: s, Skipped: OmitStep, Changes: changes.Result{Files: []string{"README.md"}}})
	var keys []string
	for _, st := range res.Pipeline.Steps {
		keys = append(keys, st.Key)
		if st.Skip != "" {
			t.Errorf("%s kept with skip in omit mode", st.Key)
		}
	}
	want := []string{"build-base", "scan-base", "build-app", "scan-app", "app-smoke"}
	if diff := cmp.Diff(want, keys); diff != "" {
		t.Errorf("steps (-want +got):\n%s", diff)
	}
}

func TestOmitRewritesThroughDroppedSteps(t *testing.T) {
	plan := func(key string, run bool, deps ...string) planned {
		return planned{Step: &Step{Key: key, DependsOn: deps}, decision: &StepDecision{Key: key, Run: run}}
	}
	steps := []planned{plan("a", true), plan("b", false, "a"), plan("c", false, "b", "a"), plan("d", true, "c")}
	p := &Pipeline{}
	p.apply(steps, OmitStep)
	if len(p.Steps) != 2 || p.Steps[1].Key != "d" {
		t.Fatalf("steps = %v", p.Steps)
	}
	if diff := cmp.Diff([]string{"a"}, p.Steps[1].DependsOn); diff != "" {
		t.Errorf("d now depends on (-want +got):\n%s", diff)
	}
}

func TestAgentMode(t *testing.T) {
	s := load(t, monorepo)
	res := generate(t, Input{Spec: s, IfChanged: EvaluateAgent, Changes: changes.Result{Files: []string{"README.md"}}})
	byKey := map[string]*Step{}
	for _, st := range res.Pipeline.Steps {
		byKey[st.Key] = st
		if st.Skip != "" {
			t.Errorf("%s: agent mode decides nothing here, but skip = %q", st.Key, st.Skip)
		}
	}
	texts := func(ic *spec.IfChanged) []string {
		if ic == nil {
			return nil
		}
		var out []string
		for _, p := range ic.Include {
			out = append(out, p.Text)
		}
		for _, p := range ic.Exclude {
			out = append(out, "!"+p.Text)
		}
		return out
	}
	for key, want := range map[string][]string{
		"build-app":  nil, // consumers run in it: always runs, guarded
		"app-unit":   {"services/app/**", "!services/app/docs/**"},
		"app-smoke":  nil,
		"docs-build": {"docs/**"}, // its own patterns, or its image's inputs (the same)
	} {
		if diff := cmp.Diff(want, texts(byKey[key].IfChanged)); diff != "" {
			t.Errorf("%s if_changed (-want +got):\n%s", key, diff)
		}
	}
}

func TestAllChanged(t *testing.T) {
	s := load(t, monorepo)
	res := generate(t, Input{Spec: s, Changes: changes.Result{All: true, Reason: "--all"}})
	for _, d := range res.Decisions.Steps {
		if !d.Run {
			t.Errorf("%s does not run with --all: %s", d.Key, d.Reason)
		}
	}
	if got := decision(res.Decisions, "docs").Evidence; got != "every path counts as changed" {
		t.Errorf("why = %q", got)
	}
}

// TestSpecTextIsEscaped checks every $ from the spec reaches the job as
// written, after the agent's upload-time interpolation.
func TestSpecTextIsEscaped(t *testing.T) {
	s := load(t, `version: 1
registries:
  packages: {provider: buildkite, org: acme, registry: images}
images:
  app:
    args: {GREETING: "hello $ 5, $5 or $$"}
    tags: ["build-$BUILDKITE_BUILD_NUMBER", "v-${BUILDKITE_TAG}"]
    labels: {note: "costs $5"}
    consumers:
      unit:
        label: "unit on $BUILDKITE_BRANCH"
        command: echo "$HOME" '$literal' $(date) ${X:-y} && printf '%s\n' "it's"
        env: {PRICE: "$10", REF: "${OTHER}"}
`)
	res := generate(t, Input{Spec: s, Changes: changes.Result{All: true}})
	out, err := res.Pipeline.YAML()
	if err != nil {
		t.Fatal(err)
	}
	steps := pipetest.Commands(t, out)
	unit := steps["app-unit"]
	if unit.Label != "unit on $BUILDKITE_BRANCH" {
		t.Errorf("label = %q", unit.Label)
	}
	if diff := cmp.Diff(map[string]string{"PRICE": "$10", "REF": "${OTHER}"}, unit.Env); diff != "" {
		t.Errorf("env (-want +got):\n%s", diff)
	}
	want := `echo "$HOME" '$literal' $(date) ${X:-y} && printf '%s\n' "it's"`
	if !strings.Contains(unit.Command, "\n"+want+"\n") {
		t.Errorf("consumer command lost the spec's text:\n%s", unit.Command)
	}
	build := steps["build-app"].Command
	for _, frag := range []string{
		`--build-arg 'GREETING=hello $ 5, $5 or $$'`,
		`--label 'note=costs $5'`,
		`--tag "packages.buildkite.com/acme/images/app:build-${BUILDKITE_BUILD_NUMBER}"`,
		`--tag "packages.buildkite.com/acme/images/app:v-${BUILDKITE_TAG}"`,
	} {
		if !strings.Contains(build, frag) {
			t.Errorf("build command lacks %s:\n%s", frag, build)
		}
	}
}

func TestHeredocDelimiter(t *testing.T) {
	if got := heredocDelimiter("make test"); got != "BKGEN_COMMAND" {
		t.Errorf("got %q", got)
	}
	if got := heredocDelimiter("a\nBKGEN_COMMAND\nBKGEN_COMMAND_1"); got != "BKGEN_COMMAND_2" {
		t.Errorf("got %q", got)
	}
}

func TestMissingOrg(t *testing.T) {
	s := load(t, `version: 1
registries:
  packages: {provider: buildkite, registry: images}
images:
  app: {}
`)
	_, err := Generate(Input{Spec: s, ContentTags: tags(s)})
	if err == nil || !strings.Contains(err.Error(), "bkgen.yml:3:3: registries.packages: org is not set and BUILDKITE_ORGANIZATION_SLUG is empty") {
		t.Errorf("err = %v", err)
	}
	if _, err := Generate(Input{Spec: s, ContentTags: tags(s), Env: buildenv.Build{OrganizationSlug: "acme"}}); err != nil {
		t.Errorf("with the env var: %v", err)
	}
}

func TestQuote(t *testing.T) {
	for in, want := range map[string]string{
		"plain/path-1.2":  "plain/path-1.2",
		"has space":       "'has space'",
		"it's":            `'it'\''s'`,
		"":                "''",
		"$HOME":           "'$HOME'",
		"a;rm -rf /":      "'a;rm -rf /'",
		"type=registry,x": "'type=registry,x'",
	} {
		if got := quote(in); got != want {
			t.Errorf("quote(%q) = %s, want %s", in, got, want)
		}
	}
	for in, want := range map[string]string{
		"r:build-$N":    `"r:build-${N}"`,
		"r:${A}-`x`\"$": "r:\"${A}\"'-`x`\"$'",
		`r:$A\x`:        `r:"${A}"$'\\x'`,
		"r:latest":      "r:latest",
	} {
		if got := quoteExpanding(in); got != want {
			t.Errorf("quoteExpanding(%q) = %s, want %s", in, got, want)
		}
	}
}

// TestParallelYAMLIsOneEncoder checks that encoding a big pipeline in parts
// gives exactly the bytes of one encoder over the whole document.
func TestParallelYAMLIsOneEncoder(t *testing.T) {
	var src strings.Builder
	src.WriteString("version: 1\nregistries:\n  packages: {provider: buildkite, org: acme, registry: images}\nimages:\n")
	for i := range 150 {
		fmt.Fprintf(&src, "  img%d:\n    context: images/img%d\n    consumers:\n      test:\n        command: |\n          make test\n\n          echo \"$X\" done %d\n        env: {A: \"1\"}\n", i, i, i)
	}
	s := load(t, src.String())
	res := generate(t, Input{Spec: s, Changes: changes.Result{Files: []string{"images/img3/x"}}})
	got, err := res.Pipeline.yamlInParts(7)
	if err != nil {
		t.Fatal(err)
	}
	n, err := res.Pipeline.node()
	if err != nil {
		t.Fatal(err)
	}
	want, err := encodeYAML(n)
	if err != nil {
		t.Fatal(err)
	}
	if diff := cmp.Diff(string(want), string(got)); diff != "" {
		t.Errorf("parallel encoding differs (-one encoder +parts):\n%s", diff)
	}
}

// TestDockerignoredChangesDoNotCount checks an image without if_changed is
// unchanged when the only changes in its context are files .dockerignore
// keeps out (as its content tag is).
func TestDockerignoredChangesDoNotCount(t *testing.T) {
	s := load(t, monorepo)
	notDocs := func(p string) bool { return !strings.HasPrefix(p, "services/app/docs/") }
	in := Input{Spec: s, Inputs: map[string]func(string) bool{"app": notDocs}}
	in.Changes = changes.Result{Files: []string{"services/app/docs/a.md"}}
	res := generate(t, in)
	app := decision(res.Decisions, "app")
	if app.Changed || app.Evidence != "only .dockerignore'd files changed in its context (services/app/docs/a.md)" {
		t.Errorf("app: changed %v, %q", app.Changed, app.Evidence)
	}
	if runs(res.Decisions)["app-unit"] {
		t.Errorf("app-unit runs: %s", step(t, res.Decisions, "app-unit").Reason)
	}
	in.Changes = changes.Result{Files: []string{"services/app/docs/a.md", "services/app/main.go"}}
	res = generate(t, in)
	if app := decision(res.Decisions, "app"); !app.Changed || app.Evidence != "services/app/main.go is in its build context" {
		t.Errorf("app: changed %v, %q", app.Changed, app.Evidence)
	}
	// Where the spec sits below the repository's top, paths carry its prefix.
	in.Changes = changes.Result{Files: []string{"services/app/main.go", "sub/services/app/docs/x"}, Prefix: "sub"}
	res = generate(t, in)
	if app := decision(res.Decisions, "app"); app.Changed {
		t.Errorf("app changed with prefix sub: %q", app.Evidence)
	}
}

// hostileNames are file names a pull request can commit (git allows all but
// NUL) or list in --changed-files: each tries to forge a log line or group,
// a terminal escape, markdown, or a `\$` that upload-time interpolation would
// read as an escaped `$` and then expand ${X}.
var hostileNames = []string{
	"a\n--- forged",
	"\x1b[31mred",
	"a\rb",
	"p|ipe",
	"back`tick",
	`d/\${X}`,
	`d/\\\${X}`,
	"nul\x00X\x00",
	"\u202eevil",
	" padded ",
	`"quoted"`,
}

// TestHostileNamesInReasons: whatever a changed path or a pattern holds, every
// reason is one plain line that names it, and each skip attribute reaches the
// build as written, whatever the uploading job's environment.
func TestHostileNamesInReasons(t *testing.T) {
	s := load(t, `version: 1
registries:
  packages: {provider: buildkite, org: acme, registry: images}
images:
  app:
    context: services/app
    scan: false
    consumers:
      excluded: {command: "true", if_changed: {include: "hostile/**", exclude: "hostile/**"}}
      pattern: {command: "true", if_changed: 'd/\\${X}*'}
  odd:
    context: "odd\n--- forged\x1b[0m"
    scan: false
`)
	notIgnored := func(p string) bool { return !strings.HasPrefix(p, "services/app/ignored/") }
	env := map[string]string{"X": "SECRET-VALUE"}
	for _, name := range hostileNames {
		for _, changed := range []string{"hostile/" + name, "services/app/" + name, "services/app/ignored/" + name} {
			in := Input{Spec: s, Changes: changes.Result{Files: []string{changed}}}
			in.Inputs = map[string]func(string) bool{"app": notIgnored, "odd": func(string) bool { return true }}
			res := generate(t, in)
			var reasons []string
			for _, im := range res.Decisions.Images {
				reasons = append(reasons, im.Evidence, im.Reason)
			}
			for _, sd := range res.Decisions.Steps {
				reasons = append(reasons, sd.Reason)
			}
			named := false
			for _, r := range reasons {
				if err := pipetest.Plain(r); err != nil {
					t.Errorf("changed %q: reason %q %v", changed, r, err)
				}
				named = named || strings.Contains(r, pipetext.Display(changed))
			}
			if !named {
				t.Errorf("changed %q: no reason names it as %s:\n%s", changed, pipetext.Display(changed), strings.Join(reasons, "\n"))
			}
			out, err := res.Pipeline.YAML()
			if err != nil {
				t.Fatal(err)
			}
			skips := map[string]string{}
			for _, st := range res.Pipeline.Steps {
				skips[st.Key] = st.Skip
			}
			for _, st := range pipetest.InterpolatedWith(t, out, env).Steps {
				c := st.(*pipeline.CommandStep)
				got, _ := c.RemainingFields["skip"].(string)
				if got != skips[c.Key] {
					t.Errorf("changed %q: %s is skipped with %q after upload, want %q", changed, c.Key, got, skips[c.Key])
				}
				if strings.Contains(got, "SECRET-VALUE") {
					t.Errorf("changed %q: %s: upload put $X into skip: %q", changed, c.Key, got)
				}
			}
		}
	}
}

// TestLiteral: a Literal pipeline is for an upload without interpolation,
// so each job gets every text exactly as written in the pipeline, $ and all.
func TestLiteral(t *testing.T) {
	s := load(t, `version: 1
registries:
  packages: {provider: buildkite, org: acme, registry: images}
images:
  app:
    consumers:
      unit:
        command: x=$(mktemp) && echo "$HOME" $$ '\$'
        env: {PRICE: "$10"}
`)
	res := generate(t, Input{Spec: s, Changes: changes.Result{All: true}, Literal: true})
	for format, encode := range map[string]func() ([]byte, error){"yaml": res.Pipeline.YAML, "json": res.Pipeline.JSON} {
		out, err := encode()
		if err != nil {
			t.Fatal(err)
		}
		p, err := pipetest.Upload(out, nil, false)
		if err != nil {
			t.Fatalf("%s: %v", format, err)
		}
		for _, st := range p.Steps {
			c := st.(*pipeline.CommandStep)
			if strings.Contains(c.Command, "$$(") {
				t.Errorf("%s: %s runs %q: escaped for an interpolation that will not happen", format, c.Key, c.Command)
			}
			if c.Key == "app-unit" {
				if want := "\nx=$(mktemp) && echo \"$HOME\" $$ '\\$'\n"; !strings.Contains(c.Command, want) {
					t.Errorf("%s: app-unit lost the spec's command:\n%s", format, c.Command)
				}
				if c.Env["PRICE"] != "$10" {
					t.Errorf("%s: PRICE = %q", format, c.Env["PRICE"])
				}
			}
		}
	}
}

// TestLiteralHostedRegistry checks a hosted registry needs nothing from
// the upload: every step expands its URL when it runs, so a pipeline
// uploaded without interpolation, or from where the URL is unset, works.
func TestLiteralHostedRegistry(t *testing.T) {
	s := load(t, `version: 1
registries:
  internal: {provider: hosted}
images:
  app:
    consumers:
      unit: {command: make test}
`)
	res := generate(t, Input{Spec: s, Changes: changes.Result{All: true}, Literal: true, ContentTags: tags(s)})
	out, err := res.Pipeline.YAML()
	if err != nil {
		t.Fatal(err)
	}
	if strings.Contains(string(out), "\n    image: ") || !strings.Contains(string(out), `docker pull "${BUILDKITE_HOSTED_REGISTRY_URL}/app:bk-`) {
		t.Errorf("the consumer does not pull by the URL its job has:\n%s", out)
	}
}

// A context reached through a symlink is changed by changes where the
// symlink leads, and by a change to the symlink itself.
func TestSymlinkedContextChanges(t *testing.T) {
	s := load(t, `version: 1
registries:
  packages: {provider: buildkite, org: acme, registry: images}
images:
  app:
    context: services/app
`)
	paths := map[string]ImagePaths{"app": {Context: "real/app", Files: []string{"real/app/Dockerfile", "real/app/Dockerfile.dockerignore", "services/app"}}}
	isInput := func(p string) bool { return strings.HasPrefix(p, "real/app/") || p == "services/app" }
	for _, tc := range []struct {
		changed string
		filter  bool // with the inputs test, or patterns alone
		want    bool
		why     string
	}{
		{"real/app/main.go", true, true, "real/app/main.go is in its build context"},
		{"services/app", true, true, "services/app changed"},
		{"README.md", true, false, "nothing changed in real/app/"},
		{"real/app/main.go", false, true, "real/app/main.go matched real/app/**"},
		{"services/app", false, true, "services/app matched services/app"},
		{"services/api/main.go", false, false, "no changed path matched real/app/**, services/app"},
	} {
		in := Input{Spec: s, Paths: paths, Changes: changes.Result{Files: []string{tc.changed}}}
		if tc.filter {
			in.Inputs = map[string]func(string) bool{"app": isInput}
		}
		app := decision(generate(t, in).Decisions, "app")
		if app.Changed != tc.want || app.Evidence != tc.why {
			t.Errorf("%s changed (inputs test %v): app changed %v, %q; want %v, %q", tc.changed, tc.filter, app.Changed, app.Evidence, tc.want, tc.why)
		}
	}
	// The agent is given the same patterns.
	res := generate(t, Input{Spec: s, Paths: paths, IfChanged: EvaluateAgent, Changes: changes.Result{All: true}})
	var got []string
	for _, p := range res.Pipeline.Steps[0].IfChanged.Include {
		got = append(got, p.Text)
	}
	if want := []string{"real/app/**", "services/app"}; !cmp.Equal(want, got) {
		t.Errorf("build-app if_changed = %q, want %q", got, want)
	}
}

// TestPreparedLookups: the references --verify-registry looks up are those
// the pipeline builds, filled in as the upload fills them in, and what the
// lookups found decides each build.
func TestPreparedLookups(t *testing.T) {
	s := load(t, `version: 1
registries:
  internal: {provider: hosted}
images:
  present: {context: present}
  absent: {context: absent}
  unchecked: {context: unchecked}
`)
	p, err := Prepare(Input{Spec: s, Changes: changes.Result{All: true}, ContentTags: tags(s), Env: buildenv.Build{HostedRegistryURL: "registry.test/acme"}})
	if err != nil {
		t.Fatal(err)
	}
	refs := p.ContentRefs()
	if got, want := refs["present"].Ref, "registry.test/acme/present:"+tags(s)["present"]; got != want {
		t.Errorf("present's reference = %q, want %q", got, want)
	}
	res, err := p.Generate(map[string]RegistryCheck{
		"present": {Present: true, Reason: "found"},
		"absent":  {Reason: "not in the registry"},
	})
	if err != nil {
		t.Fatal(err)
	}
	want := map[string]BuildAction{"present": Reuse, "absent": Build, "unchecked": Build}
	if diff := cmp.Diff(want, actions(res.Decisions)); diff != "" {
		t.Errorf("actions (-want +got):\n%s", diff)
	}
	if got := decision(res.Decisions, "absent").Reason; !strings.HasSuffix(got, "; not in the registry") {
		t.Errorf("absent: %q does not say what the lookup found", got)
	}
	for _, im := range res.Decisions.Images {
		if im.Ref != "${BUILDKITE_HOSTED_REGISTRY_URL}/"+im.Name+":"+tags(s)[im.Name] {
			t.Errorf("%s: decided on %q", im.Name, im.Ref)
		}
	}
}

// decision is the named image's decision.
func decision(d *Decisions, image string) *ImageDecision {
	for _, im := range d.Images {
		if im.Name == image {
			return im
		}
	}
	return nil
}
