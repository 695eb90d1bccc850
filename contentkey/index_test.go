package contentkey

import (
	"context"
	"crypto/sha1"
	"errors"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/bkgen/bkgen/internal/gittest"
	"github.com/google/go-cmp/cmp"
)

// gitTree is a git work tree in a temporary directory, driven with the real
// git binary, whose files are written an hour in the past: files as new as
// the index are "racily clean", which readIndex rightly distrusts, and a
// test of the fast path needs files it trusts.
type gitTree struct {
	t   testing.TB
	dir string
}

func newGitTree(t testing.TB, initArgs ...string) *gitTree {
	t.Helper()
	g := &gitTree{t: t, dir: t.TempDir()}
	g.git(append([]string{"init", "--quiet"}, initArgs...)...)
	return g
}

func (g *gitTree) git(args ...string) string {
	g.t.Helper()
	return gittest.Run(g.t, g.dir, args...)
}

func (g *gitTree) path(p string) string { return filepath.Join(g.dir, filepath.FromSlash(p)) }

// write writes a file, backdated by an hour.
func (g *gitTree) write(p, content string, perm os.FileMode) {
	g.t.Helper()
	name := g.path(p)
	if err := os.MkdirAll(filepath.Dir(name), 0o755); err != nil {
		g.t.Fatal(err)
	}
	os.Remove(name)
	if err := os.WriteFile(name, []byte(content), perm); err != nil {
		g.t.Fatal(err)
	}
	g.backdate(p)
}

func (g *gitTree) backdate(p string) {
	g.t.Helper()
	old := time.Now().Add(-time.Hour)
	if err := os.Chtimes(g.path(p), old, old); err != nil {
		g.t.Fatal(err)
	}
}

// lsFiles is what "git ls-files --stage" says of the index, as the entries
// readIndex should return of it (but for the stat data).
func (g *gitTree) lsFiles(prefix string) []indexEntry {
	g.t.Helper()
	var want []indexEntry
	for rec := range strings.SplitSeq(g.git("ls-files", "--stage", "-v", "-z", "--full-name"), "\x00") {
		if rec == "" {
			continue
		}
		e, ok, err := parseIndexEntry([]byte(rec))
		if err != nil {
			g.t.Fatal(err)
		}
		if ok && strings.HasPrefix(e.path, prefix) {
			e.path = e.path[len(prefix):]
			want = append(want, e)
		}
	}
	return want
}

// sample fills the tree with what an index can hold: nested and
// executable files, a symlink, names with a tab and a non-ASCII letter, a
// path of over a thousand bytes, and an entry (with no file) whose path is
// too long for the 12 bits of length an entry's flags have room for.
func (g *gitTree) sample() {
	g.write("Dockerfile", "FROM scratch\n", 0o644)
	g.write("a-b", "sorts before a/\n", 0o644)
	g.write("a/x.go", "package a\n", 0o644)
	g.write("a/run.sh", "#!/bin/sh\n", 0o755)
	g.write("a0", "sorts after a/\n", 0o644)
	g.write("sub/dir/deep.txt", "deep\n", 0o644)
	g.write("odd name \t\u00e9.txt", "odd\n", 0o644)
	long := strings.Repeat("d", 200) + "/" + strings.Repeat("e", 200) + "/" + strings.Repeat("f", 200) + "/" + strings.Repeat("g", 200) + "/" + strings.Repeat("n", 200)
	g.write(long, "long\n", 0o644)
	if err := os.Symlink("a/x.go", g.path("link")); err != nil {
		g.t.Fatal(err)
	}
	g.git("add", "--all")
	empty := strings.TrimSpace(g.git("hash-object", "-w", "--stdin"))
	huge := strings.TrimSuffix(strings.Repeat(strings.Repeat("h", 250)+"/", 20), "/")
	g.git("update-index", "--add", "--cacheinfo", "100644,"+empty+","+huge)
	g.git("commit", "--quiet", "-m", "sample")
}

func (g *gitTree) readIndex(prefix string, format objectFormat) ([]indexEntry, error) {
	return readIndex(g.path(".git/index"), prefix, format)
}

// withoutStat drops the stat data, which git ls-files does not show.
func withoutStat(entries []indexEntry) []indexEntry {
	out := slices.Clone(entries)
	for i := range out {
		out[i].stat = statData{}
	}
	return out
}

