//go:build linux

// Package benchrepo generates a large, committed git repository of build
// contexts for benchmarking contentkey: many images of a few hundred files
// each, like a monorepo of services.
//
// "git add" of 100,000 files takes the better part of a minute (one loose
// object file each), so the repository is assembled directly: Go writes the
// work tree and the index, git fast-import stores every blob in a single
// pack, and write-tree and commit-tree commit the index.
package benchrepo

import (
	"bufio"
	"bytes"
	"context"
	"crypto/sha1"
	"encoding/binary"
	"errors"
	"fmt"
	"math/rand/v2"
	"os"
	"os/exec"
	"path"
	"path/filepath"
	"runtime"
	"slices"
	"strings"
	"sync"
	"syscall"
	"time"

	"github.com/bkgen/bkgen/contentkey"
	"github.com/bkgen/bkgen/imagebuild"
)

// Layout says how big the repository is.
type Layout struct {
	Images     int // one context directory (and image) each
	TotalFiles int // files in the whole repository, contexts included
}

// Default returns the benchmark's layout: 100,000 files, 300 images of about
// 330 files each.
func Default() Layout { return Layout{Images: 300, TotalFiles: 100_000} }

// Generate writes the repository into dir (an empty directory), commits it
// and returns its images. The content is pseudo-random but the same on every
// run; the checkout is clean.
func Generate(ctx context.Context, dir string, l Layout) ([]contentkey.Image, error) {
	if l.Images < 1 || l.TotalFiles < l.Images*8 {
		return nil, fmt.Errorf("benchrepo: layout %+v is too small", l)
	}
	files, images := plan(l)
	g := git{ctx: ctx, dir: dir}
	if _, err := g.run("init", "--quiet", "--initial-branch=main"); err != nil {
		return nil, err
	}
	entries, err := writeTree(ctx, dir, files)
	if err != nil {
		return nil, err
	}
	if err := g.fastImport(files); err != nil {
		return nil, err
	}
	if err := writeIndex(filepath.Join(dir, ".git", "index"), entries); err != nil {
		return nil, err
	}
	tree, err := g.run("write-tree")
	if err != nil {
		return nil, err
	}
	commit, err := g.run("commit-tree", "-m", "generated", tree)
	if err != nil {
		return nil, err
	}
	if _, err := g.run("update-ref", "refs/heads/main", commit); err != nil {
		return nil, err
	}
	// Hand over a settled checkout, not one the kernel is still writing
	// out to disk while it is measured.
	syscall.Sync()
	return images, nil
}

// A planned file: where it goes and how its content is made.
type plannedFile struct {
	path string
	text string // literal content, or "" for generated content
	seed uint64
	size int
}

// plan lays out the files: images are services/svcNNN with sources spread
// over nested packages of 20 files, a few files .dockerignore'd, ten base
// images the others depend on, and whatever is left of TotalFiles in docs/
// outside every context. Sizes are 200 B to 6 KB, like source files.
func plan(l Layout) ([]plannedFile, []contentkey.Image) {
	perImage := min(l.TotalFiles/l.Images, 400)
	rng := rand.New(rand.NewPCG(1, 2))
	generated := func(p string) plannedFile {
		return plannedFile{path: p, seed: rng.Uint64(), size: 200 + rng.IntN(6000)}
	}
	var files []plannedFile
	var images []contentkey.Image
	const bases = 10
	for i := range l.Images {
		name := fmt.Sprintf("svc%03d", i)
		dir := "services/" + name
		img := contentkey.Image{Name: name, Inputs: imagebuild.Inputs{
			Context:   dir,
			Args:      []imagebuild.KV{{Key: "VERSION", Value: "1.2.3"}, {Key: "SERVICE", Value: name}},
			Platforms: []string{"linux/amd64", "linux/arm64"},
		}}
		if i >= bases {
			img.DependsOn = []string{fmt.Sprintf("svc%03d", i%bases)}
			img.Secrets = []string{"NPM_TOKEN"}
		}
		images = append(images, img)
		files = append(files,
			plannedFile{path: dir + "/Dockerfile", text: "FROM alpine:3.20\nARG VERSION\nCOPY . /src\nRUN make -C /src\n"},
			plannedFile{path: dir + "/.dockerignore", text: "# not needed in the image\n*.md\n**/testdata\n!README.md\n"},
			plannedFile{path: dir + "/README.md", text: "# " + name + "\n"},
		)
		for j := range perImage - 3 {
			pkg := fmt.Sprintf("%s/src/pkg%02d", dir, j/20)
			switch {
			case j%50 == 49:
				files = append(files, generated(fmt.Sprintf("%s/testdata/case%03d.json", pkg, j)))
			case j%40 == 39:
				files = append(files, generated(fmt.Sprintf("%s/docs/notes%03d.md", dir, j)))
			default:
				files = append(files, generated(fmt.Sprintf("%s/file%03d.go", pkg, j)))
			}
		}
	}
	for j := 0; len(files) < l.TotalFiles; j++ {
		files = append(files, generated(fmt.Sprintf("docs/section%03d/page%04d.md", j/100, j)))
	}
	return files, images
}

