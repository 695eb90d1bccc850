package spec

import (
	"errors"
	"slices"
	"strings"
	"testing"

	"github.com/bkgen/bkgen/diag"
	"github.com/bkgen/bkgen/imagebuild"
	"github.com/bkgen/bkgen/scanner"
	"github.com/google/go-cmp/cmp"
	"github.com/google/go-cmp/cmp/cmpopts"
)

const minimal = `version: 1
registries:
  packages: {provider: buildkite, org: acme, registry: images}
images:
  web: {}
`

func mustLoad(t *testing.T, src string) *Spec {
	t.Helper()
	s, err := Load("bkgen.yml", []byte(src))
	if err != nil {
		t.Fatalf("Load: %v", err)
	}
	return s
}

func TestLoadDefaults(t *testing.T) {
	s := mustLoad(t, minimal)
	im := s.Image("web")
	if im == nil {
		t.Fatal("image web missing")
	}
	want := &Image{
		Name: "web", Pos: Pos{Line: 5, Col: 3}, Registry: "packages", Repository: "web",
		Inputs: imagebuild.Inputs{Context: ".", Dockerfile: "Dockerfile"}, Cache: Cache{Type: CacheRegistry},
		Scan:       &Scan{Settings: scanner.Settings{Tool: scanner.Trivy{}, Severity: []string{"HIGH", "CRITICAL"}, Annotate: true}, Pos: Pos{Line: 5, Col: 3}},
		ContextPos: Pos{Line: 5, Col: 3}, DockerfilePos: Pos{Line: 5, Col: 3},
	}
	if diff := cmp.Diff(want, im, cmpopts.IgnoreUnexported(Image{})); diff != "" {
		t.Errorf("image (-want +got):\n%s", diff)
	}
	r := s.Registry("packages")
	if r.Provider.Name() != "buildkite" || r.Config.Get("auth") != "oidc" || r.Config.Get("org") != "acme" || r.Config.Get("registry") != "images" {
		t.Errorf("registry = %+v", r)
	}
}

// Errors about what context and dockerfile name on disk point at where
// they are written, or at the image when one is left to its default.
func TestLoadPathPositions(t *testing.T) {
	s := mustLoad(t, `version: 1
registries:
  packages: {provider: buildkite, org: acme, registry: images}
images:
  app:
    context: services/app
  tool:
    dockerfile: docker/tool.Dockerfile
`)
	for _, tc := range []struct {
		image               string
		context, dockerfile Pos
	}{
		{"app", Pos{Line: 6, Col: 14}, Pos{Line: 5, Col: 3}},
		{"tool", Pos{Line: 7, Col: 3}, Pos{Line: 8, Col: 17}},
	} {
		im := s.Image(tc.image)
		if im.ContextPos != tc.context || im.DockerfilePos != tc.dockerfile {
			t.Errorf("%s: context at %v, dockerfile at %v; want %v and %v", tc.image, im.ContextPos, im.DockerfilePos, tc.context, tc.dockerfile)
		}
	}
}

// Attestations: provenance min or max, and an SBOM from BuildKit's Syft
// generator (pinned by bkgen) or a pinned one of the spec's.
func TestLoadAttestations(t *testing.T) {
	s := mustLoad(t, `version: 1
registries:
  packages: {provider: buildkite, org: acme, registry: images}
defaults: {provenance: max, sbom: true}
images:
  a: {}
  b: {provenance: false, sbom: {generator: "registry.example/sbom:1.2.3"}}
  c: {provenance: min, sbom: false}
`)
	for _, tc := range []struct{ image, provenance, sbom string }{
		{"a", "max", DefaultSBOMGenerator}, {"b", "", "registry.example/sbom:1.2.3"}, {"c", "min", ""},
	} {
		if im := s.Image(tc.image); im.Provenance != tc.provenance || im.SBOM != tc.sbom {
			t.Errorf("%s: provenance %q, sbom %q; want %q, %q", tc.image, im.Provenance, im.SBOM, tc.provenance, tc.sbom)
		}
	}
}

// max_age and key_salt are taken from the defaults like any field, and an
// image's own value wins.
func TestLoadFreshness(t *testing.T) {
	s := mustLoad(t, `version: 1
registries:
  packages: {provider: buildkite, org: acme, registry: images}
defaults:
  max_age: 7
  key_salt: "2026-11"
images:
  app: {}
  tool: {max_age: 30, key_salt: cve-2026-1234}
`)
	for _, tc := range []struct {
		image string
		age   int
		salt  string
	}{{"app", 7, "2026-11"}, {"tool", 30, "cve-2026-1234"}} {
		if im := s.Image(tc.image); im.MaxAge != tc.age || im.KeySalt != tc.salt {
			t.Errorf("%s: max_age %d, key_salt %q; want %d and %q", tc.image, im.MaxAge, im.KeySalt, tc.age, tc.salt)
		}
	}
}

// The trust model: which builds are trusted, and where untrusted builds'
// images go.
func TestTrust(t *testing.T) {
	for _, tc := range []struct {
		src, prefix, registry string
		bad                   []string
	}{
		{`{}`, DefaultUntrustedPrefix, "", nil},
		{`{untrusted: {tag_prefix: pr-}}`, "pr-", "", nil},
		{`{untrusted: {registry: packages}}`, "", "packages", nil},
		{`{untrusted: {tag_prefix: bk-x}}`, DefaultUntrustedPrefix, "", []string{`bkgen.yml:6:33: trust.untrusted.tag_prefix: "bk-x" would make tags a trusted build writes: choose another prefix`}},
		{`{untrusted: {tag_prefix: "PR "}}`, DefaultUntrustedPrefix, "", []string{`bkgen.yml:6:33: trust.untrusted.tag_prefix: "PR " is not a tag prefix (up to 30 lowercase letters, digits, '.', '_' and '-', starting with a letter or digit)`}},
	} {
		src := "version: 1\nregistries:\n  packages: {provider: buildkite, org: acme, registry: images}\nimages:\n  app: {}\ntrust: " + tc.src + "\n"
		s, err := Load("bkgen.yml", []byte(src))
		if tc.bad != nil {
			var got []string
			for _, e := range err.(diag.List) {
				got = append(got, e.Error())
			}
			if diff := cmp.Diff(tc.bad, got); diff != "" {
				t.Errorf("%s: errors (-want +got):\n%s", tc.src, diff)
			}
			continue
		}
		if err != nil {
			t.Fatalf("%s: %v", tc.src, err)
		}
		if s.Trust.TagPrefix != tc.prefix || s.Trust.Registry != tc.registry {
			t.Errorf("%s: prefix %q, registry %q", tc.src, s.Trust.TagPrefix, s.Trust.Registry)
		}
	}
	tr := &Trust{Branches: []string{"main", "release/*"}}
	for _, tc := range []struct {
		branch, pr, def string
		want            bool
	}{
		{"main", "false", "main", true},
		{"release/1.2", "", "main", true},
		{"release/1/2", "", "main", false},
		{"main", "42", "main", false}, // a pull request from a branch named main
		{"feature", "false", "main", false},
		{"", "false", "main", false},
	} {
		if got, why := tr.Trusted(tc.branch, tc.pr, tc.def); got != tc.want {
			t.Errorf("Trusted(%q, %q) = %v (%s), want %v", tc.branch, tc.pr, got, why, tc.want)
		}
	}
	if ok, why := (&Trust{}).Trusted("trunk", "false", "trunk"); !ok {
		t.Errorf("the default branch is not trusted by default: %s", why)
	}
	if ok, why := (&Trust{}).Trusted("main\x1b[31m", "false", "trunk"); ok || !strings.Contains(why, `"main\x1b[31m"`) {
		t.Errorf("a branch with an escape: %v, %s", ok, why)
	}
}

