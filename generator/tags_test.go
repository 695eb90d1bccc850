package generator

import (
	"slices"
	"strings"
	"testing"

	"github.com/bkgen/bkgen/buildenv"
	"github.com/bkgen/bkgen/changes"
	"github.com/google/go-cmp/cmp"
)

// TestTagTemplates: a tag's templates are filled in from the build, made
// fit for a tag; a tag whose template has no value in this build is left
// out, and a note says so.
func TestTagTemplates(t *testing.T) {
	s := load(t, `version: 1
registries:
  packages: {provider: buildkite, org: acme, registry: images}
defaults: {scan: false}
images:
  app:
    tags: ["{{branch}}", "sha-{{sha}}", "v{{version}}", "v{{major}}.{{minor}}", "{{ major }}", "b{{build_number}}-$BUILDKITE_JOB_ID"]
`)
	const commit = "0123456789abcdef0123456789abcdef01234567"
	for _, tc := range []struct {
		name  string
		env   buildenv.Build
		want  []string
		notes []string
	}{
		{"a branch", buildenv.Build{Branch: "feature/Ünïcode x", Commit: commit, BuildNumber: "42"},
			[]string{"feature-n-code-x", "sha-0123456", "b42-$BUILDKITE_JOB_ID"},
			[]string{
				`image app: tag v{{version}} is left out: {{version}} has no value in this build`,
				`image app: tag v{{major}}.{{minor}} is left out: {{major}} has no value in this build`,
				`image app: tag {{ major }} is left out: {{major}} has no value in this build`,
			}},
		{"a release", buildenv.Build{Branch: "v1.22.3", Tag: "v1.22.3", Commit: commit, BuildNumber: "43"},
			[]string{"v1.22.3", "sha-0123456", "v1.22.3", "v1.22", "1", "b43-$BUILDKITE_JOB_ID"}, nil},
		{"a pre-release", buildenv.Build{Branch: "v2.0.0-rc.1", Tag: "v2.0.0-rc.1", Commit: commit, BuildNumber: "44"},
			[]string{"v2.0.0-rc.1", "sha-0123456", "v2.0.0-rc.1", "b44-$BUILDKITE_JOB_ID"},
			[]string{
				`image app: tag v{{major}}.{{minor}} is left out: {{major}} has no value in this build`,
				`image app: tag {{ major }} is left out: {{major}} has no value in this build`,
			}},
		{"a hostile branch", buildenv.Build{Branch: "-$(touch x)\n.x", Commit: "not a sha"},
			[]string{"touch-x-.x"}, nil},
	} {
		t.Run(tc.name, func(t *testing.T) {
			res := generate(t, Input{Spec: s, ContentTags: map[string]string{"app": "bk-app"}, Env: tc.env, Changes: changes.Result{All: true}})
			var got []string
			for _, line := range strings.Split(commands(t, res)["build-app"], "\n") {
				if tag, ok := strings.CutPrefix(strings.TrimSpace(line), "--tag "); ok && !strings.Contains(tag, ":bk-app") {
					_, tag, _ = strings.Cut(strings.Trim(tag, `'"`), "/app:")
					got = append(got, strings.ReplaceAll(tag, "${BUILDKITE_JOB_ID}", "$BUILDKITE_JOB_ID"))
				}
			}
			if diff := cmp.Diff(tc.want, got); diff != "" {
				t.Errorf("tags (-want +got):\n%s", diff)
			}
			for _, n := range tc.notes {
				if !slices.Contains(res.Notes, n) {
					t.Errorf("no note %q in %q", n, res.Notes)
				}
			}
		})
	}
}
