package plan

import (
	"context"
	"strings"
	"testing"

	"github.com/bkgen/bkgen/buildenv"
	"github.com/bkgen/bkgen/internal/gittest"
)

// TestCheckTargets: a consumer's target must be a stage of its image's
// Dockerfile (named in any case); each one that is not is refused at the
// consumer. A missing Dockerfile is said once, of the image, not again of
// each variant.
func TestCheckTargets(t *testing.T) {
	const head = `version: 1
registries:
  packages: {provider: buildkite, org: acme, registry: images}
defaults: {scan: false}
images:
`
	got := checkProblems(t, map[string]string{
		".buildkite/bkgen.yml": head + `  app:
    context: app
    target: production
    consumers:
      unit: {command: make test, target: Test}
      e2e: {command: make e2e, target: e2e}
      smoke: {command: ./smoke, target: smoke}
`,
		"app/Dockerfile": "FROM alpine AS build\nFROM --platform=$BUILDPLATFORM build as test\nFROM build AS production\n",
	})
	want := []string{
		".buildkite/bkgen.yml:11:40: error: images.app.consumers.e2e.target: app/Dockerfile has no stage named e2e (its named stages: build, test, production) [build-input]",
		".buildkite/bkgen.yml:12:41: error: images.app.consumers.smoke.target: app/Dockerfile has no stage named smoke (its named stages: build, test, production) [build-input]",
	}
	if strings.Join(got, "\n") != strings.Join(want, "\n") {
		t.Errorf("problems:\n%s\nwant:\n%s", strings.Join(got, "\n"), strings.Join(want, "\n"))
	}
	got = checkProblems(t, map[string]string{
		".buildkite/bkgen.yml": head + `  gone:
    context: gone
    consumers:
      unit: {command: make test, target: test}
      e2e: {command: make e2e, target: e2e}
`,
		"gone/README": "no Dockerfile here\n",
	})
	if len(got) != 1 || !strings.Contains(got[0], "images.gone.dockerfile: gone/Dockerfile does not exist") {
		t.Errorf("problems:\n%s", strings.Join(got, "\n"))
	}
}

// checkProblems is what Check says of a repository holding files.
func checkProblems(t *testing.T, files map[string]string) []string {
	t.Helper()
	dir := t.TempDir()
	gittest.Run(t, dir, "init", "--quiet", "--initial-branch=main")
	gittest.WriteFiles(t, dir, files)
	gittest.Run(t, dir, "add", "--all")
	gittest.Run(t, dir, "commit", "--quiet", "-m", "initial")
	s, err := Load(dir, "")
	if err != nil {
		t.Fatal(err)
	}
	problems, err := Check(context.Background(), dir, s, buildenv.Build{}, 500)
	if err != nil {
		t.Fatal(err)
	}
	var out []string
	for _, p := range problems {
		out = append(out, p.String())
	}
	return out
}
