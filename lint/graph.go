package lint

import (
	"slices"
	"strings"
	"unicode/utf8"

	"github.com/bkgen/bkgen/internal/suggest"
	"gopkg.in/yaml.v3"
)

// checkGraph checks what spans steps, across all of a file's documents as
// they all go into one build: keys used twice, depends_on naming no key,
// and dependencies that can never be met.
func (l *linter) checkGraph(docs []*document) {
	var all []*step
	for _, d := range docs {
		all = append(all, d.steps...)
	}
	byKey := make(map[string]*step)
	var keys []string
	for _, st := range all {
		if st.key == "" {
			continue
		}
		if first, dup := byKey[st.key]; dup {
			l.errorf(st.keyNode, "duplicate-key", "key %q is already used by the step at line %d: Buildkite rejects a key used twice in a build", st.key, first.keyNode.Line)
			continue
		}
		byKey[st.key] = st
		keys = append(keys, st.key)
	}

	for _, st := range all {
		for _, d := range st.deps {
			target, known := byKey[d.key]
			switch {
			case !known && strings.Contains(d.key, "$"):
				// Interpolated at upload: only then is it known.
			case !known:
				hint := ""
				if utf8.RuneCountInString(d.key) > 3 { // any short key is one typo from another
					hint = suggest.DidYouMean(d.key, keys)
				}
				l.errorf(d.node, "unknown-dependency", "depends_on %q: no step has this key%s", d.key, hint)
			case st.within(target):
				l.errorf(d.node, "group-dependency", "depends_on %q: this step is in that group, which finishes only after its steps, so the step can never start", d.key)
			case target.within(st):
				l.errorf(d.node, "group-dependency", "depends_on %q: that step is in this group, whose steps start only after the group's dependencies finish, so it can never start", d.key)
			}
		}
	}
	l.cycles(all, byKey)
}

// within reports whether g is one of the step's enclosing groups.
func (st *step) within(g *step) bool {
	for p := st.parent; p != nil; p = p.parent {
		if p == g {
			return true
		}
	}
	return false
}

// cycles reports each set of steps that depend on one another in a circle,
// once, naming one circle through it.
func (l *linter) cycles(all []*step, byKey map[string]*step) {
	type edge struct {
		to   string
		node *yaml.Node // the depends_on entry
	}
	out := make(map[string][]edge)
	var order []string // keys in file order
	for _, st := range all {
		if st.key == "" || byKey[st.key] != st {
			continue // a key used again names the first step, not this one
		}
		order = append(order, st.key)
		out[st.key] = []edge{}
		for _, d := range st.deps {
			if _, ok := byKey[d.key]; ok {
				out[st.key] = append(out[st.key], edge{d.key, d.node})
			}
		}
	}

	// Tarjan's strongly connected components.
	index, low := make(map[string]int), make(map[string]int)
	onStack := make(map[string]bool)
	var stack []string
	var components [][]string
	var strong func(v string)
	strong = func(v string) {
		index[v], low[v] = len(index), len(index)
		stack, onStack[v] = append(stack, v), true
		for _, e := range out[v] {
			if _, seen := index[e.to]; !seen {
				strong(e.to)
				low[v] = min(low[v], low[e.to])
			} else if onStack[e.to] {
				low[v] = min(low[v], index[e.to])
			}
		}
		if low[v] == index[v] {
			var c []string
			for {
				w := stack[len(stack)-1]
				stack, onStack[w] = stack[:len(stack)-1], false
				c = append(c, w)
				if w == v {
					break
				}
			}
			components = append(components, c)
		}
	}
	for _, k := range order {
		if _, seen := index[k]; !seen {
			strong(k)
		}
	}

	rank := make(map[string]int, len(order))
	for i, k := range order {
		rank[k] = i
	}
	for _, c := range components {
		in := make(map[string]bool, len(c))
		start := c[0]
		for _, k := range c {
			in[k] = true
			if rank[k] < rank[start] {
				start = k
			}
		}
		// The shortest way from start back to itself, within the component:
		// via[x] is the step (and depends_on entry) x is first reached from.
		type hop struct {
			from string
			node *yaml.Node
		}
		via := make(map[string]hop)
		queue := []string{start}
	search:
		for len(queue) > 0 {
			v := queue[0]
			queue = queue[1:]
			for _, e := range out[v] {
				if _, seen := via[e.to]; seen || !in[e.to] {
					continue
				}
				via[e.to] = hop{v, e.node}
				if e.to == start {
					break search
				}
				queue = append(queue, e.to)
			}
		}
		if _, ok := via[start]; !ok {
			continue // a step on its own, depending on nothing in a circle
		}
		// Walk back from start, collecting the circle in reverse; the last
		// hop taken is the entry leaving start, where it is reported.
		circle := []string{start}
		first := via[start].node
		for v := via[start].from; v != start; v = via[v].from {
			circle = append(circle, v)
			first = via[v].node
		}
		circle = append(circle, start)
		slices.Reverse(circle)
		l.errorf(first, "dependency-cycle", "dependency cycle: %s", strings.Join(circle, " -> "))
	}
}
