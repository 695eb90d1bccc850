package agentsim_test

import (
	"context"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"

	"github.com/bkgen/bkgen/internal/agentsim"
	"github.com/bkgen/bkgen/internal/fakebin"
	"github.com/bkgen/bkgen/internal/gittest"
)

func TestMain(m *testing.M) { gittest.Main(m) }

var (
	installOnce sync.Once
	installDir  string
	installErr  error
)

// standIns builds the stand-ins once for the package's tests.
func standIns(t *testing.T) string {
	t.Helper()
	installOnce.Do(func() {
		installDir, installErr = os.MkdirTemp("", "agentsim-bin-")
		if installErr == nil {
			installErr = agentsim.Install(installDir, false)
		}
	})
	if installErr != nil {
		t.Fatal(installErr)
	}
	return installDir
}

// repo makes a git repository with files and returns it and its commit.
func repo(t *testing.T, files map[string]string) (string, string) {
	t.Helper()
	dir := t.TempDir()
	gittest.Run(t, dir, "init", "-q", "-b", "main")
	gittest.WriteFiles(t, dir, files)
	gittest.Run(t, dir, "add", "-A")
	gittest.Run(t, dir, "commit", "-q", "-m", "test")
	return dir, strings.TrimSpace(gittest.Run(t, dir, "rev-parse", "HEAD"))
}

func runner(t *testing.T, docker string) *agentsim.Runner {
	return &agentsim.Runner{
		BinDir:   standIns(t),
		Docker:   docker,
		AgentEnv: []string{"PATH=" + os.Getenv("PATH"), "HOME=" + os.Getenv("HOME")},
		Slots:    make(chan struct{}, 3),
	}
}

const pipelineYAML = `steps:
  - key: a
    command: |
      echo "job $$BUILDKITE_PARALLEL_JOB of $$BUILDKITE_PARALLEL_JOB_COUNT" > out-$$BUILDKITE_PARALLEL_JOB.txt
      buildkite-agent meta-data set "k$$BUILDKITE_PARALLEL_JOB" "v-$$BUILDKITE_BUILD_NUMBER"
    parallelism: 2
    artifact_paths: "out-*.txt;missing/*.xml"
  - key: b
    depends_on: a
    env: {FOO: bar, ORG_FROM_UPLOAD: "${ORG}"}
    command: |
      test "$$(buildkite-agent meta-data get k1)" = v-7
      buildkite-agent meta-data exists k0
      ! buildkite-agent meta-data exists nope
      test "$$FOO" = bar
      test "$$ORG_FROM_UPLOAD" = acme
      test "$$DOCKER_CONFIG" != "$$HOME/.docker" && test -d "$$DOCKER_CONFIG" && test -z "$$(ls -A "$$DOCKER_CONFIG")"
      test ! -e out-0.txt
      case "$$(mktemp)" in "$$(dirname "$$BUILDKITE_BUILD_CHECKOUT_PATH")"/tmp/*) ;; *) exit 9 ;; esac
  - key: c
    skip: not today
    command: exit 1
  - key: d
    depends_on: [c]
    command: "true"
  - key: e
    soft_fail: [{exit_status: 3}]
    command: exit 3
  - key: f
    command: exit 4
  - key: g
    depends_on: [{step: f, allow_failure: false}]
    command: "true"
  - key: h
    plugins: [{"ecr#v2.11.0": {login: true}}]
    command: "true"
  - key: i
    depends_on: h
    command: "true"
  - key: j
    command: |
      buildkite-agent oidc request-token --audience https://packages.example/acme --lifetime 300 > token
      test -s token
      echo "# hello" | buildkite-agent annotate --context ctx --style info
`

func TestBuild(t *testing.T) {
	dir, commit := repo(t, map[string]string{"pipeline.yml": pipelineYAML})
	b := &agentsim.Build{
		Dir: t.TempDir(), Repo: dir, Commit: commit, Branch: "main", Number: 7,
		Env:     map[string]string{"ORG": "acme"},
		Command: "buildkite-agent pipeline upload pipeline.yml",
	}
	res, err := runner(t, "/bin/false").Run(context.Background(), b)
	if err != nil {
		t.Fatal(err)
	}
	want := map[string]agentsim.StepState{
		agentsim.FirstStepKey: agentsim.Passed,
		"a":                   agentsim.Passed, "b": agentsim.Passed, "c": agentsim.Skipped, "d": agentsim.Passed,
		"e": agentsim.SoftFailed, "f": agentsim.Failed, "g": agentsim.Broken,
		"h": agentsim.NotExecutable, "i": agentsim.NotExecutable, "j": agentsim.Passed,
	}
	for key, state := range want {
		s := res.Step(key)
		if s == nil {
			t.Errorf("no step %s", key)
			continue
		}
		if s.State != state {
			out := ""
			for _, j := range s.Jobs {
				out += j.Output()
			}
			t.Errorf("step %s: %s (%s), want %s\n%s", key, s.State, s.Reason, state, out)
		}
	}
	if got := len(res.Step("a").Jobs); got != 2 {
		t.Errorf("a ran %d jobs, want 2", got)
	}
	for _, j := range res.Step("a").Jobs {
		if len(j.Artifacts) != 1 || len(j.MissingArtifacts) != 1 {
			t.Errorf("a job %d: artifacts %v, missing %v", j.Index, j.Artifacts, j.MissingArtifacts)
		}
	}
	if !strings.Contains(res.Step("i").Reason, "h") || !strings.Contains(res.Step("h").Reason, "ecr#v2.11.0") {
		t.Errorf("reasons: h %q, i %q", res.Step("h").Reason, res.Step("i").Reason)
	}
	if res.MetaData["k0"] != "v-7" || res.MetaData["k1"] != "v-7" {
		t.Errorf("meta-data %v", res.MetaData)
	}
	if len(res.Tokens) != 1 || res.Tokens[0].Audience != "https://packages.example/acme" || res.Tokens[0].Lifetime != 300 {
		t.Errorf("tokens %+v", res.Tokens)
	}
	if len(res.Annotations) != 1 || res.Annotations[0].Context != "ctx" || res.Annotations[0].Body != "# hello\n" {
		t.Errorf("annotations %+v", res.Annotations)
	}
}

