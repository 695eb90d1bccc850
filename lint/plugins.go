package lint

import (
	"fmt"
	"regexp"
	"strings"

	"gopkg.in/yaml.v3"
)

// plugins checks that each of a step's plugins is pinned. The list form
// holds names or {name: config} mappings; the mapping form is {name: config}.
func (l *linter) plugins(st *step) {
	e, ok := st.get("plugins")
	if !ok {
		return
	}
	v := resolve(e.v)
	if v == nil {
		return
	}
	switch v.Kind {
	case yaml.SequenceNode:
		for _, item := range v.Content {
			switch r := resolve(item); {
			case isString(r):
				l.pinned(item, r.Value)
			case r != nil && r.Kind == yaml.MappingNode:
				for _, p := range fields(r) {
					l.pinned(p.k, p.key)
				}
			}
		}
	case yaml.MappingNode:
		for _, p := range fields(v) {
			l.pinned(p.k, p.key)
		}
	}
}

var (
	// A release: vX.Y.Z, perhaps with a pre-release or build suffix.
	releaseRe = regexp.MustCompile(`^v?\d+\.\d+\.\d+([-+][0-9A-Za-z.+-]*)?$`)
	partialRe = regexp.MustCompile(`^v?\d+(\.\d+)?$`)
	fullShaRe = regexp.MustCompile(`^([0-9a-f]{40}|[0-9a-f]{64})$`)
	shortSha  = regexp.MustCompile(`^[0-9a-f]{7,39}$`)
)

// pinned warns about a plugin whose version can change under the
// pipeline: no ref (the repository's default branch), a branch, a partial
// version that may be a moving tag, or a short sha.
func (l *linter) pinned(n *yaml.Node, name string) {
	if name == "" || strings.Contains(name, "$") {
		return // interpolated at upload: only then is it known
	}
	if strings.HasPrefix(name, ".") || strings.HasPrefix(name, "/") || strings.HasPrefix(name, `\`) || strings.HasPrefix(name, "file://") {
		return // a plugin in the repository (or on the agent) is as pinned as the commit
	}
	source, ref, hasRef := strings.Cut(name, "#")
	pin := "pin a release tag (" + source + "#vX.Y.Z) or a full commit sha"
	var why string
	switch {
	case !hasRef || ref == "":
		why = "without a #ref the agent checks out the plugin repository's default branch, which can change under the pipeline"
	case releaseRe.MatchString(ref), fullShaRe.MatchString(ref):
		return
	case partialRe.MatchString(ref):
		why = fmt.Sprintf("%q is a partial version, which may be a tag that moves with each release", ref)
	case shortSha.MatchString(ref):
		why = fmt.Sprintf("%q looks like a short commit sha, which can become ambiguous", ref)
		pin = "write the full 40-character sha"
	default:
		why = fmt.Sprintf("%q looks like a branch, not a release tag or a commit sha, so it can change under the pipeline", ref)
	}
	l.warnf(n, "unpinned-plugin", "plugin %q is not pinned: %s; %s", name, why, pin)
}
