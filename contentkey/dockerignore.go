package contentkey

import (
	"bytes"
	"fmt"
	"path"
	"strings"

	"github.com/moby/patternmatcher"
	"github.com/moby/patternmatcher/ignorefile"
)

// parseIgnoreFile reads a .dockerignore file's patterns as Docker does. It
// returns nil when the file has none. An error names the line at fault,
// never its text: the file may be a symlink to anything in the repository.
func parseIgnoreFile(data []byte) (*patternmatcher.PatternMatcher, error) {
	patterns, err := ignorefile.ReadAll(bytes.NewReader(data))
	if err == nil && len(patterns) == 0 {
		return nil, nil
	}
	var pm *patternmatcher.PatternMatcher
	if err == nil {
		if pm, err = patternmatcher.New(patterns); err == nil {
			return pm, nil
		}
	}
	// Find the first line that fails alone, to say where.
	for i, line := range strings.Split(string(data), "\n") {
		ps, lineErr := ignorefile.ReadAll(strings.NewReader(line))
		if lineErr == nil && len(ps) > 0 {
			_, lineErr = patternmatcher.New(ps)
		}
		if lineErr != nil {
			return nil, fmt.Errorf("line %d: %w", i+1, lineErr)
		}
	}
	return nil, err
}

// An ignoreMatcher decides which files of a context .dockerignore excludes,
// the way BuildKit does while it walks the context: a path is matched with
// the results of its parent directory, which can differ from matching the
// full path alone when a "!" exception and a directory pattern interleave.
// Directories are matched once each, however many files they hold.
type ignoreMatcher struct {
	pm   *patternmatcher.PatternMatcher
	dirs map[string]dirMatch
}

type dirMatch struct {
	excluded bool
	info     patternmatcher.MatchInfo
}

func newIgnoreMatcher(pm *patternmatcher.PatternMatcher) *ignoreMatcher {
	return &ignoreMatcher{pm: pm, dirs: map[string]dirMatch{}}
}

// excludes reports whether .dockerignore keeps the file at rel (a slash
// path relative to the context) out of the context.
func (m *ignoreMatcher) excludes(rel string) (bool, error) {
	parent, err := m.dir(path.Dir(rel))
	if err != nil {
		return false, err
	}
	if parent.excluded && !m.pm.Exclusions() {
		return true, nil // nothing can bring a file of an excluded directory back
	}
	excluded, _, err := m.pm.MatchesUsingParentResults(rel, parent.info)
	return excluded, err
}

func (m *ignoreMatcher) dir(dir string) (dirMatch, error) {
	if dir == "." {
		return dirMatch{}, nil
	}
	if d, ok := m.dirs[dir]; ok {
		return d, nil
	}
	parent, err := m.dir(path.Dir(dir))
	if err != nil {
		return dirMatch{}, err
	}
	excluded, info, err := m.pm.MatchesUsingParentResults(dir, parent.info)
	if err != nil {
		return dirMatch{}, err
	}
	d := dirMatch{excluded: excluded, info: info}
	m.dirs[dir] = d
	return d, nil
}

// skipsDir reports whether Docker's walk of the context skips the
// directory at rel without reading it: when .dockerignore excludes it and
// no exception pattern starts with its path.
func (m *ignoreMatcher) skipsDir(rel string) (bool, error) {
	d, err := m.dir(rel)
	if err != nil || !d.excluded {
		return false, err
	}
	for _, p := range m.pm.Patterns() {
		if p.Exclusion() && strings.HasPrefix(p.String()+"/", rel+"/") {
			return false, nil
		}
	}
	return true, nil
}
