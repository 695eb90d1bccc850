package glob

import (
	"os"
	"slices"
	"strconv"
	"strings"
	"unicode/utf8"
)

// The agent's matcher (zzglob v0.4.3 in agent 3.138.3) departs from the
// dialect in two ways, both confirmed against the agent's binary. Compile
// reproduces them, and Pattern.Quirks reports them, so that bkgen lint can
// warn about patterns that do not match what they seem to.

// QuirkKind names a way the agent matches a pattern otherwise than the
// dialect reads.
type QuirkKind int

const (
	// QuirkHome: the pattern starts with "~/", and the agent replaces the
	// "~" with its home directory (the job's $HOME), so the pattern never
	// matches a changed path, as those are relative to the repository
	// root.
	QuirkHome QuirkKind = iota + 1

	// QuirkStarAfterBraces: the pattern ends in a brace group and a single
	// "*" or "**", and after each branch of that group that is empty or
	// ends in "*" or "**" (once its own groups are expanded) the agent's
	// last star matches at least one rune instead of any number:
	// "Gemfile{,.lock}*" matches "Gemfile.lock" and "Gemfilex" but not
	// "Gemfile", and "src/{main,test*}*" not "src/test".
	QuirkStarAfterBraces
)

func (k QuirkKind) String() string {
	switch k {
	case QuirkHome:
		return "home"
	case QuirkStarAfterBraces:
		return "star after braces"
	}
	return "QuirkKind(" + strconv.Itoa(int(k)) + ")"
}

// Quirk is one way the agent matches a pattern otherwise than it reads.
type Quirk struct {
	Kind QuirkKind

	// Missed, for QuirkStarAfterBraces: what a reader expects the pattern
	// to match and the agent does not, as patterns in the agent's dialect
	// with the braces expanded: each quirky branch written out without its
	// trailing stars ("Gemfile" for "Gemfile{,.lock}*"). Each is listed
	// only if the pattern misses some path it matches (the pattern may
	// match others, through other branches); those that match only paths
	// that are empty or end in "/" are left out, as no changed file is
	// named so. Missed is nil when the braces expand too far to list (past
	// 64 ways).
	Missed []string

	// Fix, for QuirkStarAfterBraces: the pattern without its last "*" or
	// "**" ("Gemfile{,.lock}" for "Gemfile{,.lock}*"). Listed beside the
	// pattern, it matches what the pattern misses: the two together match
	// exactly what the pattern reads as.
	Fix string
}

// Quirks reports the agent's quirks that make the pattern match otherwise
// than it reads, QuirkHome first. QuirkStarAfterBraces is left out when it
// makes no difference to a path that can change (one neither empty nor
// ending in "/"), as for "**/*" or "a/**/*"; when the braces expand too
// far to tell, it is reported.
func (p *Pattern) Quirks() []Quirk {
	var qs []Quirk
	if p.home {
		qs = append(qs, Quirk{Kind: QuirkHome})
	}
	if p.tail != nil {
		missed, listed := p.missed()
		if !listed || len(missed) > 0 {
			qs = append(qs, Quirk{Kind: QuirkStarAfterBraces, Missed: missed, Fix: p.tail.fix})
		}
	}
	return qs
}

// expandHome replaces the "~" of a leading "~/" by the home directory,
// as literal runes, as the agent does before parsing. It reports whether
// the pattern starts with "~/", even if the home directory is unknown
// (then the "~" stays a literal).
func expandHome(pattern string, toks []token) ([]token, bool) {
	if !strings.HasPrefix(pattern, "~/") {
		return toks, false
	}
	home, err := os.UserHomeDir()
	if err != nil {
		return toks, true
	}
	out := make([]token, 0, len(toks)-1+utf8.RuneCountInString(home))
	for _, r := range home {
		out = append(out, token{kind: tLit, r: r})
	}
	return append(out, toks[1:]...), true
}

// lastStar is what the trailing star quirk needs to know of a pattern.
type lastStar struct {
	prefix seq    // the pattern before its last brace group
	group  []seq  // the branches of that group
	fix    string // the source text without the last star
}

// starQuirk applies the agent's trailing star quirk to a parsed pattern.
//
// In the agent's automaton "*" and "**" loop on the state they stand at,
// and a brace group ends in a state its branches reach by empty edges.
// When the pattern ends with a group and one "*" or "**", that state's
// only edge is the star's loop, and the agent's automaton reduction then
// replaces every empty edge into it by a copy of that loop: after a
// branch that is empty or ends in a star (whose end state is where the
// empty edge starts), the last star has to match a rune to get there.
// Branches that end otherwise keep zero or more.
//
// So a pattern P{...}* becomes P{N*,S*1,*1}, where N holds the branches
// (expanded) that end otherwise, S those that end in a star, *1 is the
// star matching one rune or more, and the last branch is there when some
// branch is empty. fix is the source text of P{...}, reported with the
// quirk; the returned lastStar is nil when the quirk does not apply.
func starQuirk(s seq, fix string) (seq, *lastStar) {
	n := len(s)
	if n < 2 || s[n-1].isAlt || !s[n-1].isStar() || !s[n-2].isAlt {
		return s, nil
	}
	star := s[n-1].atom
	e := endingOf(s[n-2 : n-1])
	if !e.empty && len(e.star) == 0 {
		return s, nil
	}
	one := atom{kind: aStar1}
	if star.kind == aDStar {
		one.kind = aDStar1
	}
	var alts []seq
	for _, b := range e.other {
		alts = append(alts, append(slices.Clip(b), elem{atom: star}))
	}
	for _, b := range e.star {
		alts = append(alts, append(slices.Clip(b), elem{atom: one}))
	}
	if e.empty {
		alts = append(alts, seq{{atom: one}})
	}
	out := append(slices.Clip(s[:n-2]), elem{isAlt: true, alts: alts})
	return out, &lastStar{prefix: s[: n-2 : n-2], group: s[n-2].alts, fix: fix}
}