func TestReadIndexAgreesWithGit(t *testing.T) {
	t.Parallel()
	for _, tc := range []struct {
		name     string
		initArgs []string
		format   objectFormat
		version  string
	}{
		{"v2", nil, sha1Format, "2"},
		{"v3", nil, sha1Format, "3"},
		{"v4", nil, sha1Format, "4"}, // paths compressed against the previous one
		{"sha256", []string{"--object-format=sha256"}, sha256Format, "2"},
		{"sha256 v4", []string{"--object-format=sha256"}, sha256Format, "4"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			g := newGitTree(t, tc.initArgs...)
			g.sample()
			g.git("update-index", "--index-version", tc.version)
			got, err := g.readIndex("", tc.format)
			if err != nil {
				t.Fatal(err)
			}
			if diff := cmp.Diff(g.lsFiles(""), withoutStat(got), cmp.AllowUnexported(indexEntry{}, statData{})); diff != "" {
				t.Errorf("readIndex differs from git ls-files (-git +readIndex):\n%s", diff)
			}
			if !slices.ContainsFunc(got, func(e indexEntry) bool { return len(e.path) > 0xfff }) {
				t.Errorf("no entry with a path longer than 0xfff bytes")
			}
			// The stat data is what the file shows.
			for _, e := range got {
				if !canStat {
					break
				}
				if _, err := os.Lstat(g.path(e.path)); err != nil {
					continue // the entry with no file
				}
				f := walkOne(t, g.dir, e.path)
				if f.stat != e.stat || f.mode != e.mode {
					t.Errorf("%s: index says %+v %v, the file %+v %v", e.path, e.stat, e.mode, f.stat, f.mode)
				}
			}
		})
	}
}

// walkOne is the walk's view of one file.
func walkOne(t *testing.T, root, p string) file {
	t.Helper()
	files, _, err := walk(context.Background(), root, []string{"."}, canStat)
	if err != nil {
		t.Fatal(err)
	}
	i := slices.IndexFunc(files, func(f file) bool { return f.path == p })
	if i < 0 {
		t.Fatalf("the walk did not find %s", p)
	}
	return files[i]
}

func TestReadIndexPrefix(t *testing.T) {
	t.Parallel()
	g := newGitTree(t)
	g.sample()
	got, err := g.readIndex("sub/", sha1Format)
	if err != nil {
		t.Fatal(err)
	}
	if diff := cmp.Diff(g.lsFiles("sub/"), withoutStat(got), cmp.AllowUnexported(indexEntry{}, statData{})); diff != "" {
		t.Errorf("(-git +readIndex):\n%s", diff)
	}
	if len(got) != 1 || got[0].path != "dir/deep.txt" {
		t.Errorf("entries under sub/ = %v, want only dir/deep.txt", got)
	}
}

// TestReadIndexLeavesOut checks the entries readIndex does not vouch for.
func TestReadIndexLeavesOut(t *testing.T) {
	t.Parallel()
	lib := newGitTree(t)
	lib.write("lib.go", "package lib\n", 0o644)
	lib.git("add", "--all")
	lib.git("commit", "--quiet", "-m", "lib")

	g := newGitTree(t)
	g.write("kept.txt", "kept\n", 0o644)
	g.write("assumed.txt", "assumed\n", 0o644)
	g.write("skipped.txt", "skipped\n", 0o644)
	g.write("conflict.txt", "base\n", 0o644)
	g.git("add", "--all")
	g.git("commit", "--quiet", "-m", "base")
	g.git("-c", "protocol.file.allow=always", "submodule", "--quiet", "add", lib.dir, "module")
	g.git("commit", "--quiet", "-m", "module")
	// A merge conflict leaves stages 1 to 3 of conflict.txt.
	g.git("checkout", "--quiet", "-b", "other")
	g.write("conflict.txt", "other\n", 0o644)
	g.git("commit", "--quiet", "-am", "other")
	g.git("checkout", "--quiet", "-")
	g.write("conflict.txt", "main\n", 0o644)
	g.git("commit", "--quiet", "-am", "main")
	if gittest.Command(g.dir, "merge", "--quiet", "other").Run() == nil {
		t.Fatal("the merge did not conflict")
	}
	g.git("update-index", "--assume-unchanged", "assumed.txt")
	g.git("update-index", "--skip-worktree", "skipped.txt") // makes the index version 3
	g.write("intended.txt", "not added yet\n", 0o644)
	g.git("add", "--intent-to-add", "intended.txt")
	// Racily clean: written as late as the index, or later.
	g.write("racy.txt", "racy\n", 0o644)
	g.git("add", "racy.txt")
	future := time.Now().Add(time.Hour)
	if err := os.Chtimes(g.path("racy.txt"), future, future); err != nil {
		t.Fatal(err)
	}
	g.git("update-index", "racy.txt")

	got, err := g.readIndex("", sha1Format)
	if err != nil {
		t.Fatal(err)
	}
	var paths []string
	for _, e := range got {
		paths = append(paths, e.path)
	}
	if want := []string{".gitmodules", "kept.txt"}; !slices.Equal(paths, want) {
		t.Errorf("readIndex vouches for %q, want only %q", paths, want)
	}
}

