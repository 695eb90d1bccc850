package agentsim

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"time"

	pipeline "github.com/buildkite/go-pipeline"
)

// Runner plays the Buildkite agent (and the parts of Buildkite a build
// needs) for whole builds: a first job that uploads the pipeline, then the
// uploaded steps in dependency order, each job in a fresh checkout with a
// fresh DOCKER_CONFIG, with /bin/bash -e -c, or inside the step's image.
type Runner struct {
	// BinDir holds the stand-in buildkite-agent and the docker wrapper (and
	// whatever else jobs need, such as bkgen); it comes first on PATH.
	BinDir string
	// Docker is the real docker CLI.
	Docker string
	// AgentEnv is the agent's own environment, which every job inherits
	// (KEY=VALUE). PATH, HOME and the like belong here.
	AgentEnv []string
	// Slots bounds the jobs running at once, across every build that shares
	// it; nil runs one job at a time.
	Slots chan struct{}
	// NotExecutable says why a step cannot run here ("" when it can).
	// Steps with plugins never run: the stand-in runs no plugins.
	NotExecutable func(*Step) string
	// PrepareJob runs before each job, once its checkout and DOCKER_CONFIG exist.
	PrepareJob func(*Job) error
	// JobTimeout applies to steps without timeout_in_minutes (default 20 minutes).
	JobTimeout time.Duration
}

// Build is one build of a pipeline.
type Build struct {
	Dir    string // the build's own directory: state, checkouts, logs
	Repo   string // the git repository every job checks out
	Commit string
	Branch string
	// DefaultBranch is BUILDKITE_PIPELINE_DEFAULT_BRANCH ("main" when empty).
	DefaultBranch string
	Number        int
	// Env is the build's environment from Buildkite (pipeline and build
	// env), given to every job, the first included, and listed in its
	// $BUILDKITE_ENV_FILE.
	Env map[string]string
	// HookEnv is what the agent's hooks export into every job (secrets,
	// registry tokens): in the job's environment, not in its env file.
	HookEnv map[string]string
	// Command is what the pipeline's first step runs, such as "bkgen upload".
	Command string
	// Agents is the first step's agents.
	Agents map[string]string
	// Registry is how the simulated registries take OIDC tokens.
	Registry Config
}

// StepState is what became of a step (or a job).
type StepState string

const (
	Passed        StepState = "passed"
	Failed        StepState = "failed"
	SoftFailed    StepState = "soft_failed"
	Skipped       StepState = "skipped"
	NotExecutable StepState = "not_executable"
	// Broken: the step never ran because a step it depends on failed.
	Broken StepState = "broken"
)

// Succeeded reports whether a step in this state lets its dependents run.
func (s StepState) Succeeded() bool { return s == Passed || s == SoftFailed || s == Skipped }

// StepResult is one step of the build and its jobs.
type StepResult struct {
	Step   *Step
	State  StepState
	Reason string // why it was skipped, not executable or broken, or how it failed
	Jobs   []*Job
	// Upload is the record the step came in ("" for the first step).
	Upload string
}

// Job is one run of a step.
type Job struct {
	ID           string
	Step         *Step
	Index        int // BUILDKITE_PARALLEL_JOB; 0 without parallelism
	Dir          string
	Checkout     string
	DockerConfig string
	EnvFile      string // $BUILDKITE_ENV_FILE
	Log          string
	Env          []string
	Exit         int
	State        StepState
	Reason       string
	Start, End   time.Time
	// Artifacts are the files the step's artifact_paths matched, relative
	// to the checkout; MissingArtifacts the patterns that matched nothing.
	Artifacts, MissingArtifacts []string
}

// Output is what the job printed.
func (j *Job) Output() string {
	b, _ := os.ReadFile(j.Log)
	return string(b)
}

// Result is a finished build.
type Result struct {
	Build       *Build
	Steps       []*StepResult
	MetaData    map[string]string
	Tokens      []Token
	Annotations []Annotation
	Artifacts   []Artifact
	DockerCalls []DockerCall
	Uploads     []Upload
}

// Step returns the step with this key, or nil.
func (r *Result) Step(key string) *StepResult {
	for _, s := range r.Steps {
		if s.Step.Key == key {
			return s
		}
	}
	return nil
}

