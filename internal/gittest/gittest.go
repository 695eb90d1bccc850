// Package gittest runs the git binary for tests that build real
// repositories, apart from this machine's git configuration.
package gittest

import (
	"bytes"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
)

// Isolate makes every git this process runs, the tests' own and the code's
// under test, ignore this machine's configuration and find no repository
// above the test directories. Call it from TestMain.
func Isolate() {
	os.Setenv("GIT_CONFIG_GLOBAL", os.DevNull)
	os.Setenv("GIT_CONFIG_NOSYSTEM", "1")
	os.Setenv("GIT_CEILING_DIRECTORIES", os.TempDir())
}

// Command is git run with args in dir, without this machine's
// configuration, committing as a fixed author.
func Command(dir string, args ...string) *exec.Cmd {
	cmd := exec.Command("git", args...)
	cmd.Dir = dir
	cmd.Env = append(os.Environ(),
		"GIT_CONFIG_NOSYSTEM=1", "GIT_CONFIG_GLOBAL="+os.DevNull,
		"GIT_AUTHOR_NAME=Test", "GIT_AUTHOR_EMAIL=test@example.com",
		"GIT_COMMITTER_NAME=Test", "GIT_COMMITTER_EMAIL=test@example.com",
	)
	return cmd
}

// Run runs Command and returns what git printed; a failure fails the test
// with what git said.
func Run(tb testing.TB, dir string, args ...string) string {
	tb.Helper()
	cmd := Command(dir, args...)
	var stderr bytes.Buffer
	cmd.Stderr = &stderr
	out, err := cmd.Output()
	if err != nil {
		tb.Fatalf("git %s: %v\n%s", strings.Join(args, " "), err, stderr.Bytes())
	}
	return string(out)
}

// Main is a TestMain for packages whose tests run git: Isolate, then run.
func Main(m *testing.M) {
	Isolate()
	os.Exit(m.Run())
}

// WriteFiles writes files (slash paths relative to dir, and their text),
// making the directories they need.
func WriteFiles(tb testing.TB, dir string, files map[string]string) {
	tb.Helper()
	for name, text := range files {
		p := filepath.Join(dir, filepath.FromSlash(name))
		if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
			tb.Fatal(err)
		}
		if err := os.WriteFile(p, []byte(text), 0o644); err != nil {
			tb.Fatal(err)
		}
	}
}
