package lint

import (
	"bytes"
	"errors"
	"fmt"
	"io"
	"regexp"
	"strconv"
	"strings"

	"github.com/bkgen/bkgen/diag"
	"gopkg.in/yaml.v3"
)

// Pipeline checks a Buildkite pipeline file as `buildkite-agent pipeline
// upload` would see it: every YAML document in it is an upload of its own,
// and all of them go into the same build. Problems are sorted by position.
func Pipeline(file string, src []byte) diag.List {
	docs, yamlErr := decodeAll(src)
	l := &linter{file: file, src: newSource(src, docs)}
	switch {
	case yamlErr != nil:
		l.yamlError(yamlErr)
	case len(docs) == 0:
		l.add(diag.Error, "yaml", 1, 1, "the file holds no YAML document, so there is no pipeline to upload")
	}

	agentErrs := agentParse(src, len(docs))
	var all []*document
	for i, n := range docs {
		d := l.document(n)
		l.agentProblems(d, agentErrs[i])
		all = append(all, d)
	}
	l.checkGraph(all)
	return l.problems.Sorted()
}

// linter collects the problems of one file.
type linter struct {
	file     string
	src      *source
	problems diag.List
}

// add reports a problem that rule found at line and col.
func (l *linter) add(sev diag.Severity, rule string, line, col int, format string, args ...any) {
	l.problems = append(l.problems, diag.Diagnostic{
		File:     l.file,
		Pos:      diag.Pos{Line: max(line, 1), Col: max(col, 1)},
		Severity: sev,
		Rule:     rule,
		Msg:      fmt.Sprintf(format, args...),
	})
}

// at reports a problem at n, or at 1:1 when n has no position.
func (l *linter) at(sev diag.Severity, rule string, n *yaml.Node, format string, args ...any) {
	line, col := 1, 1
	if n != nil {
		line, col = n.Line, n.Column
	}
	l.add(sev, rule, line, col, format, args...)
}

func (l *linter) errorf(n *yaml.Node, rule, format string, args ...any) {
	l.at(diag.Error, rule, n, format, args...)
}

func (l *linter) warnf(n *yaml.Node, rule, format string, args ...any) {
	l.at(diag.Warning, rule, n, format, args...)
}

// decodeAll reads every YAML document, as the agent's parser does, up to
// the first one that is not valid YAML.
func decodeAll(src []byte) (docs []*yaml.Node, err error) {
	defer func() {
		// The agent would crash too; say so rather than crash bkgen.
		if r := recover(); r != nil {
			err = fmt.Errorf("yaml: the YAML parser crashes on this file (%v)", r)
		}
	}()
	dec := yaml.NewDecoder(bytes.NewReader(src))
	for {
		n := new(yaml.Node)
		err := dec.Decode(n)
		if errors.Is(err, io.EOF) {
			return docs, nil
		}
		if err != nil {
			return docs, err
		}
		docs = append(docs, n)
	}
}

var (
	yamlLineRe      = regexp.MustCompile(`(?s)^yaml: line (\d+): (.*)$`)
	unknownAnchorRe = regexp.MustCompile(`^yaml: unknown anchor '(.*)' referenced$`)
)

// yamlError reports a syntax error at the line yaml.v3 gives, or for an
// unknown anchor at its first use.
func (l *linter) yamlError(err error) {
	msg := err.Error()
	if m := yamlLineRe.FindStringSubmatch(msg); m != nil {
		line, _ := strconv.Atoi(m[1])
		l.add(diag.Error, "yaml", line, 1, "invalid YAML: %s", m[2])
		return
	}
	line, col := 1, 1
	if m := unknownAnchorRe.FindStringSubmatch(msg); m != nil {
		if i := bytes.Index(l.src.src, []byte("*"+m[1])); i >= 0 {
			line, col = l.src.position(i)
		}
	}
	l.add(diag.Error, "yaml", line, col, "invalid YAML: %s", strings.TrimPrefix(msg, "yaml: "))
}

// document is what the checks learn about one YAML document: one upload.
type document struct {
	node  *yaml.Node           // the document
	root  *yaml.Node           // its content, resolved
	steps []*step              // every step, those in groups included, in file order
	list  *yaml.Node           // the top-level steps list as written
	env   []string             // the variables the pipeline's env block sets, in order
	byMap map[*yaml.Node]*step // steps by their mappings, for the value scan
}

func (l *linter) document(n *yaml.Node) *document {
	d := &document{node: n, root: resolve(n), byMap: make(map[*yaml.Node]*step)}
	l.duplicateKeys(n)
	switch {
	case d.root == nil:
	case d.root.Kind == yaml.SequenceNode:
		d.list = d.root // the legacy form: the document is the steps list
	case d.root.Kind == yaml.MappingNode:
		if e, ok := field(d.root, "steps"); ok {
			d.list = e.v
		}
		if e, ok := field(d.root, "env"); ok {
			for _, v := range fields(e.v) {
				d.env = append(d.env, v.key)
			}
		}
	}
	l.collectSteps(d, d.list, nil)
	for _, st := range d.steps {
		l.checkStep(st)
	}
	l.checkJobCount(d)
	l.scan(d, n, scope{})
	return d
}

// duplicateKeys reports each key a mapping repeats: YAML forbids it and the
// agent silently keeps the last value. Aliases are not followed, as what
// they point at is checked where it is written.
func (l *linter) duplicateKeys(n *yaml.Node) {
	if n.Kind == yaml.MappingNode {
		first := make(map[string]*yaml.Node)
		for i := 0; i+1 < len(n.Content); i += 2 {
			k := n.Content[i]
			key, ok := canonicalKey(k)
			if !ok || isMerge(k) {
				continue
			}
			if f, dup := first[key]; dup {
				l.errorf(k, "duplicate-key", "mapping key %q already defined at line %d; the agent keeps only the last value", key, f.Line)
				continue
			}
			first[key] = k
		}
	}
	for _, c := range n.Content {
		l.duplicateKeys(c)
	}
}