// An output of another stage comes from the image's variant for that
// stage, under a key that names both; one of the image's own stage, from
// the image.
func TestLoadOutputs(t *testing.T) {
	s := mustLoad(t, `version: 1
registries:
  packages: {provider: buildkite, org: acme, registry: images}
images:
  app:
    outputs: [{target: builder, from: /out, path: dist}, {path: all}]
`)
	var keys []string
	for _, im := range s.Images {
		for _, ref := range Steps(im) {
			keys = append(keys, ref.Key)
		}
	}
	if diff := cmp.Diff([]string{"build-app", "scan-app", "output-app", "build-app:builder", "output-app-builder"}, keys); diff != "" {
		t.Errorf("steps (-want +got):\n%s", diff)
	}
	if v := s.Image("app:builder"); v == nil || v.Target != "builder" || v.Outputs[0].From != "/out" || v.Outputs[0].Path != "dist" {
		t.Errorf("app:builder = %+v", v)
	}
}

func TestLoadInheritsDefaults(t *testing.T) {
	s := mustLoad(t, `version: 1
registries:
  a: {provider: buildkite, registry: one, auth: token, token_env: PACKAGES_TOKEN}
  b: {provider: buildkite, registry: two, auth: token, token_env: PACKAGES_TOKEN}
defaults:
  registry: a
  agents: {queue: linux, os: linux}
  args: {A: "1", B: "2"}
  labels: {team: platform}
  platforms: [linux/amd64, linux/arm64]
  cache: none
  scan: false
images:
  base:
    context: images/base
  app:
    registry: b
    agents: {queue: gpu}
    args: {B: three}
    platforms: [linux/amd64]
    scan: {tool: grype}
    depends_on: base
`)
	base, app := s.Image("base"), s.Image("app")
	if base.Registry != "a" || app.Registry != "b" {
		t.Errorf("registries: base %q app %q", base.Registry, app.Registry)
	}
	if base.Dockerfile != "images/base/Dockerfile" {
		t.Errorf("base dockerfile = %q", base.Dockerfile)
	}
	if diff := cmp.Diff([]KV{{Key: "A", Value: "1"}, {Key: "B", Value: "three"}}, app.Args); diff != "" {
		t.Errorf("args merge key by key, the image winning (-want +got):\n%s", diff)
	}
	if diff := cmp.Diff([]KV{{Key: "team", Value: "platform"}}, app.Labels); diff != "" {
		t.Errorf("labels (-want +got):\n%s", diff)
	}
	agents := map[string]string{}
	for i, k := range app.Agents.Keys {
		agents[k] = app.Agents.Items[i].Scalar
	}
	if diff := cmp.Diff(map[string]string{"queue": "gpu", "os": "linux"}, agents); diff != "" {
		t.Errorf("agents merge key by key (-want +got):\n%s", diff)
	}
	if base.MultiArch != Native || app.MultiArch != "" {
		t.Errorf("multi_arch: base %q (two platforms: native by default), app %q (one platform: none)", base.MultiArch, app.MultiArch)
	}
	if base.Scan != nil {
		t.Errorf("scan: false in defaults should drop base's scan, got %+v", base.Scan)
	}
	if app.Scan == nil || app.Scan.Tool != scanner.Tool(scanner.Grype{}) || app.Scan.FailOn != "high" || app.Scan.Fail {
		t.Errorf("app scan = %+v, want grype reporting (not failing) from high", app.Scan)
	}
	if base.Cache.Type != CacheNone {
		t.Errorf("cache = %q", base.Cache.Type)
	}
	// Images come in dependency order.
	if s.Images[0].Name != "base" || s.Images[1].Name != "app" {
		t.Errorf("order = %s, %s", s.Images[0].Name, s.Images[1].Name)
	}
}

func TestLoadConsumer(t *testing.T) {
	s := mustLoad(t, `version: 1
registries:
  packages: {provider: buildkite, org: acme, registry: images}
images:
  app:
    consumers:
      unit:
        label: ":test_tube: Unit"
        command: [make deps, make test]
        parallelism: 4
        if_changed: {include: [services/app/**], exclude: services/app/docs/**}
        env: {A: b, DEBUG: true}
        plugins:
          - artifacts#v1.9.4: {download: x}
          - ./local-plugin
        priority: 2
        concurrency: 1
        concurrency_group: deploy
        depends_on: lint
`)
	c := s.Image("app").Consumers[0]
	if c.Command != "make deps\nmake test" {
		t.Errorf("command = %q", c.Command)
	}
	if c.Parallelism != 4 || *c.Priority != 2 || c.Concurrency != 1 || c.ConcurrencyGroup != "deploy" {
		t.Errorf("consumer = %+v", c)
	}
	if diff := cmp.Diff([]KV{{Key: "A", Value: "b"}, {Key: "DEBUG", Value: "true"}}, c.Env); diff != "" {
		t.Errorf("env (-want +got):\n%s", diff)
	}
	if got := c.IfChanged; len(got.Include) != 1 || got.Include[0].Text != "services/app/**" || got.Exclude[0].Text != "services/app/docs/**" {
		t.Errorf("if_changed = %+v", got)
	}
	if diff := cmp.Diff([]string{"lint"}, c.DependsOn); diff != "" {
		t.Errorf("depends_on (-want +got):\n%s", diff)
	}
}

