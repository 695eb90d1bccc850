package lint

import (
	"errors"
	"fmt"
	"slices"
	"strings"

	"github.com/bkgen/bkgen/glob"
	"gopkg.in/yaml.v3"
)

// runsAnyway ends the messages about if_changed values the agent gives up
// on: it warns in the build log, which nobody reads, and runs the step.
const (
	runsAnyway      = "the agent ignores it and runs the step on every build"
	wholeRunsAnyway = "the agent ignores the whole if_changed and runs the step on every build"
)

// ifChanged checks a step's if_changed as the agent reads it (see
// glob.ParseIfChanged): a pattern, a list of patterns, or a mapping with
// include and perhaps exclude, each a pattern or a list.
func (l *linter) ifChanged(st *step) {
	e, ok := st.get("if_changed")
	if !ok {
		return
	}
	switch kind := stepKind(st.body); kind {
	case "block", "input", "manual", "wait", "waiter":
		// The agent's upload applies if_changed to command, group and
		// trigger steps only (agent 3.138.3): here it stays in the step.
		l.warnf(e.v, "if-changed", "the agent applies if_changed only to command, group and trigger steps: this %s step keeps it and is never skipped for it", kind)
		return
	}
	v := resolve(e.v)
	switch {
	case isNull(v):
		l.errorf(e.v, "if-changed", "if_changed is empty: %s", runsAnyway)
	case v.Kind == yaml.MappingNode:
		inc, ok := field(v, "include")
		if !ok {
			l.errorf(e.v, "if-changed", "if_changed has no include: %s", runsAnyway)
			return
		}
		l.patternList(inc.v, "include")
		if exc, ok := field(v, "exclude"); ok {
			l.patternList(exc.v, "exclude")
		}
	default:
		l.patternList(e.v, "")
	}
}

// patternList checks a pattern or a list of them; role is "include",
// "exclude" or "" for the short forms.
func (l *linter) patternList(n *yaml.Node, role string) {
	what := "if_changed"
	if role != "" {
		what += "." + role
	}
	v := resolve(n)
	switch {
	case isNull(v) && role != "":
		// No patterns: allowed, the agent reads it as an empty list.
	case isString(v):
		l.pattern(n, v.Value, role)
	case v.Kind == yaml.SequenceNode:
		for _, item := range v.Content {
			if r := resolve(item); isString(r) {
				l.pattern(item, r.Value, role)
			} else {
				l.errorf(item, "if-changed", "%s: a pattern must be a string: %s", what, wholeRunsAnyway)
			}
		}
	case role == "":
		l.errorf(n, "if-changed", "if_changed must be a pattern, a list of patterns, or a mapping with include (and exclude): %s", runsAnyway)
	default:
		l.errorf(n, "if-changed", "%s must be a pattern or a list of patterns: %s", what, runsAnyway)
	}
}

// pattern checks one if_changed pattern.
func (l *linter) pattern(n *yaml.Node, text, role string) {
	if msg := compileProblem(text); msg != "" {
		l.errorf(n, "if-changed", "%s", msg)
		return
	}
	if msg := patternWarning(text, role); msg != "" {
		l.warnf(n, "pattern", "%s", msg)
	}
}

// compileProblem says why the agent cannot parse a pattern, or "".
func compileProblem(text string) string {
	_, err := glob.Compile(text)
	var se *glob.SyntaxError
	switch {
	case err == nil:
		return ""
	case errors.As(err, &se) && strings.HasPrefix(se.Msg, "too complex"):
		// Only bkgen's matcher gives up on these; the agent takes them.
		return ""
	case errors.As(err, &se):
		return fmt.Sprintf("if_changed pattern %q cannot be parsed (%s at offset %d): %s", text, se.Msg, se.Offset, wholeRunsAnyway)
	}
	return fmt.Sprintf("if_changed pattern %q cannot be parsed (%v): %s", text, err, wholeRunsAnyway)
}