func TestReadIndexUnsupported(t *testing.T) {
	t.Parallel()
	t.Run("split", func(t *testing.T) {
		t.Parallel()
		g := newGitTree(t)
		g.sample()
		g.git("update-index", "--split-index")
		if _, err := g.readIndex("", sha1Format); !errors.Is(err, errIndexUnsupported) {
			t.Errorf("a split index: err = %v, want errIndexUnsupported", err)
		}
	})
	t.Run("sparse", func(t *testing.T) {
		t.Parallel()
		g := newGitTree(t)
		g.sample()
		g.git("sparse-checkout", "set", "--cone", "--sparse-index", "a")
		if _, err := g.readIndex("", sha1Format); !errors.Is(err, errIndexUnsupported) {
			t.Errorf("a sparse index: err = %v, want errIndexUnsupported", err)
		}
	})
}

func TestReadIndexCorrupt(t *testing.T) {
	t.Parallel()
	g := newGitTree(t)
	g.sample()
	data, err := os.ReadFile(g.path(".git/index"))
	if err != nil {
		t.Fatal(err)
	}
	for _, tc := range []struct {
		name string
		data []byte
	}{
		{"flipped byte", func() []byte { d := slices.Clone(data); d[100] ^= 1; return d }()},
		{"truncated", data[:len(data)/2]},
		{"not an index", []byte("hello, this is not an index at all")},
	} {
		if _, err := parseIndex(tc.data, "", sha1Format, timestamp{sec: ^uint32(0)}); !errors.Is(err, errCorruptIndex) {
			t.Errorf("%s: err = %v, want errCorruptIndex", tc.name, err)
		}
	}
	if got, err := readIndex(g.path(".git/no-such-index"), "", sha1Format); err != nil || got != nil {
		t.Errorf("a missing index: %v, %v; want no entries and no error", got, err)
	}

	// git does not check the checksum when it reads the index, and is the
	// authority on it: an index that readIndex rejects is left to git.
	bad := slices.Clone(data)
	bad[len(bad)-1] ^= 1
	if err := os.WriteFile(g.path(".git/index"), bad, 0o644); err != nil {
		t.Fatal(err)
	}
	g.git("ls-files", "--stage") // git reads it without complaint (and without rewriting it)
	if _, err := g.readIndex("", sha1Format); !errors.Is(err, errCorruptIndex) {
		t.Fatalf("an index with a wrong checksum: err = %v, want errCorruptIndex", err)
	}
	tr, err := scanAll(g.dir)
	if err != nil {
		t.Fatalf("scan with an index git reads but readIndex rejects: %v", err)
	}
	trusted := 0
	for _, f := range tr.files {
		if f.oid != "" {
			trusted++
		}
	}
	if trusted == 0 {
		t.Errorf("with the index left to git, no file was keyed from it")
	}
}

// scanAll scans every file under root, as Analyze would.
func scanAll(root string) (*tree, error) {
	ctx := context.Background()
	opts := Options{Root: root}
	repo, err := openRepo(ctx, opts)
	if err != nil {
		return nil, err
	}
	return scan(ctx, opts, repo, []string{"."})
}

// TestFastPathTrustsOnlyCleanFiles checks which files the fast path keys by
// the index's blob id: those whose stat data has not changed, whichever
// way the index is read.
func TestFastPathTrustsOnlyCleanFiles(t *testing.T) {
	t.Parallel()
	for _, split := range []bool{false, true} {
		name := "index read directly"
		if split {
			name = "index read by git (split)"
		}
		t.Run(name, func(t *testing.T) {
			t.Parallel()
			if !split && !canStat {
				t.Skip("the index is read directly on Linux only")
			}
			g := newGitTree(t)
			g.sample()
			if split {
				g.git("update-index", "--split-index")
			}
			g.write("a/x.go", "package a // edited\n", 0o644)           // edited
			g.write("untracked.txt", "new\n", 0o644)                    // untracked
			if err := os.Chmod(g.path("a/run.sh"), 0o644); err != nil { // no longer executable
				t.Fatal(err)
			}
			if err := os.Chtimes(g.path("a-b"), time.Now(), time.Now()); err != nil { // touched
				t.Fatal(err)
			}

			tr, err := scanAll(g.dir)
			if err != nil {
				t.Fatal(err)
			}
			var trusted, fromDisk []string
			for _, f := range tr.files {
				if f.oid != "" {
					trusted = append(trusted, f.path)
				} else {
					fromDisk = append(fromDisk, f.path)
				}
			}
			// A touch counts, as it does for git diff-files.
			wantDisk := []string{"a-b", "a/run.sh", "a/x.go", "untracked.txt"}
			if !slices.Equal(fromDisk, wantDisk) {
				t.Errorf("hashed from disk: %q, want %q (trusted %q)", fromDisk, wantDisk, trusted)
			}
			if len(trusted) != 6 {
				t.Errorf("trusted %q, want the 6 other files", trusted)
			}
		})
	}
}

