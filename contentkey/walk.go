package contentkey

import (
	"cmp"
	"context"
	"io/fs"
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
func walk(ctx context.Context, root string, dirs []string) ([]file, error) {
	w := walker{ctx: ctx, root: root, slots: make(chan struct{}, 4*runtime.GOMAXPROCS(0))}
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
		return nil, w.err
	}
	files := make([]file, 0, w.files.Load())
	top.flatten(&files)
	return files, nil
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
	ctx   context.Context
	root  string
	slots chan struct{} // bounds the directories open at once
	wg    sync.WaitGroup
	files atomic.Int64 // found so far
	mu    sync.Mutex
	err   error
}

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
	dirEntries, err := readDir(filepath.Join(w.root, filepath.FromSlash(dir)))
	<-w.slots
	if err != nil {
		w.fail(err)
		return
	}
	prefix := dir + "/"
	if dir == "." {
		prefix = ""
	}
	l.entries = make([]entry, 0, len(dirEntries))
	for _, d := range dirEntries {
		name := d.Name()
		if name == ".git" {
			continue
		}
		p := prefix + name
		switch t := d.Type(); {
		case t.IsDir():
			l.entries = append(l.entries, entry{key: name + "/", sub: &listing{}})
		case t.IsRegular():
			l.entries = append(l.entries, entry{key: name, file: file{path: p, mode: modeRegular}})
		case t&fs.ModeSymlink != 0:
			l.entries = append(l.entries, entry{key: name, file: file{path: p, mode: modeSymlink}})
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

// readDir is os.ReadDir without its sorting, which visit does its own way.
func readDir(name string) ([]fs.DirEntry, error) {
	f, err := os.Open(name)
	if err != nil {
		return nil, err
	}
	defer f.Close()
	return f.ReadDir(-1)
}
