// Package fakebin writes executable scripts that tests run in place of a
// real program (git, buildkite-agent).
package fakebin

import (
	"os/exec"
	"strings"
	"testing"
)

// Write writes an executable script at path. Another process writes it: a
// file this process has open for writing, even for a moment, is inherited
// by any child a parallel test forks meanwhile, and running the script then
// fails with "text file busy" until that child execs.
func Write(t testing.TB, path, script string) {
	t.Helper()
	cmd := exec.Command("sh", "-c", `cat > "$1" && chmod 755 "$1"`, "sh", path)
	cmd.Stdin = strings.NewReader(script)
	if out, err := cmd.CombinedOutput(); err != nil {
		t.Fatalf("writing %s: %v\n%s", path, err, out)
	}
}
