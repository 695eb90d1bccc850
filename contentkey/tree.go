package contentkey

import (
	"context"
	"fmt"
	"path"
	"path/filepath"
	"runtime"
	"slices"
	"sort"
	"strings"
	"sync"
	"sync/atomic"
)

// fileMode is a file's mode as git records it.
type fileMode uint32

const (
	modeRegular    fileMode = 0o100644
	modeExecutable fileMode = 0o100755
	modeSymlink    fileMode = 0o120000
)

func (m fileMode) String() string {
	switch m {
	case modeRegular:
		return "100644"
	case modeExecutable:
		return "100755"
	case modeSymlink:
		return "120000"
	}
	return fmt.Sprintf("%o", uint32(m))
}

// A file is a regular file or symlink found in a context directory.
type file struct {
	path string   // slash path relative to the root
	mode fileMode // until oid is known, as the walk found it
	oid  string   // hex blob id, "" until known
	stat statData // when the walk statted it
}

// A tree is every file under the context directories of one Compute call,
// shared by all its images.
type tree struct {
	root       string
	format     objectFormat
	files      []file          // sorted by path
	unreadable []unreadableDir // directories the walk could not list, sorted by path
}

// scan lists the files under the context directories and takes the blob id
// of every clean tracked one from git's index.
//
// Where files can be statted as the index records them (Linux), the index
// is read directly while the walk stats every file: a tracked file whose
// stat data is what the index holds is clean, as git itself would judge
// without reading it (only stricter: it compares nanoseconds too).
// Elsewhere, and for indexes readIndex does not take (split, sparse...),
// "git ls-files" and "git diff-files" say the same; when git cannot read
// the index either, every file is hashed from disk.
func scan(ctx context.Context, opts Options, repo *repo, contexts []string) (*tree, error) {
	ctx, cancel := context.WithCancel(ctx)
	defer cancel() // stops git when the walk fails

	dirs := outermost(contexts)
	t := &tree{root: opts.Root, format: sha1Format}
	var err error
	if repo == nil {
		t.files, t.unreadable, err = walk(ctx, opts.Root, dirs, false)
		return t, err
	}
	t.format = repo.format

	type tracked struct {
		entries []indexEntry
		statted bool // whether to check the entries' stat data
		err     error
	}
	fromGit := make(chan tracked, 1)
	go func() {
		if canStat {
			// An index readIndex does not take (or cannot read) is left to
			// git, the authority on its own index.
			if entries, err := readIndex(repo.indexFile, repo.prefix, repo.format); err == nil {
				fromGit <- tracked{entries, true, nil}
				return
			}
		}
		entries, err := repo.cleanFiles(ctx, dirs)
		if err != nil && ctx.Err() == nil {
			// git cannot read its index either (truncated, garbage...):
			// every file is on disk to hash, which gives the same ids.
			entries, err = nil, nil
		}
		fromGit <- tracked{entries, false, err}
	}()
	if t.files, t.unreadable, err = walk(ctx, opts.Root, dirs, canStat); err != nil {
		return nil, err
	}
	g := <-fromGit
	if g.err != nil {
		return nil, g.err
	}
	t.adopt(g.entries, g.statted)
	return t, nil
}

// outermost returns the directories of dirs that are not inside another,
// sorted: walking those walks every context once.
func outermost(dirs []string) []string {
	set := make(map[string]bool, len(dirs))
	for _, d := range dirs {
		set[d] = true
	}
	var out []string
	for d := range set {
		inside := false
		for p := d; p != "." && !inside; {
			p = path.Dir(p)
			inside = set[p]
		}
		if !inside {
			out = append(out, d)
		}
	}
	slices.Sort(out)
	return out
}

// adopt takes the mode and blob id of the walked files whose index entry
// is clean: with statted, when the file's stat data and mode are what the
// index recorded; otherwise (git has checked them) when it is still a
// symlink or still not one. Both lists are sorted by path.
func (t *tree) adopt(clean []indexEntry, statted bool) {
	j := 0
	for i := range t.files {
		f := &t.files[i]
		for j < len(clean) && clean[j].path < f.path {
			j++
		}
		if j == len(clean) {
			return
		}
		c := &clean[j]
		if c.path != f.path {
			continue
		}
		if statted && c.mode == f.mode && c.stat == f.stat ||
			// A file turned into a symlink (or back) since git last looked
			// is hashed from disk.
			!statted && (c.mode == modeSymlink) == (f.mode == modeSymlink) {
			f.mode, f.oid = c.mode, c.oid
		}
	}
}

// under returns the range of files in the context directory dir.
func (t *tree) under(dir string) (lo, hi int) {
	if dir == "." {
		return 0, len(t.files)
	}
	prefix := dir + "/"
	lo = sort.Search(len(t.files), func(i int) bool { return t.files[i].path >= prefix })
	hi = lo + sort.Search(len(t.files)-lo, func(i int) bool { return !strings.HasPrefix(t.files[lo+i].path, prefix) })
	return lo, hi
}

func contextPrefix(dir string) string {
	if dir == "." {
		return ""
	}
	return dir + "/"
}

