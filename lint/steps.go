package lint

import (
	"regexp"
	"slices"

	"gopkg.in/yaml.v3"
)

// step is one item of a steps list.
type step struct {
	node   *yaml.Node // the item as written (an alias keeps its own position)
	body   *yaml.Node // the item resolved: a scalar or a mapping
	nested *yaml.Node // the legacy nested form's attributes ("wait: {key: x}"), or nil
	parent *step      // the enclosing group step, or nil
	group  bool

	key     string     // "" when the step has no usable key
	keyNode *yaml.Node // the key's value
	deps    []dep
	env     []string // the variables the step's own env block sets
}

// dep is one depends_on entry.
type dep struct {
	key  string
	node *yaml.Node
}

// typeKeys are the keys that give a step its type, in go-pipeline's order of
// inference.
var typeKeys = []string{"command", "commands", "plugins", "wait", "waiter", "block", "input", "manual", "trigger", "group"}

// nestingKeys are the type keys whose value may be a mapping of the step's
// attributes, a legacy form Buildkite still accepts ("wait: {key: x}").
var nestingKeys = []string{"command", "commands", "script", "wait", "waiter", "block", "input", "manual"}

// get returns a step attribute, looking in the legacy nested mapping too.
func (st *step) get(name string) (entry, bool) {
	if e, ok := field(st.body, name); ok {
		return e, true
	}
	return field(st.nested, name)
}

// maxSteps bounds the walk: aliases can make a small file list millions of
// steps. Groups do not nest, so past this many at least half are jobs, and
// the upload is refused for having too many long before.
const maxSteps = 10_000

// collectSteps records the steps of a list, and those of the groups in it.
func (l *linter) collectSteps(d *document, list *yaml.Node, parent *step) {
	list = resolve(list)
	if list == nil || list.Kind != yaml.SequenceNode {
		return
	}
	for _, item := range list.Content {
		if len(d.steps) >= maxSteps {
			return
		}
		st := &step{node: item, body: resolve(item), parent: parent}
		if st.body == nil {
			continue
		}
		d.steps = append(d.steps, st)
		if st.body.Kind != yaml.MappingNode {
			continue
		}
		if _, ok := d.byMap[st.body]; !ok {
			d.byMap[st.body] = st
		}
		kind := stepKind(st.body)
		if slices.Contains(nestingKeys, kind) {
			if e, ok := field(st.body, kind); ok && resolve(e.v) != nil && resolve(e.v).Kind == yaml.MappingNode {
				st.nested = resolve(e.v)
			}
		}
		if e, ok := st.get("env"); ok {
			for _, v := range fields(e.v) {
				st.env = append(st.env, v.key)
			}
		}
		st.group = kind == "group"
		if st.group && !st.inside(st.body) {
			if e, ok := field(st.body, "steps"); ok {
				l.collectSteps(d, e.v, st)
			}
		}
	}
}

// inside reports whether one of the step's enclosing groups is m: an alias
// can put a group inside itself.
func (st *step) inside(m *yaml.Node) bool {
	for p := st.parent; p != nil; p = p.parent {
		if p.body == m {
			return true
		}
	}
	return false
}

// stepKind infers a mapping step's type key as go-pipeline does: from
// "type", else from the first type key present (or the legacy "script",
// which go-pipeline does not know).
func stepKind(m *yaml.Node) string {
	if e, ok := field(m, "type"); ok {
		if t := resolve(e.v); isString(t) {
			switch t.Value {
			case "group":
				return "group"
			case "script", "command", "commands":
				return "command"
			}
			return t.Value
		}
		return ""
	}
	for _, k := range typeKeys {
		if _, ok := field(m, k); ok {
			return k
		}
	}
	if _, ok := field(m, "script"); ok {
		return "script"
	}
	return ""
}

// checkStep checks one step's own attributes.
func (l *linter) checkStep(st *step) {
	if st.body.Kind != yaml.MappingNode {
		return
	}
	l.stepKey(st)
	l.dependsOn(st)
	l.ifChanged(st)
	l.plugins(st)
}

var uuidRe = regexp.MustCompile(`^[0-9a-fA-F]{8}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{12}$`)

// stepKey checks the step's key (or its aliases id and identifier, which
// go-pipeline reads in that order) and records it.
func (l *linter) stepKey(st *step) {
	for _, name := range []string{"key", "id", "identifier"} {
		e, ok := st.get(name)
		if !ok {
			continue
		}
		v := resolve(e.v)
		switch {
		case v == nil || isNull(v) || v.Kind == yaml.ScalarNode && v.Value == "":
			l.errorf(e.v, "step-key", "%s is empty", name)
			return
		case v.Kind != yaml.ScalarNode:
			l.errorf(e.v, "step-key", "%s must be a string", name)
			return
		case !isString(v):
			// Buildkite wants a string; record it anyway, so that
			// depends_on entries naming it are not reported too.
			l.errorf(e.v, "step-key", "%s must be a string: quote it (%q)", name, v.Value)
		case uuidRe.MatchString(v.Value):
			l.errorf(e.v, "step-key", "%s %q is shaped like a UUID, which Buildkite rejects for a step key", name, v.Value)
		}
		st.key, st.keyNode = v.Value, e.v
		return
	}
}

const dependsOnForms = "a step key, a list of keys, or a list of {step: KEY}"

