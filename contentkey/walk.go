package contentkey

import (
	"cmp"
	"context"
	"errors"
	"os"
	"path/filepath"
	"runtime"
	"slices"
	"sync"
	"sync/atomic"
)

// walk lists the regular files and symlinks under the directories dirs of
// root, sorted by path. It reads directories only, in parallel since the
// time goes to system calls; it leaves out anything named .git and does not
// follow symlinks, as Docker sends them as they are.
//
// Each directory sorts its own entries, a directory's name taking a "/" so
// that it sorts as the paths inside it do ("a-b" < "a/x" < "a0"); reading
// the listings depth first then yields every path in order, without
// sorting them all at the end.
//
// A directory that cannot be read is left empty and returned among the
// unreadable, sorted by path: whether that matters depends on the image
// (see checkUnreadable).
func walk(ctx context.Context, root string, dirs []string, withStat bool) ([]file, []unreadableDir, error) {
	w := walker{ctx: ctx, root: root, withStat: withStat, slots: make(chan struct{}, 4*runtime.GOMAXPROCS(0))}
	top := &listing{}
	for _, d := range dirs {
		top.entries = append(top.entries, entry{key: d + "/", sub: &listing{}})
	}
	slices.SortFunc(top.entries, byKey)
	for _, e := range top.entries {
		w.wg.Add(1)
		go w.visit(e.key[:len(e.key)-1], e.sub)
	}
	w.wg.Wait()
	if w.err != nil {
		return nil, nil, w.err
	}
	files := make([]file, 0, w.files.Load())
	top.flatten(&files)
	slices.SortFunc(w.unreadable, func(a, b unreadableDir) int { return cmp.Compare(a.path, b.path) })
	return files, w.unreadable, nil
}

// An unreadableDir is a directory the walk could not list.
type unreadableDir struct {
	path string // slash path relative to the root
	err  error  // without the path: the errno
}

// A listing is a directory's entries in path order.
type listing struct {
	entries []entry
}

// An entry is a file (sub is nil) or a subdirectory; key is what it sorts
// by.
type entry struct {
	key  string
	file file
	sub  *listing
}

func byKey(a, b entry) int { return cmp.Compare(a.key, b.key) }

func (l *listing) flatten(files *[]file) {
	for _, e := range l.entries {
		if e.sub != nil {
			e.sub.flatten(files)
		} else {
			*files = append(*files, e.file)
		}
	}
}

type walker struct {
	ctx        context.Context
	root       string
	withStat   bool
	slots      chan struct{} // bounds the directories open at once
	wg         sync.WaitGroup
	files      atomic.Int64 // found so far
	mu         sync.Mutex
	err        error
	unreadable []unreadableDir
}

// A dirEntry is one entry of a directory listing.
type dirEntry struct {
	name string
	kind entryKind
	mode fileMode // with stat: the git mode of a file or symlink
	stat statData // with stat: of a file or symlink
}

type entryKind uint8

const (
	kindUnknown entryKind = iota
	kindDir
	kindFile
	kindSymlink
	kindOther // sockets, pipes and devices
)

func (w *walker) fail(err error) {
	w.mu.Lock()
	defer w.mu.Unlock()
	if w.err == nil {
		w.err = err
	}
}

// visit fills l with the entries of dir (a slash path relative to the root)
// and starts visiting its subdirectories.
func (w *walker) visit(dir string, l *listing) {
	defer w.wg.Done()
	if err := w.ctx.Err(); err != nil {
		w.fail(err)
		return
	}
	w.slots <- struct{}{}
	dirEntries, err := listDir(filepath.Join(w.root, filepath.FromSlash(dir)), w.withStat)
	<-w.slots
	if err != nil {
		var pe *os.PathError
		if errors.As(err, &pe) {
			err = pe.Err
		}
		w.mu.Lock()
		w.unreadable = append(w.unreadable, unreadableDir{dir, err})
		w.mu.Unlock()
		return
	}
	prefix := dir + "/"
	if dir == "." {
		prefix = ""
	}
	l.entries = make([]entry, 0, len(dirEntries))
	for _, d := range dirEntries {
		if d.name == ".git" {
			continue
		}
		switch d.kind {
		case kindDir:
			l.entries = append(l.entries, entry{key: d.name + "/", sub: &listing{}})
		case kindFile, kindSymlink:
			f := file{path: prefix + d.name, mode: d.mode, stat: d.stat}
			if f.mode == 0 { // not statted: only symlink or not
				f.mode = modeRegular
				if d.kind == kindSymlink {
					f.mode = modeSymlink
				}
			}
			l.entries = append(l.entries, entry{key: f.path[len(prefix):], file: f})
		}
		// Sockets, pipes and devices have no form in git, which leaves
		// them out; so do keys.
	}
	slices.SortFunc(l.entries, byKey)
	files := 0
	for _, e := range l.entries {
		if e.sub == nil {
			files++
		} else {
			w.wg.Add(1)
			go w.visit(prefix+e.key[:len(e.key)-1], e.sub)
		}
	}
	w.files.Add(int64(files))
}