// Calls returns the docker calls a step's jobs made.
func (r *Result) Calls(key string) []DockerCall {
	jobs := map[string]bool{}
	if s := r.Step(key); s != nil {
		for _, j := range s.Jobs {
			jobs[j.ID] = true
		}
	}
	var out []DockerCall
	for _, c := range r.DockerCalls {
		if jobs[c.Job] {
			out = append(out, c)
		}
	}
	return out
}

// FirstStepKey is the key of the job that uploads the pipeline.
const FirstStepKey = "pipeline-upload"

// Run runs a build to the end. An error means the harness could not run
// it; a build that fails is a Result whose steps say so.
func (r *Runner) Run(ctx context.Context, b *Build) (*Result, error) {
	if err := os.MkdirAll(filepath.Join(b.Dir, "logs"), 0o755); err != nil {
		return nil, err
	}
	st := State{Dir: filepath.Join(b.Dir, "state")}
	cfg := b.Registry
	cfg.Docker = r.Docker
	if err := st.Init(cfg); err != nil {
		return nil, err
	}
	br := &buildRun{r: r, b: b, st: st, id: newUUID(), token: "bkgen-exec-agent-token-" + randomHex(8), slots: r.Slots}
	if br.slots == nil {
		br.slots = make(chan struct{}, 1)
	}
	first := &Step{Key: FirstStepKey, Label: ":pipeline: Upload", Command: b.Command, Env: map[string]string{}, Agents: b.Agents}
	res, err := br.run(ctx, first)
	if err != nil {
		return nil, err
	}
	res.Build = b
	if res.MetaData, err = st.AllMetaData(); err != nil {
		return nil, err
	}
	if res.Tokens, err = st.Tokens(); err != nil {
		return nil, err
	}
	if res.Annotations, err = st.Annotations(); err != nil {
		return nil, err
	}
	if res.Artifacts, err = st.Artifacts(); err != nil {
		return nil, err
	}
	if res.DockerCalls, err = st.DockerCalls(); err != nil {
		return nil, err
	}
	if res.Uploads, err = st.Uploads(); err != nil {
		return nil, err
	}
	return res, nil
}

// buildRun is one Run's state.
type buildRun struct {
	r     *Runner
	b     *Build
	st    State
	id    string // BUILDKITE_BUILD_ID
	token string // BUILDKITE_AGENT_ACCESS_TOKEN

	slots chan struct{} // the Runner's, or one job at a time

	mu      sync.Mutex
	seq     int // jobs started, for their directories' names
	seen    map[string]bool
	unnamed int // steps without a key, numbered
}

func (br *buildRun) run(ctx context.Context, first *Step) (*Result, error) {
	res := &Result{}
	byKey := map[string]*StepResult{}
	add := func(s *StepResult) {
		res.Steps = append(res.Steps, s)
		if s.Step.Key != "" {
			byKey[s.Step.Key] = s
		}
	}
	add(&StepResult{Step: first})
	br.seen = map[string]bool{}

	done := make(chan struct{})
	running := 0
	resolved := func(s *StepResult) bool { return s.State != "" }
	// uploader: which step's job made each upload, so its steps wait for it.
	waitFor := map[*StepResult]*StepResult{}
	started := map[*StepResult]bool{}

	for {
		if err := br.absorbUploads(res, byKey, add, waitFor); err != nil {
			return nil, err
		}
		progress := false
		for _, s := range res.Steps {
			if resolved(s) || started[s] {
				continue
			}
			if u := waitFor[s]; u != nil && !resolved(u) {
				continue
			}
			state, reason, ready := br.decide(s, byKey)
			if !ready {
				continue
			}
			progress = true
			if state != "" {
				s.State, s.Reason = state, reason
				continue
			}
			switch s.Step.Kind {
			case "wait", "group":
				s.State = Passed // what it waits for is done
				continue
			case "block", "input", "trigger":
				s.State, s.Reason = NotExecutable, notRunHere[s.Step.Kind]
				continue
			}
			started[s] = true
			running++
			go func(s *StepResult) {
				br.runStep(ctx, s)
				done <- struct{}{}
			}(s)
		}
		if running == 0 {
			if progress {
				continue
			}
			for _, s := range res.Steps {
				if !resolved(s) {
					s.State, s.Reason = Broken, "waits for steps that never finish (a dependency cycle)"
				}
			}
			return res, nil
		}
		<-done
		running--
	}
}