// TestLoadConsumerTargets: consumers that name a stage of their own run in
// the image's variant for it, one per stage, after the image; their keys
// still name the image, and the others stay in it.
func TestLoadConsumerTargets(t *testing.T) {
	s := mustLoad(t, `version: 1
registries:
  packages: {provider: buildkite, org: acme, registry: images}
images:
  base: {context: base}
  app:
    context: app
    target: production
    platforms: [linux/amd64, linux/arm64]
    depends_on: [base]
    tags: [latest]
    consumers:
      smoke: {command: ./smoke, target: production}
      unit: {command: make test, target: test}
      e2e: {command: make e2e, target: e2e}
      lint: {command: make lint, target: test}
`)
	var names []string
	for _, im := range s.Images {
		names = append(names, im.Name)
	}
	if diff := cmp.Diff([]string{"base", "app", "app:test", "app:e2e"}, names); diff != "" {
		t.Fatalf("images (-want +got):\n%s", diff)
	}
	app, test := s.Image("app"), s.Image("app:test")
	if len(app.Consumers) != 1 || app.Consumers[0].Name != "smoke" {
		t.Errorf("app keeps %v", app.Consumers)
	}
	if test.Target != "test" || test.Variant != "test" || test.Of != "app" || test.Context != "app" || test.Repository != app.Repository ||
		len(test.Platforms) != 0 || test.Tags != nil || test.Scan != nil || !slices.Equal(test.DependsOn, []string{"base"}) {
		t.Errorf("variant = %+v", test)
	}
	var keys []string
	for _, c := range test.Consumers {
		keys = append(keys, ConsumerKey(test, c))
	}
	if diff := cmp.Diff([]string{"app-unit", "app-lint"}, keys); diff != "" {
		t.Errorf("keys (-want +got):\n%s", diff)
	}
	if FinalKey(test) != "build-app:test" {
		t.Errorf("the variant's build is %s", FinalKey(test))
	}
}

func TestLoadConsumerContainer(t *testing.T) {
	s := mustLoad(t, `version: 1
registries:
  packages: {provider: buildkite, org: acme, registry: images}
images:
  app:
    consumers:
      plain:
        command: make test
      tuned:
        command: make test
        container:
          environment: {propagate: false, pass: [NPM_TOKEN, SENTRY_*], deny: BUILDKITE_AGENT_ACCESS_TOKEN}
          credentials: aws
          user: agent
          workdir: /src
          volumes: ["./cache:/cache", "/var/run/docker.sock:/var/run/docker.sock:ro", "gomod:/go/pkg/mod"]
          tmpfs: ["/tmp:size=64m"]
          network: host
          privileged: true
          shm_size: 2g
          cpus: 1.5
          memory: 4g
          gpus: all
          add_hosts: ["db.internal:10.0.0.5", "host.docker.internal:host-gateway"]
          shell: [/bin/bash, -e, -c]
          ssh_agent: true
`)
	if diff := cmp.Diff(DefaultContainer(), s.Image("app").Consumers[0].Container, cmpopts.IgnoreFields(Container{}, "Pos"), cmpopts.IgnoreUnexported(Container{})); diff != "" {
		t.Errorf("a consumer without container (-want +got):\n%s", diff)
	}
	want := Container{
		Pass: []string{"NPM_TOKEN", "SENTRY_*"}, Deny: []string{"BUILDKITE_AGENT_ACCESS_TOKEN"},
		Credentials: []string{"aws"}, User: "agent", Workdir: "/src", MountCheckout: true,
		Volumes: []string{"./cache:/cache", "/var/run/docker.sock:/var/run/docker.sock:ro", "gomod:/go/pkg/mod"},
		Tmpfs:   []string{"/tmp:size=64m"}, Network: "host", Privileged: true, ShmSize: "2g", CPUs: "1.5", Memory: "4g",
		GPUs: "all", AddHosts: []string{"db.internal:10.0.0.5", "host.docker.internal:host-gateway"},
		Shell: []string{"/bin/bash", "-e", "-c"}, SSHAgent: true,
	}
	if diff := cmp.Diff(want, s.Image("app").Consumers[1].Container, cmpopts.IgnoreFields(Container{}, "Pos"), cmpopts.IgnoreUnexported(Container{})); diff != "" {
		t.Errorf("container (-want +got):\n%s", diff)
	}
}

// unitConsumer is a spec whose one consumer, app's unit, the cases below
// add fields to, from line 9.
const unitConsumer = `version: 1
registries:
  packages: {provider: buildkite, org: acme, registry: images}
images:
  app:
    consumers:
      unit:
        command: make test
`

