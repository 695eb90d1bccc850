package spec

import (
	"fmt"
	"math"
	"strconv"

	"github.com/bkgen/bkgen/internal/pipetext"
	"github.com/bkgen/bkgen/stepvalue"
	"gopkg.in/yaml.v3"
)

// Limits on pass-through values. A default is written into every step
// that inherits it, so values are counted where they are used, and a spec
// whose values would bloat the pipeline past these is refused.
const (
	// maxValueNodes bounds the nodes of all pass-through values written
	// into a pipeline, counted each time they are written.
	maxValueNodes = 200_000
	// maxValueBytes bounds the text of one pass-through value, aliases
	// expanded; maxDepth its nesting, which nothing in a step needs deep.
	maxValueBytes = 1 << 20
	maxDepth      = 64
)

// value rebuilds a pass-through YAML value; nil when it is refused.
func (d *decoder) value(n *yaml.Node, what string) *stepvalue.Value {
	bytes := maxValueBytes
	return d.rebuild(n, what, &bytes, 0)
}

func (d *decoder) rebuild(n *yaml.Node, what string, bytes *int, depth int) *stepvalue.Value {
	at := n // aliases are reported where they are used
	n = resolve(n)
	if !d.spend(at, what) {
		return nil
	}
	if depth > maxDepth {
		d.errorf(at, what, "nested more than %d levels deep", maxDepth)
		return nil
	}
	v := &stepvalue.Value{Pos: posOf(n)}
	switch n.Kind {
	case yaml.MappingNode:
		v.Kind = stepvalue.Map
		ps, ok := d.valuePairs(n, what)
		if !ok {
			return nil
		}
		for _, p := range ps {
			*bytes -= len(p.key.Value)
			item := d.rebuild(p.value, what+"."+p.key.Value, bytes, depth+1)
			if item == nil {
				return nil
			}
			v.Keys = append(v.Keys, p.key.Value)
			v.Items = append(v.Items, item)
		}
	case yaml.SequenceNode:
		v.Kind = stepvalue.List
		for i, c := range n.Content {
			item := d.rebuild(c, fmt.Sprintf("%s[%d]", what, i), bytes, depth+1)
			if item == nil {
				return nil
			}
			v.Items = append(v.Items, item)
		}
	case yaml.ScalarNode:
		if !d.scalarValue(n, what, v) {
			return nil
		}
		if *bytes -= len(v.Scalar); *bytes < 0 {
			d.errorf(at, what, "expands to more than %d bytes of text (aliases count each time they are used)", maxValueBytes)
			return nil
		}
	default:
		d.errorf(n, what, "expected a value, found %s", kindName(n))
		return nil
	}
	return v
}

// valuePairs is a mapping's pairs with merge keys expanded, each key text
// the pipeline can carry.
func (d *decoder) valuePairs(n *yaml.Node, what string) ([]pair, bool) {
	ps, ok := d.mapping(n, what)
	if !ok {
		return nil, false
	}
	for _, p := range ps {
		if p.key.Tag != "!!str" {
			// A number or boolean as a key is text to Buildkite.
			if t := p.key.Tag; t != "!!int" && t != "!!float" && t != "!!bool" {
				d.errorf(p.key, what, "keys must be text, found %s", kindName(p.key))
				return nil, false
			}
		}
		if !d.pipelineText(p.key, what, p.key.Value) {
			return nil, false
		}
	}
	return ps, true
}

// scalarValue fills v from a plain scalar, refusing tags that would make
// the agent read something other than what the spec shows.
func (d *decoder) scalarValue(n *yaml.Node, what string, v *stepvalue.Value) bool {
	kind, text, problem := canonical(n)
	if problem != "" {
		d.errorf(n, what, "%s", problem)
		return false
	}
	v.Kind, v.Scalar = kind, text
	return kind != stepvalue.String || d.pipelineText(n, what, text)
}

