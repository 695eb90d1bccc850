package generator

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"runtime"
	"strconv"
	"strings"
	"sync"
	"unicode"

	"github.com/bkgen/bkgen/internal/pipetext"
	"github.com/bkgen/bkgen/spec"
	"github.com/bkgen/bkgen/stepvalue"
	"gopkg.in/yaml.v3"
)

// Pipeline is what bkgen emits: the steps, in a stable order.
type Pipeline struct {
	Steps []*Step
	// Literal writes text unescaped, for an upload with --no-interpolation:
	// the agent will not interpolate it.
	Literal bool
}

// Parts splits the pipeline into uploads of at most limit jobs each
// (parallelism counted), in an order where every step comes after the
// steps of this pipeline it depends on, so each upload's depends_on names
// only steps already uploaded or in it. A step over the limit alone is a
// part of its own (the generator refuses those when it splits).
func (p *Pipeline) Parts(limit int) []*Pipeline {
	var parts []*Pipeline
	cur, jobs := &Pipeline{Literal: p.Literal}, 0
	for _, s := range dependencyOrder(p.Steps, func(s *Step) *Step { return s }) {
		n := max(1, s.Parallelism)
		if jobs+n > limit && len(cur.Steps) > 0 {
			parts = append(parts, cur)
			cur, jobs = &Pipeline{Literal: p.Literal}, 0
		}
		cur.Steps = append(cur.Steps, s)
		jobs += n
	}
	if len(cur.Steps) > 0 {
		parts = append(parts, cur)
	}
	return parts
}

// dependencyOrder orders steps so each follows those it depends on, keeping
// the given order wherever that already holds (a consumer may depend on one
// of an image's variant, listed later).
func dependencyOrder[T any](items []T, step func(T) *Step) []T {
	byKey := make(map[string]int, len(items))
	for i, it := range items {
		byKey[step(it).Key] = i
	}
	placed := make([]bool, len(items))
	out := make([]T, 0, len(items))
	var place func(i int)
	place = func(i int) {
		if placed[i] {
			return
		}
		placed[i] = true // a cycle (which the spec refuses) cannot recurse forever
		for _, d := range step(items[i]).DependsOn {
			if j, ok := byKey[d]; ok {
				place(j)
			}
		}
		out = append(out, items[i])
	}
	for i := range items {
		place(i)
	}
	return out
}

// Step is a Buildkite command step. Fields are emitted in this order, the
// ones a reader scans for first, the long command last.
type Step struct {
	Key              string
	Label            string
	DependsOn        []string
	IfChanged        *spec.IfChanged // --if-changed agent: left for the agent to evaluate
	Skip             string
	Agents           *stepvalue.Value
	Image            imageRef // the job runs inside this image (hosted agents)
	Plugins          []Plugin
	Env              []spec.KV
	Parallelism      int
	Concurrency      int
	ConcurrencyGroup string
	Priority         *int
	TimeoutInMinutes int
	Retry            *stepvalue.Value
	SoftFail         *stepvalue.Value
	Attrs            []spec.StepAttr // other attributes passed through (if, branches, ...)
	ArtifactPaths    []string
	Command          string
	// A step the spec adds itself: its fields as written (Raw), a group's
	// steps, and whether depends_on was rewired around steps left out.
	Raw      *stepvalue.Value
	Children []*Step
	Rewired  bool
}

// size is about how many bytes the step takes in the pipeline.
func (s *Step) size() int {
	n := len(s.Key) + len(s.Label) + len(s.Skip) + len(s.Image.Rest) + len(s.ConcurrencyGroup) + len(s.Command) +
		s.Agents.Bytes() + s.Retry.Bytes() + s.SoftFail.Bytes() + s.Raw.Bytes()
	for _, c := range s.Children {
		n += c.size()
	}
	for _, a := range s.Attrs {
		n += len(a.Key) + a.Value.Bytes()
	}
	for _, d := range s.DependsOn {
		n += len(d)
	}
	for _, p := range s.Plugins {
		n += len(p.Source) + p.Config.Bytes()
	}
	for _, kv := range s.Env {
		n += len(kv.Key) + len(kv.Value)
	}
	for _, a := range s.ArtifactPaths {
		n += len(a)
	}
	return n
}

