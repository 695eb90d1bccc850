//go:build unix

package inroot_test

import (
	"errors"
	"path/filepath"
	"syscall"
	"testing"

	"github.com/bkgen/bkgen/internal/inroot"
)

// A FIFO is refused without being opened for a blocking read: a read of
// one would wait for a writer forever.
func TestFIFONeverBlocks(t *testing.T) {
	tr := newTree(t)
	if err := syscall.Mkfifo(filepath.Join(tr.root, "fifo"), 0o644); err != nil {
		t.Skipf("cannot make a FIFO here: %v", err)
	}
	tr.symlink("fifo", "Dockerfile")
	for _, name := range []string{"fifo", "Dockerfile"} {
		_, _, err := inroot.ReadFile(tr.root, name, small)
		if !errors.Is(err, inroot.ErrKind) || err.Error() != name+" is a FIFO, not a regular file" {
			t.Errorf("ReadFile(%s) = %v", name, err)
		}
	}
}