// canonical is a plain scalar's kind and canonical text, or why it cannot
// be read as one.
func canonical(n *yaml.Node) (kind stepvalue.Kind, text, problem string) {
	not := func(what string) (stepvalue.Kind, string, string) {
		return 0, "", quoteForMessage(n.Value) + " is not " + what
	}
	switch n.Tag {
	case "!!str", "!", "!!timestamp", "!!merge":
		// A timestamp stays the text it was written as, and a plain << in
		// a value's place is the text "<<".
		return stepvalue.String, n.Value, ""
	case "!!null":
		return stepvalue.Null, "", ""
	case "!!bool":
		var x bool
		if n.Decode(&x) != nil {
			return not("a boolean")
		}
		return stepvalue.Bool, strconv.FormatBool(x), ""
	case "!!int":
		var x any
		if n.Decode(&x) == nil {
			switch x := x.(type) {
			case int:
				return stepvalue.Int, strconv.Itoa(x), ""
			case int64:
				return stepvalue.Int, strconv.FormatInt(x, 10), ""
			case uint64:
				return stepvalue.Int, strconv.FormatUint(x, 10), ""
			}
		}
		return not("a whole number")
	case "!!float":
		var x float64
		if n.Decode(&x) != nil || math.IsInf(x, 0) || math.IsNaN(x) {
			return not("a finite number")
		}
		return stepvalue.Float, strconv.FormatFloat(x, 'g', -1, 64), ""
	}
	return 0, "", "the YAML tag " + quoteForMessage(n.Tag) + " is not supported here: write the value as plain text"
}

// pipelineText checks that s, written into the pipeline, reaches the job as
// it is.
func (d *decoder) pipelineText(n *yaml.Node, what, s string) bool {
	if err := pipetext.Check(s); err != nil {
		d.errorf(n, what, "%v", err)
		return false
	}
	return true
}

// quoteForMessage shows a value from the spec in a message: quoted, on one
// line, and cut short, so a message never dumps a file.
func quoteForMessage(s string) string {
	const max = 40
	if r := []rune(s); len(r) > max {
		return strconv.Quote(string(r[:max])) + "..."
	}
	return strconv.Quote(s)
}

// checkValueSizes refuses a spec whose pass-through values, written into
// every step that carries them, would pass maxValueNodes: a default's
// agents repeat in every step of every image.
func (d *decoder) checkValueSizes(images []*Image) {
	total := 0
	add := func(v *stepvalue.Value, times int, what string) bool {
		if total += v.Size() * times; total > maxValueNodes {
			d.errorf(nodeAt(v.Pos), what, "the pipeline's agents, plugins, retry and soft_fail would hold more than %d values: make them smaller", maxValueNodes)
			return false
		}
		return true
	}
	for _, im := range images {
		steps := len(im.Platforms) + 2 // builds, manifest and scan carry the image's agents
		for _, c := range im.Consumers {
			what := "images." + im.Name + ".consumers." + c.Name
			agents := c.Agents
			if agents == nil {
				steps++
			} else if !add(agents, 1, what+".agents") {
				return
			}
			for _, p := range c.Plugins {
				if p.Config != nil && !add(p.Config, 1, what+".plugins") {
					return
				}
			}
			for _, v := range []*stepvalue.Value{c.Retry, c.SoftFail} {
				if v != nil && !add(v, 1, what) {
					return
				}
			}
			for _, a := range c.Attrs {
				if !add(a.Value, 1, what+"."+a.Key) {
					return
				}
			}
		}
		if im.Agents != nil && !add(im.Agents, steps, "images."+im.Name+".agents") {
			return
		}
		// The image's step: in each of its own steps.
		own := len(im.Platforms) + 2
		for _, p := range im.Step.Plugins {
			if p.Config != nil && !add(p.Config, own, "images."+im.Name+".step.plugins") {
				return
			}
		}
		if im.Step.Retry != nil && !add(im.Step.Retry, own, "images."+im.Name+".step.retry") {
			return
		}
		for _, a := range im.Step.Attrs {
			if !add(a.Value, own, "images."+im.Name+".step."+a.Key) {
				return
			}
		}
		for _, p := range im.Platforms {
			if a := im.PlatformAgents[p]; a != nil && !add(a, 1, "images."+im.Name+".platform_agents") {
				return
			}
		}
	}
}
