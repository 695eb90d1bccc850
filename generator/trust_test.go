package generator

import (
	"strings"
	"testing"

	"github.com/bkgen/bkgen/buildenv"
	"github.com/bkgen/bkgen/changes"
	"github.com/google/go-cmp/cmp"
)

const trustSpec = `version: 1
registries:
  packages: {provider: buildkite, org: acme, registry: images}
  pr: {provider: buildkite, org: acme, registry: images-pr}
defaults: {scan: false, registry: packages}
images:
  base: {context: base}
  app:
    context: app
    depends_on: [base]
    tags: [latest]
    consumers:
      unit: {command: make test}
`

// TestTrust: a pull request's build is untrusted: every tag it writes
// (content tags, extra tags, caches) starts with the prefix, in the same
// repositories, and it may take what a trusted build pushed; its images
// and consumers use its own tags. A trusted build writes and reads only
// unprefixed tags.
func TestTrust(t *testing.T) {
	for _, tc := range []struct {
		name  string
		trust string
		env   buildenv.Build
		// what build-app writes and reads
		want, notWant []string
		trusted       bool
	}{
		{
			name: "trusted", trust: "trust: {branches: [main]}\n",
			env:     buildenv.Build{Branch: "main", PullRequest: "false"},
			trusted: true,
			want: []string{
				"--tag packages.buildkite.com/acme/images/app:bk-app",
				"docker buildx imagetools create --prefer-index=false --tag packages.buildkite.com/acme/images/app:latest packages.buildkite.com/acme/images/app:bk-app",
				"--cache-to 'type=registry,ref=packages.buildkite.com/acme/images/app:buildcache-main,mode=max'",
				"--build-arg BASE_IMAGE=packages.buildkite.com/acme/images/base:bk-base",
			},
			notWant: []string{"untrusted-", "built by a trusted build"},
		},
		{
			name: "pull request", trust: "trust: {branches: [main]}\n",
			env: buildenv.Build{Branch: "main", PullRequest: "42"},
			want: []string{
				"--tag packages.buildkite.com/acme/images/app:untrusted-bk-app",
				"--tag packages.buildkite.com/acme/images/app:untrusted-latest",
				"  if docker buildx imagetools inspect packages.buildkite.com/acme/images/app:bk-app >/dev/null 2>&1; then",
				"    docker buildx imagetools create --prefer-index=false --tag packages.buildkite.com/acme/images/app:untrusted-bk-app --tag packages.buildkite.com/acme/images/app:untrusted-latest packages.buildkite.com/acme/images/app:bk-app",
				"--cache-from 'type=registry,ref=packages.buildkite.com/acme/images/app:untrusted-buildcache-main'",
				"--cache-from 'type=registry,ref=packages.buildkite.com/acme/images/app:buildcache-main'",
				"--cache-to 'type=registry,ref=packages.buildkite.com/acme/images/app:untrusted-buildcache-main,mode=max'",
				"--build-arg BASE_IMAGE=packages.buildkite.com/acme/images/base:untrusted-bk-base",
			},
			notWant: []string{
				"--tag packages.buildkite.com/acme/images/app:bk-app",
				"--tag packages.buildkite.com/acme/images/app:latest",
				"--cache-to 'type=registry,ref=packages.buildkite.com/acme/images/app:buildcache-main,mode=max'",
			},
		},
		{
			name: "untrusted registry", trust: "trust: {untrusted: {registry: pr}}\n",
			env: buildenv.Build{Branch: "feature", PipelineDefaultBranch: "main"},
			want: []string{
				"--tag packages.buildkite.com/acme/images-pr/app:bk-app",
				"--build-arg BASE_IMAGE=packages.buildkite.com/acme/images-pr/base:bk-base",
				"  | docker login packages.buildkite.com/acme/images-pr --username buildkite --password-stdin",
			},
			notWant: []string{"acme/images/", "built by a trusted build"},
		},
	} {
		t.Run(tc.name, func(t *testing.T) {
			s := load(t, trustSpec+tc.trust)
			tags := map[string]string{"base": "bk-base", "app": "bk-app"}
			res := generate(t, Input{Spec: s, ContentTags: tags, Env: tc.env, Changes: changes.Result{All: true}})
			if res.Trust.Trusted != tc.trusted || !res.Trust.Model {
				t.Errorf("trust = %+v, want trusted %v", res.Trust, tc.trusted)
			}
			cmds := commands(t, res)
			for _, w := range tc.want {
				if !strings.Contains(cmds["build-app"], w) {
					t.Errorf("build-app lacks %q:\n%s", w, cmds["build-app"])
				}
			}
			for _, w := range tc.notWant {
				if strings.Contains(cmds["build-app"], w) {
					t.Errorf("build-app has %q:\n%s", w, cmds["build-app"])
				}
			}
			// The consumer runs in what this build made or took.
			own := map[bool]string{true: "packages.buildkite.com/acme/images/app:bk-app", false: "app:untrusted-bk-app"}[tc.trusted]
			if tc.name == "untrusted registry" {
				own = "packages.buildkite.com/acme/images-pr/app:bk-app"
			}
			if !strings.Contains(cmds["app-unit"], own) {
				t.Errorf("app-unit does not run in %s:\n%s", own, cmds["app-unit"])
			}
		})
	}
}

// TestTrustLookups: --verify-registry, in an untrusted build, looks up the
// build's own tags.
func TestTrustLookups(t *testing.T) {
	s := load(t, trustSpec+"trust: {}\n")
	p, err := Prepare(Input{Spec: s, ContentTags: map[string]string{"base": "bk-base", "app": "bk-app"},
		Env: buildenv.Build{Branch: "feature", PipelineDefaultBranch: "main"}, Changes: changes.Result{All: true}})
	if err != nil {
		t.Fatal(err)
	}
	got := map[string]string{}
	for name, r := range p.ContentRefs() {
		got[name] = r.Ref
	}
	want := map[string]string{
		"base": "packages.buildkite.com/acme/images/base:untrusted-bk-base",
		"app":  "packages.buildkite.com/acme/images/app:untrusted-bk-app",
	}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("lookups (-want +got):\n%s", diff)
	}
}