// Plugin is one entry of a step's plugins: a pinned source and its config.
type Plugin struct {
	Source string
	Config *stepvalue.Value // nil when it has none
}

// YAML renders the pipeline as YAML with a 2-space indent.
//
// Big pipelines are encoded in parts, in parallel: each part is a
// "steps:" document holding a run of steps, and the parts after the first
// drop their "steps:" line. YAML gives a sequence's items the same text
// whatever their neighbours, so the result is the bytes one encoder would
// write (a test holds it to that).
func (p *Pipeline) YAML() ([]byte, error) {
	return p.yamlInParts(min(runtime.GOMAXPROCS(0), len(p.Steps)/64))
}

func (p *Pipeline) yamlInParts(parts int) ([]byte, error) {
	if parts < 2 {
		n, err := p.node()
		if err != nil {
			return nil, err
		}
		return encodeYAML(n)
	}
	out := make([][]byte, parts)
	errs := make([]error, parts)
	var wg sync.WaitGroup
	for i := range parts {
		lo, hi := i*len(p.Steps)/parts, (i+1)*len(p.Steps)/parts
		wg.Add(1)
		go func() {
			defer wg.Done()
			part := *p
			part.Steps = p.Steps[lo:hi]
			n, err := part.node()
			if err != nil {
				errs[i] = err
				return
			}
			out[i], errs[i] = encodeYAML(n)
			if i > 0 {
				out[i] = bytes.TrimPrefix(out[i], []byte("steps:\n"))
			}
		}()
	}
	wg.Wait()
	if err := errors.Join(errs...); err != nil {
		return nil, err
	}
	return bytes.Join(out, nil), nil
}

func encodeYAML(n *yaml.Node) ([]byte, error) {
	var buf bytes.Buffer
	enc := yaml.NewEncoder(&buf)
	enc.SetIndent(2)
	if err := enc.Encode(n); err != nil {
		return nil, err
	}
	if err := enc.Close(); err != nil {
		return nil, err
	}
	return buf.Bytes(), nil
}

// JSON renders the pipeline as indented JSON with the same key order.
func (p *Pipeline) JSON() ([]byte, error) {
	n, err := p.node()
	if err != nil {
		return nil, err
	}
	var buf bytes.Buffer
	if err := writeJSON(&buf, n); err != nil {
		return nil, err
	}
	var out bytes.Buffer
	if err := json.Indent(&out, buf.Bytes(), "", "  "); err != nil {
		return nil, err
	}
	out.WriteByte('\n')
	return out.Bytes(), nil
}

func (p *Pipeline) node() (*yaml.Node, error) {
	w := &writer{literal: p.Literal}
	steps := &yaml.Node{Kind: yaml.SequenceNode, Tag: "!!seq"}
	for _, s := range p.Steps {
		steps.Content = append(steps.Content, w.step(s))
	}
	if w.err != nil {
		return nil, w.err
	}
	return w.mapping("steps", steps), nil
}

// A writer turns steps into YAML nodes. Every string goes through str,
// which escapes it (pipetext.Escape) unless the pipeline is Literal; the
// first text that cannot be written is kept as the error.
type writer struct {
	literal bool
	err     error
}