// A depends_on naming no step is refused at upload, as Buildkite refuses it.
func TestUploadRefusesMissingDependency(t *testing.T) {
	dir, commit := repo(t, map[string]string{"pipeline.yml": "steps:\n  - key: a\n    depends_on: nope\n    command: \"true\"\n"})
	b := &agentsim.Build{Dir: t.TempDir(), Repo: dir, Commit: commit, Branch: "main", Number: 1,
		Command: "buildkite-agent pipeline upload pipeline.yml"}
	res, err := runner(t, "/bin/false").Run(context.Background(), b)
	if err != nil {
		t.Fatal(err)
	}
	first := res.Step(agentsim.FirstStepKey)
	if first.State != agentsim.Failed || !strings.Contains(first.Jobs[0].Output(), `depends on "nope"`) {
		t.Errorf("upload: %s\n%s", first.State, first.Jobs[0].Output())
	}
	if len(res.Steps) != 1 {
		t.Errorf("%d steps, want only the upload", len(res.Steps))
	}
}

// The docker wrapper plays the registry's part in OIDC logins.
func TestDockerWrapperTokens(t *testing.T) {
	bin := t.TempDir()
	fake := filepath.Join(bin, "real-docker")
	fakebin.Write(t, fake, "#!/bin/sh\necho \"real docker: $*\"\nif [ \"$1\" = login ]; then echo \"password: $(cat)\"; fi\n")
	dir, commit := repo(t, map[string]string{"x": "x"})
	script := `set -u
login() { buildkite-agent oidc request-token --audience "$1" --lifetime "$2" | docker login "$3" --username buildkite --password-stdin; }
# A wrong audience, then a lifetime over the limit: refused.
! login https://reg.test/acme/other 300 reg.test/acme/images
! login https://reg.test/acme/images 3600 reg.test/acme/images
# A good token: the real login gets the real password.
login https://reg.test/acme/images 300 reg.test/acme/images | grep -x 'password: s3cret'
docker pull reg.test/acme/images/x:1
# Another registry's login passes through untouched.
echo plain | docker login other.test --username u --password-stdin | grep -x 'password: plain'
`
	// A deep build directory: records are named within a file name's 255 bytes.
	deep := filepath.Join(t.TempDir(), strings.Repeat("d", 120), strings.Repeat("e", 120))
	b := &agentsim.Build{Dir: deep, Repo: dir, Commit: commit, Branch: "main", Number: 1, Command: script,
		Registry: agentsim.Config{RegistryPassword: "s3cret", OIDCHosts: []string{"reg.test"}, MaxTokenLifetime: 300}}
	res, err := runner(t, fake).Run(context.Background(), b)
	if err != nil {
		t.Fatal(err)
	}
	if s := res.Step(agentsim.FirstStepKey); s.State != agentsim.Passed {
		t.Fatalf("%s\n%s", s.State, s.Jobs[0].Output())
	}
	refused := 0
	for _, c := range res.DockerCalls {
		if c.Refused != "" {
			refused++
		}
	}
	if refused != 2 || len(res.DockerCalls) != 5 {
		t.Errorf("%d calls, %d refused; want 5, 2: %+v", len(res.DockerCalls), refused, res.DockerCalls)
	}

	// On a clock 1000 times faster, the 300 s token is gone within a second.
	script = `login() { buildkite-agent oidc request-token --audience "$1" --lifetime "$2" | docker login "$3" --username buildkite --password-stdin; }
login https://reg.test/acme/images 300 reg.test/acme/images
sleep 0.6
docker pull reg.test/acme/images/x:1 2>&1 | tee out
grep -q 'expired' out
`
	b.Dir, b.Command = t.TempDir(), script
	b.Registry.TimeScale = 1000
	res, err = runner(t, fake).Run(context.Background(), b)
	if err != nil {
		t.Fatal(err)
	}
	if s := res.Step(agentsim.FirstStepKey); s.State != agentsim.Passed {
		t.Fatalf("%s\n%s", s.State, s.Jobs[0].Output())
	}
}

func TestBranchMatches(t *testing.T) {
	for _, tc := range []struct {
		branch   string
		patterns []string
		want     bool
	}{
		{"main", nil, true},
		{"main", []string{"main"}, true},
		{"feature/x", []string{"main"}, false},
		{"release/1.2", []string{"main", "release/*"}, true},
		{"renovate/go", []string{"!renovate/*"}, false},
		{"feature/x", []string{"!renovate/*"}, true},
		{"release/1.2-rc", []string{"release/*", "!*-rc"}, false},
		{"a-b-c", []string{"a*c"}, true},
		{"ab", []string{"a*b*c"}, false},
	} {
		if got := agentsim.BranchMatches(tc.branch, tc.patterns); got != tc.want {
			t.Errorf("BranchMatches(%q, %q) = %v, want %v", tc.branch, tc.patterns, got, tc.want)
		}
	}
}
