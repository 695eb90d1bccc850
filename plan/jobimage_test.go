package plan

import (
	"os"
	"strings"
	"testing"
)

func TestFinalUser(t *testing.T) {
	for _, tc := range []struct {
		name, src, target, user string
		line                    int
	}{
		{"none", "FROM alpine\nRUN true\n", "", "", 0},
		{"last stage", "FROM alpine\nUSER app\n", "", "app", 2},
		{"an earlier stage only", "FROM alpine AS build\nUSER builder\nFROM alpine\nRUN true\n", "", "", 0},
		{"built on a stage with a user", "FROM alpine AS base\nUSER app\nFROM base AS final\nRUN true\n", "", "app", 2},
		{"target stage", "FROM alpine AS test\nRUN true\nFROM alpine AS production\nUSER app\n", "test", "", 0},
		{"target with a user", "FROM alpine AS Test\nUSER 1000:1000\nFROM alpine\n", "test", "1000:1000", 2},
		{"continued lines and flags", "# comment\nFROM --platform=$BUILDPLATFORM \\\n  alpine AS x\nuser \\\n  nobody\n", "", "nobody", 4},
		{"escape directive", "# escape=`\nFROM alpine\nUSER `\n  svc\n", "", "svc", 3},
		{"root again", "FROM alpine\nUSER app\nUSER root\n", "", "root", 3},
	} {
		t.Run(tc.name, func(t *testing.T) {
			user, line := finalUser(tc.src, tc.target)
			if user != tc.user || line != tc.line {
				t.Errorf("finalUser = %q at line %d, want %q at line %d", user, line, tc.user, tc.line)
			}
		})
	}
}

// TestCheckJobImage: a job image whose final stage sets a user is refused
// at the consumer; one that does not, or that sets root, is not.
func TestCheckJobImage(t *testing.T) {
	got := checkProblems(t, map[string]string{
		".buildkite/bkgen.yml": `version: 1
registries:
  hosted: {provider: hosted}
defaults: {scan: false}
images:
  web:
    context: web
    consumers:
      test:
        command: npm test
        container: {mode: job_image}
  worker:
    context: worker
    consumers:
      test:
        command: make test
        container: {mode: job_image}
`,
		"web/Dockerfile":    "FROM node:22-alpine\nWORKDIR /app\nUSER node\n",
		"worker/Dockerfile": "FROM debian:12 AS base\nUSER app\nFROM base\nUSER root\n",
	})
	want := ".buildkite/bkgen.yml:11:20: error: images.web.consumers.test.container: mode job_image runs the job in the image, and its Dockerfile (web/Dockerfile, line 3) sets USER node"
	if len(got) != 1 || !strings.HasPrefix(got[0], want) {
		t.Errorf("problems:\n%s\nwant one starting:\n%s", strings.Join(got, "\n"), want)
	}
	if strings.Contains(strings.Join(got, "\n"), os.TempDir()) {
		t.Errorf("a message names this machine's paths: %v", got)
	}
}
