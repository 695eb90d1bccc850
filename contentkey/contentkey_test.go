package contentkey_test

import (
	"context"
	"crypto/sha1"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"os/exec"
	"path/filepath"
	"reflect"
	"regexp"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/bkgen/bkgen/contentkey"
	"github.com/bkgen/bkgen/imagebuild"
	"github.com/google/go-cmp/cmp"
)

// A testRepo is a git repository in a temporary directory, driven with the
// real git binary.
type testRepo struct {
	t   *testing.T
	dir string
}

func newRepo(t *testing.T, initArgs ...string) *testRepo {
	t.Helper()
	r := &testRepo{t: t, dir: t.TempDir()}
	r.git(append([]string{"init", "--quiet"}, initArgs...)...)
	return r
}

// newDir is a plain directory, no git.
func newDir(t *testing.T) *testRepo {
	return &testRepo{t: t, dir: t.TempDir()}
}

func (r *testRepo) git(args ...string) string {
	r.t.Helper()
	return contentkey.RunGit(r.t, r.dir, args...)
}

func (r *testRepo) path(p string) string { return filepath.Join(r.dir, filepath.FromSlash(p)) }

// write writes a file an hour in the past, as a checkout's files are older
// than its index. Files as new as the index are "racily clean": the fast
// path would hash them all rather than trust the index, which is what
// these tests are here to check.
func (r *testRepo) write(p, content string) {
	r.t.Helper()
	if err := os.MkdirAll(filepath.Dir(r.path(p)), 0o755); err != nil {
		r.t.Fatal(err)
	}
	if err := os.WriteFile(r.path(p), []byte(content), 0o644); err != nil {
		r.t.Fatal(err)
	}
	old := time.Now().Add(-time.Hour)
	if err := os.Chtimes(r.path(p), old, old); err != nil {
		r.t.Fatal(err)
	}
}

func (r *testRepo) symlink(target, p string) {
	r.t.Helper()
	if err := os.MkdirAll(filepath.Dir(r.path(p)), 0o755); err != nil {
		r.t.Fatal(err)
	}
	os.Remove(r.path(p))
	if err := os.Symlink(target, r.path(p)); err != nil {
		r.t.Fatal(err)
	}
}

func (r *testRepo) commitAll() {
	r.t.Helper()
	r.git("add", "--all")
	r.git("commit", "--quiet", "--allow-empty", "--message", "test")
}

func (r *testRepo) must(err error) {
	r.t.Helper()
	if err != nil {
		r.t.Fatal(err)
	}
}

// keys computes the tags of images in r twice, through git and from disk
// alone, and checks they agree: every test doubles as a test of the fast
// path.
func (r *testRepo) keys(images ...contentkey.Image) map[string]string {
	r.t.Helper()
	ctx := context.Background()
	fast, err := contentkey.Compute(ctx, r.dir, images)
	if err != nil {
		r.t.Fatalf("Compute: %v", err)
	}
	slow, err := contentkey.ComputeWith(ctx, contentkey.Options{Root: r.dir, NoGit: true}, images)
	if err != nil {
		r.t.Fatalf("ComputeWith NoGit: %v", err)
	}
	if diff := cmp.Diff(slow, fast); diff != "" {
		r.t.Fatalf("keys through git differ from keys from disk (-disk +git):\n%s", diff)
	}
	return fast
}

// fixture is a small monorepo: app depends on base; .dockerignore uses
// comments, "**", "!" exceptions and a leading "/"; a build output is
// git-ignored; README.md is outside every context.
func fixture(t *testing.T) (*testRepo, []contentkey.Image) {
	r := newRepo(t)
	r.write("README.md", "outside every context\n")
	r.write(".gitignore", "build/\n")
	r.write("base/Dockerfile", "FROM alpine:3.20\n")
	r.write("base/etc/motd", "hello\n")
	r.write("app/Dockerfile", "ARG BASE\nFROM $BASE\nCOPY . /app\n")
	r.write("app/.dockerignore", "# logs and docs stay out\n*.log\n**/*.tmp\ndocs/**\n!docs/keep.md\n/top.txt\nvendor\n")
	r.write("app/main.go", "package main\n")
	r.write("app/lib/util.go", "package lib\n")
	r.write("app/run.sh", "#!/bin/sh\n")
	r.write("app/debug.log", "noise\n")
	r.write("app/lib/deep/cache.tmp", "noise\n")
	r.write("app/docs/guide.md", "guide\n")
	r.write("app/docs/keep.md", "kept\n")
	r.write("app/top.txt", "excluded at the top only\n")
	r.write("app/lib/top.txt", "included below the top\n")
	r.write("app/build/out.bin", "built\n")
	r.write("app/vendor/dep/dep.go", "package dep\n")
	r.symlink("main.go", "app/link")
	r.commitAll()
	return r, []contentkey.Image{
		{Name: "base", Inputs: imagebuild.Inputs{Context: "base"}},
		{Name: "app", Inputs: imagebuild.Inputs{Context: "app", Args: []imagebuild.KV{{Key: "MODE", Value: "prod"}}, Target: "runtime", Platforms: []string{"linux/amd64"}, Secrets: []string{"NPM_TOKEN"}, DependsOn: []string{"base"}}},
	}
}