// dependsOn reads the step's depends_on: a key, a list of keys, or a list
// of {step: KEY, allow_failure: BOOL}.
func (l *linter) dependsOn(st *step) {
	e, ok := st.get("depends_on")
	if !ok {
		return
	}
	add := func(n *yaml.Node) {
		switch v := resolve(n); {
		case !isString(v):
			l.errorf(n, "depends-on", "a depends_on entry must be a step key (a string)")
		case v.Value == "":
			l.errorf(n, "depends-on", "depends_on entry is empty")
		default:
			st.deps = append(st.deps, dep{v.Value, n})
		}
	}
	switch v := resolve(e.v); {
	case isNull(v):
	case v.Kind == yaml.ScalarNode:
		add(e.v)
	case v.Kind == yaml.SequenceNode:
		for _, item := range v.Content {
			r := resolve(item)
			switch {
			case r != nil && r.Kind == yaml.MappingNode:
				if s, ok := field(r, "step"); ok {
					add(s.v)
				} else {
					l.errorf(item, "depends-on", "depends_on entry has no step: write {step: KEY}")
				}
			case r != nil && r.Kind == yaml.ScalarNode:
				add(item)
			default:
				l.errorf(item, "depends-on", "depends_on must be %s", dependsOnForms)
			}
		}
	default:
		l.errorf(e.v, "depends-on", "depends_on must be %s", dependsOnForms)
	}
}

// jobLimit is Buildkite's default limit on the jobs one upload creates.
const jobLimit = 500

// checkJobCount reports the step that takes an upload past jobLimit jobs.
func (l *linter) checkJobCount(d *document) {
	total, over := 0, (*step)(nil)
	for _, st := range d.steps {
		total += jobs(st)
		if total > jobLimit && over == nil {
			over = st
		}
	}
	if over != nil {
		l.errorf(over.node, "job-limit", "the upload has %d jobs (counting the steps in groups, parallelism and matrix combinations), and this step takes it past Buildkite's limit of %d per upload: split the pipeline into several uploads", total, jobLimit)
	}
}

// jobs is how many jobs a step creates: none for a group (its steps count
// themselves), one for any other step, times its parallelism and its
// matrix combinations.
func jobs(st *step) int {
	if st.group {
		return 0
	}
	n := 1
	if e, ok := st.get("parallelism"); ok {
		var p int
		if v := resolve(e.v); v != nil && v.ShortTag() == "!!int" && v.Decode(&p) == nil && p > 1 {
			n *= p
		}
	}
	if e, ok := st.get("matrix"); ok {
		n *= max(matrixSize(resolve(e.v)), 1)
	}
	return n
}

// matrixSize counts a matrix's combinations: a plain list is one
// dimension; a setup mapping multiplies its dimensions; adjustments add a
// combination the setup lacks, or skip one it has.
func matrixSize(m *yaml.Node) int {
	if m == nil {
		return 1
	}
	if m.Kind == yaml.SequenceNode {
		return len(m.Content)
	}
	setupEntry, ok := field(m, "setup")
	if !ok {
		return 1
	}
	setup := resolve(setupEntry.v)
	if setup == nil {
		return 1
	}
	// dims maps each dimension to its values; a list setup is the one
	// dimension "".
	dims := map[string][]string{}
	switch setup.Kind {
	case yaml.SequenceNode:
		dims[""] = scalars(setup)
	case yaml.MappingNode:
		for _, e := range fields(setup) {
			dims[e.key] = scalars(resolve(e.v))
		}
	}
	n := 1
	for _, vs := range dims {
		n *= len(vs)
	}
	adj, _ := field(m, "adjustments")
	for _, a := range resolveSeq(adj.v) {
		with, ok := field(a, "with")
		if !ok {
			continue
		}
		combo := map[string]string{}
		switch w := resolve(with.v); {
		case w == nil:
		case w.Kind == yaml.MappingNode:
			for _, e := range fields(w) {
				combo[e.key] = resolve(e.v).Value
			}
		case w.Kind == yaml.SequenceNode && len(w.Content) > 0:
			combo[""] = resolve(w.Content[0]).Value
		case w.Kind == yaml.ScalarNode:
			combo[""] = w.Value
		}
		exists := len(combo) == len(dims)
		for d, v := range combo {
			exists = exists && slices.Contains(dims[d], v)
		}
		skip, _ := field(a, "skip")
		skipped := skip.v != nil && !(resolve(skip.v).ShortTag() == "!!bool" && resolve(skip.v).Value == "false")
		switch {
		case exists && skipped:
			n--
		case !exists && !skipped:
			n++
		}
	}
	return max(n, 0)
}

// scalars lists the scalar values of a sequence.
func scalars(n *yaml.Node) []string {
	var out []string
	for _, c := range resolveSeq(n) {
		if c.Kind == yaml.ScalarNode {
			out = append(out, c.Value)
		}
	}
	return out
}

// resolveSeq lists a sequence's items, resolved; anything else has none.
func resolveSeq(n *yaml.Node) []*yaml.Node {
	n = resolve(n)
	if n == nil || n.Kind != yaml.SequenceNode {
		return nil
	}
	var out []*yaml.Node
	for _, c := range n.Content {
		if r := resolve(c); r != nil {
			out = append(out, r)
		}
	}
	return out
}
