package inroot_test

import (
	"errors"
	"io/fs"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/bkgen/bkgen/internal/inroot"
	"github.com/google/go-cmp/cmp"
)

type tree struct {
	t    *testing.T
	root string
}

// newTree makes a root inside a temporary directory, so that a symlink
// may point beside it as well as inside it.
func newTree(t *testing.T) *tree {
	root := filepath.Join(t.TempDir(), "repo")
	if err := os.Mkdir(root, 0o755); err != nil {
		t.Fatal(err)
	}
	return &tree{t, root}
}

func (tr *tree) write(p, content string) {
	tr.t.Helper()
	name := filepath.Join(tr.root, filepath.FromSlash(p))
	if err := os.MkdirAll(filepath.Dir(name), 0o755); err != nil {
		tr.t.Fatal(err)
	}
	if err := os.WriteFile(name, []byte(content), 0o644); err != nil {
		tr.t.Fatal(err)
	}
}

func (tr *tree) symlink(target, p string) {
	tr.t.Helper()
	name := filepath.Join(tr.root, filepath.FromSlash(p))
	if err := os.MkdirAll(filepath.Dir(name), 0o755); err != nil {
		tr.t.Fatal(err)
	}
	if err := os.Symlink(target, name); err != nil {
		tr.t.Fatal(err)
	}
}

var small = inroot.Limit{Bytes: 16, Of: "a test file"}

func TestResolveFollowsLinksInsideTheRoot(t *testing.T) {
	tr := newTree(t)
	tr.write("real/app/main.go", "package main\n")
	tr.symlink("../real/app", "services/app")
	tr.symlink("services", "svc")
	tr.symlink("main.go", "real/app/link.go")

	for _, tc := range []struct {
		name, path string
		links      []string
	}{
		{"real/app", "real/app", nil},
		{".", ".", nil},
		{"services/app", "real/app", []string{"services/app"}},
		{"svc/app/main.go", "real/app/main.go", []string{"svc", "services/app"}},
		{"svc/app/link.go", "real/app/main.go", []string{"svc", "services/app", "real/app/link.go"}},
	} {
		r, err := inroot.Resolve(tr.root, tc.name)
		if err != nil {
			t.Errorf("Resolve(%s): %v", tc.name, err)
			continue
		}
		if r.Path != tc.path || !cmp.Equal(r.Links, tc.links) {
			t.Errorf("Resolve(%s) = %s via %q, want %s via %q", tc.name, r.Path, r.Links, tc.path, tc.links)
		}
	}
	data, r, err := inroot.ReadFile(tr.root, "svc/app/link.go", small)
	if err != nil || string(data) != "package main\n" || r.Path != "real/app/main.go" {
		t.Errorf("ReadFile through links = %q, %s, %v", data, r.Path, err)
	}
}

func TestRefusals(t *testing.T) {
	tr := newTree(t)
	outside := filepath.Join(filepath.Dir(tr.root), "secret")
	if err := os.WriteFile(outside, []byte("SECRET CONTENT\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	tr.write("big", strings.Repeat("x", 17))
	tr.write("exact", strings.Repeat("x", 16))
	tr.write("dir/file", "x")
	tr.write(".git/config", "[core]\n")
	tr.symlink("../secret", "up")
	tr.symlink(outside, "absolute")
	tr.symlink("/dev/zero", "zero")
	tr.symlink("dir/../../secret", "climb")
	tr.symlink("loop2", "loop1")
	tr.symlink("loop1", "loop2")
	tr.symlink(".git/config", "gitconfig")
	tr.symlink("missing", "dangling")

	if _, _, err := inroot.ReadFile(tr.root, "exact", small); err != nil {
		t.Errorf("a file of exactly the limit: %v", err)
	}
	for _, tc := range []struct {
		name string
		is   error
		msg  string
	}{
		{"up", inroot.ErrOutside, "up: the symlink up leads outside the repository"},
		{"absolute", inroot.ErrOutside, "absolute: the symlink absolute leads outside the repository (to an absolute path)"},
		{"zero", inroot.ErrOutside, "zero: the symlink zero leads outside the repository (to an absolute path)"},
		{"climb", inroot.ErrOutside, "climb: the symlink climb leads outside the repository"},
		{"../secret", inroot.ErrOutside, "../secret leads outside the repository"},
		{"loop1", inroot.ErrOutside, "loop1: too many levels of symlinks"},
		{".git/config", inroot.ErrOutside, ".git/config leads into .git, which bkgen does not read"},
		{"gitconfig", inroot.ErrOutside, "gitconfig leads into .git through the symlink gitconfig, which bkgen does not read"},
		{"dangling", fs.ErrNotExist, "dangling does not exist (missing is missing)"},
		{"nope", fs.ErrNotExist, "nope does not exist"},
		{"dir/file/x", nil, "dir/file/x: dir/file is not a directory"},
		{"dir", inroot.ErrKind, "dir is a directory, not a regular file"},
		{"big", inroot.ErrTooLarge, "big is larger than 16 bytes, more than bkgen reads for a test file"},
	} {
		_, _, err := inroot.ReadFile(tr.root, tc.name, small)
		if err == nil {
			t.Errorf("ReadFile(%s) did not fail", tc.name)
			continue
		}
		if tc.is != nil && !errors.Is(err, tc.is) {
			t.Errorf("ReadFile(%s) = %v, want an error that is %v", tc.name, err, tc.is)
		}
		if err.Error() != tc.msg {
			t.Errorf("ReadFile(%s) says %q, want %q", tc.name, err, tc.msg)
		}
		if strings.Contains(err.Error(), tr.root) || strings.Contains(err.Error(), "SECRET") {
			t.Errorf("ReadFile(%s) says %q: an absolute path or content", tc.name, err)
		}
	}
	if _, err := inroot.Dir(tr.root, "big"); !errors.Is(err, inroot.ErrKind) || err.Error() != "big is a regular file, not a directory" {
		t.Errorf("Dir(big) = %v", err)
	}
}