// vocabulary makes generated content look like source text, so that git
// compresses it as it would real code.
const vocabulary = `func return if else for range var const type struct interface map string
int error nil err ctx context package import defer go select case switch default make append len`

func content(buf []byte, f plannedFile, words []string) []byte {
	if f.text != "" {
		return append(buf, f.text...)
	}
	rng := rand.New(rand.NewPCG(f.seed, 7))
	for len(buf) < f.size {
		buf = append(buf, words[rng.IntN(len(words))]...)
		if rng.IntN(8) == 0 {
			buf = append(buf, '\n')
		} else {
			buf = append(buf, ' ')
		}
	}
	return buf[:f.size]
}

// An indexEntry is what the index records of a file: its stat data and id.
type indexEntry struct {
	path string
	stat syscall.Stat_t
	oid  [sha1.Size]byte
}

// writeTree writes every file with a few workers and returns what the
// index records of each. Files are backdated by an hour: files as new as the
// index are "racily clean" and git would reread them, which a real
// checkout, written well before a build, does not suffer from.
func writeTree(ctx context.Context, dir string, files []plannedFile) ([]indexEntry, error) {
	dirs := map[string]bool{}
	for _, f := range files {
		dirs[path.Dir(f.path)] = true
	}
	for d := range dirs {
		if err := os.MkdirAll(filepath.Join(dir, filepath.FromSlash(d)), 0o755); err != nil {
			return nil, err
		}
	}

	entries := make([]indexEntry, len(files))
	errs := make([]error, len(files))
	words := strings.Fields(vocabulary)
	old := time.Now().Add(-time.Hour)
	next := make(chan int)
	var wg sync.WaitGroup
	for range runtime.GOMAXPROCS(0) * 2 {
		wg.Go(func() {
			for i := range next {
				b := content(nil, files[i], words)
				e := &entries[i]
				e.path = files[i].path
				h := sha1.New()
				fmt.Fprintf(h, "blob %d\x00", len(b))
				h.Write(b)
				h.Sum(e.oid[:0])
				errs[i] = writeFile(filepath.Join(dir, filepath.FromSlash(e.path)), b, old, &e.stat)
			}
		})
	}
	for i := range files {
		if ctx.Err() != nil {
			break
		}
		next <- i
	}
	close(next)
	wg.Wait()
	if err := ctx.Err(); err != nil {
		return nil, err
	}
	if err := errors.Join(errs...); err != nil {
		return nil, err
	}
	return entries, nil
}

func writeFile(name string, b []byte, mtime time.Time, st *syscall.Stat_t) error {
	if err := os.WriteFile(name, b, 0o644); err != nil {
		return err
	}
	if err := os.Chtimes(name, mtime, mtime); err != nil {
		return err
	}
	return syscall.Lstat(name, st)
}

