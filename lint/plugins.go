package lint

import (
	"strings"

	"github.com/bkgen/bkgen/internal/pin"
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

// pinned warns about a plugin whose version can change under the
// pipeline (see package pin).
func (l *linter) pinned(n *yaml.Node, name string) {
	if name == "" || strings.Contains(name, "$") {
		return // interpolated at upload: only then is it known
	}
	if why, fix := pin.Check(name); why != "" {
		l.warnf(n, "unpinned-plugin", "plugin %q is not pinned: %s; %s", name, why, fix)
	}
}