// selectFiles finds the files each build sends: those of its context that
// its .dockerignore lets through. An unreadable directory the build would
// send from is one of its problems; the files found go on to be hashed, for
// any problems of theirs.
func selectFiles(ctx context.Context, t *tree, builds []build) error {
	return forEach(ctx, len(builds), runtime.GOMAXPROCS(0), func(i int) error {
		b := &builds[i]
		if len(b.problems) > 0 {
			return nil
		}
		if err := b.checkUnreadable(t.unreadable); err != nil {
			return err
		}
		lo, hi := t.under(b.context)
		if b.ignore == nil {
			b.files = make([]int, 0, hi-lo)
			for j := lo; j < hi; j++ {
				b.files = append(b.files, j)
			}
			return nil
		}
		m := newIgnoreMatcher(b.ignore)
		prefix := len(contextPrefix(b.context))
		for j := lo; j < hi; j++ {
			excluded, err := m.excludes(t.files[j].path[prefix:])
			if err != nil {
				return fmt.Errorf("image %q: .dockerignore: %w", b.img.Name, err)
			}
			if !excluded {
				b.files = append(b.files, j)
			}
		}
		return nil
	})
}

// checkUnreadable adds a problem for the first unreadable directory in the
// build's context that Docker would descend into. Docker does not descend
// into a directory .dockerignore excludes unless an exception ("!")
// pattern starts with the directory's path, so cannot fail on one.
func (b *build) checkUnreadable(dirs []unreadableDir) error {
	if len(dirs) == 0 {
		return nil
	}
	prefix := contextPrefix(b.context)
	var m *ignoreMatcher
	if b.ignore != nil {
		m = newIgnoreMatcher(b.ignore)
	}
	var first *unreadableDir
	count := 0
	for i, d := range dirs {
		if d.path != b.context && !strings.HasPrefix(d.path, prefix) {
			continue
		}
		if d.path != b.context && m != nil {
			skipped, err := m.skipsDir(d.path[len(prefix):])
			if err != nil {
				return fmt.Errorf("image %q: .dockerignore: %w", b.img.Name, err)
			}
			if skipped {
				continue
			}
		}
		if first == nil {
			first = &dirs[i]
		}
		count++
	}
	if first != nil {
		msg := fmt.Sprintf("cannot read the directory %s: %v", first.path, first.err)
		if count > 1 {
			msg += fmt.Sprintf(" (%d unreadable directories in all)", count)
		}
		b.problems = append(b.problems, &Problem{Image: b.img.Name, Input: InputContext, Msg: msg, Err: first.err})
	}
	return nil
}

// hash reads the files the builds send whose blob id git did not supply.
func (t *tree) hash(ctx context.Context, builds []build) error {
	var todo []int
	seen := make([]bool, len(t.files)) // a file may be in several contexts
	for _, b := range builds {
		for _, i := range b.files {
			if !seen[i] && t.files[i].oid == "" {
				seen[i] = true
				todo = append(todo, i)
			}
		}
	}

	// Reading files waits on the disk about as much as on the CPU.
	workers := 4 * runtime.GOMAXPROCS(0)
	hashers := make(chan *hasher, workers)
	for range workers {
		hashers <- t.format.newHasher()
	}
	var mu sync.Mutex
	failed := map[int]error{} // by file index
	err := forEach(ctx, len(todo), workers, func(k int) error {
		h := <-hashers
		defer func() { hashers <- h }()
		f := &t.files[todo[k]]
		mode, oid, err := h.hashFile(filepath.Join(t.root, filepath.FromSlash(f.path)), f.mode == modeSymlink)
		if err != nil {
			mu.Lock()
			failed[todo[k]] = err
			mu.Unlock()
			return nil
		}
		f.mode, f.oid = mode, oid
		return nil
	})
	if err != nil || len(failed) == 0 {
		return err
	}
	// A file that cannot be read is a problem of every build that sends it.
	for i := range builds {
		b := &builds[i]
		first, count := -1, 0
		for _, j := range b.files {
			if _, ok := failed[j]; ok {
				if first < 0 {
					first = j
				}
				count++
			}
		}
		if first < 0 {
			continue
		}
		msg := fmt.Sprintf("cannot read %s: %v", t.files[first].path, failed[first])
		if count > 1 {
			msg += fmt.Sprintf(" (%d unreadable files in all)", count)
		}
		b.problems = append(b.problems, &Problem{Image: b.img.Name, Input: InputContext, Msg: msg, Err: failed[first]})
	}
	return nil
}

// forEach calls fn(0) to fn(n-1) from up to workers goroutines and returns
// the first error, after which it starts no more calls.
func forEach(ctx context.Context, n, workers int, fn func(i int) error) error {
	var (
		next     atomic.Int64
		failed   atomic.Bool
		once     sync.Once
		firstErr error
		wg       sync.WaitGroup
	)
	for range min(workers, n) {
		wg.Go(func() {
			for !failed.Load() {
				i := int(next.Add(1) - 1)
				if i >= n {
					return
				}
				err := ctx.Err()
				if err == nil {
					err = fn(i)
				}
				if err != nil {
					once.Do(func() { firstErr = err })
					failed.Store(true)
				}
			}
		})
	}
	wg.Wait()
	return firstErr
}