// FuzzParseIndex checks that no index, however damaged, makes parseIndex
// panic, and that what it accepts is sorted as the walk's files are.
func FuzzParseIndex(f *testing.F) {
	g := newGitTree(f)
	g.sample()
	for _, version := range []string{"2", "3", "4"} {
		g.git("update-index", "--index-version", version)
		data, err := os.ReadFile(g.path(".git/index"))
		if err != nil {
			f.Fatal(err)
		}
		f.Add(data)
	}
	f.Fuzz(func(t *testing.T, data []byte) {
		// A damaged index rarely keeps a good checksum; give it one, so
		// that the parser behind the check is what gets fuzzed.
		if len(data) >= 12+sha1.Size {
			data = withChecksum(data)
		}
		entries, err := parseIndex(data, "", sha1Format, timestamp{sec: ^uint32(0)})
		if err != nil {
			return
		}
		for i := 1; i < len(entries); i++ {
			if entries[i-1].path >= entries[i].path {
				t.Fatalf("entries out of order: %q then %q", entries[i-1].path, entries[i].path)
			}
		}
	})
}

// withChecksum gives index bytes a matching SHA-1 trailer.
func withChecksum(data []byte) []byte {
	data = slices.Clone(data)
	sum := sha1.Sum(data[:len(data)-sha1.Size])
	copy(data[len(data)-sha1.Size:], sum[:])
	return data
}

// TestReadIndexAsGitDoes checks two corners where readIndex follows git's
// own reader rather than the letter of the format.
func TestReadIndexAsGitDoes(t *testing.T) {
	t.Parallel()
	never := timestamp{sec: ^uint32(0)}
	const firstEntry = 12 // after the header
	const fixed = 40 + sha1.Size + 2

	// Version 4: git ignores the first entry's count of bytes to strip,
	// there being no earlier path.
	g := newGitTree(t)
	g.sample()
	g.git("update-index", "--index-version", "4")
	data, err := os.ReadFile(g.path(".git/index"))
	if err != nil {
		t.Fatal(err)
	}
	want, err := parseIndex(data, "", sha1Format, never)
	if err != nil {
		t.Fatal(err)
	}
	if data[firstEntry+fixed] != 0 {
		t.Fatalf("the first entry strips %d bytes, want 0", data[firstEntry+fixed])
	}
	odd := slices.Clone(data)
	odd[firstEntry+fixed] = 5
	got, err := parseIndex(withChecksum(odd), "", sha1Format, never)
	if err != nil {
		t.Fatal(err)
	}
	if diff := cmp.Diff(want, got, cmp.AllowUnexported(indexEntry{}, statData{})); diff != "" {
		t.Errorf("a first entry that strips bytes (-want +got):\n%s", diff)
	}

	// An extended flag this reader does not know: git refuses such an
	// index, so it is left to git to say so.
	g = newGitTree(t)
	g.write("only.txt", "only\n", 0o644)
	g.git("add", "only.txt")
	g.git("update-index", "--skip-worktree", "only.txt")
	data, err = os.ReadFile(g.path(".git/index"))
	if err != nil {
		t.Fatal(err)
	}
	if _, err := parseIndex(data, "", sha1Format, never); err != nil {
		t.Fatal(err)
	}
	odd = slices.Clone(data)
	odd[firstEntry+fixed] |= 0x10 // extended flags follow the entry's flags
	if _, err := parseIndex(withChecksum(odd), "", sha1Format, never); !errors.Is(err, errIndexUnsupported) || errors.Is(err, errCorruptIndex) {
		t.Errorf("an unknown extended flag: err = %v, want errIndexUnsupported", err)
	}
}
