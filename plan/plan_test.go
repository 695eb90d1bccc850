package plan

import (
	"context"
	"errors"
	"io/fs"
	"path/filepath"
	"strings"
	"testing"

	"github.com/bkgen/bkgen/buildenv"
	"github.com/bkgen/bkgen/diag"
	"github.com/bkgen/bkgen/generator"
	"github.com/bkgen/bkgen/internal/gittest"
	"github.com/google/go-cmp/cmp"
)

func TestMain(m *testing.M) { gittest.Main(m) }

// The spec's root is platform/, below the repository's top: contexts are
// relative to the root, if_changed patterns to the top, as the agent has them.
const platformSpec = `version: 1
registries:
  packages: {provider: buildkite, registry: images}
defaults: {scan: false}
images:
  base:
    context: images/base
  api:
    context: services/api
    depends_on: [base]
    consumers:
      unit: {command: go test ./..., if_changed: platform/services/api/**}
  web:
    context: services/web
    consumers:
      e2e: {command: npm run e2e, if_changed: platform/services/web/**}
`

// TestMake makes a plan from Go, as a command does: a repository built with
// git, whose feature branch changed one service since it left main.
func TestMake(t *testing.T) {
	t.Parallel()
	tmp := t.TempDir()
	top := filepath.Join(tmp, "work")
	gittest.Run(t, tmp, "init", "--quiet", "--bare", "--initial-branch=main", "origin.git")
	gittest.Run(t, tmp, "init", "--quiet", "--initial-branch=main", top)
	gittest.Run(t, top, "remote", "add", "origin", filepath.Join(tmp, "origin.git"))
	gittest.WriteFiles(t, top, map[string]string{
		"README.md":                          "# acme\n",
		"platform/.buildkite/bkgen.yml":      platformSpec,
		"platform/images/base/Dockerfile":    "FROM alpine:3.21\n",
		"platform/services/api/Dockerfile":   "ARG BASE_IMAGE\nFROM ${BASE_IMAGE}\nCOPY main.go .\n",
		"platform/services/api/main.go":      "package main\n",
		"platform/services/web/Dockerfile":   "FROM node:22\n",
		"platform/services/web/index.js":     "console.log(1)\n",
		"platform/services/web/docs/help.md": "help\n",
	})
	gittest.Run(t, top, "add", "--all")
	gittest.Run(t, top, "commit", "--quiet", "-m", "initial")
	gittest.Run(t, top, "push", "--quiet", "origin", "main")
	gittest.Run(t, top, "switch", "--quiet", "-c", "feature")
	gittest.WriteFiles(t, top, map[string]string{"platform/services/api/main.go": "package main\n\nfunc main() {}\n"})
	gittest.Run(t, top, "commit", "--quiet", "--all", "-m", "change api")

	p, err := Make(context.Background(), Options{
		Dir: filepath.Join(top, "platform"),
		Env: buildenv.Build{OrganizationSlug: "acme", Branch: "feature"},
	})
	if err != nil {
		t.Fatal(err)
	}

	c := p.Changes
	if c.All || c.Method != "branch" || c.Ref != "origin/main" || c.Prefix != "platform" {
		t.Errorf("changes: all %v, method %q, ref %q, prefix %q; want branch against origin/main, prefix platform", c.All, c.Method, c.Ref, c.Prefix)
	}
	if diff := cmp.Diff([]string{"platform/services/api/main.go"}, c.Files); diff != "" {
		t.Errorf("changed files (-want +got):\n%s", diff)
	}

	images := map[string]generator.BuildAction{}
	for _, im := range p.Result.Decisions.Images {
		images[im.Name] = im.Action
		tag := p.Keys.Tags[im.Name]
		if !strings.HasPrefix(tag, "bk-") || im.Ref != "packages.buildkite.com/acme/images/"+im.Name+":"+tag {
			t.Errorf("image %s: ref %q, content tag %q", im.Name, im.Ref, tag)
		}
	}
	if diff := cmp.Diff(map[string]generator.BuildAction{"base": generator.Guard, "api": generator.Build, "web": generator.Skip}, images); diff != "" {
		t.Errorf("image actions (-want +got):\n%s", diff)
	}
	steps := map[string]bool{}
	for _, s := range p.Result.Decisions.Steps {
		steps[s.Key] = s.Run
	}
	if diff := cmp.Diff(map[string]bool{"build-base": true, "build-api": true, "api-unit": true, "build-web": false, "web-e2e": false}, steps); diff != "" {
		t.Errorf("steps that run (-want +got):\n%s", diff)
	}

	// With every path changed, nothing is skipped, and git is not asked.
	all, err := Make(context.Background(), Options{Dir: filepath.Join(top, "platform"), Env: buildenv.Build{OrganizationSlug: "acme"}, All: true})
	if err != nil {
		t.Fatal(err)
	}
	if !all.Changes.All || all.Changes.Reason != "--all" {
		t.Errorf("--all: changes %+v", all.Changes)
	}
	for _, s := range all.Result.Decisions.Steps {
		if !s.Run {
			t.Errorf("--all: %s skipped: %s", s.Key, s.Reason)
		}
	}
}