// decide says what to do with a step that has not run: ready (its
// dependencies are done) with no state to run it, or a final state.
func (br *buildRun) decide(s *StepResult, byKey map[string]*StepResult) (StepState, string, bool) {
	if s.Step.Skip != "" {
		return Skipped, s.Step.Skip, true
	}
	if !BranchMatches(br.b.Branch, s.Step.Branches) {
		return Skipped, fmt.Sprintf("branches %q leave out branch %q", strings.Join(s.Step.Branches, " "), br.b.Branch), true
	}
	if s.Step.If != "" {
		run, ok := ifBranch(s.Step.If, br.b.Branch)
		if !ok {
			return NotExecutable, fmt.Sprintf("its if (%s) is more than the stand-in agent evaluates (build.branch == or != a string)", s.Step.If), true
		}
		if !run {
			return Skipped, fmt.Sprintf("if %s is false", s.Step.If), true
		}
	}
	var notExec, broken []string
	for _, d := range s.Step.DependsOn {
		dep := byKey[d.Key]
		if dep == nil {
			return Broken, fmt.Sprintf("depends on %q, which the build does not have", d.Key), true
		}
		if dep.State == "" {
			return "", "", false
		}
		switch {
		case dep.State == NotExecutable:
			notExec = append(notExec, d.Key)
		case !dep.State.Succeeded() && !d.AllowFailure && !s.Step.AllowDependencyFailure:
			broken = append(broken, d.Key)
		}
	}
	if len(notExec) > 0 {
		return NotExecutable, "depends on " + strings.Join(notExec, ", ") + ", which cannot run here", true
	}
	if len(broken) > 0 {
		return Broken, "depends on " + strings.Join(broken, ", ") + ", which failed", true
	}
	if len(s.Step.Plugins) > 0 {
		return NotExecutable, pluginReason(s.Step.Plugins), true
	}
	if br.r.NotExecutable != nil {
		if why := br.r.NotExecutable(s.Step); why != "" {
			return NotExecutable, why, true
		}
	}
	return "", "", true
}

// pluginReason says why a step with plugins cannot run.
func pluginReason(plugins []string) string {
	var why []string
	for _, p := range plugins {
		name, version, _ := strings.Cut(p, "#")
		name = strings.TrimSuffix(filepath.Base(name), "-buildkite-plugin")
		reason, ok := knownPlugins[name]
		if !ok {
			reason = "the stand-in agent runs no plugins"
		}
		if version != "" {
			name += "#" + version
		}
		why = append(why, fmt.Sprintf("plugin %s: %s", name, reason))
	}
	return strings.Join(why, "; ")
}

var knownPlugins = map[string]string{
	"ecr":                              "logs in to Amazon ECR with AWS credentials, which this machine has not",
	"gcp-workload-identity-federation": "trades the OIDC token for Google Cloud credentials, which needs Google Cloud",
	"docker-compose":                   "the stand-in agent runs no plugins",
	"test-collector":                   "uploads test results to Buildkite Test Engine, which this machine cannot reach",
}

// absorbUploads adds the steps of uploads not seen yet.
func (br *buildRun) absorbUploads(res *Result, byKey map[string]*StepResult, add func(*StepResult), waitFor map[*StepResult]*StepResult) error {
	uploads, err := br.st.Uploads()
	if err != nil {
		return err
	}
	jobStep := map[string]*StepResult{}
	for _, s := range res.Steps {
		for _, j := range s.Jobs {
			jobStep[j.ID] = s
		}
	}
	for _, u := range uploads {
		if br.seen[u.Name] {
			continue
		}
		br.seen[u.Name] = true
		p, err := pipeline.Parse(bytes.NewReader(u.Pipeline))
		if err != nil && p == nil {
			return fmt.Errorf("upload %s: %w", u.Name, err)
		}
		steps, err := stepsFrom(p.Steps, &br.unnamed)
		if err != nil {
			return fmt.Errorf("upload %s: %w", u.Name, err)
		}
		for _, step := range steps {
			sr := &StepResult{Step: step, Upload: u.Name}
			waitFor[sr] = jobStep[u.Job]
			add(sr)
		}
	}
	return nil
}

