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

	"github.com/bkgen/bkgen/spec"
	"gopkg.in/yaml.v3"
)

// Pipeline is what bkgen emits: the steps, in a stable order.
type Pipeline struct {
	Steps []*Step
	// Literal writes text unescaped, for an upload with --no-interpolation: the agent will not interpolate it.
	Literal bool
}

// Step is a Buildkite command step. Fields are emitted in this order, the
// ones a reader scans for first, the long command last.
type Step struct {
	Key              string
	Label            string
	DependsOn        []string
	IfChanged        *spec.IfChanged // --if-changed agent: left for the agent to evaluate
	Skip             string
	Agents           *yaml.Node
	Image            string // hosted agents run the step inside this image
	Plugins          []Plugin
	Env              []spec.KV
	Parallelism      int
	Concurrency      int
	ConcurrencyGroup string
	Priority         *int
	TimeoutInMinutes int
	Retry            *yaml.Node
	SoftFail         *yaml.Node
	ArtifactPaths    []string
	ArtifactNode     *yaml.Node // artifact_paths as the spec wrote them
	Command          string
}

// Plugin is one entry of a step's plugins: a pinned source and its config.
type Plugin struct {
	Source string
	Config *yaml.Node // a mapping, or nil
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
		return encodeYAML(p.node())
	}
	out := make([][]byte, parts)
	errs := make([]error, parts)
	var wg sync.WaitGroup
	for i := range parts {
		lo, hi := i*len(p.Steps)/parts, (i+1)*len(p.Steps)/parts
		wg.Add(1)
		go func() {
			defer wg.Done()
			out[i], errs[i] = encodeYAML((&Pipeline{Steps: p.Steps[lo:hi], Literal: p.Literal}).node())
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
	var buf bytes.Buffer
	if err := writeJSON(&buf, p.node()); err != nil {
		return nil, err
	}
	var out bytes.Buffer
	if err := json.Indent(&out, buf.Bytes(), "", "  "); err != nil {
		return nil, err
	}
	out.WriteByte('\n')
	return out.Bytes(), nil
}

func (p *Pipeline) node() *yaml.Node {
	steps := &yaml.Node{Kind: yaml.SequenceNode, Tag: "!!seq"}
	for _, s := range p.Steps {
		steps.Content = append(steps.Content, s.node())
	}
	n := mapNode("steps", steps)
	escapeStrings(n, p.Literal, map[*yaml.Node]bool{})
	return n
}

// escapeStrings escapes every string of a finished tree against upload-time
// interpolation (see escapeDollars), each node once.
func escapeStrings(n *yaml.Node, literal bool, done map[*yaml.Node]bool) {
	if done[n] {
		return
	}
	done[n] = true
	if n.Kind == yaml.ScalarNode && n.Tag == "!!str" {
		n.Value = escapeDollars(n.Value, literal)
	}
	for _, c := range n.Content {
		escapeStrings(c, literal, done)
	}
}

func (s *Step) node() *yaml.Node {
	m := mapNode("key", strNode(s.Key))
	add := func(k string, v *yaml.Node) { m.Content = append(m.Content, strNode(k), v) }
	if s.Label != "" {
		add("label", strNode(s.Label))
	}
	switch len(s.DependsOn) {
	case 0:
	case 1:
		add("depends_on", strNode(s.DependsOn[0]))
	default:
		add("depends_on", strSeq(s.DependsOn))
	}
	if s.IfChanged != nil {
		add("if_changed", ifChangedNode(s.IfChanged))
	}
	if s.Skip != "" {
		add("skip", strNode(s.Skip))
	}
	if s.Agents != nil {
		add("agents", copyEscaped(s.Agents))
	}
	if s.Image != "" {
		add("image", strNode(s.Image))
	}
	if len(s.Plugins) > 0 {
		seq := &yaml.Node{Kind: yaml.SequenceNode, Tag: "!!seq"}
		for _, p := range s.Plugins {
			cfg := &yaml.Node{Kind: yaml.ScalarNode, Tag: "!!null", Value: "null"}
			if p.Config != nil {
				cfg = copyEscaped(p.Config)
			}
			seq.Content = append(seq.Content, mapNode(p.Source, cfg))
		}
		add("plugins", seq)
	}
	if len(s.Env) > 0 {
		env := &yaml.Node{Kind: yaml.MappingNode, Tag: "!!map"}
		for _, kv := range s.Env {
			env.Content = append(env.Content, strNode(kv.Key), strNode(kv.Value))
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
		add("concurrency_group", strNode(s.ConcurrencyGroup))
	}
	if s.Priority != nil {
		add("priority", intNode(*s.Priority))
	}
	if s.TimeoutInMinutes > 0 {
		add("timeout_in_minutes", intNode(s.TimeoutInMinutes))
	}
	if s.Retry != nil {
		add("retry", copyEscaped(s.Retry))
	}
	if s.SoftFail != nil {
		add("soft_fail", copyEscaped(s.SoftFail))
	}
	switch {
	case s.ArtifactNode != nil:
		add("artifact_paths", copyEscaped(s.ArtifactNode))
	case len(s.ArtifactPaths) == 1:
		add("artifact_paths", strNode(s.ArtifactPaths[0]))
	case len(s.ArtifactPaths) > 1:
		add("artifact_paths", strSeq(s.ArtifactPaths))
	}
	add("command", strNode(s.Command))
	return m
}

func ifChangedNode(ic *spec.IfChanged) *yaml.Node {
	texts := func(ps []spec.Pattern) *yaml.Node {
		if len(ps) == 1 {
			return strNode(ps[0].Text)
		}
		out := make([]string, len(ps))
		for i, p := range ps {
			out[i] = p.Text
		}
		return strSeq(out)
	}
	if len(ic.Exclude) == 0 {
		return texts(ic.Include)
	}
	m := mapNode("include", texts(ic.Include))
	m.Content = append(m.Content, strNode("exclude"), texts(ic.Exclude))
	return m
}

func mapNode(key string, value *yaml.Node) *yaml.Node {
	return &yaml.Node{Kind: yaml.MappingNode, Tag: "!!map", Content: []*yaml.Node{strNode(key), value}}
}

// strNode is a string scalar, escaped against upload-time interpolation
// when the tree is finished.
func strNode(s string) *yaml.Node {
	n := &yaml.Node{Kind: yaml.ScalarNode, Tag: "!!str", Value: s}
	if strings.Contains(n.Value, "\n") {
		n.Style = yaml.LiteralStyle
	}
	return n
}

func strSeq(items []string) *yaml.Node {
	seq := &yaml.Node{Kind: yaml.SequenceNode, Tag: "!!seq"}
	for _, s := range items {
		seq.Content = append(seq.Content, strNode(s))
	}
	return seq
}

func intNode(i int) *yaml.Node {
	return &yaml.Node{Kind: yaml.ScalarNode, Tag: "!!int", Value: strconv.Itoa(i)}
}

// copyEscaped copies a node from the spec for the pipeline: aliases
// resolved, positions and comments dropped, and every string escaped.
func copyEscaped(n *yaml.Node) *yaml.Node {
	for n.Kind == yaml.AliasNode {
		n = n.Alias
	}
	out := &yaml.Node{Kind: n.Kind, Tag: n.Tag, Value: n.Value}
	switch n.Kind {
	case yaml.ScalarNode:
		if n.Tag == "!!str" || n.Tag == "" {
			return strNode(n.Value)
		}
	case yaml.MappingNode, yaml.SequenceNode:
		for _, c := range n.Content {
			if c.Kind == yaml.ScalarNode && c.Tag == "!!merge" {
				out.Content = append(out.Content, c)
				continue
			}
			out.Content = append(out.Content, copyEscaped(c))
		}
		if n.Kind == yaml.MappingNode {
			out.Content = expandMerges(out.Content)
		}
	}
	return out
}

// expandMerges applies YAML merge keys so the pipeline holds plain mappings.
func expandMerges(content []*yaml.Node) []*yaml.Node {
	var own, merged []*yaml.Node
	for i := 0; i+1 < len(content); i += 2 {
		if content[i].Tag == "!!merge" {
			v := content[i+1]
			sources := []*yaml.Node{v}
			if v.Kind == yaml.SequenceNode {
				sources = v.Content
			}
			for _, s := range sources {
				merged = append(merged, s.Content...)
			}
			continue
		}
		own = append(own, content[i], content[i+1])
	}
	seen := map[string]bool{}
	for i := 0; i+1 < len(own); i += 2 {
		seen[own[i].Value] = true
	}
	for i := 0; i+1 < len(merged); i += 2 {
		if !seen[merged[i].Value] {
			seen[merged[i].Value] = true
			own = append(own, merged[i], merged[i+1])
		}
	}
	return own
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
