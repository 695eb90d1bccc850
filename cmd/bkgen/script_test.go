package main

import (
	"os"
	"path/filepath"
	"strings"
	"testing"

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
