package contentkey

import (
	"errors"
	"fmt"
	"os"
	"path"
	"strings"
)

// InputFilter returns a test for whether a path (a slash path relative to
// root) is one of an image's build inputs: its Dockerfile, the ignore file
// that applies, or a file of its context that .dockerignore lets through,
// as Compute counts them. A change to any other path cannot change the
// image's content tag, so it need not rebuild the image.
//
// The test reads nothing from disk: a deleted file is judged by its path.
// It is not safe for concurrent use.
func InputFilter(root string, img Image) (func(path string) bool, error) {
	b, err := newBuild(root, img)
	if err != nil {
		return nil, fmt.Errorf("image %q: %w", img.Name, err)
	}
	ignoreFiles := []string{b.dockerfile + ".dockerignore", path.Join(b.context, ".dockerignore")}
	var m *ignoreMatcher
	for _, name := range ignoreFiles {
		pm, err := readIgnoreFile(b.osPath(name))
		if errors.Is(err, os.ErrNotExist) {
			continue
		}
		if err != nil {
			return nil, fmt.Errorf("image %q: %s: %w", img.Name, name, err)
		}
		if pm != nil {
			m = newIgnoreMatcher(pm)
		}
		break
	}
	prefix := contextPrefix(b.context)
	return func(p string) bool {
		if p == b.dockerfile || p == ignoreFiles[0] || p == ignoreFiles[1] {
			return true
		}
		if !strings.HasPrefix(p, prefix) {
			return false
		}
		rel := p[len(prefix):]
		if rel == ".git" || strings.HasPrefix(rel, ".git/") || strings.Contains(rel, "/.git/") || strings.HasSuffix(rel, "/.git") {
			return false // never part of a key
		}
		if m == nil {
			return true
		}
		excluded, err := m.excludes(rel)
		// A pattern the matcher cannot apply keeps the file: better a
		// needless rebuild than a missed one.
		return err != nil || !excluded
	}, nil
}
