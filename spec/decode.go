package spec

import (
	"fmt"
	"sort"
	"strconv"
	"strings"
	"unicode"

	"github.com/bkgen/bkgen/diag"
	"gopkg.in/yaml.v3"
)

// decoder walks yaml.Nodes and collects every problem instead of stopping at
// the first, so a user fixes a spec in one round.
type decoder struct {
	file string
	errs diag.List
	// work is what decoding may still visit. Aliases and merge keys let a
	// few kilobytes stand for billions of values: each visit is counted,
	// so no spec takes more than moments to read.
	work     int
	overWork bool
}

// maxWork bounds the values (mapping pairs, list items, scalars of
// pass-through values) decoding visits, aliases counted each time they
// are used: far above what 500 images with dozens of consumers need.
const maxWork = 2_000_000

// spend counts one visit; false, with one error for the spec, when the
// spec expands past maxWork.
func (d *decoder) spend(n *yaml.Node, what string) bool {
	d.work--
	if d.work >= 0 {
		return true
	}
	if !d.overWork {
		d.overWork = true
		d.errorf(n, what, "the spec expands to more than %d values (aliases and merge keys count each time they are used)", maxWork)
	}
	return false
}

func posOf(n *yaml.Node) Pos {
	if n == nil {
		return Pos{Line: 1, Col: 1}
	}
	return Pos{Line: n.Line, Col: n.Column}
}

// errorf records a problem with the value at n: path names the field
// ("images.app.context"), the message says what is wrong.
func (d *decoder) errorf(n *yaml.Node, path, format string, args ...any) {
	d.errs = append(d.errs, diag.Diagnostic{
		File: d.file, Pos: posOf(n), Severity: diag.Error, Rule: "spec",
		Path: oneLine(path), Msg: oneLine(fmt.Sprintf(format, args...)),
	})
}

// maxMessage bounds a message, which may quote a field name from the spec.
const maxMessage = 400

// oneLine keeps a message on one line of printable text, however the spec
// is written: a name with a newline or a terminal escape in it cannot
// forge another line of the job log.
func oneLine(msg string) string {
	var b strings.Builder
	n := 0
	for _, r := range msg {
		if n++; n > maxMessage {
			b.WriteString("...")
			break
		}
		if unicode.IsPrint(r) {
			b.WriteRune(r)
		} else {
			q := strconv.QuoteRune(r)
			b.WriteString(q[1 : len(q)-1])
		}
	}
	return b.String()
}

// resolve follows aliases to the node they stand for.
func resolve(n *yaml.Node) *yaml.Node {
	for n != nil && n.Kind == yaml.AliasNode {
		n = n.Alias
	}
	return n
}

// kindName names what a node holds, for messages.
func kindName(n *yaml.Node) string {
	n = resolve(n)
	if n == nil {
		return "nothing"
	}
	switch n.Kind {
	case yaml.MappingNode:
		return "a mapping"
	case yaml.SequenceNode:
		return "a list"
	case yaml.ScalarNode:
		switch n.Tag {
		case "!!null":
			return "null"
		case "!!bool":
			return fmt.Sprintf("the boolean %s", n.Value)
		case "!!int", "!!float":
			return fmt.Sprintf("the number %s", n.Value)
		}
		return "the string " + quoteForMessage(n.Value)
	}
	return "an unexpected value"
}

type pair struct {
	key, value *yaml.Node
}

// mapping returns the key/value pairs of a mapping, with YAML merge keys
// (<<: *anchor) expanded so that anchors, common in pipeline files, work.
func (d *decoder) mapping(n *yaml.Node, what string) ([]pair, bool) {
	n = resolve(n)
	if n == nil || n.Kind != yaml.MappingNode {
		d.errorf(n, what, "expected a mapping, found %s", kindName(n))
		return nil, false
	}
	var own, merged []pair
	seen := map[string]*yaml.Node{}
	for i := 0; i+1 < len(n.Content); i += 2 {
		k, v := n.Content[i], n.Content[i+1]
		if !d.spend(k, what) {
			return nil, false
		}
		if k.Kind == yaml.ScalarNode && k.Tag == "!!merge" {
			merged = append(merged, d.mergePairs(v, what)...)
			continue
		}
		if k.Kind != yaml.ScalarNode {
			d.errorf(k, what, "keys must be strings, found %s", kindName(k))
			continue
		}
		if first, dup := seen[k.Value]; dup {
			d.errorf(k, what, "%s is given twice (first at line %d)", quoteForMessage(k.Value), first.Line)
			continue
		}
		seen[k.Value] = k
		own = append(own, pair{k, v})
	}
	for _, p := range merged {
		if _, ok := seen[p.key.Value]; !ok {
			seen[p.key.Value] = p.key
			own = append(own, p)
		}
	}
	return own, true
}