// runStep runs every job of a step and sets the step's state.
func (br *buildRun) runStep(ctx context.Context, s *StepResult) {
	n := s.Step.Jobs()
	jobs := make([]*Job, n)
	var wg sync.WaitGroup
	for i := 0; i < n; i++ {
		wg.Add(1)
		step := s.Step
		if len(step.Matrix) > 0 {
			step = step.Matrix[i] // its combination filled in
		}
		go func(i int) {
			defer wg.Done()
			jobs[i] = br.runJob(ctx, step, i)
		}(i)
	}
	wg.Wait()
	s.Jobs = jobs
	s.State = Passed
	for _, j := range jobs {
		switch {
		case j.State == Failed:
			s.State = Failed
			if s.Reason == "" {
				s.Reason = j.Reason
			}
		case j.State == SoftFailed && s.State == Passed:
			s.State, s.Reason = SoftFailed, j.Reason
		}
	}
}

// runJob runs one job: a checkout of the build's commit, a fresh
// DOCKER_CONFIG, the command with /bin/bash -e -c (or in the step's image),
// then the artifacts.
func (br *buildRun) runJob(ctx context.Context, step *Step, index int) *Job {
	select {
	case br.slots <- struct{}{}:
		defer func() { <-br.slots }()
	case <-ctx.Done():
		return &Job{Step: step, Index: index, State: Failed, Reason: "cancelled: " + ctx.Err().Error()}
	}
	br.mu.Lock()
	br.seq++
	name := fmt.Sprintf("%03d-%s", br.seq, safeName(step.Key))
	br.mu.Unlock()
	if step.Parallelism > 1 {
		name += "-" + strconv.Itoa(index)
	}
	j := &Job{ID: newUUID(), Step: step, Index: index, Dir: filepath.Join(br.b.Dir, "jobs", name)}
	j.Checkout = filepath.Join(j.Dir, "checkout")
	j.DockerConfig = filepath.Join(j.Dir, "docker-config")
	j.Log = filepath.Join(br.b.Dir, "logs", name+".log")
	j.Start = time.Now()
	defer func() { j.End = time.Now() }()
	failJob := func(format string, a ...any) *Job {
		j.State, j.Exit, j.Reason = Failed, -1, fmt.Sprintf(format, a...)
		os.WriteFile(j.Log, []byte("bkgen-exec agent: "+j.Reason+"\n"), 0o644)
		return j
	}
	if err := os.MkdirAll(j.DockerConfig, 0o700); err != nil {
		return failJob("%v", err)
	}
	if err := os.MkdirAll(filepath.Join(j.Dir, "tmp"), 0o700); err != nil {
		return failJob("%v", err)
	}
	if err := checkout(br.b.Repo, br.b.Commit, j.Checkout); err != nil {
		return failJob("checkout: %v", err)
	}
	var err error
	if j.Env, err = br.jobEnv(j); err != nil {
		return failJob("the job's environment: %v", err)
	}
	if br.r.PrepareJob != nil {
		if err := br.r.PrepareJob(j); err != nil {
			return failJob("preparing the job: %v", err)
		}
	}
	log, err := os.Create(j.Log)
	if err != nil {
		return failJob("%v", err)
	}
	defer log.Close()
	fmt.Fprintf(log, "~~~ bkgen-exec agent: job %s, step %s", j.ID, step.Key)
	if step.Parallelism > 1 {
		fmt.Fprintf(log, " (parallel job %d of %d)", index, step.Parallelism)
	}
	if step.Image != "" {
		fmt.Fprintf(log, ", in image %s", step.Image)
	}
	fmt.Fprintf(log, "\n$ %s\n", strings.ReplaceAll(step.Command, "\n", "\n$ "))

	timeout := br.r.JobTimeout
	if timeout == 0 {
		timeout = 20 * time.Minute
	}
	if step.TimeoutInMinutes > 0 {
		timeout = time.Duration(step.TimeoutInMinutes) * time.Minute
	}
	jctx, cancel := context.WithTimeout(ctx, timeout)
	defer cancel()
	var cmd *exec.Cmd
	if step.Image != "" {
		cmd = br.imageCommand(jctx, j)
	} else {
		cmd = exec.CommandContext(jctx, "/bin/bash", "-e", "-c", step.Command)
	}
	cmd.Dir, cmd.Env = j.Checkout, j.Env
	cmd.Stdin = nil
	cmd.Stdout, cmd.Stderr = log, log
	killGroup(cmd)
	cmd.WaitDelay = 10 * time.Second
	err = cmd.Run()
	var exit *exec.ExitError
	switch {
	case err == nil:
		j.State = Passed
	case jctx.Err() != nil:
		j.State, j.Exit, j.Reason = Failed, -1, fmt.Sprintf("timed out after %s", timeout)
	case errors.As(err, &exit):
		j.Exit = exit.ExitCode()
		if step.SoftFail.Matches(j.Exit) {
			j.State, j.Reason = SoftFailed, fmt.Sprintf("exit status %d (soft_fail)", j.Exit)
		} else {
			j.State, j.Reason = Failed, fmt.Sprintf("exit status %d", j.Exit)
		}
	default:
		j.State, j.Exit, j.Reason = Failed, -1, err.Error()
	}
	fmt.Fprintf(log, "~~~ bkgen-exec agent: %s (exit %d) in %s\n", j.State, j.Exit, time.Since(j.Start).Round(time.Millisecond))
	for _, p := range step.ArtifactPaths {
		files, err := matchArtifacts(j.Checkout, p)
		if err != nil || len(files) == 0 {
			j.MissingArtifacts = append(j.MissingArtifacts, p)
			fmt.Fprintf(log, "~~~ bkgen-exec agent: artifact_paths %q matched no file\n", p)
			continue
		}
		j.Artifacts = append(j.Artifacts, files...)
		for _, f := range files {
			br.st.AddArtifact(Artifact{Path: f, Job: j.ID})
		}
	}
	return j
}

