package agentsim

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strconv"
	"strings"

	"github.com/bkgen/bkgen/buildenv"
	"github.com/bkgen/bkgen/changes"
	"github.com/bkgen/bkgen/glob"
	"github.com/bkgen/bkgen/internal/pipetest"
	"github.com/bmatcuk/doublestar/v4"
	pipeline "github.com/buildkite/go-pipeline"
)

// Stdio is a command's standard streams, environment and directory.
type Stdio struct {
	In       io.Reader
	Out, Err io.Writer
	Env      []string // KEY=VALUE, as os.Environ
	Dir      string   // the working directory
}

// Getenv looks a variable up in Env.
func (s Stdio) Getenv(key string) string {
	v, _ := s.lookup(key)
	return v
}

func (s Stdio) lookup(key string) (string, bool) {
	for i := len(s.Env) - 1; i >= 0; i-- {
		if k, v, ok := strings.Cut(s.Env[i], "="); ok && k == key {
			return v, true
		}
	}
	return "", false
}

// Agent runs `buildkite-agent ARGS` as the stand-in: the subcommands
// bkgen's pipelines use, against the build's state directory. It returns
// the exit status.
func Agent(args []string, sio Stdio) int {
	fail := func(format string, a ...any) int {
		fmt.Fprintf(sio.Err, "buildkite-agent (bkgen-exec stand-in): "+format+"\n", a...)
		return 1
	}
	if len(args) == 0 {
		return fail("usage: buildkite-agent meta-data|oidc|annotate|artifact|pipeline ...")
	}
	if args[0] == "--version" || args[0] == "-v" {
		fmt.Fprintln(sio.Out, "buildkite-agent version 3.115.0 (bkgen-exec stand-in)")
		return 0
	}
	dir := sio.Getenv(StateEnv)
	if dir == "" {
		return fail("%s is not set: this stand-in only works inside a job the harness runs", StateEnv)
	}
	st := State{Dir: dir}
	job := sio.Getenv("BUILDKITE_JOB_ID")
	sub := ""
	if len(args) > 1 {
		sub = args[1]
	}
	switch args[0] + " " + sub {
	case "meta-data set":
		pos, _ := parseFlags(args[2:], nil, "job")
		if len(pos) < 1 {
			return fail("meta-data set: usage: meta-data set KEY [VALUE]")
		}
		value := ""
		if len(pos) >= 2 {
			value = pos[1]
		} else {
			b, err := readAllFrom(sio.In)
			if err != nil {
				return fail("meta-data set: %v", err)
			}
			value = string(b)
		}
		if strings.TrimSpace(pos[0]) == "" {
			return fail("meta-data set: the key is blank")
		}
		if value == "" {
			// The agent refuses empty values.
			return fail("meta-data set %s: the value is empty", pos[0])
		}
		if err := st.SetMetaData(pos[0], value); err != nil {
			return fail("meta-data set: %v", err)
		}
		return 0
	case "meta-data get":
		pos, flags := parseFlags(args[2:], nil, "job", "default")
		if len(pos) != 1 {
			return fail("meta-data get: usage: meta-data get KEY [--default VALUE]")
		}
		v, ok, err := st.MetaData(pos[0])
		if err != nil {
			return fail("meta-data get: %v", err)
		}
		if !ok {
			if d, has := flags["default"]; has {
				fmt.Fprint(sio.Out, d)
				return 0
			}
			return fail("meta-data get %q: no such key", pos[0])
		}
		fmt.Fprint(sio.Out, v)
		return 0
	case "meta-data exists":
		pos, _ := parseFlags(args[2:], nil, "job")
		if len(pos) != 1 {
			return fail("meta-data exists: usage: meta-data exists KEY")
		}
		_, ok, err := st.MetaData(pos[0])
		if err != nil {
			return fail("meta-data exists: %v", err)
		}
		if !ok {
			return 100 // the agent's status for a key that is not set
		}
		return 0
	case "meta-data keys":
		all, err := st.AllMetaData()
		if err != nil {
			return fail("meta-data keys: %v", err)
		}
		for _, k := range sortedKeys(all) {
			fmt.Fprintln(sio.Out, k)
		}
		return 0
	case "oidc request-token":
		_, flags := parseFlags(args[2:], []string{"aws-session-tag"}, "audience", "lifetime", "claim", "job")
		lifetime := 0
		if v, ok := flags["lifetime"]; ok {
			n, err := strconv.Atoi(v)
			if err != nil || n < 0 {
				return fail("oidc request-token: --lifetime %q is not a number of seconds", v)
			}
			lifetime = n
		}
		t, err := st.IssueToken(flags["audience"], lifetime, job)
		if err != nil {
			return fail("oidc request-token: %v", err)
		}
		fmt.Fprintln(sio.Out, t.Token)
		return 0
	}
	switch args[0] {
	case "annotate":
		pos, flags := parseFlags(args[1:], []string{"append"}, "context", "style", "job", "priority")
		body := ""
		if len(pos) > 0 {
			body = pos[0]
		} else {
			b, err := readAllFrom(sio.In)
			if err != nil {
				return fail("annotate: %v", err)
			}
			body = string(b)
		}
		_, appends := flags["append"]
		if err := st.Annotate(Annotation{Context: flags["context"], Style: flags["style"], Append: appends, Body: body, Job: job}); err != nil {
			return fail("annotate: %v", err)
		}
		return 0
	case "artifact":
		if sub != "upload" {
			return fail("artifact %s: the stand-in only uploads", sub)
		}
		pos, _ := parseFlags(args[2:], []string{"follow-symlinks", "glob-resolve-follow-symlinks"}, "job", "content-type")
		if len(pos) < 1 {
			return fail("artifact upload: usage: artifact upload PATTERNS [DESTINATION]")
		}
		files, err := matchArtifacts(sio.Dir, pos[0])
		if err != nil {
			return fail("artifact upload: %v", err)
		}
		if len(files) == 0 {
			return fail("artifact upload: no files matched %q", pos[0])
		}
		for _, f := range files {
			if err := st.AddArtifact(Artifact{Path: f, Job: job}); err != nil {
				return fail("artifact upload: %v", err)
			}
		}
		return 0
	case "pipeline":
		if sub != "upload" {
			return fail("pipeline %s: the stand-in only uploads", sub)
		}
		return pipelineUpload(st, args[2:], sio, job)
	}
	return fail("%s: not a command the stand-in knows", strings.Join(args, " "))
}