func (d *decoder) mergePairs(v *yaml.Node, what string) []pair {
	v = resolve(v)
	var sources []*yaml.Node
	switch v.Kind {
	case yaml.MappingNode:
		sources = []*yaml.Node{v}
	case yaml.SequenceNode:
		sources = v.Content
	default:
		d.errorf(v, what, "a merge key (<<) needs a mapping or a list of mappings, found %s", kindName(v))
		return nil
	}
	var out []pair
	for _, s := range sources {
		ps, _ := d.mapping(s, what)
		out = append(out, ps...)
	}
	return out
}

// fields decodes a mapping whose keys must come from known, reporting any
// other key with the closest known name.
func (d *decoder) fields(n *yaml.Node, what string, known []string) (map[string]pair, bool) {
	ps, ok := d.mapping(n, what)
	if !ok {
		return nil, false
	}
	out := make(map[string]pair, len(ps))
	for _, p := range ps {
		if !contains(known, p.key.Value) {
			d.errorf(p.key, what, "unknown field %s%s", quoteForMessage(p.key.Value), didYouMean(p.key.Value, known))
			continue
		}
		out[p.key.Value] = p
	}
	return out, true
}

func contains(list []string, s string) bool {
	for _, x := range list {
		if x == s {
			return true
		}
	}
	return false
}

// str decodes a scalar as text. Numbers are accepted as written (an AWS
// account id is often left unquoted); booleans and null are not text.
func (d *decoder) str(n *yaml.Node, what string) (string, bool) {
	n = resolve(n)
	if n == nil || n.Kind != yaml.ScalarNode || n.Tag == "!!null" || n.Tag == "!!bool" {
		d.errorf(n, what, "expected a string, found %s", kindName(n))
		return "", false
	}
	return d.text(n, what)
}

// text is a scalar's text as written. A tag that makes a YAML reader see
// something else (!!binary, a local !tag) is refused, and so is a NUL,
// which no argument, variable or pipeline value can hold.
func (d *decoder) text(n *yaml.Node, what string) (string, bool) {
	switch n.Tag {
	case "!!str", "!", "!!int", "!!float", "!!bool", "!!timestamp", "!!merge":
		// A plain << where a value goes is the text "<<".
	default:
		d.errorf(n, what, "the YAML tag %s is not supported here: write the value as plain text", quoteForMessage(n.Tag))
		return "", false
	}
	if strings.IndexByte(n.Value, 0) >= 0 {
		d.errorf(n, what, "holds a NUL character, which no job can be given")
		return "", false
	}
	// Text counts against the work too, a visit per 16 bytes: an alias of
	// a long string repeated is as big as the repeats.
	d.work -= len(n.Value) >> 4
	if !d.spend(n, what) {
		return "", false
	}
	return n.Value, true
}

// nonEmpty decodes a string that must not be blank.
func (d *decoder) nonEmpty(n *yaml.Node, what string) (string, bool) {
	s, ok := d.str(n, what)
	if ok && strings.TrimSpace(s) == "" {
		d.errorf(n, what, "must not be empty")
		return "", false
	}
	return s, ok
}

// scalarText decodes any non-null scalar as text: values of args, labels and
// env, where `DEBUG: true` means the string "true".
func (d *decoder) scalarText(n *yaml.Node, what string) (string, bool) {
	n = resolve(n)
	if n == nil || n.Kind != yaml.ScalarNode || n.Tag == "!!null" {
		d.errorf(n, what, "expected a string, found %s", kindName(n))
		return "", false
	}
	return d.text(n, what)
}