// imageCommand runs a step inside its image, as hosted agents do: the
// checkout mounted at the same path and the working directory, the job's
// environment, the stand-in agent, and /bin/bash -e -c.
func (br *buildRun) imageCommand(ctx context.Context, j *Job) *exec.Cmd {
	args := []string{"run", "--rm", "--init", "--entrypoint", "/bin/bash",
		"--volume", j.Checkout + ":" + j.Checkout, "--workdir", j.Checkout,
		"--volume", br.st.Dir + ":" + br.st.Dir,
		"--volume", filepath.Join(br.r.BinDir, "buildkite-agent") + ":/usr/bin/buildkite-agent:ro",
	}
	for _, kv := range j.Env {
		k, _, _ := strings.Cut(kv, "=")
		if passesIntoImage(k, j.Step) {
			args = append(args, "--env", k)
		}
	}
	args = append(args, j.Step.Image, "-e", "-c", j.Step.Command)
	return exec.CommandContext(ctx, br.r.Docker, args...)
}

// passesIntoImage: the job's variables an image step sees, which is all
// of them (hosted agents run the whole job in the image, hooks included)
// but the agent machine's own PATH, HOME or docker config.
func passesIntoImage(k string, s *Step) bool {
	if _, ok := s.Env[k]; ok {
		return true
	}
	switch k {
	case "PATH", "HOME", "PWD", "SHLVL", "TMPDIR", "DOCKER_CONFIG", "HOSTNAME", "OLDPWD", "_", "LANG":
		return false
	}
	return true
}

