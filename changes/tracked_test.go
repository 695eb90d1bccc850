package changes

import (
	"context"
	"os"
	"path/filepath"
	"testing"

	"github.com/google/go-cmp/cmp"
)

func TestTrackedFiles(t *testing.T) {
	t.Parallel()
	r := newRepo(t)
	if got := TrackedFiles(context.Background(), r.dir); got == nil || len(got) != 0 {
		t.Errorf("no commit yet: %q, want an empty list", got)
	}
	r.commit("initial", "services/api/main.go", "README.md", "odd name\n.txt")
	if err := os.WriteFile(filepath.Join(r.dir, "untracked.txt"), []byte("x"), 0o644); err != nil {
		t.Fatal(err)
	}
	want := []string{"README.md", "odd name\n.txt", "services/api/main.go"}
	if diff := cmp.Diff(want, TrackedFiles(context.Background(), r.dir)); diff != "" {
		t.Errorf("at the top (-want +got):\n%s", diff)
	}
	// Below the top level: that directory's files, named from the top.
	if diff := cmp.Diff([]string{"services/api/main.go"}, TrackedFiles(context.Background(), filepath.Join(r.dir, "services"))); diff != "" {
		t.Errorf("in a subdirectory (-want +got):\n%s", diff)
	}
	if got := TrackedFiles(context.Background(), t.TempDir()); got != nil {
		t.Errorf("outside a checkout: %q, want nil", got)
	}
}