func TestKeyFormat(t *testing.T) {
	t.Parallel()
	r := newDir(t)
	r.write("Dockerfile", "FROM scratch\n")
	r.write("ctx/a.txt", "a\n")
	r.must(os.Mkdir(r.path("ctx/bin"), 0o755))
	r.write("ctx/bin/run", "#!/bin/sh\n")
	r.must(os.Chmod(r.path("ctx/bin/run"), 0o755))
	r.symlink("a.txt", "ctx/link")

	r.write("base/Dockerfile", "FROM scratch\n")
	img := contentkey.Image{Name: "x", Inputs: imagebuild.Inputs{Context: "ctx", Dockerfile: "Dockerfile", Args: []imagebuild.KV{{Key: "B", Value: "2"}, {Key: "A", Value: "1"}},
		Labels: []imagebuild.KV{{Key: "b", Value: "y"}, {Key: "a", Value: "x"}}, Target: "t", Platforms: []string{"linux/arm64", "linux/amd64", "linux/arm64"}, Secrets: []string{"S"}, DependsOn: []string{"base"}}}
	keys := r.keys(img, contentkey.Image{Name: "base", Inputs: imagebuild.Inputs{Context: "base"}})
	got := keys["x"]
	salted := img
	salted.KeySalt = "cve-2026-1"
	salted.Provenance, salted.SBOM = "min", "g:1"
	salted.Network, salted.AddHosts, salted.SSH, salted.ShmSize = "none", []string{"b:2", "a:1"}, []string{"default"}, "1g"
	salted.BuildContexts = []imagebuild.KV{{Key: "x", Value: "docker-image://x:1"}}
	salted.Bases = []imagebuild.KV{{Key: "z:1", Value: "sha256:2"}, {Key: "a:1", Value: "sha256:1"}}
	gotSalted := r.keys(salted, contentkey.Image{Name: "base", Inputs: imagebuild.Inputs{Context: "base"}})["x"]

	// The encoding, written out as the package documentation describes it.
	blob := func(s string) string {
		return fmt.Sprintf("%x", sha1.Sum(fmt.Appendf(nil, "blob %d\x00%s", len(s), s)))
	}
	f := func(fields ...string) string {
		var b strings.Builder
		for i, s := range fields {
			if i > 0 {
				b.WriteByte(' ')
			}
			fmt.Fprintf(&b, "%d:%s", len(s), s)
		}
		return b.String() + "\n"
	}
	enc := f("bkgen-contentkey", "2") +
		f("objects", "sha1") +
		f("dockerfile", blob("FROM scratch\n")) +
		f("target", "t") +
		f("platform", "linux/amd64") + f("platform", "linux/arm64") +
		f("arg", "A", "1") + f("arg", "B", "2") +
		f("label", "a", "x") + f("label", "b", "y") +
		f("secret", "S") +
		f("file", "a.txt", "100644", blob("a\n")) +
		f("file", "bin/run", "100755", blob("#!/bin/sh\n")) +
		f("file", "link", "120000", blob("a.txt")) +
		f("depends", "base", keys["base"])
	sum := sha256.Sum256([]byte(enc))
	if want := "bk-" + hex.EncodeToString(sum[:8]); got != want {
		t.Errorf("key = %s, want %s", got, want)
	}
	// A salt and bases are more records, after the secrets; without them
	// there are none, so the key above is what it was before either.
	encSalted := strings.Replace(enc, f("secret", "S"), f("secret", "S")+f("network", "none")+f("add-host", "a:1")+f("add-host", "b:2")+f("ssh", "default")+f("shm-size", "1g")+f("build-context", "x", "docker-image://x:1")+f("provenance", "min")+f("sbom", "g:1")+f("salt", "cve-2026-1")+f("base", "a:1", "sha256:1")+f("base", "z:1", "sha256:2"), 1)
	sum = sha256.Sum256([]byte(encSalted))
	if want := "bk-" + hex.EncodeToString(sum[:8]); gotSalted != want {
		t.Errorf("salted key = %s, want %s", gotSalted, want)
	}
	if !regexp.MustCompile(`^bk-[0-9a-f]{16}$`).MatchString(got) {
		t.Errorf("key %q is not bk- and 16 hex digits", got)
	}
}