// pipelineUpload is `buildkite-agent pipeline upload`: read the pipeline
// (files, else stdin), parse it with go-pipeline, interpolate it with this
// job's environment (as internal/pipetest does), apply if_changed, check
// the step graph against what the build already has, and hand it to the
// runner.
func pipelineUpload(st State, args []string, sio Stdio, job string) int {
	fail := func(format string, a ...any) int {
		fmt.Fprintf(sio.Err, "buildkite-agent pipeline upload (bkgen-exec stand-in): "+format+"\n", a...)
		return 1
	}
	pos, flags := parseFlags(args, []string{"dry-run", "replace", "no-interpolation", "reject-secrets", "apply-if-changed"},
		"job", "format", "redacted-vars", "git-diff-base", "changed-files-path", "jwks-file", "jwks-key-id",
		"signing-aws-kms-key", "signing-ignored-env-vars", "log-level", "experiment", "profile", "agent-access-token", "endpoint")
	interpolate := true
	if v := sio.Getenv("BUILDKITE_PIPELINE_NO_INTERPOLATION"); v != "" {
		b, err := strconv.ParseBool(v)
		if err != nil {
			return fail("BUILDKITE_PIPELINE_NO_INTERPOLATION=%q is not a boolean", v)
		}
		interpolate = !b
	}
	if v, ok := flags["no-interpolation"]; ok {
		b, err := strconv.ParseBool(v)
		if err != nil {
			return fail("--no-interpolation=%q is not a boolean", v)
		}
		interpolate = !b
	}
	var src []byte
	if len(pos) > 0 {
		for _, p := range pos {
			if !filepath.IsAbs(p) {
				p = filepath.Join(sio.Dir, p)
			}
			b, err := os.ReadFile(p)
			if err != nil {
				return fail("%v", err)
			}
			if len(pos) > 1 {
				return fail("the stand-in uploads one file at a time")
			}
			src = b
		}
	} else {
		b, err := readAllFrom(sio.In)
		if err != nil {
			return fail("reading stdin: %v", err)
		}
		src = b
	}
	if len(bytes.TrimSpace(src)) == 0 {
		return fail("the pipeline is empty")
	}
	env := map[string]string{}
	for _, kv := range sio.Env {
		if k, v, ok := strings.Cut(kv, "="); ok {
			env[k] = v
		}
	}
	p, err := pipetest.Upload(src, env, interpolate)
	if err != nil {
		return fail("%v", err)
	}
	if err := applyIfChanged(p, sio, flags); err != nil {
		return fail("if_changed: %v", err)
	}
	if err := checkGraph(st, p); err != nil {
		return fail("%v", err)
	}
	if err := checkJobs(st, p); err != nil {
		return fail("%v", err)
	}
	out, err := json.Marshal(p)
	if err != nil {
		return fail("%v", err)
	}
	if _, dry := flags["dry-run"]; dry {
		var pretty bytes.Buffer
		json.Indent(&pretty, out, "", "  ")
		fmt.Fprintln(sio.Out, pretty.String())
		return 0
	}
	if err := st.addUpload(Upload{Job: job, Pipeline: out}); err != nil {
		return fail("%v", err)
	}
	fmt.Fprintf(sio.Err, "buildkite-agent (bkgen-exec stand-in): uploaded %d steps\n", len(p.Steps))
	return 0
}

