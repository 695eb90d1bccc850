package lint

import (
	"bytes"
	"errors"
	"fmt"
	"regexp"
	"slices"
	"strconv"
	"strings"

	"github.com/bkgen/bkgen/diag"
	pipeline "github.com/buildkite/go-pipeline"
	"github.com/buildkite/go-pipeline/warning"
	"gopkg.in/yaml.v3"
)

// agentParse runs the agent's parser over the first n documents of src, as
// `pipeline upload` does, returning what it says about each: nil, a
// *warning.Warning (the agent logs it and uploads anyway) or an error (the
// upload fails).
func agentParse(src []byte, n int) (errs []error) {
	defer func() {
		if r := recover(); r != nil && len(errs) < n {
			errs = append(errs, fmt.Errorf("the agent's parser crashes on this document (%v)", r))
		}
		for len(errs) < n {
			errs = append(errs, nil)
		}
	}()
	if n == 0 {
		return nil
	}
	for _, err := range pipeline.ParseAll(bytes.NewReader(src)) {
		errs = append(errs, err)
		if len(errs) == n {
			break
		}
	}
	return errs
}

// agentProblems reports what the agent's parser said about a document.
func (l *linter) agentProblems(d *document, err error) {
	if err == nil {
		return
	}
	if w := warning.As(err); w != nil {
		l.agentWarning(d, w, d.node)
		return
	}
	line, col := l.hardErrorPos(d, err)
	l.add(diag.Error, "agent-parse", line, col, "the agent cannot parse this pipeline: %s", lineColRe.ReplaceAllString(err.Error(), ""))
}

var lineColRe = regexp.MustCompile(`line (\d+), col (\d+): `)

// hardErrorPos guesses where a parse failure is: at the position the error
// gives, else at the first value whose shape the parser cannot take.
func (l *linter) hardErrorPos(d *document, err error) (line, col int) {
	if m := lineColRe.FindStringSubmatch(err.Error()); m != nil {
		line, _ = strconv.Atoi(m[1])
		col, _ = strconv.Atoi(m[2])
		return line, col
	}
	at := misshapen(d)
	if at == nil {
		at = d.node
	}
	return at.Line, at.Column
}

// misshapen finds the first value in a document whose shape go-pipeline
// refuses outright: the document itself, the steps list or a step in it,
// or the pipeline's env, secrets or checkout.
func misshapen(d *document) *yaml.Node {
	root := d.root
	if root == nil || root.Kind != yaml.MappingNode && root.Kind != yaml.SequenceNode {
		return root
	}
	if list := resolve(d.list); list != nil && !isNull(list) && list.Kind != yaml.SequenceNode {
		return d.list
	}
	for _, item := range resolveSeq(d.list) {
		if item.Kind != yaml.MappingNode && !isString(item) {
			return item
		}
		if t, ok := field(item, "type"); ok && !isString(resolve(t.v)) {
			return t.v
		}
	}
	shapes := []struct {
		key   string
		kinds []yaml.Kind
	}{
		{"env", []yaml.Kind{yaml.MappingNode}},
		{"secrets", []yaml.Kind{yaml.SequenceNode, yaml.MappingNode}},
		{"checkout", []yaml.Kind{yaml.MappingNode}},
	}
	for _, s := range shapes {
		e, ok := field(root, s.key)
		if v := resolve(e.v); ok && !isNull(v) && !slices.Contains(s.kinds, v.Kind) {
			return e.v
		}
	}
	// The env block's values must be scalars.
	if e, ok := field(root, "env"); ok {
		for _, v := range fields(e.v) {
			if r := resolve(v.v); r != nil && r.Kind != yaml.ScalarNode {
				return v.v
			}
		}
	}
	return root
}

// The headlines go-pipeline wraps its warnings in, which say where the
// wrapped ones are.
var (
	stepHeadRe = regexp.MustCompile(`^while unmarshaling step (\d+) of \d+$`)
	itemHeadRe = regexp.MustCompile(`^while unmarshaling item at index (\d+) of \d+$`)
	keyHeadRe  = regexp.MustCompile(`^while unmarshaling (?:the )?value for key ("(?:[^"\\]|\\.)*")`)
)

