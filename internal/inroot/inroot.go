// Package inroot finds and reads the files a repository names (the spec,
// Dockerfiles, ignore files, build contexts) as a hostile repository may
// have laid them out: a path is resolved inside the repository root, its
// symlinks followed only while they stay inside it and never into .git; a
// file is read only when it is a regular file, opened without blocking (a
// FIFO cannot hang a read) and no larger than its caller's limit.
//
// Errors name paths relative to the root, as the repository writes them,
// and never hold an absolute path or anything read from a file.
package inroot

import (
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path"
	"path/filepath"
	"strings"
	"syscall"
)

var (
	// ErrOutside is a path that leads outside the root, or into .git.
	ErrOutside = errors.New("leads outside the repository")
	// ErrKind is a path to something other than what was asked for: a
	// directory where a file was expected, a device, a FIFO, a socket.
	ErrKind = errors.New("wrong kind of file")
	// ErrTooLarge is a file larger than its limit.
	ErrTooLarge = errors.New("file too large")
)

// An Error is a problem with one path. Its message names paths relative
// to the root only.
type Error struct {
	Path string // the path asked for, relative to the root
	Msg  string // the whole message, path included
	Err  error  // ErrOutside, ErrKind, ErrTooLarge, or one of fs's errors
}

func (e *Error) Error() string { return e.Msg }
func (e *Error) Unwrap() error { return e.Err }

// A Resolved path is where a path really is.
type Resolved struct {
	// Path is a slash path relative to the root with no symlink in it, "."
	// for the root itself.
	Path string
	// Links are the symlinks followed to get there, slash paths relative to
	// the root, in the order they were followed.
	Links []string
	// Info describes what Path is (never a symlink).
	Info fs.FileInfo
}

// maxLinks bounds the symlinks one resolution follows, as the kernel does
// (40 on Linux): a loop is an error, not a hang.
const maxLinks = 40