// applyIfChanged applies if_changed as buildkite-agent 3.138.3 does at
// upload, to command, group (a group's steps first) and trigger steps: the
// attribute is removed, and a step no unexcluded changed file matches is
// skipped with the agent's message. The changed files are found by the
// agent's rules, as bkgen's changes.Agent implements them; when they cannot
// be found, or if_changed is switched off, every step runs.
func applyIfChanged(p *pipeline.Pipeline, sio Stdio, flags map[string]string) error {
	env := buildenv.ReadLookup(sio.lookup)
	u := &env.Upload
	if d, ok := flags["git-diff-base"]; ok {
		u.GitDiffBase = d
	}
	if f, ok := flags["changed-files-path"]; ok {
		u.ChangedFilesPath = f
	}
	if v, ok := flags["apply-if-changed"]; ok {
		b, err := strconv.ParseBool(v)
		if err != nil {
			return fmt.Errorf("--apply-if-changed=%q is not a boolean", v)
		}
		u.ApplyIfChanged, u.ApplySource = b, "--apply-if-changed="+v
	}
	var found *changes.AgentResult
	var ix *glob.Index
	var apply func(steps pipeline.Steps)
	apply = func(steps pipeline.Steps) {
		for _, s := range steps {
			var content map[string]any
			switch st := s.(type) {
			case *pipeline.GroupStep:
				apply(st.Steps)
				content = st.RemainingFields
			case *pipeline.CommandStep:
				content = st.RemainingFields
			case *pipeline.TriggerStep:
				content = st.Contents
			}
			v, has := content["if_changed"]
			if !has {
				continue
			}
			delete(content, "if_changed")
			if found == nil {
				a := changes.Agent(context.Background(), changes.AgentOptions{Dir: sio.Dir, Env: env})
				found = &a
				if !a.Apply {
					fmt.Fprintf(sio.Err, "buildkite-agent (bkgen-exec stand-in): if_changed: every step runs: %s\n", a.Reason)
				}
				ix = glob.NewIndex(a.Files)
			}
			if !found.Apply || glob.RunsForIfChanged(v, ix) {
				continue
			}
			content["skip"] = "if_changed matched no unexcluded changed files in this build"
		}
	}
	if u.Err != "" {
		return errors.New(u.Err)
	}
	apply(p.Steps)
	return nil
}