// agentWarning walks go-pipeline's tree of warnings, following each
// headline from the node at down to the value it is about, and reports the
// leaves there.
func (l *linter) agentWarning(d *document, err error, at *yaml.Node) {
	w, ok := err.(*warning.Warning)
	if !ok {
		// A group whose steps have warnings wraps them in a plain error;
		// they still say where they are, relative to the group.
		var inner *warning.Warning
		if errors.As(err, &inner) {
			l.agentWarning(d, inner, at)
			return
		}
		l.agentLeaf(d, err, at)
		return
	}
	next := descend(at, headline(w))
	kids := w.Unwrap()
	if len(kids) == 0 {
		l.agentLeaf(d, w, next)
	}
	for _, k := range kids {
		if k != nil {
			l.agentWarning(d, k, next)
		}
	}
}

// headline is a warning's own message, which the warning package keeps
// private but prints first.
func headline(w *warning.Warning) string {
	kids, s := w.Unwrap(), w.Error()
	if len(kids) == 1 && kids[0] != nil && s == kids[0].Error() || strings.HasPrefix(s, "  ↳ ") {
		return ""
	}
	line, _, _ := strings.Cut(s, "\n")
	return line
}

// descend follows a headline from n to the step, item or value it names.
func descend(n *yaml.Node, head string) *yaml.Node {
	item := func(i int) *yaml.Node {
		if seq := resolve(n); seq != nil && seq.Kind == yaml.SequenceNode && i >= 0 && i < len(seq.Content) {
			return seq.Content[i]
		}
		return n
	}
	if m := stepHeadRe.FindStringSubmatch(head); m != nil {
		i, _ := strconv.Atoi(m[1]) // counted from 1
		return item(i - 1)
	}
	if m := itemHeadRe.FindStringSubmatch(head); m != nil {
		i, _ := strconv.Atoi(m[1])
		return item(i)
	}
	if m := keyHeadRe.FindStringSubmatch(head); m != nil {
		if key, err := strconv.Unquote(m[1]); err == nil {
			if e, ok := field(n, key); ok {
				return e.v
			}
		}
	}
	return n
}

// knownTypes are the step types Buildkite accepts in "type".
var knownTypes = []string{"script", "command", "commands", "wait", "waiter", "block", "input", "manual", "trigger", "group"}

// agentLeaf reports one thing go-pipeline could not make sense of, at the
// node the headlines led to: usually a step, which the agent then uploads
// as written, unchecked. Whether that is an error depends on whether
// Buildkite will take the step as written.
func (l *linter) agentLeaf(d *document, err error, at *yaml.Node) {
	body := resolve(at)
	switch {
	case err.Error() == "pipeline contains no steps": // a bare warning.New, no sentinel
		l.errorf(d.root, "agent-parse", "the pipeline contains no steps: it has no \"steps\" key")
	case body == nil || body.Kind != yaml.MappingNode:
		l.errorf(at, "agent-parse", "%v", err)
	case errors.Is(err, pipeline.ErrUnknownStepType):
		// go-pipeline misses a type Buildkite takes ("commands").
		if t, ok := field(body, "type"); ok && isString(resolve(t.v)) && !slices.Contains(knownTypes, resolve(t.v).Value) {
			l.errorf(t.v, "step-type", "unknown step type %q: Buildkite knows %s", resolve(t.v).Value, strings.Join(knownTypes, ", "))
			return
		}
		l.unreadableStep(at, body, err)
	case errors.Is(err, pipeline.ErrStepTypeInference):
		if _, legacy := field(body, "script"); !legacy {
			l.errorf(at, "agent-parse", "%v", err)
			return
		}
		l.unreadableStep(at, body, err)
	default:
		l.unreadableStep(at, body, err)
	}
}

// unreadableStep reports a step the agent cannot model but uploads as
// written, for Buildkite to judge.
func (l *linter) unreadableStep(at, body *yaml.Node, err error) {
	if _, ok := field(body, "if_changed"); ok {
		l.errorf(at, "agent-parse", "the agent cannot parse this step (%v), so it cannot apply its if_changed: the step runs on every build, if Buildkite takes it at all", err)
		return
	}
	l.warnf(at, "agent-parse", "the agent cannot parse this step (%v): it uploads it as written, for Buildkite alone to check, and can neither sign it nor apply an if_changed to it", err)
}
