package exectest

import (
	"context"
	"encoding/base64"
	"encoding/json"
	"fmt"
	"math/rand/v2"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"sort"
	"strings"
	"sync"
	"time"

	"github.com/bkgen/bkgen/buildenv"
	"github.com/bkgen/bkgen/internal/agentsim"
	"github.com/bkgen/bkgen/provider"
	"github.com/bkgen/bkgen/spec"
)

// Profile is how a scenario's jobs build.
type Profile struct {
	Name, Title string
	// Container: a docker-container builder the harness makes from the
	// local BuildKit image, selected with BUILDX_BUILDER in every job, as
	// hosted agents preselect their remote builders. Otherwise nothing is
	// set and buildx uses dockerd's own BuildKit (the docker driver, with
	// the classic image store), as on the Elastic CI Stack.
	Container bool
	// ScannerOnPath: trivy and grype are on the agent's PATH, so scan
	// steps run them; otherwise they run their images (neither stock agent
	// has either).
	ScannerOnPath bool
}

// Profiles are both builder profiles.
var Profiles = []Profile{
	{Name: "docker", Title: "dockerd's own BuildKit: docker driver, classic image store, nothing set (Elastic CI Stack)"},
	{Name: "container", Title: "a docker-container builder selected by BUILDX_BUILDER in every job (remote builders); trivy and grype on PATH", Container: true, ScannerOnPath: true},
}

// Harness runs scenarios against the environment of scripts/exec-env.
type Harness struct {
	Env   *Env
	RunID string // in every marker, so runs never share images
	Out   string // results: a directory a scenario, profile and phase
	Bin   string // bkgen and the stand-ins
	Slots chan struct{}
	Keep  bool // keep the jobs' checkouts
	Logf  func(format string, a ...any)

	docker dockerCLI
	mu     sync.Mutex
	number int // build numbers, unique in the run
	// Builders that scenarios share: dockerd's BuildKit (the docker
	// profile) and the docker-container builder bkgen's steps make for
	// themselves (named bkgen, one per dockerd). A build holds the read
	// lock of each it may use; emptying one takes its write lock, so no
	// other scenario's cold builder empties a builder under a running build.
	dockerd, bkgenBuilder sync.RWMutex
	// bkgenBuilderBefore: bkgen's own builder existed before the run (else
	// the run's steps made it, and Close removes it).
	bkgenBuilderBefore bool
}

// bkgenContainer is the container of the builder bkgen's steps make for
// themselves (docker buildx create --name bkgen).
const bkgenContainer = "buildx_buildkit_bkgen0"

// NewHarness builds bkgen and the stand-ins, logs the harness in to both
// registries and copies the base image to the hosted registry.
func NewHarness(ctx context.Context, env *Env, out string, jobs int) (*Harness, error) {
	h := &Harness{
		Env: env, Out: out, Bin: filepath.Join(out, "bin"), Slots: make(chan struct{}, jobs),
		RunID:  fmt.Sprintf("%06x", rand.IntN(1<<24)),
		number: 1000 * (1 + rand.IntN(899)),
		Logf:   func(string, ...any) {},
	}
	if err := agentsim.Install(h.Bin, true); err != nil {
		return nil, err
	}
	h.docker = dockerCLI{bin: env.Docker, config: filepath.Join(out, "docker-config")}
	if err := writeDockerAuth(h.docker.config, env, env.PackagesHost, env.HostedHost); err != nil {
		return nil, err
	}
	if out, _ := h.docker.run(ctx, "ps", "--all", "--quiet", "--filter", "name=^"+bkgenContainer+"$"); strings.TrimSpace(out) != "" {
		h.bkgenBuilderBefore = true
	}
	hosted := env.HostedBaseImage()
	if _, err := h.docker.inspect(ctx, hosted); err != nil {
		if _, err := h.docker.run(ctx, "buildx", "imagetools", "create", "--tag", hosted, env.BaseImage); err != nil {
			return nil, fmt.Errorf("copying the base image to the hosted registry: %w", err)
		}
	}
	return h, nil
}

// writeDockerAuth writes a docker config logged in to hosts.
func writeDockerAuth(dir string, env *Env, hosts ...string) error {
	if err := os.MkdirAll(dir, 0o700); err != nil {
		return err
	}
	auths := map[string]any{}
	for _, h := range hosts {
		auths[h] = map[string]string{"auth": base64.StdEncoding.EncodeToString([]byte(env.RegistryUser + ":" + env.RegistryPassword))}
	}
	b, err := json.Marshal(map[string]any{"auths": auths})
	if err != nil {
		return err
	}
	return os.WriteFile(filepath.Join(dir, "config.json"), b, 0o600)
}