// checkGraph refuses an upload whose steps Buildkite would refuse: a key
// used twice (in this upload or the build's earlier ones) or a depends_on
// naming a step the build does not have.
func checkGraph(st State, p *pipeline.Pipeline) error {
	keys := map[string]bool{}
	earlier, err := st.Uploads()
	if err != nil {
		return err
	}
	for _, u := range earlier {
		q, err := pipeline.Parse(bytes.NewReader(u.Pipeline))
		if err != nil {
			return err
		}
		entries, _ := pipetest.Graph(q.Steps)
		for _, e := range entries {
			if e.Key != "" {
				keys[e.Key] = true
			}
		}
	}
	var problems []string
	mine := map[string]bool{}
	entries, _ := pipetest.Graph(p.Steps)
	for _, e := range entries {
		if e.Key == "" {
			continue
		}
		if keys[e.Key] || mine[e.Key] {
			problems = append(problems, fmt.Sprintf("the key %q is used twice", e.Key))
		}
		mine[e.Key] = true
	}
	for _, e := range entries {
		for _, d := range e.DependsOn {
			if !keys[d] && !mine[d] {
				problems = append(problems, fmt.Sprintf("step %q depends on %q, which no step of the build has as its key", e.Key, d))
			}
		}
	}
	if len(problems) > 0 {
		return fmt.Errorf("refused: %s", strings.Join(problems, "; "))
	}
	return nil
}

// checkJobs refuses an upload with more jobs (parallelism counted) than
// the organization's limit, as Buildkite does.
func checkJobs(st State, p *pipeline.Pipeline) error {
	cfg, err := st.Config()
	if err != nil {
		return err
	}
	limit := cfg.MaxJobs
	if limit == 0 {
		limit = 500
	}
	jobs := 0
	for _, s := range p.Steps {
		c, ok := s.(*pipeline.CommandStep)
		if !ok {
			continue
		}
		n := 1
		if v, ok := c.RemainingFields["parallelism"]; ok {
			if p, err := integer(v); err == nil && p > 1 {
				n = p
			}
		}
		jobs += n
	}
	if jobs > limit {
		return fmt.Errorf("Pipeline upload rejected: The number of jobs in this upload (%d) exceeds your organization limit of %d", jobs, limit)
	}
	return nil
}

// matchArtifacts expands artifact paths (";"-separated globs, ** included)
// relative to dir into the files they name.
func matchArtifacts(dir, patterns string) ([]string, error) {
	var out []string
	seen := map[string]bool{}
	for _, p := range strings.Split(patterns, ";") {
		p = strings.TrimSpace(p)
		if p == "" {
			continue
		}
		matches, err := doublestar.Glob(os.DirFS(dir), filepath.ToSlash(p), doublestar.WithFilesOnly())
		if err != nil {
			return nil, fmt.Errorf("%q: %w", p, err)
		}
		for _, m := range matches {
			if !seen[m] {
				seen[m] = true
				out = append(out, m)
			}
		}
	}
	return out, nil
}

// parseFlags splits args into positional arguments and --flags, as the
// agent's CLI reads them: boolean flags take no value unless written
// --flag=VALUE ("true" otherwise); the others take the next argument.
func parseFlags(args []string, bools []string, valued ...string) (pos []string, flags map[string]string) {
	flags = map[string]string{}
	isBool := map[string]bool{}
	for _, b := range bools {
		isBool[b] = true
	}
	for i := 0; i < len(args); i++ {
		a := args[i]
		if a == "--" {
			pos = append(pos, args[i+1:]...)
			break
		}
		name, ok := strings.CutPrefix(a, "-")
		if !ok || name == "" {
			pos = append(pos, a)
			continue
		}
		name = strings.TrimPrefix(name, "-")
		name, value, hasValue := strings.Cut(name, "=")
		switch {
		case hasValue:
			flags[name] = value
		case isBool[name]:
			flags[name] = "true"
		case i+1 < len(args):
			flags[name] = args[i+1]
			i++
		default:
			flags[name] = ""
		}
	}
	return pos, flags
}

func readAllFrom(r io.Reader) ([]byte, error) {
	if r == nil {
		return nil, nil
	}
	return io.ReadAll(r)
}
