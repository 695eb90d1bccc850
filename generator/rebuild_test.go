package generator

import (
	"strings"
	"testing"

	"github.com/bkgen/bkgen/changes"
	"github.com/bkgen/bkgen/spec"
	"github.com/google/go-cmp/cmp"
)

const rebuildSpec = `version: 1
registries:
  packages: {provider: buildkite, org: acme, registry: images}
defaults: {scan: false}
images:
  base: {context: base}
  app:
    context: app
    depends_on: [base]
    consumers:
      unit: {command: make test, if_changed: app/test/**}
      smoke: {command: make smoke, target: test}
  tool: {context: tool}
`

// TestRebuild: an image a rebuild is asked for, and every image built on
// it, is built whatever the registry holds and whatever changed, from
// fresh bases and without cache; its consumers run as for a change, and
// the images not asked for are decided as ever.
func TestRebuild(t *testing.T) {
	s := load(t, rebuildSpec)
	p, err := Prepare(Input{Spec: s, ContentTags: tags(s), Changes: changes.Result{Files: []string{"README.md"}},
		Rebuild: Rebuild{Images: []string{"base"}, Asked: "--rebuild base"}})
	if err != nil {
		t.Fatal(err)
	}
	res, err := p.Generate(map[string]RegistryCheck{
		"base": {Present: true, Reason: "found"}, "app": {Present: true, Reason: "found"}, "tool": {Present: true, Reason: "found"},
	})
	if err != nil {
		t.Fatal(err)
	}
	want := map[string]BuildAction{"base": Build, "app": Build, "app:test": Build, "tool": Skip}
	if diff := cmp.Diff(want, actions(res.Decisions)); diff != "" {
		t.Errorf("actions (-want +got):\n%s", diff)
	}
	if got := decision(res.Decisions, "base").Reason; got != "rebuilt from fresh bases, without cache, whatever the registry holds: asked for by --rebuild base" {
		t.Errorf("base: %q", got)
	}
	if got := decision(res.Decisions, "app").Reason; !strings.HasSuffix(got, ": built on base, which --rebuild base rebuilds") {
		t.Errorf("app: %q", got)
	}
	if d := step(t, res.Decisions, "app-unit"); !d.Run || !strings.Contains(d.Reason, "--rebuild base") {
		t.Errorf("app-unit: run %v: %s", d.Run, d.Reason)
	}
	cmds := commands(t, res)
	for _, key := range []string{"build-base", "build-app", "build-app:test"} {
		if !strings.Contains(cmds[key], "fresh=(--pull)\nnocache=(--no-cache)\n") || strings.Contains(cmds[key], "imagetools inspect") && strings.Contains(cmds[key], "already in the registry") {
			t.Errorf("%s does not rebuild whatever the registry holds:\n%s", key, cmds[key])
		}
	}
	if strings.Contains(cmds["build-tool"], "fresh") {
		t.Errorf("build-tool rebuilds, though nothing asked for it:\n%s", cmds["build-tool"])
	}
}

// TestRebuildAgentMode: with the agent deciding, a rebuilt image's steps
// and its consumers carry no if_changed, so the agent runs them.
func TestRebuildAgentMode(t *testing.T) {
	s := load(t, rebuildSpec)
	res := generate(t, Input{Spec: s, IfChanged: EvaluateAgent, Rebuild: Rebuild{All: true, Asked: "BKGEN_REBUILD=all"}})
	for _, st := range res.Pipeline.Steps {
		if st.IfChanged != nil {
			t.Errorf("%s carries if_changed %v, though every image is rebuilt", st.Key, st.IfChanged)
		}
	}
}

// TestMaxAge: an image with max_age checks its age when its content tag is
// found, and the manifest of a native multi-arch one merges whatever its
// platforms publish, rebuilt or found.
func TestMaxAge(t *testing.T) {
	s := load(t, `version: 1
registries:
  packages: {provider: buildkite, org: acme, registry: images}
defaults: {scan: false}
images:
  app: {max_age: 14}
  multi: {max_age: 3, platforms: [linux/amd64, linux/arm/v7]}
  plain: {}
  onapp: {depends_on: [app]}
`)
	cmds := commands(t, generate(t, Input{Spec: s, Changes: changes.Result{All: true}}))
	if !strings.Contains(cmds["build-app"], "elif (( age > 14 * 86400 )); then") || !strings.Contains(cmds["build-app"], "--format '"+createdFormat+"'") {
		t.Errorf("build-app does not check its age:\n%s", cmds["build-app"])
	}
	arm := cmds["build-multi-arm-v7"]
	if !strings.Contains(arm, `(eq .Platform.OS "linux") (eq .Platform.Architecture "arm") (eq .Platform.Variant "v7")`) {
		t.Errorf("build-multi-arm-v7 does not publish its platform's digest when reused:\n%s", arm)
	}
	if !strings.Contains(cmds["manifest-multi"], "merge=true") {
		t.Errorf("manifest-multi does not merge what its platforms publish:\n%s", cmds["manifest-multi"])
	}
	// Built on app, it rebuilds when app was rebuilt for its age.
	if !strings.Contains(cmds["build-onapp"], "  local key keys=(bkgen:renewed:app)") || !strings.Contains(cmds["build-onapp"], "elif base_renewed; then") || strings.Contains(cmds["build-onapp"], "too_old") {
		t.Errorf("build-onapp does not rebuild on a rebuilt app:\n%s", cmds["build-onapp"])
	}
	if !strings.Contains(cmds["build-app"], "  buildkite-agent meta-data set bkgen:renewed:app 'app was rebuilt in this build, from fresh bases'") {
		t.Errorf("build-app does not say when it rebuilt:\n%s", cmds["build-app"])
	}
	if strings.Contains(cmds["build-plain"], "too_old") || strings.Contains(cmds["build-plain"], "fresh") {
		t.Errorf("build-plain checks an age it has no limit for:\n%s", cmds["build-plain"])
	}
}