// Run runs a scenario's phases under one profile and checks each build.
func (h *Harness) Run(ctx context.Context, sc *Scenario, p Profile) []*Row {
	dir := filepath.Join(h.Out, sc.Name, p.Name)
	errRow := func(phase string, err error) []*Row {
		r := &Row{Scenario: sc.Name, Profile: p.Name, Phase: phase, Dir: dir, Failures: []string{"harness: " + err.Error()}}
		r.settle()
		return []*Row{r}
	}
	run := h.RunID + "-" + sc.Name + "-" + p.Name
	repo, err := PrepareRepo(sc, filepath.Join(dir, "repo"), RepoOptions{Run: run, Branch: "exec-" + run, Label: h.RunID}, h.Env)
	if err != nil {
		return errRow(PhaseFirst, err)
	}
	builder := ""
	if p.Container {
		builder = "bkgen-exec-" + h.RunID + "-" + regexp.MustCompile(`[^a-zA-Z0-9_-]`).ReplaceAllString(sc.Name, "-")
		if _, err := h.docker.run(ctx, "buildx", "create", "--name", builder, "--driver", "docker-container",
			"--driver-opt", "image="+h.Env.BuildkitImage, "--buildkitd-config", h.Env.BuildkitdTOML, "--bootstrap"); err != nil {
			return errRow(PhaseFirst, err)
		}
		defer h.docker.run(context.Background(), "buildx", "rm", "--force", builder)
	}
	if repo.MovingBase != "" {
		if _, err := h.docker.run(ctx, "buildx", "imagetools", "create", "--tag", repo.MovingBase, h.Env.BaseImage); err != nil {
			return errRow(PhaseFirst, err)
		}
	}
	var rows []*Row
	var prev *outcome
	for _, phase := range sc.Phases() {
		row, out := h.phase(ctx, repo, p, builder, phase, prev)
		h.Logf("%s / %s / %s: %s in %s: %s", sc.Name, p.Name, phase, row.Result, row.Duration.Round(time.Second), clip(row.Detail(), 200))
		rows = append(rows, row)
		if out != nil {
			prev = out
		}
	}
	return rows
}

// outcome is what a phase's build left: each image's content-tag
// reference, which images it pushed (or found), and whether a step used
// bkgen's own builder.
type outcome struct {
	refs      map[string]string
	done      map[string]bool
	usesBkgen bool
}