// TestKeyChanges changes one thing at a time in the fixture and checks
// which keys move.
func TestKeyChanges(t *testing.T) {
	t.Parallel()
	type change func(r *testRepo, images []contentkey.Image)
	for _, tc := range []struct {
		name    string
		change  change
		changed []string // the images whose key must change; the rest must not
	}{
		// Nothing an image's build sees.
		{"touch a tracked file", func(r *testRepo, _ []contentkey.Image) {
			later := time.Now().Add(time.Hour)
			r.must(os.Chtimes(r.path("app/main.go"), later, later))
		}, nil},
		{"touch a git-ignored file", func(r *testRepo, _ []contentkey.Image) {
			r.must(os.Chtimes(r.path("app/build/out.bin"), time.Unix(1, 0), time.Unix(1, 0)))
		}, nil},
		{"edit a file outside the contexts", func(r *testRepo, _ []contentkey.Image) {
			r.write("README.md", "changed\n")
			r.write("other/new.txt", "new\n")
		}, nil},
		{"commit an edit outside the contexts", func(r *testRepo, _ []contentkey.Image) {
			r.write("README.md", "changed\n")
			r.commitAll()
		}, nil},
		{"edit .dockerignore'd files", func(r *testRepo, _ []contentkey.Image) {
			r.write("app/debug.log", "more noise\n")
			r.write("app/lib/deep/cache.tmp", "more noise\n") // **/*.tmp
			r.write("app/docs/guide.md", "rewritten\n")       // docs/**
			r.write("app/top.txt", "rewritten\n")             // /top.txt
			r.write("app/vendor/dep/dep.go", "rewritten\n")   // vendor
			r.write("app/docs/new.md", "new\n")
			r.write("app/new.log", "new\n")
		}, nil},
		{"commit the work tree as it is", func(r *testRepo, _ []contentkey.Image) {
			r.git("add", "--force", "app/build/out.bin")
			r.commitAll()
		}, nil},
		{"list images in another order", func(_ *testRepo, images []contentkey.Image) {
			slices.Reverse(images)
		}, nil},
		{"list platforms in another order", func(_ *testRepo, images []contentkey.Image) {
			images[1].Platforms = []string{"linux/amd64", "linux/amd64"}
		}, nil},
		{"restore a file's content", func(r *testRepo, _ []contentkey.Image) {
			r.write("app/main.go", "package other\n")
			r.write("app/main.go", "package main\n")
		}, nil},

		// What an image's build sees.
		{"edit a file without committing", func(r *testRepo, _ []contentkey.Image) {
			r.write("app/main.go", "package main // edited\n")
		}, []string{"app"}},
		{"commit an edit", func(r *testRepo, _ []contentkey.Image) {
			r.write("app/lib/util.go", "package lib // edited\n")
			r.commitAll()
		}, []string{"app"}},
		{"stage an edit", func(r *testRepo, _ []contentkey.Image) {
			r.write("app/lib/util.go", "package lib // edited\n")
			r.git("add", "app/lib/util.go")
		}, []string{"app"}},
		{"make a file executable", func(r *testRepo, _ []contentkey.Image) {
			r.must(os.Chmod(r.path("app/run.sh"), 0o755))
		}, []string{"app"}},
		{"add a file and commit it", func(r *testRepo, _ []contentkey.Image) {
			r.write("app/lib/new.go", "package lib\n")
			r.commitAll()
		}, []string{"app"}},
		{"add an untracked file", func(r *testRepo, _ []contentkey.Image) {
			r.write("app/lib/new.go", "package lib\n")
		}, []string{"app"}},
		{"add an empty untracked file", func(r *testRepo, _ []contentkey.Image) {
			r.write("app/empty", "")
		}, []string{"app"}},
		{"add a file git ignores", func(r *testRepo, _ []contentkey.Image) {
			r.write("app/build/extra.bin", "built too\n")
		}, []string{"app"}},
		{"edit a file git ignores", func(r *testRepo, _ []contentkey.Image) {
			r.write("app/build/out.bin", "built again\n")
		}, []string{"app"}},
		{"delete a file", func(r *testRepo, _ []contentkey.Image) {
			r.must(os.Remove(r.path("app/lib/util.go")))
		}, []string{"app"}},
		{"delete a file and commit", func(r *testRepo, _ []contentkey.Image) {
			r.git("rm", "--quiet", "app/lib/util.go")
			r.commitAll()
		}, []string{"app"}},
		{"rename a file", func(r *testRepo, _ []contentkey.Image) {
			r.git("mv", "app/lib/util.go", "app/lib/utils.go")
		}, []string{"app"}},
		{"edit a file kept by a ! exception", func(r *testRepo, _ []contentkey.Image) {
			r.write("app/docs/keep.md", "still kept\n")
		}, []string{"app"}},
		{"edit a file /top.txt does not exclude", func(r *testRepo, _ []contentkey.Image) {
			r.write("app/lib/top.txt", "rewritten\n")
		}, []string{"app"}},
		{"edit .dockerignore", func(r *testRepo, _ []contentkey.Image) {
			r.write("app/.dockerignore", "*.log\n")
		}, []string{"app"}},
		{"edit the Dockerfile", func(r *testRepo, _ []contentkey.Image) {
			r.write("app/Dockerfile", "ARG BASE\nFROM $BASE\nCOPY . /srv\n")
		}, []string{"app"}},
		{"point a symlink elsewhere", func(r *testRepo, _ []contentkey.Image) {
			r.symlink("lib/util.go", "app/link")
		}, []string{"app"}},
		{"replace a symlink with its target's content", func(r *testRepo, _ []contentkey.Image) {
			r.must(os.Remove(r.path("app/link")))
			r.write("app/link", "main.go")
		}, []string{"app"}},
		{"change an arg", func(_ *testRepo, images []contentkey.Image) {
			images[1].Args = []imagebuild.KV{{Key: "MODE", Value: "dev"}}
		}, []string{"app"}},
		{"add an arg", func(_ *testRepo, images []contentkey.Image) {
			images[1].Args = []imagebuild.KV{{Key: "MODE", Value: "prod"}, {Key: "DEBUG", Value: ""}}
		}, []string{"app"}},
		{"change the target", func(_ *testRepo, images []contentkey.Image) {
			images[1].Target = "debug"
		}, []string{"app"}},
		{"add a platform", func(_ *testRepo, images []contentkey.Image) {
			images[1].Platforms = []string{"linux/amd64", "linux/arm64"}
		}, []string{"app"}},
		{"add a secret", func(_ *testRepo, images []contentkey.Image) {
			images[1].Secrets = []string{"NPM_TOKEN", "GITHUB_TOKEN"}
		}, []string{"app"}},
		{"rename a secret", func(_ *testRepo, images []contentkey.Image) {
			images[1].Secrets = []string{"NPM_AUTH"}
		}, []string{"app"}},
		{"add a label", func(_ *testRepo, images []contentkey.Image) {
			images[1].Labels = []imagebuild.KV{{Key: "org.opencontainers.image.description", Value: "a"}}
		}, []string{"app"}},
		{"edit the base image's context", func(r *testRepo, _ []contentkey.Image) {
			r.write("base/etc/motd", "good morning\n")
		}, []string{"base", "app"}},
		{"change the base image's args", func(_ *testRepo, images []contentkey.Image) {
			images[0].Args = []imagebuild.KV{{Key: "ALPINE", Value: "3.21"}}
		}, []string{"base", "app"}},
		{"drop the dependency", func(_ *testRepo, images []contentkey.Image) {
			images[1].DependsOn = nil
		}, []string{"app"}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			r, images := fixture(t)
			before := r.keys(images...)
			tc.change(r, images)
			after := r.keys(images...)
			for _, name := range []string{"base", "app"} {
				changed := before[name] != after[name]
				if want := slices.Contains(tc.changed, name); changed != want {
					t.Errorf("%s: key changed = %v, want %v (%s -> %s)", name, changed, want, before[name], after[name])
				}
			}
		})
	}
}