// commands are the steps' commands by key, as the job runs them.
func commands(t *testing.T, res *Result) map[string]string {
	t.Helper()
	out := map[string]string{}
	for _, st := range res.Pipeline.Steps {
		out[st.Key] = strings.ReplaceAll(st.Command, "$$", "$")
	}
	return out
}

// TestAttestations: every push says which attestations it attaches, none
// unless the spec asks, so every builder pushes the same shape; asking for
// any needs a docker-container builder.
func TestAttestations(t *testing.T) {
	s := load(t, `version: 1
registries:
  packages: {provider: buildkite, org: acme, registry: images}
defaults: {scan: false, cache: none}
images:
  plain: {}
  attested: {provenance: max, sbom: true}
  annotated: {annotations: true}
  multi: {annotations: true, platforms: [linux/amd64, linux/arm64]}
`)
	cmds := commands(t, generate(t, Input{Spec: s, Changes: changes.Result{All: true}}))
	if c := cmds["build-plain"]; !strings.Contains(c, ` --provenance=false --sbom=false --push --metadata-file "$metadata"`) || strings.Contains(c, "builder=(") {
		t.Errorf("build-plain does not push a plain manifest with dockerd's builder:\n%s", c)
	}
	c := cmds["build-attested"]
	if !strings.Contains(c, ` --provenance=mode=max --sbom=generator=`+spec.DefaultSBOMGenerator+` --push`) {
		t.Errorf("build-attested does not attach what the spec asks for:\n%s", c)
	}
	if !strings.Contains(c, "# Attaching attestations needs a builder other than dockerd's own") {
		t.Errorf("build-attested does not make sure of a docker-container builder:\n%s", c)
	}
	// The build that pushes an image, recorded on what it pushes, by a
	// builder that can (dockerd's own drops annotations).
	if c := cmds["build-annotated"]; !strings.Contains(c, ` --annotation "manifest:org.opencontainers.image.revision=${BUILDKITE_COMMIT:-}" `) ||
		!strings.Contains(c, "# Annotating the manifest needs a builder other than dockerd's own") {
		t.Errorf("build-annotated does not annotate its manifest:\n%s", c)
	}
	if c := cmds["manifest-multi"]; !strings.Contains(c, `--annotation "index:org.opencontainers.image.created=$(date -u +%Y-%m-%dT%H:%M:%SZ)" --tag`) {
		t.Errorf("manifest-multi does not annotate its index:\n%s", c)
	}
	// Only the push attaches them: the build before it exports nothing.
	if strings.Contains(c, `--sbom=generator=`+spec.DefaultSBOMGenerator+` --output type=cacheonly`) {
		t.Errorf("a cache-only build asks for an SBOM:\n%s", c)
	}
}

// TestBuildFlags: what a spec lets RUN steps see reaches the build, extra
// caches are read, and the consumers of an image with export_env find its
// reference in that variable.
func TestBuildFlags(t *testing.T) {
	s := load(t, `version: 1
registries:
  packages: {provider: buildkite, org: acme, registry: images}
defaults: {scan: false}
images:
  app:
    network: none
    add_hosts: ["db:10.0.0.1"]
    ssh: [default]
    shm_size: 2g
    build_contexts: {deps: "docker-image://registry.example/deps:1.2.3"}
    cache_from: [registry.example/app:cache]
    export_env: APP_IMAGE
    consumers:
      unit: {command: make test}
      own: {command: make, env: {APP_IMAGE: mine}}
`)
	res := generate(t, Input{Spec: s, ContentTags: map[string]string{"app": "bk-app"}, Changes: changes.Result{All: true}})
	cmds := commands(t, res)
	for _, w := range []string{
		"  --network none\n", "  --add-host db:10.0.0.1\n", "  --ssh default\n", "  --shm-size 2g\n",
		"  --build-context deps=docker-image://registry.example/deps:1.2.3\n",
		"  --cache-from 'type=registry,ref=registry.example/app:cache'\n",
	} {
		if !strings.Contains(cmds["build-app"], w) {
			t.Errorf("build-app lacks %q:\n%s", w, cmds["build-app"])
		}
	}
	env := map[string]map[string]string{}
	for _, st := range res.Pipeline.Steps {
		env[st.Key] = map[string]string{}
		for _, kv := range st.Env {
			env[st.Key][kv.Key] = kv.Value
		}
	}
	if got := env["app-unit"]["APP_IMAGE"]; got != "packages.buildkite.com/acme/images/app:bk-app" {
		t.Errorf("app-unit's APP_IMAGE = %q", got)
	}
	if got := env["app-own"]["APP_IMAGE"]; got != "mine" {
		t.Errorf("app-own's own APP_IMAGE became %q", got)
	}
	if !strings.Contains(cmds["app-unit"], "APP_IMAGE") {
		t.Errorf("app-unit does not pass APP_IMAGE into its container:\n%s", cmds["app-unit"])
	}
}