// phase makes a phase's change, runs its build and checks it.
func (h *Harness) phase(ctx context.Context, repo *Repo, p Profile, builder, phase string, prev *outcome) (*Row, *outcome) {
	start := time.Now()
	dir := filepath.Join(h.Out, repo.Scenario.Name, p.Name, phase)
	row := &Row{Scenario: repo.Scenario.Name, Profile: p.Name, Phase: phase, Dir: dir}
	defer func() {
		row.Duration = time.Since(start)
		row.settle()
	}()
	failed := func(err error) (*Row, *outcome) {
		row.Failures = append(row.Failures, "harness: "+err.Error())
		return row, nil
	}
	var forged map[string]string
	switch phase {
	case PhaseChanged:
		if repo.Change == "" {
			row.Reason = "no image of this scenario can be built here, so none can be changed"
			return row, nil
		}
		if err := repo.ChangeInput(); err != nil {
			return failed(err)
		}
	case PhaseCold:
		if err := h.coldBuilder(ctx, p, builder, prev != nil && prev.usesBkgen); err != nil {
			return failed(err)
		}
		if err := repo.Rebuild("rebuilt on a cold builder"); err != nil {
			return failed(err)
		}
	case PhaseMoved:
		if err := h.Env.moveBase(ctx, repo.MovingBase); err != nil {
			return failed(err)
		}
	case PhaseUntrusted:
		if err := repo.ChangeInput(); err != nil {
			return failed(err)
		}
	case PhaseForged:
		// Every image the build before pushed, replaced by an unsigned one.
		if prev == nil {
			return failed(fmt.Errorf("no phase before to forge the images of"))
		}
		base, err := h.docker.inspect(ctx, h.Env.BaseImage)
		if err != nil {
			return failed(err)
		}
		forged = map[string]string{}
		for _, im := range repo.Spec.Images {
			if ref := prev.refs[im.Name]; ref != "" && prev.done[im.Name] {
				if _, err := h.docker.run(ctx, "buildx", "imagetools", "create", "--tag", ref, h.Env.BaseImage); err != nil {
					return failed(err)
				}
				forged[im.Name] = base.Digest
			}
		}
	case PhaseStale:
		// Each image with a max_age, as if built a day more than that ago.
		for _, im := range repo.agedImages() {
			if prev == nil || prev.refs[im.Name] == "" {
				return failed(fmt.Errorf("%s: no content tag from the phase before", im.Name))
			}
			if err := h.Env.backdate(ctx, prev.refs[im.Name], time.Now().AddDate(0, 0, -(im.MaxAge+1))); err != nil {
				return failed(err)
			}
		}
	}
	h.mu.Lock()
	h.number++
	number := h.number
	h.mu.Unlock()
	env, hookEnv := h.scenarioEnv(repo)
	switch phase {
	case PhaseRebuild:
		env[buildenv.RebuildVar] = repo.Scenario.Rebuild
	case PhaseUntrusted:
		// A pull request, from a branch of the trusted name.
		env["BUILDKITE_PULL_REQUEST"], env["BUILDKITE_PULL_REQUEST_BASE_BRANCH"] = "7", repo.Branch
	}
	if err := cloudCredentials(filepath.Join(dir, "cloud"), hookEnv); err != nil {
		return failed(err)
	}
	scanCache, err := h.scanCache(repo, filepath.Join(dir, "scan-cache"))
	if err != nil {
		return failed(err)
	}
	hookEnv["BKGEN_SCAN_CACHE_DIR"] = scanCache
	// What the jobs see of the build, for bkgen preview and the extra tags.
	vars := map[string]string{"BUILDKITE_BRANCH": repo.Branch, "BUILDKITE_PIPELINE_DEFAULT_BRANCH": repo.Branch, "BUILDKITE_BUILD_NUMBER": fmt.Sprint(number), "BUILDKITE_COMMIT": repo.Commit}
	for _, m := range []map[string]string{env, hookEnv} {
		for k, v := range m {
			vars[k] = v
		}
	}
	b := &agentsim.Build{
		Dir: dir, Repo: repo.Dir, Commit: repo.Commit, Branch: repo.Branch, DefaultBranch: repo.Branch, Number: number,
		Env: env, HookEnv: hookEnv,
		Command: "bkgen upload --annotate " + shellWords(repo.Scenario.Args),
		Registry: agentsim.Config{
			RegistryPassword: h.Env.RegistryPassword,
			OIDCHosts:        []string{h.Env.PackagesHost},
			MaxJobs:          repo.Scenario.MaxJobs,
			MaxTokenLifetime: provider.OIDCTokenLifetime,
			TimeScale:        repo.Scenario.TimeScale,
		},
	}
	release := h.share(p)
	res, err := h.runner(p, builder).Run(ctx, b)
	release()
	if err != nil {
		return failed(err)
	}
	refs, err := h.preview(ctx, repo, vars)
	if err != nil {
		return failed(err)
	}
	c := &check{ctx: ctx, repo: repo, phase: phase, res: res, refs: refs, env: vars, docker: h.docker, row: row, scanCache: scanCache, exec: h.Env, forged: forged}
	if prev != nil {
		c.prevRefs, c.prevDone = prev.refs, prev.done
	}
	c.run()
	if !h.Keep {
		os.RemoveAll(filepath.Join(dir, "jobs"))
	}
	out := &outcome{refs: refs, done: c.done, usesBkgen: prev != nil && prev.usesBkgen}
	for _, call := range res.DockerCalls {
		if strings.Contains(" "+strings.Join(call.Args, " ")+" ", " --builder bkgen ") {
			out.usesBkgen = true
		}
	}
	return row, out
}

// Close removes from dockerd's image store every image of the run (its
// builds load them, its consumers and checks pull them; the registries keep
// them): each stand-in labels its image with the run, and bkgen's own
// builder if the run's steps made it.
func (h *Harness) Close() {
	ctx := context.Background()
	if !h.bkgenBuilderBefore {
		h.docker.run(ctx, "rm", "--force", "--volumes", bkgenContainer)
		h.docker.run(ctx, "volume", "rm", "--force", bkgenContainer+"_state")
	}
	out, _ := h.docker.run(ctx, "image", "ls", "--quiet", "--no-trunc", "--filter", "label="+runLabel+"="+h.RunID)
	ids := map[string]bool{}
	for _, id := range strings.Fields(out) {
		ids[id] = true
	}
	var list []string
	for id := range ids {
		list = append(list, id)
	}
	sort.Strings(list)
	for len(list) > 0 {
		n := min(len(list), 100)
		h.docker.run(ctx, append([]string{"image", "rm", "--force"}, list[:n]...)...)
		list = list[n:]
	}
}