// Keys are the same whether the files come from git or from disk: the same
// tree outside git, and a root below the top of a checkout, key alike.
func TestSameTreeInsideAndOutsideGit(t *testing.T) {
	t.Parallel()
	r, images := fixture(t)
	r.write("app/untracked.txt", "untracked\n")
	inGit := r.keys(images...)

	plain := newDir(t)
	r.must(os.CopyFS(plain.dir, os.DirFS(r.dir)))
	r.must(os.RemoveAll(plain.path(".git")))
	if diff := cmp.Diff(inGit, plain.keys(images...)); diff != "" {
		t.Errorf("keys outside git differ (-git +plain):\n%s", diff)
	}

	// The same tree one level down in a bigger checkout.
	outer := newRepo(t)
	outer.write("unrelated/file", "x\n")
	r.must(os.CopyFS(outer.path("sub/root"), os.DirFS(plain.dir)))
	outer.commitAll()
	sub := &testRepo{t: t, dir: outer.path("sub/root")}
	if diff := cmp.Diff(inGit, sub.keys(images...)); diff != "" {
		t.Errorf("keys below the top of a checkout differ (-own repo +subdirectory):\n%s", diff)
	}
	sub.write("app/main.go", "package main // edited\n")
	if edited := sub.keys(images...); edited["app"] == inGit["app"] {
		t.Errorf("an edit below the top of a checkout did not change the key")
	}
}

func TestSHA256Repository(t *testing.T) {
	t.Parallel()
	r := newRepo(t, "--object-format=sha256")
	r.write("Dockerfile", "FROM scratch\n")
	r.write("a.txt", "a\n")
	r.commitAll()
	r.write("b.txt", "untracked, hashed from disk\n")
	images := []contentkey.Image{{Name: "x"}}
	before, err := contentkey.Compute(context.Background(), r.dir, images)
	r.must(err)
	r.commitAll() // now b.txt's id comes from the index
	after, err := contentkey.Compute(context.Background(), r.dir, images)
	r.must(err)
	if before["x"] != after["x"] {
		t.Errorf("committing a file changed the key: %s -> %s", before["x"], after["x"])
	}
}

func TestDockerfileDockerignoreWins(t *testing.T) {
	t.Parallel()
	r := newRepo(t)
	r.write("app/Dockerfile", "FROM scratch\n")
	r.write("app/.dockerignore", "*.log\n")
	r.write("app/Dockerfile.dockerignore", "*.txt\n")
	r.write("app/a.txt", "a\n")
	r.write("app/a.log", "a\n")
	r.commitAll()
	images := []contentkey.Image{{Name: "app", Inputs: imagebuild.Inputs{Context: "app"}}}
	before := r.keys(images...)

	r.write("app/a.txt", "excluded by Dockerfile.dockerignore\n")
	if after := r.keys(images...); after["app"] != before["app"] {
		t.Errorf("a file Dockerfile.dockerignore excludes changed the key")
	}
	r.write("app/a.log", ".dockerignore is not read when Dockerfile.dockerignore exists\n")
	if after := r.keys(images...); after["app"] == before["app"] {
		t.Errorf("a file only .dockerignore excludes did not change the key")
	}
}

func TestDockerfileOutsideContext(t *testing.T) {
	t.Parallel()
	r := newRepo(t)
	r.write("docker/app.Dockerfile", "FROM scratch\nCOPY . /\n")
	r.write("docker/app.Dockerfile.dockerignore", "secret.txt\n")
	r.write("docker/other.Dockerfile", "FROM scratch\n")
	r.write("app/main.go", "package main\n")
	r.write("app/secret.txt", "s\n")
	r.commitAll()
	images := []contentkey.Image{{Name: "app", Inputs: imagebuild.Inputs{Context: "app", Dockerfile: "docker/app.Dockerfile"}}}
	key := r.keys(images...)["app"]

	for _, tc := range []struct {
		file, content string
		changes       bool
	}{
		{"docker/other.Dockerfile", "FROM alpine\n", false},
		{"app/secret.txt", "excluded by the Dockerfile's ignore file\n", false},
		{"app/main.go", "package main // edited\n", true},
		{"docker/app.Dockerfile", "FROM scratch\nCOPY . /srv\n", true},
	} {
		r.write(tc.file, tc.content)
		next := r.keys(images...)["app"]
		if changed := next != key; changed != tc.changes {
			t.Errorf("after editing %s: key changed = %v, want %v", tc.file, changed, tc.changes)
		}
		key = next
	}
}

