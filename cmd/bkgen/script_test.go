package main

import (
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/bkgen/bkgen/internal/pipetest"
	pipeline "github.com/buildkite/go-pipeline"
	"github.com/rogpeppe/go-internal/testscript"
)

// TestMain lets scripts run bkgen as a command (exec bkgen ...) served by
// this test binary, so each script exercises the real main: flags, streams
// and exit statuses.
func TestMain(m *testing.M) {
	testscript.Main(m, map[string]func(){"bkgen": main})
}

// TestScripts runs the CLI sessions in testdata/script/*.txtar.
func TestScripts(t *testing.T) {
	testscript.Run(t, testscript.Params{
		Dir:                 "testdata/script",
		RequireExplicitExec: true,
		UpdateScripts:       *update,
		Cmds:                map[string]func(*testscript.TestScript, bool, []string){"pipeline-upload": pipelineUploadCmd},
		Setup: func(env *testscript.Env) error {
			// A job's environment is not the test's: start from nothing
			// Buildkite would set, with git usable in the work directory.
			for _, kv := range []string{
				"GIT_CONFIG_NOSYSTEM=1",
				"GIT_CONFIG_GLOBAL=" + filepath.Join(env.WorkDir, ".gitconfig"),
				"GIT_AUTHOR_NAME=bkgen", "GIT_AUTHOR_EMAIL=bkgen@example.com",
				"GIT_COMMITTER_NAME=bkgen", "GIT_COMMITTER_EMAIL=bkgen@example.com",
				"NO_COLOR=",
			} {
				k, v, _ := strings.Cut(kv, "=")
				env.Setenv(k, v)
			}
			// testscript puts bkgen in a directory of its own at the head of
			// PATH: scripts use it to run bkgen with nothing else on PATH.
			env.Setenv("BKGEN_BIN", filepath.SplitList(os.Getenv("PATH"))[0])
			return os.WriteFile(filepath.Join(env.WorkDir, ".gitconfig"), []byte("[init]\n\tdefaultBranch = main\n"), 0o644)
		},
	})
}

// pipelineUploadCmd reads a pipeline file as the agent's `pipeline upload` does,
// with go-pipeline, and prints one field of each command step as "KEY:
// VALUE": what the build gets.
//
//	pipeline-upload [-no-interpolation] FILE FIELD [NAME=VALUE...]
//
// The NAME=VALUE pairs are the uploading job's whole environment.
func pipelineUploadCmd(ts *testscript.TestScript, neg bool, args []string) {
	if neg {
		ts.Fatalf("unsupported: ! pipeline-upload")
	}
	interpolate := true
	if len(args) > 0 && args[0] == "-no-interpolation" {
		interpolate, args = false, args[1:]
	}
	if len(args) < 2 {
		ts.Fatalf("usage: pipeline-upload [-no-interpolation] FILE FIELD [NAME=VALUE...]")
	}
	env := map[string]string{}
	for _, kv := range args[2:] {
		k, v, _ := strings.Cut(kv, "=")
		env[k] = v
	}
	p, err := pipetest.Upload([]byte(ts.ReadFile(args[0])), env, interpolate)
	ts.Check(err)
	for _, st := range p.Steps {
		c, ok := st.(*pipeline.CommandStep)
		if !ok {
			ts.Fatalf("a step of type %T", st)
		}
		var v any
		switch field := args[1]; field {
		case "command":
			v = c.Command
		case "label":
			v = c.Label
		default:
			v = c.RemainingFields[field]
		}
		if v != nil && v != "" {
			fmt.Fprintf(ts.Stdout(), "%s: %v\n", c.Key, v)
		}
	}
}
