// Package stepvalue is a YAML value passed through to a pipeline step as
// Buildkite has it: agents, plugin config, retry, soft_fail. The spec
// rebuilds each from plain scalars, so no tag, anchor, alias or merge key
// reaches a pipeline; bkgen builds its own (a plugin's config) from the
// constructors here.
package stepvalue

import (
	"strconv"
	"strings"

	"github.com/bkgen/bkgen/diag"
)

// Value is one value: numbers and booleans in their canonical form,
// mappings in the order written.
type Value struct {
	Kind   Kind
	Scalar string   // String: the text; Int, Float, Bool: canonical form
	Keys   []string // Map: the keys, in the order written (merged ones last)
	Items  []*Value // Map: the value of each key; List: the items
	Pos    diag.Pos // where the spec wrote it
}

// Kind is what a Value holds.
type Kind uint8

const (
	String Kind = iota
	Int
	Float
	Bool
	Null
	Map
	List
)

// Get returns the value of a map's key, or nil.
func (v *Value) Get(key string) *Value {
	if v == nil || v.Kind != Map {
		return nil
	}
	for i, k := range v.Keys {
		if k == key {
			return v.Items[i]
		}
	}
	return nil
}

// Size counts a value's nodes: what it adds to a pipeline each time it is
// written.
func (v *Value) Size() int {
	if v == nil {
		return 0
	}
	n := 1 + len(v.Keys)
	for _, it := range v.Items {
		n += it.Size()
	}
	return n
}

// Bytes is about how many bytes the value takes in a pipeline.
func (v *Value) Bytes() int {
	if v == nil {
		return 0
	}
	n := len(v.Scalar) + 2
	for _, k := range v.Keys {
		n += len(k) + 2
	}
	for _, it := range v.Items {
		n += it.Bytes()
	}
	return n
}

// Merge lays own over def: maps merge key by key, own winning; a list
// form on either side means own wins whole.
func Merge(def, own *Value) *Value {
	if def == nil || own == nil || def.Kind != Map || own.Kind != Map {
		if own != nil {
			return own
		}
		return def
	}
	out := &Value{Kind: Map, Pos: own.Pos}
	for i, k := range def.Keys {
		if own.Get(k) == nil {
			out.Keys = append(out.Keys, k)
			out.Items = append(out.Items, def.Items[i])
		}
	}
	out.Keys = append(out.Keys, own.Keys...)
	out.Items = append(out.Items, own.Items...)
	return out
}

// Strings returns a value's text, for a string or a list of strings.
func (v *Value) Strings() []string {
	if v == nil {
		return nil
	}
	if v.Kind != List {
		return []string{v.Scalar}
	}
	out := make([]string, len(v.Items))
	for i, it := range v.Items {
		out[i] = it.Scalar
	}
	return out
}

// String shows a value for messages.
func (v *Value) String() string {
	if v == nil {
		return "nothing"
	}
	switch v.Kind {
	case Map:
		return "a mapping"
	case List:
		return "a list"
	case Null:
		return "null"
	}
	return strings.TrimSpace(v.Scalar)
}

// Str is a string.
func Str(s string) *Value { return &Value{Kind: String, Scalar: s} }

// Integer is a whole number.
func Integer(i int) *Value { return &Value{Kind: Int, Scalar: strconv.Itoa(i)} }

// Boolean is a bool.
func Boolean(b bool) *Value { return &Value{Kind: Bool, Scalar: strconv.FormatBool(b)} }

// A Field is a key and its value, for Mapping.
type Field struct {
	Key   string
	Value *Value
}

// Mapping is a mapping of fields, in the order given.
func Mapping(fields ...Field) *Value {
	m := &Value{Kind: Map}
	for _, f := range fields {
		m.Keys = append(m.Keys, f.Key)
		m.Items = append(m.Items, f.Value)
	}
	return m
}

// Sequence is a list of values.
func Sequence(items ...*Value) *Value { return &Value{Kind: List, Items: items} }
