package lint

import (
	"gopkg.in/yaml.v3"
)

// scope says where a value sits, for the checks that depend on it.
type scope struct {
	step    *step  // the innermost step, if any
	key     bool   // the value is a mapping key
	signed  bool   // inside a signature, which the agent does not interpolate
	command bool   // a step's command
	env     bool   // inside an env block
	topEnv  bool   // inside the pipeline's env block
	envVar  string // inside an env block: the variable the value sets
	plugins bool   // a step's plugins, or inside one's configuration
	setting string // inside a plugin's configuration: the key the value is under

	// For a value in the pipeline's env block: the block, and the index of
	// the value's entry. The agent interpolates that block in order, so a
	// value only sees the variables set before it.
	envBlock *yaml.Node
	envIndex int
}

// scan visits every value of a document once, aliases not followed (what
// they point at is visited where it is written), and checks the strings.
func (l *linter) scan(d *document, n *yaml.Node, sc scope) {
	switch n.Kind {
	case yaml.DocumentNode, yaml.SequenceNode:
		for _, c := range n.Content {
			l.scan(d, c, sc)
		}
	case yaml.MappingNode:
		if st := d.byMap[n]; st != nil {
			sc = scope{step: st}
		}
		for i := 0; i+1 < len(n.Content); i += 2 {
			k, v := n.Content[i], n.Content[i+1]
			ks := sc
			ks.key = true
			l.scalar(d, k, ks)
			l.scan(d, v, enter(d, n, k, i/2, sc))
		}
	case yaml.ScalarNode:
		l.scalar(d, n, sc)
	}
}

// enter gives the scope of the value of mapping m's i-th entry, k.
func enter(d *document, m, k *yaml.Node, i int, sc scope) scope {
	name := k.Value
	switch {
	case sc.signed:
		return sc
	case m == d.root && name == "env":
		return scope{env: true, topEnv: true}
	case sc.step != nil && (m == sc.step.body || m == sc.step.nested):
		inner := scope{step: sc.step}
		switch name {
		case "env":
			inner.env = true
		case "plugins":
			inner.plugins = true
		case "command", "commands":
			inner.command = true
		case "signature":
			inner.signed = true
		}
		return inner
	case sc.env && sc.envVar == "":
		inner := sc
		inner.envVar = name
		if sc.topEnv {
			inner.envBlock, inner.envIndex = m, i
		}
		return inner
	case sc.plugins:
		inner := sc
		inner.setting = name
		return inner
	}
	return sc
}

// scalar checks one string.
func (l *linter) scalar(d *document, n *yaml.Node, sc scope) {
	if !isString(n) {
		return
	}
	if !sc.signed {
		l.interpolation(d, n, sc)
	}
	if !sc.key {
		l.secrets(n, sc)
	}
}