func (w *writer) step(s *Step) *yaml.Node {
	if s.Raw != nil {
		return w.userStep(s)
	}
	m := w.mapping("key", w.str(s.Key))
	add := func(k string, v *yaml.Node) { m.Content = append(m.Content, w.str(k), v) }
	if s.Label != "" {
		add("label", w.str(s.Label))
	}
	if len(s.DependsOn) > 0 {
		add("depends_on", w.strings(s.DependsOn))
	}
	if s.IfChanged != nil {
		add("if_changed", w.ifChanged(s.IfChanged))
	}
	if s.Skip != "" {
		add("skip", w.str(s.Skip))
	}
	if s.Agents != nil {
		add("agents", w.value(s.Agents))
	}
	if s.Image != (imageRef{}) {
		add("image", w.image(s.Image))
	}
	if len(s.Plugins) > 0 {
		seq := &yaml.Node{Kind: yaml.SequenceNode, Tag: "!!seq"}
		for _, p := range s.Plugins {
			seq.Content = append(seq.Content, w.mapping(p.Source, w.value(p.Config)))
		}
		add("plugins", seq)
	}
	if len(s.Env) > 0 {
		env := &yaml.Node{Kind: yaml.MappingNode, Tag: "!!map"}
		for _, kv := range s.Env {
			env.Content = append(env.Content, w.str(kv.Key), w.str(kv.Value))
		}
		add("env", env)
	}
	if s.Parallelism > 0 {
		add("parallelism", intNode(s.Parallelism))
	}
	if s.Concurrency > 0 {
		add("concurrency", intNode(s.Concurrency))
	}
	if s.ConcurrencyGroup != "" {
		add("concurrency_group", w.str(s.ConcurrencyGroup))
	}
	if s.Priority != nil {
		add("priority", intNode(*s.Priority))
	}
	if s.TimeoutInMinutes > 0 {
		add("timeout_in_minutes", intNode(s.TimeoutInMinutes))
	}
	if s.Retry != nil {
		add("retry", w.value(s.Retry))
	}
	if s.SoftFail != nil {
		add("soft_fail", w.value(s.SoftFail))
	}
	for _, a := range s.Attrs {
		add(a.Key, w.value(a.Value))
	}
	if len(s.ArtifactPaths) > 0 {
		add("artifact_paths", w.strings(s.ArtifactPaths))
	}
	add("command", w.str(s.Command))
	return m
}

func (w *writer) ifChanged(ic *spec.IfChanged) *yaml.Node {
	texts := func(ps []spec.Pattern) *yaml.Node {
		out := make([]string, len(ps))
		for i, p := range ps {
			out[i] = p.Text
		}
		return w.strings(out)
	}
	if len(ic.Exclude) == 0 {
		return texts(ic.Include)
	}
	m := w.mapping("include", texts(ic.Include))
	m.Content = append(m.Content, w.str("exclude"), texts(ic.Exclude))
	return m
}

func (w *writer) mapping(key string, value *yaml.Node) *yaml.Node {
	return &yaml.Node{Kind: yaml.MappingNode, Tag: "!!map", Content: []*yaml.Node{w.str(key), value}}
}

// str is a string scalar whose text, once the agent has interpolated it,
// is s.
func (w *writer) str(s string) *yaml.Node {
	escape := pipetext.Escape
	if w.literal {
		escape = pipetext.Raw
	}
	v, err := escape(s)
	if err != nil && w.err == nil {
		w.err = fmt.Errorf("cannot write %s into the pipeline: %w", pipetext.Display(s), err)
	}
	return &yaml.Node{Kind: yaml.ScalarNode, Tag: "!!str", Value: v, Style: scalarStyle(v)}
}

// scalarStyle picks how a string is written: a literal block for readable
// multi-line text, double quotes for text a block or a plain scalar would
// change (a leading blank line or tab, a carriage return, a control
// character, a merge key), and otherwise what the encoder judges.
func scalarStyle(s string) yaml.Style {
	if s == "<<" {
		return yaml.DoubleQuotedStyle
	}
	for _, r := range s {
		if r != '\n' && r != '\t' && !unicode.IsPrint(r) {
			return yaml.DoubleQuotedStyle
		}
	}
	if !strings.Contains(s, "\n") {
		return 0
	}
	if strings.TrimLeft(s, "\n") == "" || strings.ContainsAny(s[:1], " \t\n") {
		return yaml.DoubleQuotedStyle
	}
	return yaml.LiteralStyle
}