// writeIndex writes a version 2 index (see git's gitformat-index(5)) of the
// entries, with the stat data git compares against the work tree.
func writeIndex(name string, entries []indexEntry) error {
	slices.SortFunc(entries, func(a, b indexEntry) int { return strings.Compare(a.path, b.path) })
	var buf bytes.Buffer
	be := binary.BigEndian
	buf.WriteString("DIRC")
	buf.Write(be.AppendUint32(nil, 2))
	buf.Write(be.AppendUint32(nil, uint32(len(entries))))
	for _, e := range entries {
		st := &e.stat
		for _, v := range []uint64{
			uint64(st.Ctim.Sec), uint64(st.Ctim.Nsec), uint64(st.Mtim.Sec), uint64(st.Mtim.Nsec),
			st.Dev, st.Ino, 0o100644, uint64(st.Uid), uint64(st.Gid), uint64(st.Size),
		} {
			buf.Write(be.AppendUint32(nil, uint32(v)))
		}
		buf.Write(e.oid[:])
		buf.Write(be.AppendUint16(nil, uint16(min(len(e.path), 0xfff))))
		buf.WriteString(e.path)
		// NUL-terminated and padded to a multiple of 8 bytes.
		n := 62 + len(e.path)
		buf.Write(make([]byte, 8-n%8))
	}
	sum := sha1.Sum(buf.Bytes())
	buf.Write(sum[:])
	return os.WriteFile(name, buf.Bytes(), 0o644)
}

// fastImport stores the content of files as blobs in a single pack: far
// faster than "git add", which writes a loose object file for each. Light
// compression and no deltas, since the benchmark never reads the pack.
func (g git) fastImport(files []plannedFile) error {
	cmd := g.command("-c", "pack.compression=1", "fast-import", "--quiet", "--depth=0")
	stdin, err := cmd.StdinPipe()
	if err != nil {
		return err
	}
	var stderr bytes.Buffer
	cmd.Stderr = &stderr
	if err := cmd.Start(); err != nil {
		return err
	}
	w := bufio.NewWriterSize(stdin, 1<<20)
	words := strings.Fields(vocabulary)
	var b []byte
	for _, f := range files {
		b = content(b[:0], f, words)
		fmt.Fprintf(w, "blob\ndata %d\n%s\n", len(b), b)
	}
	err = w.Flush()
	stdin.Close()
	if waitErr := cmd.Wait(); waitErr != nil {
		return fmt.Errorf("git fast-import: %v: %s", waitErr, bytes.TrimSpace(stderr.Bytes()))
	}
	return err
}

// git runs git in the repository being generated, isolated from the
// machine's configuration.
type git struct {
	ctx context.Context
	dir string
}

func (g git) command(args ...string) *exec.Cmd {
	// A throwaway repository needs no fsync.
	args = append([]string{"-c", "core.fsync=none"}, args...)
	cmd := exec.CommandContext(g.ctx, "git", args...)
	cmd.Dir = g.dir
	cmd.Env = append(os.Environ(),
		"GIT_CONFIG_NOSYSTEM=1", "GIT_CONFIG_GLOBAL=/dev/null",
		"GIT_AUTHOR_NAME=bench", "GIT_AUTHOR_EMAIL=bench@example.com", "GIT_AUTHOR_DATE=1700000000 +0000",
		"GIT_COMMITTER_NAME=bench", "GIT_COMMITTER_EMAIL=bench@example.com", "GIT_COMMITTER_DATE=1700000000 +0000",
	)
	return cmd
}

func (g git) run(args ...string) (string, error) {
	cmd := g.command(args...)
	var stderr bytes.Buffer
	cmd.Stderr = &stderr
	out, err := cmd.Output()
	if err != nil {
		return "", fmt.Errorf("git %s: %v: %s", strings.Join(args, " "), err, bytes.TrimSpace(stderr.Bytes()))
	}
	return strings.TrimSpace(string(out)), nil
}
