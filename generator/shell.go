package generator

import (
	"regexp"
	"strings"

	"github.com/bkgen/bkgen/internal/pipetext"
)

// quote makes s one shell word (see pipetext.ShellQuote). A NUL, which no
// shell word can hold and the spec loader refuses, is left in place, so
// that writing the pipeline fails rather than runs something else.
func quote(s string) string {
	q, err := pipetext.ShellQuote(s)
	if err != nil {
		return s
	}
	return q
}

var shellVar = regexp.MustCompile(`\$(?:[A-Za-z_][A-Za-z0-9_]*|\{[A-Za-z_][A-Za-z0-9_]*\})`)

// quoteExpanding makes s one shell word in which $NAME and ${NAME} are still
// expanded by the job's shell (for tags such as build-$BUILDKITE_BUILD_NUMBER,
// and the hosted registry's URL) and nothing else is special.
func quoteExpanding(s string) string {
	vars := shellVar.FindAllStringIndex(s, -1)
	if vars == nil {
		return quote(s)
	}
	// The literal parts between the variables, and each variable as ${NAME}.
	var literals, names []string
	last := 0
	for _, m := range vars {
		literals = append(literals, s[last:m[0]])
		names = append(names, strings.Trim(s[m[0]+1:m[1]], "{}"))
		last = m[1]
	}
	literals = append(literals, s[last:])
	var b strings.Builder
	if plain := !strings.ContainsAny(strings.Join(literals, ""), "\\\"`$") && pipetext.Check(s) == nil; plain {
		// One double-quoted word reads best.
		b.WriteByte('"')
		for i, l := range literals {
			b.WriteString(l)
			if i < len(names) {
				b.WriteString("${" + names[i] + "}")
			}
		}
		b.WriteByte('"')
		return b.String()
	}
	for i, l := range literals {
		if l != "" {
			b.WriteString(quote(l))
		}
		if i < len(names) {
			b.WriteString(`"${` + names[i] + `}"`)
		}
	}
	return b.String()
}
