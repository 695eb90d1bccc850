// Package diag is bkgen's one kind of problem report, for the spec, the
// files it names and any pipeline file lint reads: where (file, line,
// column), how bad, which check found it, what it is about and what is
// wrong, modelled on cue's errors. A List holds every problem of one run,
// sorted and without repeats, so a person fixes them in one round.
package diag

import (
	"cmp"
	"fmt"
	"slices"
	"strings"
)

// Severity says how bad a problem is.
type Severity int

const (
	Warning Severity = iota // worth a look; lint fails on it only with --strict
	Error                   // bkgen refuses the spec, or the upload would fail
)

var severityNames = [...]string{Warning: "warning", Error: "error"}

func (s Severity) String() string {
	if s >= 0 && int(s) < len(severityNames) {
		return severityNames[s]
	}
	return fmt.Sprintf("Severity(%d)", int(s))
}

// Pos is a position in a file, 1-based as editors show it (columns count
// runes, as yaml.v3 does); 1:1 when no better one exists.
type Pos struct {
	Line, Col int
}

// Diagnostic is one problem.
type Diagnostic struct {
	File     string
	Pos      Pos
	Severity Severity
	// Rule names the check that found it, for people and tools to refer
	// to: "spec" for what the spec loader refuses, "unpinned-plugin"...
	Rule string
	// Path is the field the problem is about, such as
	// images.app.consumers.unit.env; "" when it is about the whole file.
	Path string
	Msg  string
}

// Error is how a problem reads where bkgen refuses: FILE:LINE:COL: PATH: MSG.
func (d Diagnostic) Error() string {
	return fmt.Sprintf("%s:%d:%d: %s", d.File, d.Pos.Line, d.Pos.Col, d.text())
}

// String is how lint lists a problem: FILE:LINE:COL: SEVERITY: PATH: MSG
// [RULE].
func (d Diagnostic) String() string {
	s := fmt.Sprintf("%s:%d:%d: %s: %s", d.File, d.Pos.Line, d.Pos.Col, d.Severity, d.text())
	if d.Rule != "" {
		s += " [" + d.Rule + "]"
	}
	return s
}

func (d Diagnostic) text() string {
	if d.Path == "" {
		return d.Msg
	}
	return d.Path + ": " + d.Msg
}

// List is every problem found, and an error when it holds any.
type List []Diagnostic

// Error lists the problems one a line, as bkgen prints them.
func (l List) Error() string {
	lines := make([]string, len(l))
	for i, d := range l {
		lines[i] = d.Error()
	}
	return strings.Join(lines, "\n")
}

// Sorted returns the problems by position, errors before warnings at one
// position, without exact repeats (a value reached twice, through an alias
// or a default shared by many images, is reported once). Files keep the
// order they first appear in.
func (l List) Sorted() List {
	rank := map[string]int{}
	for _, d := range l {
		if _, ok := rank[d.File]; !ok {
			rank[d.File] = len(rank)
		}
	}
	out := slices.Clone(l)
	slices.SortStableFunc(out, func(a, b Diagnostic) int {
		return cmp.Or(
			cmp.Compare(rank[a.File], rank[b.File]),
			cmp.Compare(a.Pos.Line, b.Pos.Line),
			cmp.Compare(a.Pos.Col, b.Pos.Col),
			cmp.Compare(b.Severity, a.Severity),
			cmp.Compare(a.Path, b.Path),
			cmp.Compare(a.Msg, b.Msg),
		)
	})
	return slices.Compact(out)
}

// Err is the list as an error, nil when it is empty.
func (l List) Err() error {
	if len(l) == 0 {
		return nil
	}
	return l
}

// Errors counts the problems of severity Error.
func (l List) Errors() int {
	n := 0
	for _, d := range l {
		if d.Severity == Error {
			n++
		}
	}
	return n
}