// strings is one string, or a list of them.
func (w *writer) strings(items []string) *yaml.Node {
	if len(items) == 1 {
		return w.str(items[0])
	}
	seq := &yaml.Node{Kind: yaml.SequenceNode, Tag: "!!seq"}
	for _, s := range items {
		seq.Content = append(seq.Content, w.str(s))
	}
	return seq
}

// value writes a pass-through value from the spec (or one bkgen makes,
// such as a plugin's config); nil is null.
func (w *writer) value(v *stepvalue.Value) *yaml.Node {
	if v == nil {
		return &yaml.Node{Kind: yaml.ScalarNode, Tag: "!!null", Value: "null"}
	}
	switch v.Kind {
	case stepvalue.String:
		return w.str(v.Scalar)
	case stepvalue.Int:
		return &yaml.Node{Kind: yaml.ScalarNode, Tag: "!!int", Value: v.Scalar}
	case stepvalue.Float:
		return &yaml.Node{Kind: yaml.ScalarNode, Tag: "!!float", Value: v.Scalar}
	case stepvalue.Bool:
		return &yaml.Node{Kind: yaml.ScalarNode, Tag: "!!bool", Value: v.Scalar}
	case stepvalue.Map:
		m := &yaml.Node{Kind: yaml.MappingNode, Tag: "!!map"}
		for i, k := range v.Keys {
			m.Content = append(m.Content, w.str(k), w.value(v.Items[i]))
		}
		return m
	case stepvalue.List:
		seq := &yaml.Node{Kind: yaml.SequenceNode, Tag: "!!seq"}
		for _, it := range v.Items {
			seq.Content = append(seq.Content, w.value(it))
		}
		return seq
	}
	return &yaml.Node{Kind: yaml.ScalarNode, Tag: "!!null", Value: "null"}
}

// imageRef is an image reference whose start may be an upload-time
// variable: the one place bkgen leaves a `$` for the agent to interpolate,
// since a step's image must be known before its job starts.
type imageRef struct {
	UploadVar string // "" or the variable that starts the reference
	Rest      string
}

// image writes an image reference, its upload-time variable left for the
// agent (a Literal pipeline's generator has filled it in already).
func (w *writer) image(ref imageRef) *yaml.Node {
	n := w.str(ref.Rest)
	if ref.UploadVar != "" {
		n.Value = "${" + ref.UploadVar + "}" + n.Value
		n.Style = scalarStyle(n.Value)
	}
	return n
}

func intNode(i int) *yaml.Node {
	return &yaml.Node{Kind: yaml.ScalarNode, Tag: "!!int", Value: strconv.Itoa(i)}
}

// writeJSON writes a node tree as compact JSON, keeping mapping order.
func writeJSON(buf *bytes.Buffer, n *yaml.Node) error {
	switch n.Kind {
	case yaml.MappingNode:
		buf.WriteByte('{')
		for i := 0; i+1 < len(n.Content); i += 2 {
			if i > 0 {
				buf.WriteByte(',')
			}
			k, _ := json.Marshal(n.Content[i].Value)
			buf.Write(k)
			buf.WriteByte(':')
			if err := writeJSON(buf, n.Content[i+1]); err != nil {
				return err
			}
		}
		buf.WriteByte('}')
	case yaml.SequenceNode:
		buf.WriteByte('[')
		for i, c := range n.Content {
			if i > 0 {
				buf.WriteByte(',')
			}
			if err := writeJSON(buf, c); err != nil {
				return err
			}
		}
		buf.WriteByte(']')
	case yaml.ScalarNode:
		switch n.Tag {
		case "!!int", "!!float":
			buf.WriteString(n.Value)
		case "!!bool":
			var b bool
			if err := n.Decode(&b); err != nil {
				return err
			}
			buf.WriteString(strconv.FormatBool(b))
		case "!!null":
			buf.WriteString("null")
		default:
			s, _ := json.Marshal(n.Value)
			buf.Write(s)
		}
	default:
		return fmt.Errorf("cannot write a YAML node of kind %d as JSON", n.Kind)
	}
	return nil
}