func (d *decoder) boolean(n *yaml.Node, what string) (bool, bool) {
	n = resolve(n)
	if n == nil || n.Kind != yaml.ScalarNode || n.Tag != "!!bool" {
		d.errorf(n, what, "expected true or false, found %s", kindName(n))
		return false, false
	}
	var b bool
	if err := n.Decode(&b); err != nil {
		d.errorf(n, what, "expected true or false, found %s", kindName(n))
		return false, false
	}
	return b, true
}

func (d *decoder) integer(n *yaml.Node, what string, lo, hi int) (int, bool) {
	n = resolve(n)
	if n == nil || n.Kind != yaml.ScalarNode || n.Tag != "!!int" {
		d.errorf(n, what, "expected a whole number, found %s", kindName(n))
		return 0, false
	}
	v, err := strconv.ParseInt(strings.ReplaceAll(n.Value, "_", ""), 0, 64)
	if err != nil || v < int64(lo) || v > int64(hi) {
		d.errorf(n, what, "expected a whole number from %d to %d, found %s", lo, hi, n.Value)
		return 0, false
	}
	return int(v), true
}

// item is a string from a list, with its node for positions.
type item struct {
	text string
	node *yaml.Node
}

// strList decodes a list of strings; with oneOrMany a single string is a
// list of one, as Buildkite allows for depends_on and artifact_paths.
func (d *decoder) strList(n *yaml.Node, what string, oneOrMany bool) ([]item, bool) {
	n = resolve(n)
	if n != nil && n.Kind == yaml.ScalarNode && oneOrMany {
		s, ok := d.str(n, what)
		if !ok {
			return nil, false
		}
		return []item{{s, n}}, true
	}
	if n == nil || n.Kind != yaml.SequenceNode {
		want := "a list of strings"
		if oneOrMany {
			want = "a string or a list of strings"
		}
		d.errorf(n, what, "expected %s, found %s", want, kindName(n))
		return nil, false
	}
	out := make([]item, 0, len(n.Content))
	ok := true
	for i, c := range n.Content {
		if !d.spend(c, what) {
			return nil, false
		}
		s, good := d.str(c, fmt.Sprintf("%s[%d]", what, i))
		if !good {
			ok = false
			continue
		}
		out = append(out, item{s, resolve(c)})
	}
	return out, ok
}

// checkedList decodes a list of strings (with oneOrMany, or one string)
// and keeps the items check accepts; check reports what it refuses.
func (d *decoder) checkedList(n *yaml.Node, what string, oneOrMany bool, check func(it item) bool) []string {
	items, _ := d.strList(n, what, oneOrMany)
	var out []string
	for _, it := range items {
		if check(it) {
			out = append(out, it.text)
		}
	}
	return out
}

// kvMap decodes a mapping of names to scalar values, sorted by name;
// keyRule says in words what validKey accepts.
func (d *decoder) kvMap(n *yaml.Node, what string, validKey func(string) bool, keyRule string) ([]KV, bool) {
	ps, ok := d.mapping(n, what)
	if !ok {
		return nil, false
	}
	out := make([]KV, 0, len(ps))
	for _, p := range ps {
		if validKey != nil && !validKey(p.key.Value) {
			d.errorf(p.key, what, "%s is not %s", quoteForMessage(p.key.Value), keyRule)
			ok = false
			continue
		}
		v, good := d.scalarText(p.value, what+"."+p.key.Value)
		if !good {
			ok = false
			continue
		}
		out = append(out, KV{Key: p.key.Value, Value: v})
	}
	sort.Slice(out, func(i, j int) bool { return out[i].Key < out[j].Key })
	return out, ok
}

// oneOf decodes a string that must be one of choices.
func (d *decoder) oneOf(n *yaml.Node, what string, choices ...string) (string, bool) {
	s, ok := d.str(n, what)
	if !ok {
		return "", false
	}
	if !contains(choices, s) {
		d.errorf(n, what, "%s is not one of %s%s", quoteForMessage(s), strings.Join(choices, ", "), didYouMean(s, choices))
		return "", false
	}
	return s, true
}
