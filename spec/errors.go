package spec

import (
	"fmt"
	"sort"
	"strings"

	"github.com/bkgen/bkgen/internal/suggest"
)

// Pos is a position in the spec file, 1-based as editors show it.
type Pos struct {
	Line, Col int
}

// Error is one problem in a spec, with the position of the value it is about.
type Error struct {
	File string
	Pos  Pos
	Msg  string
}

func (e *Error) Error() string {
	return fmt.Sprintf("%s:%d:%d: %s", e.File, e.Pos.Line, e.Pos.Col, e.Msg)
}

// Errors is every problem found in a spec, sorted by position.
type Errors []*Error

func (es Errors) Error() string {
	lines := make([]string, len(es))
	for i, e := range es {
		lines[i] = e.Error()
	}
	return strings.Join(lines, "\n")
}

// sorted orders errors by position and drops exact repeats, which arise when
// a value is reached twice (an alias, or a default shared by many images).
func (es Errors) sorted() Errors {
	sort.SliceStable(es, func(i, j int) bool {
		a, b := es[i], es[j]
		if a.Pos.Line != b.Pos.Line {
			return a.Pos.Line < b.Pos.Line
		}
		if a.Pos.Col != b.Pos.Col {
			return a.Pos.Col < b.Pos.Col
		}
		return a.Msg < b.Msg
	})
	out := es[:0]
	for i, e := range es {
		if i > 0 && *e == *es[i-1] {
			continue
		}
		out = append(out, e)
	}
	return out
}

func didYouMean(word string, candidates []string) string {
	return suggest.DidYouMean(word, candidates)
}
