package main

import (
	"bytes"
	"encoding/json"
	"flag"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"

	"github.com/bkgen/bkgen/internal/pipetest"
	"github.com/bkgen/bkgen/lint"
	"github.com/bkgen/bkgen/spec"
	pipeline "github.com/buildkite/go-pipeline"
	"github.com/google/go-cmp/cmp"
)

var update = flag.Bool("update", false, "rewrite the golden files in golden/ from examples/")

// example is one directory of examples/: a small repository with a spec, and
// optionally an env file (BUILDKITE_* values) and an args file (the flags
// bkgen generate runs with; --all when absent).
type example struct {
	name, dir string
	env       map[string]string
	args      []string
}

func examples(t *testing.T) []example {
	t.Helper()
	specs, err := filepath.Glob("../../examples/*/.buildkite/bkgen.yml")
	if err != nil || len(specs) == 0 {
		t.Fatalf("no examples found: %v", err)
	}
	var out []example
	for _, s := range specs {
		dir := filepath.Dir(filepath.Dir(s))
		// A copy outside this repository: an example is a repository of
		// its own, and what git says of bkgen's must not reach a golden.
		ex := example{name: filepath.Base(dir), dir: filepath.Join(t.TempDir(), filepath.Base(dir)), env: map[string]string{}, args: []string{"--all"}}
		if err := os.CopyFS(ex.dir, os.DirFS(dir)); err != nil {
			t.Fatal(err)
		}
		if src, err := os.ReadFile(filepath.Join(dir, "env")); err == nil {
			if ex.env, err = pipetest.KeyValues(string(src)); err != nil {
				t.Fatalf("%s/env: %v", dir, err)
			}
		}
		if src, err := os.ReadFile(filepath.Join(dir, "args")); err == nil {
			ex.args = strings.Fields(string(src))
		}
		out = append(out, ex)
	}
	return out
}

// generate runs bkgen generate in-process on an example.
func (ex example) generate(t *testing.T) []byte {
	t.Helper()
	var stdout, stderr bytes.Buffer
	args := append([]string{"generate", "-C", ex.dir}, ex.args...)
	lookup := func(k string) (string, bool) { v, ok := ex.env[k]; return v, ok }
	if status := run(args, &stdio{in: strings.NewReader(""), out: &stdout, err: &stderr}, lookup); status != exitOK {
		t.Fatalf("bkgen %s: exit %d\n%s", strings.Join(args, " "), status, stderr.String())
	}
	return stdout.Bytes()
}

// TestGoldens generates every example and compares it with golden/NAME.yml;
// go test ./cmd/bkgen -update rewrites them (read them before committing).
func TestGoldens(t *testing.T) {
	for _, ex := range examples(t) {
		t.Run(ex.name, func(t *testing.T) {
			got := ex.generate(t)
			golden := filepath.Join("..", "..", "golden", ex.name+".yml")
			if *update {
				if err := os.WriteFile(golden, got, 0o644); err != nil {
					t.Fatal(err)
				}
			}
			want, err := os.ReadFile(golden)
			if err != nil {
				t.Fatalf("%v (run go test ./cmd/bkgen -update to create it)", err)
			}
			if diff := cmp.Diff(string(want), string(got)); diff != "" {
				t.Errorf("%s is stale (-want +got):\n%s", golden, diff)
			}
			pipetest.Check(t, golden, got)
			// bkgen's own lint, warnings included, has nothing to say.
			for _, p := range lint.Pipeline(golden, got) {
				t.Errorf("lint: %s", p)
			}
			// Same input, same bytes.
			if again := ex.generate(t); !bytes.Equal(got, again) {
				t.Errorf("two runs gave different output")
			}
		})
	}
}

