//go:build unix

package contentkey_test

import (
	"context"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/bkgen/bkgen/contentkey"
	"github.com/bkgen/bkgen/imagebuild"
)

// computeSoon is Compute, failing the test rather than hanging it.
func computeSoon(t *testing.T, root string, images []contentkey.Image) (map[string]string, error) {
	t.Helper()
	type result struct {
		tags map[string]string
		err  error
	}
	done := make(chan result, 1)
	go func() {
		tags, err := contentkey.Compute(context.Background(), root, images)
		done <- result{tags, err}
	}()
	select {
	case r := <-done:
		return r.tags, r.err
	case <-time.After(20 * time.Second):
		t.Fatalf("Compute did not return within 20s")
		return nil, nil
	}
}

func (r *testRepo) fifo(p string) {
	r.t.Helper()
	if err := syscall.Mkfifo(r.path(p), 0o644); err != nil {
		r.t.Skipf("cannot make a FIFO here: %v", err)
	}
}

// A repository's Dockerfiles and ignore files come from whoever wrote the
// commit: symlinks to devices, FIFOs and huge files are refused, quickly,
// saying nothing of this machine's paths.
func TestHostileDockerfilesAndIgnoreFiles(t *testing.T) {
	t.Parallel()
	for _, tc := range []struct {
		name  string
		setup func(r *testRepo)
		want  string
	}{
		{"Dockerfile to /dev/zero", func(r *testRepo) { r.symlink("/dev/zero", "app/Dockerfile") },
			"app/Dockerfile: the symlink app/Dockerfile leads outside the repository (to an absolute path)"},
		{"Dockerfile to /dev/stdin", func(r *testRepo) { r.symlink("/dev/stdin", "app/Dockerfile") },
			"app/Dockerfile: the symlink app/Dockerfile leads outside the repository (to an absolute path)"},
		{".dockerignore to /dev/urandom", func(r *testRepo) { r.symlink("/dev/urandom", "app/.dockerignore") },
			"app/.dockerignore: the symlink app/.dockerignore leads outside the repository (to an absolute path)"},
		{"Dockerfile.dockerignore to a file outside", func(r *testRepo) { r.symlink("../../outside", "app/Dockerfile.dockerignore") },
			"app/Dockerfile.dockerignore: the symlink app/Dockerfile.dockerignore leads outside the repository"},
		{"Dockerfile a FIFO", func(r *testRepo) { r.must(syscall.Unlink(r.path("app/Dockerfile"))); r.fifo("app/Dockerfile") },
			"app/Dockerfile is a FIFO, not a regular file"},
		{".dockerignore a FIFO", func(r *testRepo) { r.fifo("app/.dockerignore") },
			"app/.dockerignore is a FIFO, not a regular file"},
		{"Dockerfile too large", func(r *testRepo) { r.write("app/Dockerfile", "FROM scratch\n#"+strings.Repeat("x", 4<<20)) },
			"app/Dockerfile is larger than 4 MiB, more than bkgen reads for a Dockerfile"},
		{".dockerignore too large", func(r *testRepo) { r.write("app/.dockerignore", strings.Repeat("x\n", 1<<19)+"y") },
			"app/.dockerignore is larger than 1 MiB, more than bkgen reads for an ignore file"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			r := newRepo(t)
			r.write("app/Dockerfile", "FROM scratch\n")
			r.write("app/main.go", "package main\n")
			tc.setup(r)
			r.commitAll()
			_, err := computeSoon(t, r.dir, []contentkey.Image{{Name: "app", Inputs: imagebuild.Inputs{Context: "app"}}})
			if err == nil || !strings.Contains(err.Error(), tc.want) {
				t.Errorf("err = %v, want one saying %q", err, tc.want)
			}
			if err != nil && strings.Contains(err.Error(), filepath.Dir(r.dir)) {
				t.Errorf("err = %v: names an absolute path", err)
			}
		})
	}
}

// A FIFO in a context is not sent (Docker leaves it out), and does not
// hang the walk.
func TestFIFOInContext(t *testing.T) {
	t.Parallel()
	r := newRepo(t)
	r.write("app/Dockerfile", "FROM scratch\n")
	r.commitAll()
	images := []contentkey.Image{{Name: "app", Inputs: imagebuild.Inputs{Context: "app"}}}
	key := r.keys(images...)["app"]
	r.fifo("app/pipe")
	tags, err := computeSoon(t, r.dir, images)
	if err != nil || tags["app"] != key {
		t.Errorf("with a FIFO in the context: %v, %v; want %s", tags, err, key)
	}
}