// Resolve finds where name (a slash path relative to root) really is. It
// follows symlinks one component at a time, each target read relative to
// the link's directory; a link with an absolute target, or whose target
// climbs above the root, or a path through a component named .git, is
// ErrOutside. The root itself is taken as it is.
func Resolve(root, name string) (Resolved, error) {
	fail := func(err error, format string, args ...any) (Resolved, error) {
		return Resolved{}, &Error{Path: name, Msg: fmt.Sprintf(format, args...), Err: err}
	}
	if name == "" || path.IsAbs(name) || strings.Contains(name, `\`) {
		return fail(ErrOutside, "%q is not a slash path relative to the repository root", name)
	}
	var (
		done  = "."       // resolved so far
		info  fs.FileInfo // of done; nil for the root, taken to be a directory
		rest  = strings.Split(name, "/")
		links []string
	)
	for len(rest) > 0 {
		c := rest[0]
		rest = rest[1:]
		if c == "" || c == "." {
			continue
		}
		if info != nil && !info.IsDir() {
			return fail(syscall.ENOTDIR, "%s: %s is not a directory", name, done)
		}
		if c == ".." {
			if done == "." {
				if len(links) == 0 {
					return fail(ErrOutside, "%s leads outside the repository", name)
				}
				return fail(ErrOutside, "%s: the symlink %s leads outside the repository", name, links[len(links)-1])
			}
			done = path.Dir(done)
			info = nil // a directory: it held what was just left
			continue
		}
		if strings.EqualFold(c, ".git") {
			via := ""
			if len(links) > 0 {
				via = " through the symlink " + links[len(links)-1]
			}
			return fail(ErrOutside, "%s leads into .git%s, which bkgen does not read", name, via)
		}
		next := path.Join(done, c)
		fi, err := os.Lstat(filepath.Join(root, filepath.FromSlash(next)))
		if errors.Is(err, fs.ErrNotExist) {
			if next == name {
				return fail(fs.ErrNotExist, "%s does not exist", name)
			}
			return fail(fs.ErrNotExist, "%s does not exist (%s is missing)", name, next)
		}
		if err != nil {
			return fail(err, "%s: cannot read %s: %s", name, next, errnoText(err))
		}
		if fi.Mode()&fs.ModeSymlink == 0 {
			done, info = next, fi
			continue
		}
		if len(links) == maxLinks {
			return fail(ErrOutside, "%s: too many levels of symlinks", name)
		}
		links = append(links, next)
		target, err := os.Readlink(filepath.Join(root, filepath.FromSlash(next)))
		if err != nil {
			return fail(err, "%s: cannot read the symlink %s: %s", name, next, errnoText(err))
		}
		target = filepath.ToSlash(target)
		if path.IsAbs(target) || filepath.IsAbs(target) || filepath.VolumeName(target) != "" {
			return fail(ErrOutside, "%s: the symlink %s leads outside the repository (to an absolute path)", name, next)
		}
		rest = append(strings.Split(target, "/"), rest...)
	}
	if info == nil {
		// The root, or a directory gone back up to; the root itself is
		// the caller's, and may be reached as it is.
		fi, err := os.Stat(filepath.Join(root, filepath.FromSlash(done)))
		if err != nil {
			return fail(err, "%s: cannot read %s: %s", name, done, errnoText(err))
		}
		info = fi
	}
	return Resolved{Path: done, Links: links, Info: info}, nil
}

// Dir resolves name and checks that it is a directory.
func Dir(root, name string) (Resolved, error) {
	r, err := Resolve(root, name)
	if err != nil {
		return r, err
	}
	if !r.Info.IsDir() {
		return r, &Error{Path: name, Msg: fmt.Sprintf("%s is %s, not a directory", name, kindOf(r.Info.Mode())), Err: ErrKind}
	}
	return r, nil
}

// A Limit is the most ReadFile reads, with what it reads for the message
// ("a spec").
type Limit struct {
	Bytes int64
	Of    string
}

func (l Limit) String() string {
	if l.Bytes%(1<<20) == 0 {
		return fmt.Sprintf("%d MiB", l.Bytes>>20)
	}
	return fmt.Sprintf("%d bytes", l.Bytes)
}

// ReadFile resolves name, checks that it is a regular file within limit,
// and reads it.
func ReadFile(root, name string, limit Limit) ([]byte, Resolved, error) {
	r, err := Resolve(root, name)
	if err != nil {
		return nil, r, err
	}
	notRegular := func(mode fs.FileMode) ([]byte, Resolved, error) {
		return nil, r, &Error{Path: name, Msg: fmt.Sprintf("%s is %s, not a regular file", name, kindOf(mode)), Err: ErrKind}
	}
	tooLarge := func() ([]byte, Resolved, error) {
		return nil, r, &Error{Path: name, Msg: fmt.Sprintf("%s is larger than %s, more than bkgen reads for %s", name, limit, limit.Of), Err: ErrTooLarge}
	}
	if !r.Info.Mode().IsRegular() {
		return notRegular(r.Info.Mode())
	}
	if r.Info.Size() > limit.Bytes {
		return tooLarge()
	}

	// Open what was resolved, never following a symlink swapped in since
	// and never waiting on a FIFO; then check again what was opened.
	f, err := os.OpenFile(filepath.Join(root, filepath.FromSlash(r.Path)), os.O_RDONLY|openFlags, 0)
	if err != nil {
		return nil, r, &Error{Path: name, Msg: fmt.Sprintf("%s: %s", name, errnoText(err)), Err: err}
	}
	defer f.Close()
	fi, err := f.Stat()
	if err != nil {
		return nil, r, &Error{Path: name, Msg: fmt.Sprintf("%s: %s", name, errnoText(err)), Err: err}
	}
	if !fi.Mode().IsRegular() {
		return notRegular(fi.Mode())
	}
	data, err := io.ReadAll(io.LimitReader(f, limit.Bytes+1))
	if err != nil {
		return nil, r, &Error{Path: name, Msg: fmt.Sprintf("%s: %s", name, errnoText(err)), Err: err}
	}
	if int64(len(data)) > limit.Bytes {
		return tooLarge()
	}
	return data, r, nil
}

// errnoText is an error's text without the path an os error carries.
func errnoText(err error) string {
	var pe *fs.PathError
	if errors.As(err, &pe) {
		err = pe.Err
	}
	var le *os.LinkError
	if errors.As(err, &le) {
		err = le.Err
	}
	return err.Error()
}

func kindOf(mode fs.FileMode) string {
	switch {
	case mode.IsDir():
		return "a directory"
	case mode.IsRegular():
		return "a regular file"
	case mode&fs.ModeNamedPipe != 0:
		return "a FIFO"
	case mode&fs.ModeSocket != 0:
		return "a socket"
	case mode&fs.ModeDevice != 0:
		return "a device"
	}
	return "a special file"
}