func TestSymlinks(t *testing.T) {
	t.Parallel()
	r := newRepo(t)
	r.write("ctx/Dockerfile", "FROM scratch\n")
	r.write("outside.txt", "outside\n")
	r.symlink("../outside.txt", "ctx/escape")
	r.symlink("../elsewhere", "ctx/dirlink")
	r.write("elsewhere/file", "not in the context\n")
	r.symlink("missing", "ctx/dangling")
	r.commitAll()
	images := []contentkey.Image{{Name: "x", Inputs: imagebuild.Inputs{Context: "ctx"}}}
	key := r.keys(images...)["x"]

	// Docker sends symlinks as they are: what they point to does not count.
	r.write("outside.txt", "changed\n")
	r.write("elsewhere/file", "changed\n")
	if next := r.keys(images...)["x"]; next != key {
		t.Errorf("a symlink's target's content changed the key")
	}
	r.symlink("../elsewhere/file", "ctx/escape")
	if next := r.keys(images...)["x"]; next == key {
		t.Errorf("pointing a symlink elsewhere did not change the key")
	}
}

func TestUnusualPaths(t *testing.T) {
	t.Parallel()
	r := newRepo(t)
	names := []string{"with space/file name.txt", "naïve/日本語.txt", `quote"and\backslash`, "tab\there", "-dash", "#hash"}
	const dir = "my app [1]*"
	r.write(dir+"/Dockerfile", "FROM scratch\n")
	for _, n := range names {
		r.write(dir+"/"+n, n+"\n")
	}
	r.commitAll()
	images := []contentkey.Image{{Name: "x", Inputs: imagebuild.Inputs{Context: dir}}}
	key := r.keys(images...)["x"]

	plain := newDir(t)
	r.must(os.CopyFS(plain.dir, os.DirFS(r.path("."))))
	r.must(os.RemoveAll(plain.path(".git")))
	if got := plain.keys(images...)["x"]; got != key {
		t.Errorf("outside git: key %s, in git %s", got, key)
	}
	for _, n := range names {
		r.write(dir+"/"+n, "edited\n")
		next := r.keys(images...)["x"]
		if next == key {
			t.Errorf("editing %q did not change the key", n)
		}
		key = next
	}
}

func TestGitCannotSeeEdits(t *testing.T) {
	t.Parallel()
	r := newRepo(t)
	r.write("Dockerfile", "FROM scratch\n")
	r.write("assumed.txt", "a\n")
	r.write("skipped.txt", "s\n")
	r.commitAll()
	images := []contentkey.Image{{Name: "x"}}
	key := r.keys(images...)["x"]

	// git is told not to look at these files; Docker still sends them.
	r.git("update-index", "--assume-unchanged", "assumed.txt")
	r.git("update-index", "--skip-worktree", "skipped.txt")
	r.write("assumed.txt", "edited\n")
	r.write("skipped.txt", "edited\n")
	if next := r.keys(images...)["x"]; next == key {
		t.Errorf("edits behind assume-unchanged and skip-worktree did not change the key")
	}
}

func TestNestedRepository(t *testing.T) {
	t.Parallel()
	r := newRepo(t)
	r.write("ctx/Dockerfile", "FROM scratch\n")
	r.commitAll()
	nested := &testRepo{t: t, dir: r.path("ctx/vendor/lib")}
	r.must(os.MkdirAll(nested.dir, 0o755))
	nested.git("init", "--quiet")
	nested.write("lib.go", "package lib\n")
	nested.commitAll()
	images := []contentkey.Image{{Name: "x", Inputs: imagebuild.Inputs{Context: "ctx"}}}
	key := r.keys(images...)["x"]

	// Its files count; its .git does not.
	nested.write("lib.go", "package lib // edited\n")
	nested.commitAll()
	edited := r.keys(images...)["x"]
	if edited == key {
		t.Errorf("editing a file of a nested repository did not change the key")
	}
	nested.git("commit", "--quiet", "--allow-empty", "--message", "another")
	if next := r.keys(images...)["x"]; next != edited {
		t.Errorf("a commit in a nested repository's .git changed the key")
	}
}

func TestSubmodule(t *testing.T) {
	t.Parallel()
	lib := newRepo(t)
	lib.write("lib.go", "package lib\n")
	lib.commitAll()
	r := newRepo(t)
	r.write("ctx/Dockerfile", "FROM scratch\n")
	r.git("-c", "protocol.file.allow=always", "submodule", "--quiet", "add", lib.dir, "ctx/lib")
	r.commitAll()
	images := []contentkey.Image{{Name: "x", Inputs: imagebuild.Inputs{Context: "ctx"}}}
	key := r.keys(images...)["x"]

	// Docker sends a submodule's checked-out files like any others.
	r.write("ctx/lib/lib.go", "package lib // edited\n")
	if next := r.keys(images...)["x"]; next == key {
		t.Errorf("editing a file of a submodule did not change the key")
	}
}

func TestEmptyDirectoriesDoNotCount(t *testing.T) {
	t.Parallel()
	r := newRepo(t)
	r.write("Dockerfile", "FROM scratch\n")
	r.commitAll()
	images := []contentkey.Image{{Name: "x"}}
	key := r.keys(images...)["x"]
	r.must(os.MkdirAll(r.path("empty/nested"), 0o755))
	if next := r.keys(images...)["x"]; next != key {
		t.Errorf("an empty directory changed the key")
	}
}