func TestLoadRefuses(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	_, err := Load(dir, "")
	var re *ReadError
	if !errors.As(err, &re) || !errors.Is(err, fs.ErrNotExist) || err.Error() != "no spec at .buildkite/bkgen.yml" {
		t.Errorf("no spec: %v", err)
	}
	outside := filepath.Join(filepath.Dir(dir), "bkgen.yml")
	if _, err := Load(dir, outside); !errors.Is(err, ErrOutsideRoot) || strings.Contains(err.Error(), outside) {
		t.Errorf("a spec outside the root: %v", err)
	}
	gittest.WriteFiles(t, dir, map[string]string{"ci/bkgen.yml": "version: 1\nimages: {app: {}}\n"})
	var problems diag.List
	if _, err := Load(dir, "ci/bkgen.yml"); !errors.As(err, &problems) || problems[0].File != "ci/bkgen.yml" {
		t.Errorf("a spec with no registry: %v, want problems in ci/bkgen.yml", err)
	}
}

// TestCheck: what lint reports is what Make refuses, at the spec's
// positions; a pipeline past the job limit only warns, as lint keeps every
// step.
func TestCheck(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	gittest.WriteFiles(t, dir, map[string]string{
		".buildkite/bkgen.yml": "version: 1\nregistries:\n  packages: {provider: buildkite, org: acme, registry: images}\nimages:\n  app:\n    context: app\n  gone:\n    context: gone\n",
		"app/Dockerfile":       "FROM scratch\n",
	})
	s, err := Load(dir, "")
	if err != nil {
		t.Fatal(err)
	}
	problems, err := Check(context.Background(), dir, s, buildenv.Build{}, 1)
	if err != nil {
		t.Fatal(err)
	}
	if len(problems) != 1 || problems[0].Rule != "build-input" || problems[0].Severity != diag.Error ||
		!strings.HasPrefix(problems.Error(), ".buildkite/bkgen.yml:8:14: images.gone.context: gone") {
		t.Errorf("missing context: %v, want one build-input error at gone's context", problems)
	}
	if _, err := Make(context.Background(), Options{Dir: dir, All: true}); !errors.As(err, new(diag.List)) {
		t.Errorf("Make: %v, want the same problem", err)
	}

	gittest.WriteFiles(t, dir, map[string]string{"gone/Dockerfile": "FROM scratch\n"})
	if problems, err = Check(context.Background(), dir, s, buildenv.Build{}, 1); err != nil {
		t.Fatal(err)
	}
	if len(problems) != 1 || problems[0].Severity != diag.Warning || problems[0].Rule != "job-limit" || !strings.HasPrefix(problems[0].Msg, "with every step kept, ") {
		t.Errorf("past the job limit: %v, want one job-limit warning", problems)
	}
}
