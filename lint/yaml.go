package lint

import (
	"bytes"
	"fmt"
	"slices"
	"strings"
	"unicode/utf8"

	"gopkg.in/yaml.v3"
)

// resolve returns the node an alias stands for, and a document's content.
func resolve(n *yaml.Node) *yaml.Node {
	if n == nil {
		return nil
	}
	switch n.Kind {
	case yaml.AliasNode:
		return resolve(n.Alias)
	case yaml.DocumentNode:
		if len(n.Content) == 0 {
			return nil
		}
		return resolve(n.Content[0])
	}
	return n
}

// isString reports whether n is a string scalar: the only kind of value
// upload-time interpolation touches, and what keys and patterns must be.
func isString(n *yaml.Node) bool {
	return n != nil && n.Kind == yaml.ScalarNode && n.ShortTag() == "!!str"
}

func isNull(n *yaml.Node) bool {
	return n == nil || n.Kind == yaml.ScalarNode && n.ShortTag() == "!!null"
}

// entry is one key and value of a mapping.
type entry struct {
	key  string // canonical, as go-pipeline spells it
	k, v *yaml.Node
}

// fields lists a mapping's entries as go-pipeline reads them: merge keys
// ("<<") expanded, explicit keys winning over merged ones, the first merged
// source winning over later ones, and a key given twice keeping its last
// value. Anything but a mapping has no fields.
func fields(m *yaml.Node) []entry {
	m = resolve(m)
	if m == nil || m.Kind != yaml.MappingNode {
		return nil
	}
	var out []entry
	at := make(map[string]int)
	add := func(key string, k, v *yaml.Node, override bool) {
		if i, ok := at[key]; ok {
			if override {
				out[i] = entry{key, k, v}
			}
			return
		}
		at[key] = len(out)
		out = append(out, entry{key, k, v})
	}

	// The mapping's own keys first, so that merges only fill gaps.
	for i := 0; i+1 < len(m.Content); i += 2 {
		k, v := m.Content[i], m.Content[i+1]
		if key, ok := canonicalKey(k); ok && !isMerge(k) {
			add(key, k, v, true)
		}
	}
	seen := map[*yaml.Node]bool{m: true}
	var merge func(n *yaml.Node)
	merge = func(n *yaml.Node) {
		n = resolve(n)
		if n == nil || seen[n] {
			return
		}
		seen[n] = true
		switch n.Kind {
		case yaml.MappingNode:
			for i := 0; i+1 < len(n.Content); i += 2 {
				k, v := n.Content[i], n.Content[i+1]
				if isMerge(k) {
					merge(v)
				} else if key, ok := canonicalKey(k); ok {
					add(key, k, v, false)
				}
			}
		case yaml.SequenceNode:
			for _, c := range n.Content {
				merge(c)
			}
		}
	}
	for i := 0; i+1 < len(m.Content); i += 2 {
		if isMerge(m.Content[i]) {
			merge(m.Content[i+1])
		}
	}
	return out
}

// field returns the entry for key, if the mapping has one.
func field(m *yaml.Node, key string) (entry, bool) {
	for _, e := range fields(m) {
		if e.key == key {
			return e, true
		}
	}
	return entry{}, false
}

func isMerge(k *yaml.Node) bool { return k.Kind == yaml.ScalarNode && k.ShortTag() == "!!merge" }

// canonicalKey spells a scalar key as go-pipeline does, so that "1" and 1,
// or true and "true", are the same key to it (and to us).
func canonicalKey(k *yaml.Node) (string, bool) {
	k = resolve(k)
	if k == nil || k.Kind != yaml.ScalarNode {
		return "", false
	}
	if k.ShortTag() == "!!str" {
		return k.Value, true
	}
	var x any
	if err := k.Decode(&x); err != nil || x == nil {
		return "", false
	}
	switch k.ShortTag() {
	case "!!bool":
		return fmt.Sprintf("%t", x), true
	case "!!int":
		return fmt.Sprintf("%d", x), true
	case "!!float":
		return fmt.Sprintf("%e", x), true
	}
	return k.Value, true
}

// source maps yaml.v3 positions to byte offsets and back, so that a
// problem inside a long value (a token in a multi-line command) can point
// at the text itself rather than at the start of the value.
type source struct {
	src        []byte
	lineStarts []int
	nodeStarts []int // sorted offsets of every node, to bound a scalar's text
}

func newSource(src []byte, docs []*yaml.Node) *source {
	s := &source{src: src, lineStarts: []int{0}}
	for i, b := range src {
		if b == '\n' {
			s.lineStarts = append(s.lineStarts, i+1)
		}
	}
	var walk func(n *yaml.Node)
	walk = func(n *yaml.Node) {
		if n.Line > 0 {
			s.nodeStarts = append(s.nodeStarts, s.offset(n.Line, n.Column))
		}
		for _, c := range n.Content {
			walk(c)
		}
	}
	for _, d := range docs {
		walk(d)
	}
	slices.Sort(s.nodeStarts)
	return s
}

// offset converts a 1-based line and rune column to a byte offset.
func (s *source) offset(line, col int) int {
	if line < 1 || line > len(s.lineStarts) {
		return len(s.src)
	}
	off := s.lineStarts[line-1]
	for ; col > 1 && off < len(s.src) && s.src[off] != '\n'; col-- {
		_, n := utf8.DecodeRune(s.src[off:])
		off += n
	}
	return off
}

// position converts a byte offset to a 1-based line and rune column.
func (s *source) position(off int) (line, col int) {
	i, found := slices.BinarySearch(s.lineStarts, off)
	if !found {
		i--
	}
	return i + 1, utf8.RuneCount(s.src[s.lineStarts[i]:off]) + 1
}

// text is the source of a scalar: from its start to where the next node
// starts (or the end of the file), which holds its text and perhaps some
// punctuation or comments after it.
func (s *source) text(n *yaml.Node) (start int, text []byte) {
	start = s.offset(n.Line, n.Column)
	end := len(s.src)
	if i, _ := slices.BinarySearch(s.nodeStarts, start+1); i < len(s.nodeStarts) {
		end = s.nodeStarts[i]
	}
	return start, s.src[start:end]
}

// find locates the first occurrence of needle in n's source text that ok
// accepts (given the text and the needle's offset in it), falling back to
// n's own position.
func (s *source) find(n *yaml.Node, needle string, ok func(text []byte, i int) bool) (line, col int) {
	if n.Line == 0 {
		return 1, 1
	}
	start, text := s.text(n)
	for from := 0; needle != "" && from <= len(text); {
		i := bytes.Index(text[from:], []byte(needle))
		if i < 0 {
			break
		}
		if ok == nil || ok(text, from+i) {
			return s.position(start + from + i)
		}
		from += i + 1
	}
	return n.Line, n.Column
}

// lineOf finds which line of a multi-line value an error is on, by trying
// each line alone, and locates it; fails says whether a piece of text is
// at fault.
func (s *source) lineOf(n *yaml.Node, fails func(string) bool) (line, col int) {
	for _, l := range strings.Split(n.Value, "\n") {
		if fails(l) {
			return s.find(n, strings.TrimSpace(l), nil)
		}
	}
	return n.Line, n.Column
}