func TestNoGitOnPath(t *testing.T) {
	r, images := fixture(t)
	want := r.keys(images...)
	t.Setenv("PATH", t.TempDir())
	got, err := contentkey.Compute(context.Background(), r.dir, images)
	r.must(err)
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("keys without git differ (-with +without):\n%s", diff)
	}
	if _, err := contentkey.ComputeWith(context.Background(), contentkey.Options{Root: r.dir, Git: "/no/such/git"}, images); err == nil {
		t.Errorf("an explicit git binary that does not exist is not an error")
	}
}

func TestErrors(t *testing.T) {
	t.Parallel()
	r := newDir(t)
	r.write("Dockerfile", "FROM scratch\n")
	r.write("ctx/Dockerfile", "FROM scratch\n")
	r.write("bad/Dockerfile", "FROM scratch\n")
	r.write("bad/.dockerignore", "# the second line is bad\n[\n")
	for _, tc := range []struct {
		name   string
		images []contentkey.Image
		want   string
	}{
		{"cycle", []contentkey.Image{
			{Name: "a", Inputs: imagebuild.Inputs{DependsOn: []string{"b"}}},
			{Name: "b", Inputs: imagebuild.Inputs{DependsOn: []string{"c"}}},
			{Name: "c", Inputs: imagebuild.Inputs{DependsOn: []string{"a"}}},
		}, "cycle: a -> b -> c -> a"},
		{"self", []contentkey.Image{{Name: "a", Inputs: imagebuild.Inputs{DependsOn: []string{"a"}}}}, "cycle: a -> a"},
		{"unknown dependency", []contentkey.Image{{Name: "a", Inputs: imagebuild.Inputs{DependsOn: []string{"nope"}}}}, `image "a" depends on unknown image "nope"`},
		{"duplicate name", []contentkey.Image{{Name: "a"}, {Name: "a"}}, `image "a" is listed twice`},
		{"no name", []contentkey.Image{{}}, "no name"},
		{"missing context", []contentkey.Image{{Name: "a", Inputs: imagebuild.Inputs{Context: "nope"}}}, `image "a": context: nope does not exist`},
		{"context outside the root", []contentkey.Image{{Name: "a", Inputs: imagebuild.Inputs{Context: "../x"}}}, "not a path inside the root"},
		{"missing Dockerfile", []contentkey.Image{{Name: "a", Inputs: imagebuild.Inputs{Context: "ctx", Dockerfile: "ctx/nope"}}}, `image "a": dockerfile: ctx/nope does not exist`},
		{"bad .dockerignore", []contentkey.Image{{Name: "a", Inputs: imagebuild.Inputs{Context: "bad"}}}, `image "a": ignore file: bad/.dockerignore: line 2: syntax error in pattern`},
	} {
		t.Run(tc.name, func(t *testing.T) {
			_, err := contentkey.Compute(context.Background(), r.dir, tc.images)
			if err == nil || !strings.Contains(err.Error(), tc.want) {
				t.Errorf("err = %v, want one saying %q", err, tc.want)
			}
		})
	}
}

func TestCancelled(t *testing.T) {
	t.Parallel()
	r, images := fixture(t)
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	if _, err := contentkey.Compute(ctx, r.dir, images); err == nil {
		t.Errorf("a cancelled context is not an error")
	}
}

// Every image's problems come at once, each naming the input at fault,
// with paths relative to the root.
func TestProblemsAllAtOnce(t *testing.T) {
	t.Parallel()
	r := newDir(t)
	r.write("ctx/Dockerfile", "FROM scratch\n")
	r.write("empty/README", "no Dockerfile here\n")
	r.write("file.txt", "not a directory\n")
	r.write("bad/Dockerfile", "FROM scratch\n")
	r.write("bad/.dockerignore", "ok\n!\n")
	r.write("../outside/Dockerfile", "FROM scratch\n")
	r.symlink("../outside", "up")
	images := []contentkey.Image{
		{Name: "good", Inputs: imagebuild.Inputs{Context: "ctx"}},
		{Name: "missing", Inputs: imagebuild.Inputs{Context: "nope"}},
		{Name: "file", Inputs: imagebuild.Inputs{Context: "file.txt"}},
		{Name: "no-dockerfile", Inputs: imagebuild.Inputs{Context: "empty"}},
		{Name: "escape", Inputs: imagebuild.Inputs{Context: "up"}},
		{Name: "dockerfile-dir", Inputs: imagebuild.Inputs{Context: "ctx", Dockerfile: "ctx"}},
		{Name: "both", Inputs: imagebuild.Inputs{Context: "nope", Dockerfile: "nope.Dockerfile"}},
		{Name: "bad-ignore", Inputs: imagebuild.Inputs{Context: "bad"}},
	}
	_, err := contentkey.Compute(context.Background(), r.dir, images)
	var problems contentkey.Problems
	if !errors.As(err, &problems) {
		t.Fatalf("err = %v, want Problems", err)
	}
	var got []string
	for _, p := range problems {
		got = append(got, fmt.Sprintf("%s %s: %s", p.Image, p.Input, p.Msg))
	}
	want := []string{
		"missing context: nope does not exist",
		"file context: file.txt is a regular file, not a directory",
		"no-dockerfile dockerfile: empty/Dockerfile does not exist",
		"escape context: up: the symlink up leads outside the repository",
		"dockerfile-dir dockerfile: ctx is a directory, not a regular file",
		"both context: nope does not exist",
		"both dockerfile: nope.Dockerfile does not exist",
		`bad-ignore ignore file: bad/.dockerignore: line 2: illegal exclusion pattern: "!"`,
	}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("problems (-want +got):\n%s", diff)
	}
	if !errors.Is(problems[0], fs.ErrNotExist) {
		t.Errorf("a missing context is not fs.ErrNotExist")
	}
}

