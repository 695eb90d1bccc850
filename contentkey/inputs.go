package contentkey

import "strings"

// inputFilter tells whether a path (a slash path relative to the root) is
// one of the build's inputs: its Dockerfile, the ignore file that applies,
// or a file of its context that .dockerignore lets through, as the key
// counts them. A change to any other path cannot change the content tag.
// It reads nothing from disk (a deleted file is judged by its path) and is
// not safe for concurrent use.
func (b *build) inputFilter() func(string) bool {
	var m *ignoreMatcher
	if b.ignore != nil {
		m = newIgnoreMatcher(b.ignore)
	}
	ignoreFiles := b.ignoreFiles()
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
	}
}