// TestConsumerCommandsAreVerbatim runs upload-time interpolation, as the agent
// does, over every golden and checks that each consumer runs exactly the
// command its spec wrote: every $ escaped, nothing lost to quoting.
func TestConsumerCommandsAreVerbatim(t *testing.T) {
	for _, ex := range examples(t) {
		t.Run(ex.name, func(t *testing.T) {
			src, err := os.ReadFile(filepath.Join(ex.dir, ".buildkite", "bkgen.yml"))
			if err != nil {
				t.Fatal(err)
			}
			s, err := spec.Load("bkgen.yml", src)
			if err != nil {
				t.Fatal(err)
			}
			golden, err := os.ReadFile(filepath.Join("..", "..", "golden", ex.name+".yml"))
			if err != nil {
				t.Fatal(err)
			}
			steps := pipetest.Commands(t, golden)
			for _, im := range s.Images {
				for _, c := range im.Consumers {
					key := spec.ConsumerKey(im, c)
					step, ok := steps[key]
					if !ok {
						if !strings.Contains(strings.Join(ex.args, " "), "--skipped omit") {
							t.Errorf("no step %s", key)
						}
						continue
					}
					if got := consumerScript(step.Command); got != c.Command {
						t.Errorf("%s runs %q, want the spec's %q", key, got, c.Command)
					}
				}
			}
		})
	}
}

// consumerScript extracts what a consumer step runs inside its image: the
// body of the quoted heredoc handed to the container's shell, or, for steps
// that run in the image directly (hosted agents' image attribute), the
// whole command.
func consumerScript(command string) string {
	start := strings.Index(command, "<<'")
	if start < 0 {
		return command
	}
	rest := command[start+3:]
	end := strings.Index(rest, "'\n")
	if end < 0 {
		return ""
	}
	delim := rest[:end]
	body := rest[end+2:]
	close := strings.Index(body, "\n"+delim+"\n")
	if close < 0 {
		return ""
	}
	return body[:close]
}

// TestLiteralIsWhatJobsGet: for every example, the pipeline generated with
// --no-interpolation, read without interpolation, is exactly the usual
// pipeline after upload-time interpolation: each job gets the same text. A
// hosted registry's URL is the exception: written by bkgen, it is quoted as
// the URL needs, not as the placeholder the upload fills in did, so there
// each command only has to be valid shell.
func TestLiteralIsWhatJobsGet(t *testing.T) {
	const url = "hosted.example.com/acme"
	for _, ex := range examples(t) {
		t.Run(ex.name, func(t *testing.T) {
			ex.env["BUILDKITE_HOSTED_REGISTRY_URL"] = url
			escaped := ex.generate(t)
			ex.args = append(ex.args, "--no-interpolation")
			literal := ex.generate(t)
			pipetest.CheckLiteral(t, "literal", literal)
			got, err := pipetest.Upload(literal, nil, false)
			if err != nil {
				t.Fatal(err)
			}
			if bytes.Contains(escaped, []byte("BUILDKITE_HOSTED_REGISTRY_URL")) {
				if _, err := exec.LookPath("bash"); err != nil {
					t.Skip("no bash to check the commands with")
				}
				for _, st := range got.Steps {
					c := st.(*pipeline.CommandStep)
					if out, err := exec.Command("bash", "-n", "-c", c.Command).CombinedOutput(); err != nil {
						t.Errorf("%s: bash -n: %v\n%s", c.Key, err, out)
					}
				}
				return
			}
			want := pipetest.InterpolatedWith(t, escaped, map[string]string{"BUILDKITE_HOSTED_REGISTRY_URL": url})
			wantJSON, err := json.MarshalIndent(want, "", "  ")
			if err != nil {
				t.Fatal(err)
			}
			gotJSON, err := json.MarshalIndent(got, "", "  ")
			if err != nil {
				t.Fatal(err)
			}
			if diff := cmp.Diff(string(wantJSON), string(gotJSON)); diff != "" {
				t.Errorf("literal pipeline differs from what jobs get (-interpolated +literal):\n%s", diff)
			}
		})
	}
}
