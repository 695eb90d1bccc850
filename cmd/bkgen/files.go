package main

import (
	"errors"
	"fmt"
	"io/fs"
	"os"
	"os/signal"
	"path/filepath"
	"strings"
	"sync"
	"syscall"

	"github.com/bkgen/bkgen/internal/pipetext"
)

// repoFile is a file named on the command line (-o, --check), found where
// reading or writing it really happens.
type repoFile struct {
	name string // as named, for messages
	path string // the file itself, every symlink on the way followed
	rel  string // path relative to the repository root, slash-separated; "" outside it
}

// maxLinks bounds a chain of symlinks, as Linux does in one lookup.
const maxLinks = 40

// repoFile follows the symlinks of a file named on the command line to the
// file they end at. In a pull request the repository's symlinks are its
// author's: a name inside the root (-C) whose links lead, or dangle, out of
// it is refused, so a committed link cannot make bkgen read or overwrite a
// file elsewhere on the agent. A name outside the root was chosen by
// whoever runs bkgen, and is followed wherever it leads.
func (f *planFlags) repoFile(name string) (*repoFile, error) {
	fail := func(err error) (*repoFile, error) {
		return nil, fmt.Errorf("%s: %w", pipetext.Display(name), err)
	}
	root, err := filepath.Abs(f.dir)
	if err != nil {
		return fail(err)
	}
	named, err := filepath.Abs(f.path(name))
	if err != nil {
		return fail(err)
	}
	realRoot, err := filepath.EvalSymlinks(root)
	if err != nil {
		return fail(fmt.Errorf("the repository root: %w", err))
	}
	path, err := followLinks(named)
	rel, inside := within(realRoot, path)
	if _, namedInside := within(root, named); namedInside && !inside {
		return nil, fmt.Errorf("%s leads through a symlink to %s, outside the repository root %s: bkgen does not follow a link that a commit can add out of the repository; remove the link, or name a file outside the repository directly",
			pipetext.Display(name), pipetext.Display(path), pipetext.Display(realRoot))
	}
	if err != nil {
		return fail(err)
	}
	return &repoFile{name: name, path: path, rel: rel}, nil
}

// followLinks returns where name really is: the file at the end of its
// chain of symlinks, in its directory with every symlink resolved. A
// dangling link ends at the file it names, which writing creates. When that
// directory cannot be resolved, the error comes with the path as far as it
// was followed.
func followLinks(name string) (string, error) {
	p := name
	for range maxLinks {
		info, err := os.Lstat(p)
		if err == nil && info.Mode()&fs.ModeSymlink != 0 {
			target, err := os.Readlink(p)
			if err != nil {
				return p, err
			}
			if !filepath.IsAbs(target) {
				// Not filepath.Join: it would clean "link/.." by its text,
				// where the system goes to the parent of what link names.
				dir, _ := filepath.Split(p)
				target = dir + target
			}
			p = target
			continue
		}
		if err != nil && !errors.Is(err, fs.ErrNotExist) {
			return p, err
		}
		dir, file := filepath.Split(p)
		realDir, err := filepath.EvalSymlinks(dir)
		if err != nil {
			return filepath.Clean(p), err
		}
		return filepath.Join(realDir, file), nil
	}
	return p, fmt.Errorf("%s: more than %d symbolic links in a chain", pipetext.Display(name), maxLinks)
}

// within reports whether path lies inside the directory root, and where.
func within(root, path string) (string, bool) {
	rel, err := filepath.Rel(root, path)
	if err != nil || rel == ".." || strings.HasPrefix(rel, ".."+string(filepath.Separator)) {
		return "", false
	}
	return filepath.ToSlash(rel), true
}

// interrupts are the signals that ask bkgen to stop: Ctrl-C, the agent
// cancelling the job, a closed terminal.
var interrupts = []os.Signal{os.Interrupt, syscall.SIGTERM, syscall.SIGHUP}

// writeFileAtomic writes data to a temporary file beside name and renames it
// into place, so readers see the old file or the new one, never a part.
//
// An interrupt while the temporary file exists removes it, then exits with
// 128+signal, the status a shell gives a process the signal killed. Before
// the file exists there is nothing to remove, and after the rename the file
// is whole; an interrupt then still exits, with the same status. Outside
// this function a signal has its default effect: nothing is left behind.
func writeFileAtomic(name string, data []byte) error {
	// Listen before the temporary file exists, so no signal finds it unattended.
	sigs := make(chan os.Signal, 1)
	signal.Notify(sigs, interrupts...)
	var mu sync.Mutex // held while the temporary file is created or renamed
	tmpName := ""     // the temporary file, until it is renamed
	handled := make(chan struct{})
	go func() {
		defer close(handled)
		sig, ok := <-sigs
		if !ok {
			return
		}
		mu.Lock() // kept until the exit: nothing is created or renamed after this
		if tmpName != "" {
			os.Remove(tmpName)
		}
		os.Exit(128 + int(sig.(syscall.Signal)))
	}()
	defer func() {
		// Stop delivers every signal already caught; the handler takes it.
		signal.Stop(sigs)
		close(sigs)
		<-handled
	}()

	mu.Lock()
	tmp, err := os.CreateTemp(filepath.Dir(name), "."+filepath.Base(name)+".tmp*")
	if err == nil {
		tmpName = tmp.Name()
	}
	mu.Unlock()
	if err != nil {
		return err
	}
	defer os.Remove(tmp.Name()) // a no-op once renamed
	if _, err := tmp.Write(data); err != nil {
		tmp.Close()
		return err
	}
	if err := tmp.Chmod(0o644); err != nil {
		tmp.Close()
		return err
	}
	if err := tmp.Sync(); err != nil {
		tmp.Close()
		return err
	}
	if err := tmp.Close(); err != nil {
		return err
	}
	mu.Lock()
	defer mu.Unlock()
	if err := os.Rename(tmp.Name(), name); err != nil {
		return err
	}
	tmpName = ""
	return nil
}