// jobEnv is a job's environment, as the agent makes it.
func (br *buildRun) jobEnv(j *Job) ([]string, error) {
	b, s := br.b, j.Step
	env := map[string]string{}
	for _, kv := range br.r.AgentEnv {
		if k, v, ok := strings.Cut(kv, "="); ok {
			env[k] = v
		}
	}
	path := br.r.BinDir
	if p := env["PATH"]; p != "" {
		path += ":" + p
	}
	env["PATH"] = path
	set := map[string]string{
		"BUILDKITE":                         "true",
		"CI":                                "true",
		"BUILDKITE_AGENT_NAME":              "bkgen-exec",
		"BUILDKITE_AGENT_ACCESS_TOKEN":      br.token,
		"BUILDKITE_BUILD_ID":                br.id,
		"BUILDKITE_BUILD_NUMBER":            strconv.Itoa(b.Number),
		"BUILDKITE_BUILD_URL":               "https://buildkite.com/bkgen/bkgen-exec/builds/" + strconv.Itoa(b.Number),
		"BUILDKITE_BRANCH":                  b.Branch,
		"BUILDKITE_COMMIT":                  b.Commit,
		"BUILDKITE_REPO":                    b.Repo,
		"BUILDKITE_PIPELINE_SLUG":           "bkgen-exec",
		"BUILDKITE_PIPELINE_DEFAULT_BRANCH": b.DefaultBranch,
		"BUILDKITE_PULL_REQUEST":            "false",
		"BUILDKITE_SOURCE":                  "webhook",
		"BUILDKITE_BUILD_CHECKOUT_PATH":     j.Checkout,
		"BUILDKITE_JOB_ID":                  j.ID,
		"BUILDKITE_STEP_ID":                 j.ID,
		"BUILDKITE_STEP_KEY":                s.Key,
		"BUILDKITE_LABEL":                   s.Label,
		"BUILDKITE_COMMAND":                 s.Command,
	}
	if set["BUILDKITE_PIPELINE_DEFAULT_BRANCH"] == "" {
		set["BUILDKITE_PIPELINE_DEFAULT_BRANCH"] = "main"
	}
	for k, v := range s.Agents {
		set["BUILDKITE_AGENT_META_DATA_"+strings.ToUpper(k)] = v
	}
	if s.Parallelism > 1 {
		set["BUILDKITE_PARALLEL_JOB"] = strconv.Itoa(j.Index)
		set["BUILDKITE_PARALLEL_JOB_COUNT"] = strconv.Itoa(s.Parallelism)
	}
	for k, v := range b.Env {
		set[k] = v
	}
	for k, v := range s.Env {
		set[k] = v
	}
	// What Buildkite gave the job, as the agent lists it for plugins that
	// pass the job's environment on (KEY="value", one a line).
	j.EnvFile = filepath.Join(j.Dir, "env")
	var file strings.Builder
	for _, k := range sortedKeys(set) {
		fmt.Fprintf(&file, "%s=%q\n", k, set[k])
	}
	if err := os.WriteFile(j.EnvFile, []byte(file.String()), 0o600); err != nil {
		return nil, err
	}
	set["BUILDKITE_ENV_FILE"] = j.EnvFile
	for k, v := range set {
		env[k] = v
	}
	for k, v := range b.HookEnv {
		env[k] = v
	}
	env["DOCKER_CONFIG"] = j.DockerConfig
	// The job's own temporary directory: what a step leaves there goes
	// with the job, not into the machine's /tmp.
	env["TMPDIR"] = filepath.Join(j.Dir, "tmp")
	env[StateEnv] = br.st.Dir
	out := make([]string, 0, len(env))
	for _, k := range sortedKeys(env) {
		out = append(out, k+"="+env[k])
	}
	return out, nil
}

// checkout makes a fresh checkout of commit in dir, as an agent does.
func checkout(repo, commit, dir string) error {
	run := func(args ...string) error {
		cmd := exec.Command("git", args...)
		cmd.Env = append(os.Environ(), "GIT_CONFIG_NOSYSTEM=1", "GIT_CONFIG_GLOBAL="+os.DevNull)
		var stderr bytes.Buffer
		cmd.Stderr = &stderr
		if err := cmd.Run(); err != nil {
			return fmt.Errorf("git %s: %v: %s", strings.Join(args, " "), err, strings.TrimSpace(stderr.String()))
		}
		return nil
	}
	if err := run("clone", "--quiet", "--shared", "--no-checkout", repo, dir); err != nil {
		return err
	}
	return run("-C", dir, "checkout", "--quiet", "--force", "--detach", commit)
}

// safeName keeps a step key usable in a file name.
func safeName(s string) string {
	return strings.Map(func(r rune) rune {
		if r == '/' || r == 0 || r == '\\' {
			return '_'
		}
		return r
	}, s)
}

// Summary is a few lines about a finished build: each step's state.
func (r *Result) Summary() string {
	var b strings.Builder
	for _, s := range r.Steps {
		fmt.Fprintf(&b, "%-40s %-15s %s\n", s.Step.Key, s.State, s.Reason)
	}
	return b.String()
}

// Tail is the last n lines of a job's output.
func (j *Job) Tail(n int) string {
	lines := strings.Split(strings.TrimRight(j.Output(), "\n"), "\n")
	if len(lines) > n {
		lines = lines[len(lines)-n:]
	}
	return strings.Join(lines, "\n")
}