// runner is the agent for a scenario's builds under a profile.
func (h *Harness) runner(p Profile, builder string) *agentsim.Runner {
	path := os.Getenv("PATH")
	if p.ScannerOnPath {
		path = strings.Join([]string{h.Env.TrivyDir, h.Env.GrypeDir, h.Env.CosignDir, path}, string(os.PathListSeparator))
	}
	agentEnv := []string{"PATH=" + path, "HOME=" + os.Getenv("HOME"), "LANG=C.UTF-8"}
	return &agentsim.Runner{
		BinDir: h.Bin, Docker: h.Env.Docker, AgentEnv: agentEnv, Slots: h.Slots,
		NotExecutable: notExecutable,
		PrepareJob: func(j *agentsim.Job) error {
			// Probes write here, whatever user a consumer runs as.
			if err := os.Mkdir(filepath.Join(j.Checkout, probeDir), 0o777); err != nil {
				return err
			}
			if err := os.Chmod(filepath.Join(j.Checkout, probeDir), 0o777); err != nil {
				return err
			}
			// Hosted agents are logged in to their registry.
			if strings.HasPrefix(j.Step.Queue(), "hosted") {
				if err := writeDockerAuth(j.DockerConfig, h.Env, h.Env.HostedHost); err != nil {
					return err
				}
			}
			if builder == "" {
				return nil
			}
			// The builder, preselected: its definition in the job's docker config.
			inst := filepath.Join(j.DockerConfig, "buildx", "instances")
			if err := os.MkdirAll(inst, 0o755); err != nil {
				return err
			}
			def, err := os.ReadFile(filepath.Join(h.docker.config, "buildx", "instances", builder))
			if err != nil {
				return err
			}
			if err := os.WriteFile(filepath.Join(inst, builder), def, 0o644); err != nil {
				return err
			}
			j.Env = append(j.Env, "BUILDX_BUILDER="+builder)
			return nil
		},
	}
}

// scenarioEnv is what every job of a scenario's builds gets besides the
// agent's own variables. From Buildkite (the job's env file lists them):
// the scenario's env file and the harness's pipeline variable. From the
// agent's hooks: the hosted registry's URL, the secrets (build secrets and
// Buildkite Packages tokens, whose names the spec gives) and the harness's
// hook variable.
func (h *Harness) scenarioEnv(repo *Repo) (env, hookEnv map[string]string) {
	env = map[string]string{buildVar: buildValue}
	for k, v := range repo.Scenario.Env {
		env[k] = v
	}
	hookEnv = map[string]string{hookVar: hookValue, "BUILDKITE_HOSTED_REGISTRY_URL": h.Env.HostedRegistryURL}
	for _, im := range repo.Spec.Images {
		for _, s := range im.Secrets {
			hookEnv[s] = "bkgen-exec-secret-" + s
		}
	}
	for _, r := range repo.Spec.Registries {
		if r.Provider.Name() == "buildkite" && r.Config.Get("auth") == "token" {
			hookEnv[r.Config.Get("token_env")] = h.Env.RegistryPassword
		}
	}
	if sg := repo.Spec.Signing; sg != nil {
		// The agent's secrets: setup.sh's key pair, by the names the spec gives.
		if name := spec.KeyEnv(sg.Key); name != "" {
			hookEnv[name] = h.Env.cosignKey
		}
		if name := spec.KeyEnv(sg.PublicKey); name != "" {
			hookEnv[name] = h.Env.cosignPub
		}
		hookEnv["COSIGN_PASSWORD"] = h.Env.CosignPassword
	}
	return env, hookEnv
}

// scanCache is the scan cache an agent hook would point BKGEN_SCAN_CACHE_DIR
// at: a copy of the one setup.sh filled with both scanners' databases, less
// trivy's when the spec names setup.sh's trivy database mirror, so the scans
// must fetch it.
func (h *Harness) scanCache(repo *Repo, dir string) (string, error) {
	if err := os.CopyFS(dir, os.DirFS(h.Env.ScanCache)); err != nil {
		return dir, err
	}
	if usesMirror(repo.Spec, h.Env.TrivyDBRepo) {
		return dir, os.RemoveAll(filepath.Join(dir, "trivy"))
	}
	return dir, nil
}

// usesMirror: an image's scan fetches its database from setup.sh's mirror.
func usesMirror(s *spec.Spec, mirror string) bool {
	for _, im := range s.Images {
		if im.Scan != nil && im.Scan.DBRepository == mirror {
			return true
		}
	}
	return false
}

