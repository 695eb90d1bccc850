package generator

import (
	"strings"
	"testing"

	"github.com/bkgen/bkgen/buildenv"
	"github.com/bkgen/bkgen/changes"
)

// TestSigning: a trusted build signs each digest it pushes (a native
// multi-arch image's merged index, not its platforms') and verifies an
// image before reusing it; an untrusted build signs nothing and verifies
// only the trusted image it would copy; one with a registry of its own has
// no cosign at all. The key is named, never written.
func TestSigning(t *testing.T) {
	const signing = `signing: {key: env://COSIGN_KEY, public_key: .buildkite/cosign.pub, transparency_log: false}
`
	const keyless = `signing: {keyless: {identity: "^https://buildkite\\.com/acme/"}}
`
	multi := "  multi: {context: multi, platforms: [linux/amd64, linux/arm64], platform_agents: {linux/arm64: {queue: arm}}}\n"
	for _, tc := range []struct {
		name, extra string
		env         buildenv.Build
		// lines of each step's command, and text none may hold
		want    map[string][]string
		notWant map[string][]string
	}{
		{
			name: "trusted", extra: multi + signing,
			env: buildenv.Build{Branch: "main", PullRequest: "false"},
			want: map[string][]string{
				"build-app": {
					`  if out=$("${cosign[@]}" verify --key=.buildkite/cosign.pub --insecure-ignore-tlog=true "$1" 2>&1 >/dev/null); then`,
					`  "${cosign[@]}" sign --yes --key=env://COSIGN_KEY --tlog-upload=false "$1"`,
					"elif ! signed packages.buildkite.com/acme/images/app:bk-app; then",
					`sign packages.buildkite.com/acme/images/app"@$digest"`,
				},
				"build-multi-arm64": {"elif ! signed packages.buildkite.com/acme/images/multi:bk-multi; then"},
				"manifest-multi":    {`  sign packages.buildkite.com/acme/images/multi"@$digest"`, `  "${cosign[@]}" sign --yes --key=env://COSIGN_KEY --tlog-upload=false "$1"`},
			},
			notWant: map[string][]string{"build-multi-arm64": {"sign()", "--env COSIGN_PASSWORD --env COSIGN_PASSWORD"}},
		},
		{
			name: "pull request", extra: "trust: {}\n" + signing,
			env: buildenv.Build{Branch: "main", PullRequest: "42"},
			want: map[string][]string{
				"build-app": {"  if docker buildx imagetools inspect packages.buildkite.com/acme/images/app:bk-app >/dev/null 2>&1 && signed packages.buildkite.com/acme/images/app:bk-app; then"},
			},
			notWant: map[string][]string{"build-app": {"sign()", "elif ! signed", "--key=env://COSIGN_KEY"}},
		},
		{
			name: "untrusted registry", extra: "trust: {untrusted: {registry: pr}}\n" + signing,
			env:     buildenv.Build{Branch: "feature", PipelineDefaultBranch: "main"},
			notWant: map[string][]string{"build-app": {"cosign"}},
		},
		{
			name: "keyless", extra: keyless,
			env: buildenv.Build{Branch: "main"},
			want: map[string][]string{
				"build-app": {
					`  if out=$("${cosign[@]}" verify $'--certificate-identity-regexp=^https://buildkite\\.com/acme/' --certificate-oidc-issuer=https://agent.buildkite.com "$1" 2>&1 >/dev/null); then`,
					"  token=$(buildkite-agent oidc request-token --audience sigstore)",
					`  "${cosign[@]}" sign --yes --identity-token="$token" "$1"`,
				},
			},
			notWant: map[string][]string{"build-app": {"--tlog-upload=false", "--key="}},
		},
	} {
		t.Run(tc.name, func(t *testing.T) {
			s := load(t, trustSpec+tc.extra)
			tags := map[string]string{"base": "bk-base", "app": "bk-app", "multi": "bk-multi"}
			cmds := commands(t, generate(t, Input{Spec: s, ContentTags: tags, Env: tc.env, Changes: changes.Result{All: true}}))
			for key, lines := range tc.want {
				have := map[string]bool{}
				for _, l := range strings.Split(cmds[key], "\n") {
					have[l] = true
				}
				for _, w := range lines {
					if !have[w] {
						t.Errorf("%s lacks the line %q:\n%s", key, w, cmds[key])
					}
				}
			}
			for key, texts := range tc.notWant {
				for _, w := range texts {
					if strings.Contains(cmds[key], w) {
						t.Errorf("%s has %q:\n%s", key, w, cmds[key])
					}
				}
			}
		})
	}
}
