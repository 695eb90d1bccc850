package contentkey

import (
	"context"
	"testing"

	"github.com/bkgen/bkgen/internal/gittest"
)

// ListAndStat lists every directory under dirs of root and stats every file
// in them, as the fast path's walk does, and returns how many files it
// found: the system calls that any fast path must make if it is to trust
// no file it has not looked at.
func ListAndStat(ctx context.Context, root string, dirs []string) (int, error) {
	files, _, err := walk(ctx, root, dirs, canStat)
	return len(files), err
}

// RunGit runs git in dir for a test, isolated from the machine's
// configuration, and returns its output; a failure fails the test.
func RunGit(tb testing.TB, dir string, args ...string) string {
	tb.Helper()
	return gittest.Run(tb, dir, args...)
}