// cloudCredentials writes, in dir, the files a job's cloud credentials are
// (a workload-identity credential that reads a token file, an AWS web
// identity token), and puts in env what the ecr and gcp plugins export.
func cloudCredentials(dir string, env map[string]string) error {
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return err
	}
	gcpToken, awsToken := filepath.Join(dir, "gcp-token"), filepath.Join(dir, "aws-token")
	creds := filepath.Join(dir, "gcp-credentials.json")
	files := map[string]string{
		gcpToken: "gcp-oidc-token\n",
		awsToken: "aws-oidc-token\n",
		creds:    fmt.Sprintf(`{"type": "external_account", "credential_source": {"file": %q}}`+"\n", gcpToken),
	}
	for f, content := range files {
		if err := os.WriteFile(f, []byte(content), 0o644); err != nil {
			return err
		}
	}
	env[gcpCredentialsVar] = creds
	env[awsKeyVar] = awsKeyValue
	env["AWS_WEB_IDENTITY_TOKEN_FILE"] = awsToken
	return nil
}

// preview asks bkgen for each image's content-tag reference at the repo's
// commit, as the build's first job saw it.
func (h *Harness) preview(ctx context.Context, repo *Repo, env map[string]string) (map[string]string, error) {
	args := append([]string{"preview", "--format", "json"}, repo.Scenario.Args...)
	cmd := exec.CommandContext(ctx, filepath.Join(h.Bin, "bkgen"), args...)
	cmd.Dir = repo.Dir
	// Logged in as the harness is, for --verify-registry.
	cmd.Env = []string{"PATH=" + os.Getenv("PATH"), "HOME=" + os.Getenv("HOME"), "DOCKER_CONFIG=" + h.docker.config}
	for k, v := range env {
		cmd.Env = append(cmd.Env, k+"="+v)
	}
	out, err := cmd.Output()
	if err != nil {
		var stderr string
		if ee, ok := err.(*exec.ExitError); ok {
			stderr = string(ee.Stderr)
		}
		return nil, fmt.Errorf("bkgen %s: %v: %s", strings.Join(args, " "), err, stderr)
	}
	var pv struct {
		Images []struct{ Name, Ref string }
	}
	if err := json.Unmarshal(out, &pv); err != nil {
		return nil, fmt.Errorf("bkgen preview: %w", err)
	}
	refs := map[string]string{}
	for _, im := range pv.Images {
		refs[im.Name] = os.Expand(im.Ref, func(k string) string { return env[k] })
	}
	return refs, nil
}

// share takes the read locks of the shared builders a build under p may
// use, and returns what releases them.
func (h *Harness) share(p Profile) func() {
	if !p.Container {
		h.dockerd.RLock()
	}
	h.bkgenBuilder.RLock()
	return func() {
		h.bkgenBuilder.RUnlock()
		if !p.Container {
			h.dockerd.RUnlock()
		}
	}
}

// coldBuilder empties the builder's cache: the harness's docker-container
// builder, or dockerd's build cache, and, for a scenario whose steps used
// it, the docker-container builder bkgen's steps make for themselves.
func (h *Harness) coldBuilder(ctx context.Context, p Profile, builder string, usesBkgen bool) error {
	if p.Container {
		if _, err := h.docker.run(ctx, "buildx", "prune", "--builder", builder, "--all", "--force"); err != nil {
			return err
		}
	} else {
		h.dockerd.Lock()
		_, err := h.docker.run(ctx, "builder", "prune", "--all", "--force")
		h.dockerd.Unlock()
		if err != nil {
			return err
		}
	}
	if !usesBkgen {
		return nil
	}
	h.bkgenBuilder.Lock()
	defer h.bkgenBuilder.Unlock()
	if out, _ := h.docker.run(ctx, "ps", "--quiet", "--filter", "name=^"+bkgenContainer+"$"); strings.TrimSpace(out) != "" {
		if _, err := h.docker.run(ctx, "exec", bkgenContainer, "buildctl", "prune", "--all"); err != nil {
			return err
		}
	}
	return nil
}

// shellWords quotes arguments for bash.
func shellWords(args []string) string {
	var out []string
	for _, a := range args {
		if regexp.MustCompile(`^[A-Za-z0-9_./=:,+-]+$`).MatchString(a) {
			out = append(out, a)
		} else {
			out = append(out, "'"+strings.ReplaceAll(a, "'", `'\''`)+"'")
		}
	}
	return strings.Join(out, " ")
}