// TestLoadErrors checks that every problem is reported at once, each at the
// position of the value it is about.
func TestLoadErrors(t *testing.T) {
	for _, tc := range []struct {
		name string
		src  string
		want []string
	}{
		{
			name: "empty",
			src:  "",
			want: []string{"bkgen.yml:1:1: the spec is empty: it needs version, registries and images"},
		},
		{
			name: "not yaml",
			src:  "version: 1\nimages: [\n",
			want: []string{"bkgen.yml:2:1: invalid YAML: did not find expected node content"},
		},
		{
			name: "missing everything",
			src:  "{}\n",
			want: []string{
				"bkgen.yml:1:1: images is required: name at least one image to build",
				"bkgen.yml:1:1: registries is required: name at least one registry to push to",
				"bkgen.yml:1:1: version is required: add `version: 1`",
			},
		},
		{
			name: "typos with suggestions",
			src: `version: 1
registries:
  packages: {provider: buildkite, org: acme, registy: images}
imgaes: {}
`,
			want: []string{
				`bkgen.yml:1:1: images is required: name at least one image to build`,
				`bkgen.yml:3:3: registries.packages: registry is required for provider buildkite`,
				`bkgen.yml:3:46: registries.packages: unknown field "registy" (did you mean "registry"?)`,
				`bkgen.yml:4:1: spec: unknown field "imgaes" (did you mean "images"?)`,
			},
		},
		{
			name: "container options",
			src: unitConsumer + `        container:
          environment: {propagate: yes please, pass: [NPM-TOKEN], deny: ["*X"]}
          credentials: [azure]
          user: "--privileged"
          workdir: relative/dir
          volumes: ["../secrets:/s", "/a:/b:rwx", "x", "/etc:dst", "-v:/x"]
          tmpfs: ["/t:size=1m;rm -rf"]
          network: "--privileged"
          shm_size: lots
          cpus: "-1"
          gpus: every
          add_hosts: ["db"]
          shell: ["-c"]
          sudo: true
`,
			want: []string{
				`bkgen.yml:10:36: images.app.consumers.unit.container.environment.propagate: expected true or false, found the string "yes please"`,
				`bkgen.yml:10:55: images.app.consumers.unit.container.environment.pass: "NPM-TOKEN" is not a variable name (letters, digits and '_'), optionally ending in *`,
				`bkgen.yml:10:74: images.app.consumers.unit.container.environment.deny: "*X" is not a variable name (letters, digits and '_'), optionally ending in *`,
				`bkgen.yml:11:25: images.app.consumers.unit.container.credentials: "azure" is not one of aws, gcp`,
				`bkgen.yml:12:17: images.app.consumers.unit.container.user: "--privileged" is not a user: agent (the job's own uid and gid), a name or uid, or NAME:GROUP`,
				`bkgen.yml:13:20: images.app.consumers.unit.container.workdir: "relative/dir" is not a path in the container: absolute and clean, without ':' or ','`,
				`bkgen.yml:14:21: images.app.consumers.unit.container.volumes: "../secrets:/s": the source is an absolute path, ./a path in the checkout, or a volume name`,
				`bkgen.yml:14:38: images.app.consumers.unit.container.volumes: "/a:/b:rwx": the mode is ro or rw, not "rwx"`,
				`bkgen.yml:14:51: images.app.consumers.unit.container.volumes: "x" is not SRC:DST or SRC:DST:ro`,
				`bkgen.yml:14:56: images.app.consumers.unit.container.volumes: "dst" is not a path in the container: absolute and clean, without ':' or ','`,
				`bkgen.yml:14:68: images.app.consumers.unit.container.volumes: "-v:/x": the source is an absolute path, ./a path in the checkout, or a volume name`,
				`bkgen.yml:15:19: images.app.consumers.unit.container.tmpfs: "size=1m;rm -rf": tmpfs options are comma-separated words such as size=64m,mode=1777`,
				`bkgen.yml:16:20: images.app.consumers.unit.container.network: "--privileged" is not a network: host, none, bridge, a network's name or container:NAME`,
				`bkgen.yml:17:21: images.app.consumers.unit.container.shm_size: "lots" is not a size such as 2g or 512m`,
				`bkgen.yml:18:17: images.app.consumers.unit.container.cpus: "-1" is not a number of CPUs such as 2 or 1.5`,
				`bkgen.yml:19:17: images.app.consumers.unit.container.gpus: "every" is not all, a number of GPUs, or device=ID[,ID]`,
				`bkgen.yml:20:23: images.app.consumers.unit.container.add_hosts: "db" is not NAME:ADDRESS (an IP address or host-gateway)`,
				`bkgen.yml:21:19: images.app.consumers.unit.container.shell: "-c" is not a program`,
				`bkgen.yml:22:11: images.app.consumers.unit.container: unknown field "sudo"`,
			},
		},
		{
			name: "two Buildkite registries in one build",
			src: `version: 1
registries:
  base: {provider: buildkite, org: acme, registry: base}
  apps: {provider: buildkite, org: acme, registry: apps}
  hosted: {provider: hosted}
images:
  base: {registry: base}
  app: {registry: apps, depends_on: [base]}
  web: {registry: hosted, depends_on: [base]}
`,
			want: []string{
				`bkgen.yml:8:38: images.app.depends_on: app is built on base, which is in Buildkite registry base, and pushes to Buildkite registry apps: one job cannot log in to both (docker keeps one login per host, and an OIDC token names one registry). Put both images in one registry, make the base public, or give both registries auth: token with the same token_env (an organization-wide token)`,
			},
		},
		{
			name: "step attributes",
			src: unitConsumer + `        if: [build.branch]
        branches: [main, 3]
        allow_dependency_failure: "yes"
        notify: {slack: "#ci"}
        secrets: [API_KEY]
        cache: [node_modules]
        matrix: [a, "b c", {x: 1}]
        parallelism: 2
`,
			want: []string{
				`bkgen.yml:9:13: images.app.consumers.unit.if: expected a conditional expression such as build.branch == "main", found a list`,
				`bkgen.yml:10:19: images.app.consumers.unit.branches: expected branch patterns, a string or a list: each item a string`,
				`bkgen.yml:11:35: images.app.consumers.unit.allow_dependency_failure: expected true or false, found the string "yes"`,
				`bkgen.yml:12:17: images.app.consumers.unit.notify: expected a list of notifications, found a mapping`,
				`bkgen.yml:15:9: images.app.consumers.unit: matrix and parallelism cannot be combined: Buildkite runs a matrix's jobs once each`,
				`bkgen.yml:15:21: images.app.consumers.unit.matrix: a matrix value is a word of letters, digits and . _ : / @ + = - (Buildkite writes it into the command as it is), not the string "b c"`,
				`bkgen.yml:15:28: images.app.consumers.unit.matrix: a matrix value is a word of letters, digits and . _ : / @ + = - (Buildkite writes it into the command as it is), not a mapping`,
			},
		},
		{
			name: "matrix shapes",
			src: unitConsumer + `        matrix:
          setup: {os: [linux, darwin], go-version: ["1.26"]}
          adjustments:
            - with: {os: windows, arch: arm64}
            - {skip: true}
            - with: {os: linux}
              skip: [x]
`,
			want: []string{
				`bkgen.yml:10:40: images.app.consumers.unit.matrix.setup: "go-version" is not a dimension name (letters, digits and '_')`,
				`bkgen.yml:12:35: images.app.consumers.unit.matrix.adjustments[0].with: "arch" is not a dimension of setup`,
				`bkgen.yml:13:15: images.app.consumers.unit.matrix.adjustments[1]: with is required: the combination it adjusts`,
				`bkgen.yml:15:21: images.app.consumers.unit.matrix.adjustments[2].skip: expected true, false or a reason, found a list`,
			},
		},
		{
			name: "job image",
			src: `version: 1
registries:
  packages: {provider: buildkite, org: acme, registry: images}
  hosted: {provider: hosted}
images:
  app:
    registry: packages
    consumers:
      unit:
        command: make test
        container: {mode: job_image}
  web:
    registry: hosted
    consumers:
      unit:
        command: make test
        container: {mode: job_image, user: agent}
      lint:
        command: make lint
        container: {mode: jobimage}
`,
			want: []string{
				`bkgen.yml:11:27: images.app.consumers.unit.container.mode: job_image runs the job in the image, which hosted agents do with images from their own registry; this image goes to packages (buildkite): use mode: docker`,
				`bkgen.yml:17:38: images.web.consumers.unit.container: user does not apply with mode: job_image: the job itself runs in the image, with the job's environment`,
				`bkgen.yml:20:27: images.web.consumers.lint.container.mode: "jobimage" is not one of docker, job_image (did you mean "job_image"?)`,
			},
		},
		{
			name: "wrong types and values",
			src: `version: "one"
registries:
  packages: {provider: buildkit, registry: images}
images:
  app:
    registry: pakages
    platforms: linux
    multi_arch: both
    secrets: [NPM-TOKEN]
    cache: {type: s3, bucket: bkt}
    tags: [latest, "bad tag"]
    consumers:
      unit:
        parallelism: four
        concurrency: 2
`,
			want: []string{
				`bkgen.yml:1:10: version: expected a whole number, found the string "one"`,
				`bkgen.yml:3:24: registries.packages.provider: "buildkit" is not one of buildkite, ecr, gar, hosted (did you mean "buildkite"?)`,
				`bkgen.yml:6:15: images.app.registry: no registry named "pakages" (did you mean "packages"?)`,
				`bkgen.yml:7:16: images.app.platforms: "linux" is not a platform such as linux/amd64 or linux/arm/v7`,
				`bkgen.yml:8:17: images.app.multi_arch: "both" is not one of native, emulated`,
				`bkgen.yml:9:15: images.app.secrets: "NPM-TOKEN" is not an environment variable name (letters, digits and '_'): a secret is passed to BuildKit by the name of the env var that holds it`,
				`bkgen.yml:10:12: images.app.cache: an s3 cache needs region`,
				`bkgen.yml:11:20: images.app.tags: "bad tag" is not a valid tag (letters, digits, '_', '.', '-', at most 128, not starting with '.' or '-'; $VAR and {{branch}} and the like allowed)`,
				`bkgen.yml:13:7: images.app.consumers.unit: command is required`,
				`bkgen.yml:14:22: images.app.consumers.unit.parallelism: expected a whole number, found the string "four"`,
				`bkgen.yml:15:9: images.app.consumers.unit: concurrency needs concurrency_group, the name of the group it limits`,
			},
		},
		{
			name: "dependency cycle and unknown image",
			src: `version: 1
registries:
  packages: {provider: buildkite, org: acme, registry: images}
images:
  a: {depends_on: [b]}
  b: {depends_on: [c, a]}
  c: {depends_on: [bb]}
`,
			want: []string{
				`bkgen.yml:5:3: images.a: dependency cycle: a -> b -> a`,
				`bkgen.yml:7:20: images.c.depends_on: no image named "bb" (did you mean "b"?)`,
			},
		},
		{
			name: "if_changed the agent cannot parse",
			src: `version: 1
registries:
  packages: {provider: buildkite, org: acme, registry: images}
images:
  app:
    if_changed: ["src/**", "{a,b"]
    consumers:
      unit:
        command: make test
        if_changed: {exclude: docs/**}
`,
			want: []string{
				`bkgen.yml:6:28: images.app.if_changed: the agent cannot parse this pattern: `,
				`bkgen.yml:10:21: images.app.consumers.unit.if_changed: include is required (the agent runs a step whose if_changed has no include)`,
			},
		},
		{
			name: "scan options a tool does not take",
			src: `version: 1
registries:
  aws: {provider: ecr, account_id: "123456789012", region: us-east-1}
images:
  a: {scan: {tool: grype, severity: [HIGH]}}
  b: {scan: {tool: trivy, fail_on: high, severity: [low, bogus]}}
  c: {scan: {tool: ecr, ignore_unfixed: true}}
  d: {scan: {tool: snyk}}
`,
			want: []string{
				`bkgen.yml:5:27: images.a.scan: grype does not take severity (it takes fail_on, fail, ignore_unfixed, annotate, image, db_url)`,
				`bkgen.yml:6:27: images.b.scan: trivy does not take fail_on (it takes severity, fail, ignore_unfixed, annotate, image, db_repository, java_db_repository)`,
				`bkgen.yml:6:58: images.b.scan.severity: "bogus" is not one of UNKNOWN, LOW, MEDIUM, HIGH, CRITICAL`,
				`bkgen.yml:7:25: images.c.scan: ecr does not take ignore_unfixed (it takes severity, fail, annotate)`,
				`bkgen.yml:8:20: images.d.scan.tool: "snyk" is not one of trivy, grype, ecr`,
			},
		},
		{
			name: "an image's own steps",
			src: `version: 1
registries: {packages: {provider: buildkite, org: acme, registry: images}}
defaults:
  step: {timeout_in_minutes: 0, plugins: [docker-login]}
images:
  a: {step: {parallelism: 2, concurrency: 1, notify: yes}}
`,
			want: []string{
				`bkgen.yml:4:30: defaults.step.timeout_in_minutes: expected a whole number from 1 to 1048576, found 0`,
				`bkgen.yml:4:43: defaults.step.plugins[0]: plugin "docker-login" is not pinned: without a #ref the agent checks out the plugin repository's default branch, which can change under the pipeline; pin a release tag (docker-login#vX.Y.Z) or a full commit sha`,
				`bkgen.yml:6:14: images.a.step: unknown field "parallelism"`,
				`bkgen.yml:6:30: images.a.step: concurrency needs concurrency_group, the name of the group it limits`,
				`bkgen.yml:6:54: images.a.step.notify: expected a list of notifications, found the string "yes"`,
			},
		},
		{
			name: "the spec's own steps",
			src: unitConsumer + `steps:
  - command: make deploy
    key: app-unit
  - {command: a, trigger: b}
  - label: nothing
  - block: Release?
    if_changed: src/**
  - group: Docs
    steps:
      - group: Inner
        steps: [wait]
      - command: x
        plugins: [docker#main]
        depends_on: [{allow_failure: true}]
  - key: loop-a
    command: a
    depends_on: loop-b
  - key: loop-b
    command: b
    depends_on: [loop-a]
  - wait: ~
    bogus: 1
`,
			want: []string{
				`bkgen.yml:10:5: steps: key "app-unit" is also a key of image app; rename one of them`,
				`bkgen.yml:12:5: steps[1]: a step is one of command, trigger, block, input, wait or group: name exactly one (found command, trigger)`,
				`bkgen.yml:13:5: steps[2]: a step is one of command, trigger, block, input, wait or group: name exactly one (found none)`,
				`bkgen.yml:15:5: steps[3]: unknown field "if_changed"`,
				`bkgen.yml:18:9: steps[4].steps[0]: a group cannot hold a group`,
				`bkgen.yml:21:19: steps[4].steps[1].plugins[0]: plugin "docker#main" is not pinned: "main" looks like a branch, not a release tag or a commit sha, so it can change under the pipeline; pin a release tag (docker#vX.Y.Z) or a full commit sha`,
				`bkgen.yml:22:22: steps[4].steps[1].depends_on: step is required: the key it depends on`,
				`bkgen.yml:28:18: loop-b.depends_on: dependency cycle: loop-a -> loop-b -> loop-a`,
				`bkgen.yml:30:5: steps[7]: unknown field "bogus"`,
			},
		},
		{
			name: "scanner images pinned, databases from mirrors",
			src: `version: 1
registries: {packages: {provider: buildkite, org: acme, registry: images}}
images:
  a: {scan: {image: aquasec/trivy, db_repository: "-x", annotate: maybe}}
  b: {scan: {image: "aquasec/trivy:latest", java_db_repository: "mirror.example/trivy java"}}
  c: {scan: {tool: grype, image: "anchore/grype@sha256:0123", db_url: "ftp://mirror.example/db"}}
  d: {scan: {tool: grype, image: "registry.example:5000/anchore/grype", db_url: "https://"}}
`,
			want: []string{
				`bkgen.yml:4:21: images.a.scan.image: "aquasec/trivy" is not pinned: name a version tag or a digest (IMAGE:1.2.3 or IMAGE@sha256:...), which cannot move under the pipeline`,
				`bkgen.yml:4:51: images.a.scan.db_repository: "-x" is not an image reference (REGISTRY/REPOSITORY:TAG or @sha256:DIGEST)`,
				`bkgen.yml:4:67: images.a.scan.annotate: expected true or false, found the string "maybe"`,
				`bkgen.yml:5:21: images.b.scan.image: "aquasec/trivy:latest" is not pinned: name a version tag or a digest (IMAGE:1.2.3 or IMAGE@sha256:...), which cannot move under the pipeline`,
				`bkgen.yml:5:65: images.b.scan.java_db_repository: "mirror.example/trivy java" is not an image reference (REGISTRY/REPOSITORY:TAG or @sha256:DIGEST)`,
				`bkgen.yml:6:34: images.c.scan.image: "anchore/grype@sha256:0123" is not an image reference (REGISTRY/REPOSITORY:TAG or @sha256:DIGEST)`,
				`bkgen.yml:6:71: images.c.scan.db_url: "ftp://mirror.example/db" is not an http or https URL`,
				`bkgen.yml:7:34: images.d.scan.image: "registry.example:5000/anchore/grype" is not pinned: name a version tag or a digest (IMAGE:1.2.3 or IMAGE@sha256:...), which cannot move under the pipeline`,
				`bkgen.yml:7:81: images.d.scan.db_url: "https://" is not an http or https URL`,
			},
		},
		{
			name: "registry combinations that cannot work",
			src: `version: 1
registries:
  bk: {provider: buildkite, org: acme, registry: images, token_env: TOKEN}
  tok: {provider: buildkite, org: acme, registry: images, auth: token}
  aws: {provider: ecr, account_id: 1234, region: us-east-1, workload_identity: {audience: x}}
  hosted-aws: {provider: ecr, account_id: "123456789012", region: us-east-1, auth: oidc}
  gcp: {provider: gar, location: us, project: my-project}
images:
  app:
    registry: bk
    scan: {tool: ecr}
`,
			want: []string{
				`bkgen.yml:3:69: registries.bk.token_env: only used with auth: token (this registry logs in with OIDC)`,
				`bkgen.yml:4:65: registries.tok.auth: token needs token_env, the name of the env var that holds the token`,
				`bkgen.yml:5:36: registries.aws.account_id: "1234" is not a 12-digit AWS account id (quote it to keep leading zeros)`,
				`bkgen.yml:5:61: registries.aws: "workload_identity" is not a field of provider ecr (it has: account_id, region, assume_role, auth, create_repositories)`,
				`bkgen.yml:6:84: registries.hosted-aws.auth: auth: oidc assumes a role with the job's Buildkite OIDC token: name it in assume_role (a role whose trust policy accepts https://agent.buildkite.com tokens for sts.amazonaws.com)`,
				`bkgen.yml:7:3: registries.gcp: repository is required for provider gar`,
				`bkgen.yml:11:11: images.app.scan: ecr cannot scan this image: it goes to bk, and images in a buildkite registry are scanned with trivy or grype`,
			},
		},
		{
			name: "step keys that collide",
			src: `version: 1
registries:
  packages: {provider: buildkite, org: acme, registry: images}
images:
  a:
    consumers: {b-c: {command: x}}
  a-b:
    consumers: {c: {command: x}}
`,
			want: []string{
				`bkgen.yml:7:3: images.a-b: its step key "a-b-c" is also made by image a; rename one of them`,
			},
		},
		{
			name: "unpinned plugin and defaults that belong to one image",
			src: `version: 1
registries:
  packages: {provider: buildkite, org: acme, registry: images}
defaults:
  context: src
images:
  app:
    consumers:
      unit:
        command: make test
        plugins: [docker-compose, "artifacts#v1.9.4", "docker#main", "cache#v1", "x#0123abc", "./local"]
`,
			want: []string{
				`bkgen.yml:5:3: defaults: context belongs to one image and cannot be a default`,
				`bkgen.yml:11:19: images.app.consumers.unit.plugins[0]: plugin "docker-compose" is not pinned: without a #ref the agent checks out the plugin repository's default branch, which can change under the pipeline; pin a release tag (docker-compose#vX.Y.Z) or a full commit sha`,
				`bkgen.yml:11:55: images.app.consumers.unit.plugins[2]: plugin "docker#main" is not pinned: "main" looks like a branch, not a release tag or a commit sha, so it can change under the pipeline; pin a release tag (docker#vX.Y.Z) or a full commit sha`,
				`bkgen.yml:11:70: images.app.consumers.unit.plugins[3]: plugin "cache#v1" is not pinned: "v1" is a partial version, which may be a tag that moves with each release; pin a release tag (cache#vX.Y.Z) or a full commit sha`,
				`bkgen.yml:11:82: images.app.consumers.unit.plugins[4]: plugin "x#0123abc" is not pinned: "0123abc" looks like a short commit sha, which can become ambiguous; write the full 40-character sha`,
			},
		},
		{
			name: "variables in args and labels, and bad freshness fields",
			src: `version: 1
registries:
  packages: {provider: buildkite, org: acme, registry: images}
defaults:
  args: {REVISION: "$BUILDKITE_COMMIT"}
  max_age: 0
images:
  app:
    args: {PLAIN: "a $ b", PRICE: "10$", V: "v${VERSION:-1}"}
    labels: {built-by: "build $$BUILDKITE_BUILD_NUMBER"}
    key_salt: " "
  tool:
    max_age: 3651
`,
			want: []string{
				`bkgen.yml:5:20: defaults.args.REVISION: build arg REVISION would reach the build as the literal text "$B...", never expanded: build args are part of the content tag, so they cannot change from build to build; per-build values (a build number, a commit) belong in tags, which do expand variables`,
				`bkgen.yml:6:12: defaults.max_age: expected a whole number from 1 to 3650, found 0`,
				`bkgen.yml:9:45: images.app.args.V: build arg V would reach the build as the literal text "${...", never expanded: build args are part of the content tag, so they cannot change from build to build; per-build values (a build number, a commit) belong in tags, which do expand variables`,
				`bkgen.yml:10:24: images.app.labels.built-by: label built-by would reach the build as the literal text "$B...", never expanded: labels are part of the content tag, so they cannot change from build to build; per-build values (a build number, a commit) belong in tags, which do expand variables`,
				`bkgen.yml:11:15: images.app.key_salt: must not be empty`,
				`bkgen.yml:13:14: images.tool.max_age: expected a whole number from 1 to 3650, found 3651`,
			},
		},
		{
			name: "attestations",
			src: `version: 1
registries:
  packages: {provider: buildkite, org: acme, registry: images}
images:
  a: {provenance: true, sbom: {generator: "docker/buildkit-syft-scanner"}}
  b: {provenance: full, sbom: {}}
  c: {sbom: maybe}
`,
			want: []string{
				`bkgen.yml:5:19: images.a.provenance: say min or max: the provenance to attach (or false for none)`,
				`bkgen.yml:5:43: images.a.sbom.generator: "docker/buildkit-syft-scanner" is not pinned: name a version tag or a digest (IMAGE:1.2.3 or IMAGE@sha256:...), which cannot move under the pipeline`,
				`bkgen.yml:6:19: images.b.provenance: "full" is not one of min, max`,
				`bkgen.yml:6:31: images.b.sbom: generator is required: the SBOM generator image, pinned (or write sbom: true for BuildKit's, pinned by bkgen)`,
				`bkgen.yml:7:13: images.c.sbom: expected true or false, found the string "maybe"`,
			},
		},
		{
			name: "build flags",
			src: `version: 1
registries:
  packages: {provider: buildkite, org: acme, registry: images}
images:
  a:
    network: host
    add_hosts: ["db 10.0.0.1"]
    ssh: [/home/me/.ssh/id]
    shm_size: lots
    build_contexts: {deps: ../shared, tools: "docker-image://tools"}
    cache_from: ["not a ref"]
    export_env: 1X
`,
			want: []string{
				`bkgen.yml:6:14: images.a.network: "host" is not one of default, none`,
				`bkgen.yml:7:17: images.a.add_hosts: "db 10.0.0.1" is not NAME:ADDRESS (an IP address or host-gateway)`,
				`bkgen.yml:8:11: images.a.ssh: "/home/me/.ssh/id" is not an SSH id (default, or letters, digits, '.', '_' and '-'): the build is given the agent's ssh-agent socket under that id`,
				`bkgen.yml:9:15: images.a.shm_size: "lots" is not a size such as 2g or 512m`,
				`bkgen.yml:10:21: images.a.build_contexts.deps: "../shared" is not docker-image://IMAGE: only images can be named build contexts here (a directory's files would not be in the content tag)`,
				`bkgen.yml:10:21: images.a.build_contexts.tools: "tools" is not pinned: name a version tag or a digest (IMAGE:1.2.3 or IMAGE@sha256:...), which cannot move under the pipeline`,
				`bkgen.yml:11:18: images.a.cache_from: "not a ref" is not an image reference (REGISTRY/REPOSITORY:TAG or @sha256:DIGEST)`,
				`bkgen.yml:12:17: images.a.export_env: "1X" is not an environment variable name (letters, digits and '_')`,
			},
		},
		{
			name: "tag templates",
			src: `version: 1
registries:
  packages: {provider: buildkite, org: acme, registry: images}
images:
  a: {tags: ["{{branch}}-{{commit}}", "{{branch}}/x", "{{sha}}"]}
`,
			want: []string{
				`bkgen.yml:5:14: images.a.tags: "{{commit}}" names no value: a tag may use {{branch}}, {{tag}}, {{sha}}, {{version}}, {{major}}, {{minor}}, {{patch}}, {{build_number}}`,
				`bkgen.yml:5:39: images.a.tags: "{{branch}}/x" is not a valid tag (letters, digits, '_', '.', '-', at most 128, not starting with '.' or '-'; $VAR and {{branch}} and the like allowed)`,
			},
		},
		{
			name: "outputs",
			src: `version: 1
registries:
  packages: {provider: buildkite, org: acme, registry: images}
images:
  a:
    outputs:
      - {target: builder, from: app/dist, path: dist}
      - {target: builder, path: other}
      - {from: /x/../y, path: .}
      - {target: "b c"}
  b: {outputs: dist}
`,
			want: []string{
				`bkgen.yml:7:33: images.a.outputs[0].from: "app/dist" is not a clean absolute path in the image, such as /app/dist`,
				`bkgen.yml:8:9: images.a.outputs[1]: a second output of the same stage: list each stage once`,
				`bkgen.yml:9:16: images.a.outputs[2].from: "/x/../y" is not a clean absolute path in the image, such as /app/dist`,
				`bkgen.yml:9:31: images.a.outputs[2].path: name a directory of its own for the files: they are uploaded as PATH/**/*`,
				`bkgen.yml:10:9: images.a.outputs[3]: path is required: the directory in the checkout the files go to`,
				`bkgen.yml:10:18: images.a.outputs[3].target: "b c" is not a build stage name (a letter, then letters, digits, '.', '_' and '-')`,
				`bkgen.yml:11:16: images.b.outputs: expected a list of {target, from, path}, found the string "dist"`,
			},
		},
		{
			name: "trust",
			src: `version: 1
registries:
  packages: {provider: buildkite, org: acme, registry: images}
images:
  app: {}
trust:
  branches: [main, "release/[", ""]
  untrusted: {tag_prefix: bk-pr-, registry: packages-pr}
  extra: 1
`,
			want: []string{
				`bkgen.yml:7:20: trust.branches: "release/[" is not a branch pattern (* ? [...] as in path.Match)`,
				`bkgen.yml:7:33: trust.branches: "" is not a branch pattern (* ? [...] as in path.Match)`,
				`bkgen.yml:8:35: trust.untrusted: give tag_prefix or registry, not both`,
				`bkgen.yml:9:3: trust: unknown field "extra"`,
			},
		},
		{
			name: "signing keys",
			src: `version: 1
registries:
  packages: {provider: buildkite, org: acme, registry: images}
images:
  app: {}
signing:
  key: "env://not a name"
  public_key: "-----BEGIN PUBLIC KEY-----\nMFkw"
  transparency_log: "no"
  image: ghcr.io/sigstore/cosign/cosign
`,
			want: []string{
				`bkgen.yml:7:8: signing.key: "env://not a name" does not name an environment variable (letters, digits and '_'): the key itself never goes in the spec`,
				`bkgen.yml:8:15: signing.public_key: this is not a key reference: give env://NAME, a KMS key (awskms://, gcpkms://, azurekms://, hashivault://) or a file path, never the key itself`,
				`bkgen.yml:9:21: signing.transparency_log: expected true or false, found the string "no"`,
				`bkgen.yml:10:10: signing.image: "ghcr.io/sigstore/cosign/cosign" is not pinned: name a version tag or a digest (IMAGE:1.2.3 or IMAGE@sha256:...), which cannot move under the pipeline`,
			},
		},
		{
			name: "signing forms",
			src: `version: 1
registries:
  packages: {provider: buildkite, org: acme, registry: images}
images:
  app: {}
signing: {key: cosign.key, keyless: {identity: x}}
`,
			want: []string{`bkgen.yml:6:28: signing: give key or keyless, not both`},
		},
		{
			name: "signing without a public key",
			src: `version: 1
registries:
  packages: {provider: buildkite, org: acme, registry: images}
images:
  app: {}
signing: {key: env://COSIGN_KEY}
`,
			want: []string{`bkgen.yml:6:11: signing: public_key is required with this key: the key builds verify signatures with (a file in the repository, or env://NAME); only a KMS key verifies itself`},
		},
		{
			name: "keyless",
			src: `version: 1
registries:
  packages: {provider: buildkite, org: acme, registry: images}
images:
  app: {}
signing:
  keyless: {identity: "^https://buildkite.com/acme/(app"}
  public_key: k.pub
  transparency_log: false
`,
			want: []string{
				`bkgen.yml:7:23: signing.keyless.identity: "^https://buildkite.com/acme/(app" is not a regular expression: missing closing ): ` + "`" + `^https://buildkite.com/acme/(app` + "`" + ``,
				`bkgen.yml:8:3: signing.public_key: keyless signing verifies with the signer's certificate, not a public key`,
				`bkgen.yml:9:21: signing.transparency_log: keyless signatures are verified through the transparency log: it cannot be off`,
			},
		},
		{
			name: "a keyless identity of two lines",
			src:  "version: 1\nregistries:\n  packages: {provider: buildkite, org: acme, registry: images}\nimages:\n  app: {}\nsigning: {keyless: {identity: \"x\\nrm -rf /\"}}\n",
			want: []string{`bkgen.yml:6:31: signing.keyless.identity: holds a control character, which no certificate identity has`},
		},
		{
			name: "signing's other keys",
			src: `version: 1
registries:
  packages: {provider: buildkite, org: acme, registry: images}
images:
  app: {}
signing: {key: "gs://bucket/key", public_key: "--key=x"}
`,
			want: []string{
				`bkgen.yml:6:16: signing.key: "gs://bucket/key" is not a key cosign can use here: give env://NAME, a KMS key (awskms://, gcpkms://, azurekms://, hashivault://) or a file path`,
				`bkgen.yml:6:47: signing.public_key: "--key=x" is not a key reference: give env://NAME, a KMS key (awskms://, gcpkms://, azurekms://, hashivault://) or a file path`,
			},
		},
		{
			name: "trust prefixes and registries",
			src: `version: 1
registries:
  packages: {provider: buildkite, org: acme, registry: images}
images:
  app: {}
trust: {untrusted: {registry: pakages}}
`,
			want: []string{
				`bkgen.yml:6:31: trust.untrusted.registry: no registry named "pakages" (did you mean "packages"?)`,
			},
		},
	} {
		t.Run(tc.name, func(t *testing.T) {
			_, err := Load("bkgen.yml", []byte(tc.src))
			var errs diag.List
			if !errors.As(err, &errs) {
				t.Fatalf("Load returned %v, want a diag.List", err)
			}
			var got []string
			for _, e := range errs {
				got = append(got, e.Error())
			}
			// A want line ending in ": " matches any message with that prefix
			// (the glob package words its own syntax errors).
			for i, w := range tc.want {
				if strings.HasSuffix(w, ": ") && i < len(got) && strings.HasPrefix(got[i], w) {
					got[i] = w
				}
			}
			if diff := cmp.Diff(tc.want, got); diff != "" {
				t.Errorf("errors (-want +got):\n%s", diff)
			}
		})
	}
}

func TestArchSlug(t *testing.T) {
	for _, tc := range []struct {
		platform string
		all      []string
		want     string
	}{
		{"linux/arm64", []string{"linux/amd64", "linux/arm64"}, "arm64"},
		{"linux/arm/v7", []string{"linux/amd64", "linux/arm/v7"}, "arm-v7"},
		{"windows/amd64", []string{"linux/amd64", "windows/amd64"}, "windows-amd64"},
	} {
		if got := ArchSlug(tc.platform, tc.all); got != tc.want {
			t.Errorf("ArchSlug(%q) = %q, want %q", tc.platform, got, tc.want)
		}
	}
}
