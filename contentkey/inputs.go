package contentkey

import (
	"slices"
	"strings"
)

// Paths is where an image's inputs are, symlinks followed: what a change
// must touch to change its key.
type Paths struct {
	// Context is the context directory, a slash path relative to the root
	// with no symlink in it: the files under it that .dockerignore lets
	// through are inputs.
	Context string
	// Dockerfile is the Dockerfile read, symlinks resolved.
	Dockerfile string
	// Files are the other paths whose change can change the key, sorted:
	// the Dockerfile, where its ignore file is looked for, the ignore file
	// read, and every symlink followed to reach any of these or the
	// context. Some may be inside the context.
	Files []string
}

func (b *build) paths() Paths {
	files := []string{b.dockerfile, b.ignoreFiles[0], b.ignoreFiles[1]}
	if b.ignoreFile != "" {
		files = append(files, b.ignoreFile)
	}
	return Paths{Context: b.context, Dockerfile: b.dockerfile, Files: sortedSet(append(files, b.links...))}
}

// inputFilter tells whether a path (a slash path relative to the root) is
// one of the build's inputs: one of its Files, or a file of its context
// that .dockerignore lets through, as the key counts them. A change to any
// other path cannot change the content tag. It reads nothing from disk (a
// deleted file is judged by its path) and is not safe for concurrent use.
func (b *build) inputFilter() func(string) bool {
	var m *ignoreMatcher
	if b.ignore != nil {
		m = newIgnoreMatcher(b.ignore)
	}
	files := b.paths().Files
	prefix := contextPrefix(b.context)
	return func(p string) bool {
		if _, found := slices.BinarySearch(files, p); found {
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
	}
}