// ending sorts the ways a sequence expands (its branches, with every
// group expanded) by how their text ends: empty, in "*" or "**", or in
// anything else. star and other are alternatives, each a sequence; the
// three together expand to what the sequence does, each branch once.
type ending struct {
	empty       bool
	star, other []seq
}

func endingOf(s seq) ending {
	if len(s) == 0 {
		return ending{empty: true}
	}
	p, x := s[:len(s)-1], s[len(s)-1]
	var ex ending
	switch {
	case x.isAlt:
		for _, alt := range x.alts {
			ea := endingOf(alt)
			ex.empty = ex.empty || ea.empty
			ex.star = append(ex.star, ea.star...)
			ex.other = append(ex.other, ea.other...)
		}
	case x.isStar():
		ex.star = []seq{{x}}
	default:
		ex.other = []seq{{x}}
	}

	var r ending
	if len(ex.star) > 0 {
		r.star = []seq{withPrefix(p, ex.star)}
	}
	if len(ex.other) > 0 {
		r.other = []seq{withPrefix(p, ex.other)}
	}
	if ex.empty {
		ep := endingOf(p)
		r.empty = ep.empty
		r.star = append(r.star, ep.star...)
		r.other = append(r.other, ep.other...)
	}
	return r
}

// withPrefix is p followed by any of alts.
func withPrefix(p seq, alts []seq) seq {
	if len(alts) == 1 {
		return slices.Concat(p, alts[0])
	}
	return append(slices.Clone(p), elem{isAlt: true, alts: alts})
}

// missedLimit bounds how many branches missed writes out.
const missedLimit = 64

// missed lists the Missed of QuirkStarAfterBraces, or reports false when
// the braces expand past missedLimit.
func (p *Pattern) missed() ([]string, bool) {
	t := p.tail
	heads, ok := expand(t.prefix, missedLimit)
	if !ok {
		return nil, false
	}
	var tails []branch
	for _, alt := range t.group {
		bs, ok := expand(alt, missedLimit)
		if !ok {
			return nil, false
		}
		for _, b := range bs {
			if len(b) == 0 || b[len(b)-1].isStar() {
				tails = append(tails, b)
			}
		}
	}
	if len(heads)*len(tails) > missedLimit {
		return nil, false
	}
	var out []string
	for _, tail := range tails {
		for _, head := range heads {
			b := slices.Concat(head, tail)
			for len(b) > 0 && b[len(b)-1].isStar() {
				b = b[:len(b)-1]
			}
			path, ok := witness(b)
			if !ok || path == "" || strings.HasSuffix(path, "/") || p.Match(path) {
				continue
			}
			if text := b.String(); !slices.Contains(out, text) {
				out = append(out, text)
			}
		}
	}
	return out, true
}

// witness returns a path b matches, as short as may be and ending in "/"
// only if every match does, or reports false if b matches nothing.
func witness(b branch) (string, bool) {
	var sb strings.Builder
	for _, a := range b {
		switch a.kind {
		case aLit:
			sb.WriteRune(a.r)
		case aQuest:
			sb.WriteByte('x')
		case aClass:
			r, ok := classWitness(a.cls)
			if !ok {
				return "", false
			}
			sb.WriteRune(r)
		case aStar1, aDStar1:
			sb.WriteByte('x')
		}
	}
	return sb.String(), true
}

// classWitness returns a rune c matches, other than "/" if it can.
func classWitness(c *charClass) (rune, bool) {
	if !c.neg {
		for _, r := range c.runes {
			if r != '/' {
				return r, true
			}
		}
		return '/', len(c.runes) > 0
	}
	for r := 'a'; ; r++ {
		if r != '/' && !c.has(r) {
			return r, true
		}
	}
}

// String writes b in the agent's dialect, escaping what needs it. Runs of
// stars are written as one, as they match the same strings.
func (b branch) String() string {
	var sb strings.Builder
	for i := 0; i < len(b); i++ {
		a := b[i]
		switch a.kind {
		case aLit:
			if strings.ContainsRune(`*?[]{}\,`, a.r) {
				sb.WriteByte('\\')
			}
			sb.WriteRune(a.r)
		case aQuest:
			sb.WriteByte('?')
		case aClass:
			sb.WriteByte('[')
			if a.cls.neg {
				sb.WriteByte('^')
			}
			for _, r := range a.cls.runes {
				if r == ']' || r == '\\' || r == '^' {
					sb.WriteByte('\\')
				}
				sb.WriteRune(r)
			}
			sb.WriteByte(']')
		case aStar1:
			sb.WriteString("?*")
		case aDStar1:
			sb.WriteString("{?,/}**")
		case aStar, aDStar: // a run of them
			dstar := false
			for ; i < len(b) && (b[i].kind == aStar || b[i].kind == aDStar); i++ {
				dstar = dstar || b[i].kind == aDStar
			}
			i--
			if dstar {
				sb.WriteString("**")
			} else {
				sb.WriteByte('*')
			}
		}
	}
	return sb.String()
}
