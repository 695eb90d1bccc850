package glob

import (
	"errors"
	"fmt"
)

// ParseIfChanged reads a step's if_changed value, as decoded from YAML into
// Go values (yaml.v3 into an any), the way the agent reads it:
//
//   - a string, or a list of strings, is the include list;
//   - a mapping needs an "include" key (a string or list) and may have an
//     "exclude" key (likewise); a null there is an empty list.
//
// Mappings may be map[string]any, map[any]any, or anything with a
// Get(string) (any, bool) method (such as go-pipeline's ordered maps).
//
// An error means the agent would warn and run the step whatever changed: a
// mapping without "include", a value of another type, or a pattern it
// cannot parse (then the error wraps a *SyntaxError). A nil value is an
// error too: the agent treats a null if_changed as no condition at all.
func ParseIfChanged(v any) (Rule, error) {
	if v == nil {
		return Rule{}, errors.New("if_changed is null")
	}
	m, isMap := asMap(v)
	if !isMap {
		inc, err := patternList(v)
		if err != nil {
			return Rule{}, fmt.Errorf("if_changed: %w", err)
		}
		return Rule{Include: inc}, nil
	}

	incVal, ok := m("include")
	if !ok {
		return Rule{}, errors.New("if_changed is a mapping without an include key")
	}
	inc, err := patternList(incVal)
	if err != nil {
		return Rule{}, fmt.Errorf("if_changed.include: %w", err)
	}
	var exc []*Pattern
	if excVal, ok := m("exclude"); ok {
		if exc, err = patternList(excVal); err != nil {
			return Rule{}, fmt.Errorf("if_changed.exclude: %w", err)
		}
	}
	return Rule{Include: inc, Exclude: exc}, nil
}

// RunsForIfChanged reports whether the agent runs a step whose if_changed
// value is v, given the changed paths in ix. A nil v (no condition) and any
// value ParseIfChanged refuses leave the step running.
func RunsForIfChanged(v any, ix *Index) bool {
	r, err := ParseIfChanged(v)
	if err != nil {
		return true
	}
	return ix.Evaluate(r).Matched
}

// asMap returns a lookup function when v is a mapping.
func asMap(v any) (func(string) (any, bool), bool) {
	switch m := v.(type) {
	case map[string]any:
		return func(k string) (any, bool) { x, ok := m[k]; return x, ok }, true
	case map[any]any:
		return func(k string) (any, bool) { x, ok := m[k]; return x, ok }, true
	case interface{ Get(string) (any, bool) }:
		return m.Get, true
	}
	return nil, false
}

// patternList compiles a string or a list of strings; nil is no patterns.
func patternList(v any) ([]*Pattern, error) {
	var srcs []string
	switch x := v.(type) {
	case nil:
		return nil, nil
	case string:
		srcs = []string{x}
	case []string:
		srcs = x
	case []any:
		for i, item := range x {
			s, ok := item.(string)
			if !ok {
				return nil, fmt.Errorf("item %d is a %T, not a string", i, item)
			}
			srcs = append(srcs, s)
		}
	default:
		return nil, fmt.Errorf("a %T is neither a string nor a list", v)
	}
	ps := make([]*Pattern, 0, len(srcs))
	for _, s := range srcs {
		p, err := Compile(s)
		if err != nil {
			return nil, err
		}
		ps = append(ps, p)
	}
	return ps, nil
}