// Docker follows a symlinked context, or a Dockerfile through a symlinked
// directory; so do keys, and the paths that count as inputs are where the
// symlinks lead, and the symlinks themselves.
func TestSymlinkedContext(t *testing.T) {
	t.Parallel()
	r := newRepo(t)
	r.write("real/app/Dockerfile", "FROM scratch\n")
	r.write("real/app/main.go", "package main\n")
	r.write("real/app/.dockerignore", "*.log\n")
	r.write("docker/tool.Dockerfile", "FROM scratch\n")
	r.write("tool/main.go", "package main\n")
	r.symlink("../real/app", "services/app")
	r.symlink("docker", "dockerfiles")
	r.write("Dockerfile", "FROM scratch\n")
	r.commitAll()
	images := []contentkey.Image{
		{Name: "app", Inputs: imagebuild.Inputs{Context: "services/app"}},
		{Name: "real", Inputs: imagebuild.Inputs{Context: "real/app"}},
		{Name: "tool", Inputs: imagebuild.Inputs{Context: "tool", Dockerfile: "dockerfiles/tool.Dockerfile"}},
		{Name: "all", Inputs: imagebuild.Inputs{Context: "."}},
	}
	keys := r.keys(images...)
	if keys["app"] != keys["real"] {
		t.Errorf("a context through a symlink keys as its target: %s, %s", keys["app"], keys["real"])
	}

	r.write("real/app/main.go", "package main // edited\n")
	next := r.keys(images...)
	if next["app"] == keys["app"] {
		t.Errorf("editing a file of a symlinked context did not change its key")
	}
	r.write("docker/tool.Dockerfile", "FROM alpine\n")
	if after := r.keys(images...); after["tool"] == next["tool"] {
		t.Errorf("editing a Dockerfile through a symlinked directory did not change its key")
	}

	a, err := contentkey.Analyze(context.Background(), contentkey.Options{Root: r.dir}, images)
	r.must(err)
	want := map[string]contentkey.Paths{
		"app": {Context: "real/app", Dockerfile: "real/app/Dockerfile", Files: []string{"real/app/.dockerignore", "real/app/Dockerfile", "real/app/Dockerfile.dockerignore", "services/app"}},
		"tool": {Context: "tool", Dockerfile: "docker/tool.Dockerfile", Files: []string{
			"docker/tool.Dockerfile", "docker/tool.Dockerfile.dockerignore", "dockerfiles", "tool/.dockerignore"}},
	}
	for name, w := range want {
		if diff := cmp.Diff(w, a.Paths[name]); diff != "" {
			t.Errorf("%s: paths (-want +got):\n%s", name, diff)
		}
	}
	for p, want := range map[string]bool{
		"real/app/main.go":       true,
		"real/app/debug.log":     false,
		"services/app":           true,
		"services/app/main.go":   false, // nothing is there but through the symlink
		"real/app/.dockerignore": true,
	} {
		if got := a.Inputs["app"](p); got != want {
			t.Errorf("app: is %s an input = %v, want %v", p, got, want)
		}
	}
	if !a.Inputs["tool"]("dockerfiles") || !a.Inputs["tool"]("docker/tool.Dockerfile") {
		t.Errorf("tool: its Dockerfile, or the symlink to it, is not an input")
	}
}

// A context, Dockerfile or ignore file reached through a symlink that
// leads out of the repository is refused, not read.
func TestSymlinksOutOfTheRoot(t *testing.T) {
	t.Parallel()
	r := newRepo(t)
	r.write("../outside/Dockerfile", "FROM scratch\n")
	r.write("../outside/secret", "not the repository's\n")
	r.symlink("../outside", "app")
	r.symlink("../../outside", "docker/outside")
	r.write("tool/main.go", "package main\n")
	r.write("Dockerfile", "FROM scratch\n")
	r.commitAll()
	_, err := contentkey.Compute(context.Background(), r.dir, []contentkey.Image{
		{Name: "app", Inputs: imagebuild.Inputs{Context: "app"}},
		{Name: "tool", Inputs: imagebuild.Inputs{Context: "tool", Dockerfile: "docker/outside/Dockerfile"}},
	})
	var problems contentkey.Problems
	if !errors.As(err, &problems) || len(problems) != 2 {
		t.Fatalf("err = %v, want two problems", err)
	}
	for i, want := range []string{
		`image "app": context: app: the symlink app leads outside the repository`,
		`image "tool": dockerfile: docker/outside/Dockerfile: the symlink docker/outside leads outside the repository`,
	} {
		if got := problems[i].Error(); got != want {
			t.Errorf("problem %d = %q, want %q", i, got, want)
		}
	}
}