// patternWarning says why a pattern the agent can parse cannot match what
// it seems to, or "". role is "include", "exclude" or "" (an include).
func patternWarning(text, role string) string {
	name, never := "pattern", "so it never matches"
	if role == "exclude" {
		name, never = "exclude pattern", "so it never excludes anything"
	}
	var quirks []glob.Quirk
	if p, err := glob.Compile(text); err == nil {
		quirks = p.Quirks()
	}
	quirk := func(k glob.QuirkKind) (glob.Quirk, bool) {
		i := slices.IndexFunc(quirks, func(q glob.Quirk) bool { return q.Kind == k })
		if i < 0 {
			return glob.Quirk{}, false
		}
		return quirks[i], true
	}
	_, home := quirk(glob.QuirkHome)
	switch {
	case text == "":
		return fmt.Sprintf("%s is empty, %s", name, never)
	case strings.HasPrefix(text, "./"), strings.HasPrefix(text, "/"):
		lead := text[:strings.IndexByte(text, '/')+1]
		return fmt.Sprintf("%s %q starts with %q, but the agent matches paths relative to the repository root, which never do, %s; write %q",
			name, text, lead, never, strings.TrimLeft(strings.TrimPrefix(text, "."), "/"))
	case strings.HasPrefix(text, "!"):
		if role == "exclude" {
			return fmt.Sprintf("%s %q starts with \"!\", which the agent reads as a literal \"!\" (patterns have no negation)", name, text)
		}
		return fmt.Sprintf("%s %q starts with \"!\", which the agent reads as a literal \"!\" (patterns have no negation): to leave paths out, list them under exclude", name, text)
	case home:
		return fmt.Sprintf("%s %q starts with \"~/\", which the agent expands to its home directory, but the paths it matches are relative to the repository root, %s; write the path from the repository root",
			name, text, never)
	}
	if class, ok := classRange(text); ok {
		return fmt.Sprintf("%s %q has %q, but the agent has no ranges in brackets: it matches only the characters listed, \"-\" included; list each character you mean", name, text, class)
	}
	if q, ok := quirk(glob.QuirkStarAfterBraces); ok {
		return starAfterBraces(text, role, q)
	}
	return ""
}

// maxMissed is how many of the paths a pattern misses a warning names.
const maxMissed = 3

// starAfterBraces describes glob.QuirkStarAfterBraces: what the pattern
// does not match, why, and the pattern to list beside it.
func starAfterBraces(text, role string, q glob.Quirk) string {
	name, verb, beside := "pattern", "match", "add"
	if role == "exclude" {
		name, verb, beside = "exclude pattern", "exclude", "add the exclude pattern"
	}
	star := text[len(q.Fix):]
	var missed string
	switch n := len(q.Missed); {
	case n == 0:
		missed = fmt.Sprintf("some paths %q matches", q.Fix)
	case n <= maxMissed:
		missed = quoteList(q.Missed, " or ")
	default:
		missed = fmt.Sprintf("%s and %d more", quoteList(q.Missed[:maxMissed], ", "), n-maxMissed)
	}
	return fmt.Sprintf("%s %q does not %s %s: the agent makes a %q that ends a pattern right after a brace group match at least one character after a branch that is empty or ends in \"*\" or \"**\"; %s %q beside it",
		name, text, verb, missed, star, beside, q.Fix)
}

// quoteList quotes items and joins them with ", ", but for last before the
// last item: "a", "b" or "c".
func quoteList(items []string, last string) string {
	var sb strings.Builder
	for i, it := range items {
		switch {
		case i == 0:
		case i == len(items)-1:
			sb.WriteString(last)
		default:
			sb.WriteString(", ")
		}
		fmt.Fprintf(&sb, "%q", it)
	}
	return sb.String()
}

// classRange finds the first bracket expression with a "-" between two
// members, as in "[a-z]", reading brackets as the agent does (see
// glob.Compile): a leading "^" negates, the first "]" closes, "\" escapes.
func classRange(p string) (string, bool) {
	for i := 0; i < len(p); i++ {
		switch p[i] {
		case '\\':
			i++
		case '[':
			j := i + 1
			if j < len(p) && p[j] == '^' {
				j++
			}
			members, dash := 0, false
			for ; j < len(p) && p[j] != ']'; j++ {
				switch {
				case p[j] == '\\':
					j++
				case p[j] == '-' && members > 0 && j+1 < len(p) && p[j+1] != ']':
					dash = true
				}
				members++
			}
			if j >= len(p) {
				return "", false // unclosed: not a class (or not a valid pattern)
			}
			if dash {
				return p[i : j+1], true
			}
			i = j
		}
	}
	return "", false
}
