package plan

import (
	"cmp"
	"errors"
	"io/fs"
	"path/filepath"
	"strings"

	"github.com/bkgen/bkgen/internal/inroot"
	"github.com/bkgen/bkgen/spec"
)

// DefaultSpec is where a repository keeps its spec.
const DefaultSpec = ".buildkite/bkgen.yml"

// specLimit bounds the spec: a real one is a few kilobytes.
var specLimit = inroot.Limit{Bytes: 1 << 20, Of: "a spec"}

// ErrOutsideRoot is a spec named by an absolute path outside the root.
var ErrOutsideRoot = errors.New("the spec must be inside the repository root")

// A ReadError is a spec that cannot be read: it is not there
// (fs.ErrNotExist), lies outside the root, or is not a regular file of a
// spec's size. The message names the spec relative to the root, never this
// machine's paths.
type ReadError struct {
	File string // the spec, relative to the root
	Err  error
}

func (e *ReadError) Error() string {
	switch {
	case errors.Is(e.Err, ErrOutsideRoot):
		return e.Err.Error()
	case errors.Is(e.Err, fs.ErrNotExist):
		return "no spec at " + e.File
	}
	return "cannot read the spec: " + e.Err.Error()
}

func (e *ReadError) Unwrap() error { return e.Err }

// Load reads the spec file in the repository root dir, and loads it: a
// *ReadError when it cannot be read, else spec.Load's diag.List of every
// problem in it, positioned in file relative to the root.
//
// The spec comes with the commit, from whoever wrote it: it must be a
// regular file inside the root, where a symlink may lead elsewhere inside
// but never out (to a private key, say, that errors about the spec would
// print), and of a spec's size.
func Load(dir, file string) (*spec.Spec, error) {
	dir, file = root(dir), cmp.Or(file, DefaultSpec)
	name := filepath.ToSlash(filepath.Clean(file))
	if filepath.IsAbs(file) {
		// Named on the command line: say nothing of this machine's paths.
		abs, err := filepath.Abs(dir)
		if err == nil {
			name, err = filepath.Rel(abs, file)
			name = filepath.ToSlash(name)
		}
		if err != nil || name == ".." || strings.HasPrefix(name, "../") {
			return nil, &ReadError{Err: ErrOutsideRoot}
		}
	}
	src, _, err := inroot.ReadFile(dir, name, specLimit)
	if err != nil {
		return nil, &ReadError{File: name, Err: err}
	}
	return spec.Load(name, src)
}