// A damaged index (git's own file, which git cannot read either) vouches
// for nothing: every file is hashed from disk, into the same keys.
func TestDamagedIndex(t *testing.T) {
	t.Parallel()
	for _, format := range []string{"sha1", "sha256"} {
		for _, damage := range []struct {
			name string
			data func(index []byte) []byte
		}{
			{"truncated", func(index []byte) []byte { return index[:24] }},
			{"bad signature", func(index []byte) []byte { return append([]byte("XXXX"), index[4:]...) }},
			{"bad version", func(index []byte) []byte { return append(append(slices.Clone(index[:4]), 0, 0, 0, 99), index[8:]...) }},
			{"garbage", func([]byte) []byte { return []byte("not an index at all, just garbage bytes\x00\xff\xfe") }},
			{"empty", func([]byte) []byte { return nil }},
		} {
			t.Run(format+"/"+damage.name, func(t *testing.T) {
				t.Parallel()
				r := newRepo(t, "--object-format="+format)
				r.write("app/Dockerfile", "FROM scratch\n")
				r.write("app/main.go", "package main\n")
				r.write("app/lib/util.go", "package lib\n")
				r.symlink("main.go", "app/link")
				r.commitAll()
				images := []contentkey.Image{{Name: "app", Inputs: imagebuild.Inputs{Context: "app"}}, {Name: "root"}}
				r.write("Dockerfile", "FROM scratch\n")
				want, err := contentkey.Compute(context.Background(), r.dir, images)
				r.must(err)

				index, err := os.ReadFile(r.path(".git/index"))
				r.must(err)
				r.must(os.WriteFile(r.path(".git/index"), damage.data(index), 0o644))
				if _, err := exec.Command("git", "-C", r.dir, "ls-files").Output(); err == nil {
					t.Fatalf("git still reads the %s index: not a test of a damaged one", damage.name)
				}
				got, err := contentkey.Compute(context.Background(), r.dir, images)
				if err != nil {
					t.Fatalf("with a %s index: %v", damage.name, err)
				}
				if diff := cmp.Diff(want, got); diff != "" {
					t.Errorf("keys with a %s index differ (-intact +damaged):\n%s", damage.name, diff)
				}
			})
		}
	}
}

// TestEveryBuildInputIsKeyed walks imagebuild.Inputs: each of its fields
// must change the content tag when it changes, or be listed in notInKey
// with the reason it does not decide the image's bytes. A field added to
// the build inputs without a decision here fails this test.
func TestEveryBuildInputIsKeyed(t *testing.T) {
	notInKey := map[string]string{
		// None: every input of the build decides its bytes.
	}
	change := map[string]func(r *testRepo, app *contentkey.Image){
		"Context": func(r *testRepo, app *contentkey.Image) {
			r.write("other/Dockerfile", "ARG BASE\nFROM $BASE\nCOPY . /app\n")
			r.write("other/main.go", "package other\n")
			app.Context, app.Dockerfile = "other", "other/Dockerfile"
		},
		"Dockerfile": func(r *testRepo, app *contentkey.Image) {
			r.write("app/Other.Dockerfile", "FROM scratch\n")
			app.Dockerfile = "app/Other.Dockerfile"
		},
		"Target": func(_ *testRepo, app *contentkey.Image) { app.Target = "debug" },
		"Args": func(_ *testRepo, app *contentkey.Image) {
			app.Args = append(app.Args, imagebuild.KV{Key: "X", Value: "1"})
		},
		"Labels":     func(_ *testRepo, app *contentkey.Image) { app.Labels = []imagebuild.KV{{Key: "team", Value: "web"}} },
		"Secrets":    func(_ *testRepo, app *contentkey.Image) { app.Secrets = append(app.Secrets, "OTHER") },
		"Platforms":  func(_ *testRepo, app *contentkey.Image) { app.Platforms = append(app.Platforms, "linux/arm64") },
		"DependsOn":  func(_ *testRepo, app *contentkey.Image) { app.DependsOn = nil },
		"KeySalt":    func(_ *testRepo, app *contentkey.Image) { app.KeySalt = "2026-11" },
		"Provenance": func(_ *testRepo, app *contentkey.Image) { app.Provenance = "max" },
		"Network":    func(_ *testRepo, app *contentkey.Image) { app.Network = "none" },
		"AddHosts":   func(_ *testRepo, app *contentkey.Image) { app.AddHosts = []string{"db:10.0.0.1"} },
		"SSH":        func(_ *testRepo, app *contentkey.Image) { app.SSH = []string{"default"} },
		"ShmSize":    func(_ *testRepo, app *contentkey.Image) { app.ShmSize = "2g" },
		"BuildContexts": func(_ *testRepo, app *contentkey.Image) {
			app.BuildContexts = []imagebuild.KV{{Key: "deps", Value: "docker-image://deps:1.0.0"}}
		},
		"SBOM": func(_ *testRepo, app *contentkey.Image) { app.SBOM = "scanner:1@sha256:1" },
		"Bases": func(_ *testRepo, app *contentkey.Image) {
			app.Bases = []imagebuild.KV{{Key: "node:22-alpine", Value: "sha256:" + strings.Repeat("1", 64)}}
		},
	}
	fields := reflect.VisibleFields(reflect.TypeFor[imagebuild.Inputs]())
	for _, f := range fields {
		if reason, ok := notInKey[f.Name]; ok {
			if reason == "" {
				t.Errorf("%s is left out of the key without a reason", f.Name)
			}
			continue
		}
		mutate, ok := change[f.Name]
		if !ok {
			t.Errorf("imagebuild.Inputs.%s: decide whether it changes the content tag: add it to change, or to notInKey with the reason", f.Name)
			continue
		}
		t.Run(f.Name, func(t *testing.T) {
			t.Parallel()
			r, images := fixture(t)
			before := r.keys(images...)["app"]
			mutate(r, &images[1])
			r.commitAll()
			if after := r.keys(images...)["app"]; after == before {
				t.Errorf("changing %s left app's tag at %s", f.Name, before)
			}
		})
	}
	if len(change)+len(notInKey) != len(fields) {
		t.Errorf("change and notInKey name %d fields; imagebuild.Inputs has %d", len(change)+len(notInKey), len(fields))
	}
}
