package glob

import (
	"fmt"
	"regexp"
	"slices"
	"strings"
	"unicode/utf8"
)

// maxGlobs bounds how many doublestar patterns one pattern may expand to.
// Brace groups multiply ("{a,b}{c,d}{e,f}" is 8 branches), so past this
// bound a pattern is matched by a regular expression instead.
const maxGlobs = 64

// branch is an alternation-free sequence of atoms: one way a pattern can
// match. After normalize, only literal "/" atoms and "**" can match "/".
type branch []atom

// expand lists the branches of s, or reports false when there would be
// more than limit of them.
func expand(s seq, limit int) ([]branch, bool) {
	return expandInto(s, limit, atoms(s))
}

// expandInto is expand, giving each branch room for size atoms.
func expandInto(s seq, limit, size int) ([]branch, bool) {
	out := []branch{make(branch, 0, size)}
	for _, e := range s {
		if !e.isAlt {
			for i := range out {
				out[i] = append(out[i], e.atom)
			}
			continue
		}
		var tails []branch
		for _, alt := range e.alts {
			bs, ok := expandInto(alt, limit, atoms(alt))
			if !ok {
				return nil, false
			}
			tails = append(tails, bs...)
		}
		if len(out)*len(tails) > limit {
			return nil, false
		}
		next := make([]branch, 0, len(out)*len(tails))
		for _, head := range out {
			for k, tail := range tails {
				b := head // the last tail may extend head in place
				if k < len(tails)-1 {
					b = append(make(branch, 0, max(size, len(head)+len(tail))), head...)
				}
				next = append(next, append(b, tail...))
			}
		}
		out = next
	}
	return out, true
}

// atoms counts the atoms in s, alternatives included: more than any of
// its branches holds.
func atoms(s seq) int {
	n := 0
	for _, e := range s {
		if !e.isAlt {
			n++
			continue
		}
		for _, alt := range e.alts {
			n += atoms(alt)
		}
	}
	return n
}

// normalize rewrites a branch into branches doublestar can take apart by
// "/": a class that can match "/" splits into a literal "/" and a class
// that cannot; an empty class (which matches nothing) drops the branch; a
// class of one rune becomes that literal; runs of "*" and "**" holding
// a "**" become one "**", as they match the same strings; and a star that
// must match one rune or more becomes "?" and a star (a "**" one also
// "/" and "**").
//
// It reports false when that makes more than limit branches.
func normalize(b branch, limit int) ([]branch, bool) {
	out := []branch{make(branch, 0, len(b)+2)}
	for _, a := range b {
		if a.kind == aStar1 || a.kind == aDStar1 {
			// One rune or more. A run of stars before it adds nothing,
			// but for "**" before "*1": .*[^/]+ is any string that ends
			// in a rune other than "/". Then "*1" is "?*", and "**1" is
			// "?**" or "/**".
			n := len(out)
			if a.kind == aDStar1 {
				n *= 2
			}
			if n > limit {
				return nil, false
			}
			next := make([]branch, 0, n)
			for _, nb := range out {
				if k := len(nb); k > 0 && (nb[k-1].kind == aStar || a.kind == aDStar1 && nb[k-1].kind == aDStar) {
					nb = nb[:k-1]
				}
				if a.kind == aStar1 {
					next = append(next, append(nb, atom{kind: aQuest}, atom{kind: aStar}))
					continue
				}
				next = append(next,
					append(slices.Clip(nb), atom{kind: aQuest}, atom{kind: aDStar}),
					append(slices.Clip(nb), atom{kind: aLit, r: '/'}, atom{kind: aDStar}))
			}
			out = next
			continue
		}
		if a.kind == aStar || a.kind == aDStar {
			for i, nb := range out {
				if n := len(nb); n > 0 && (nb[n-1].kind == aStar || nb[n-1].kind == aDStar) {
					nb[n-1].kind = max(nb[n-1].kind, a.kind) // aDStar > aStar
					continue
				}
				out[i] = append(nb, a)
			}
			continue
		}
		if a.kind != aClass {
			for i := range out {
				out[i] = append(out[i], a)
			}
			continue
		}

		var alts []atom
		cls := a.cls
		if cls.neg != cls.has('/') { // it matches "/"
			alts = append(alts, atom{kind: aLit, r: '/'})
			if cls.neg {
				cls = &charClass{neg: true, runes: insertSorted(cls.runes, '/')}
			} else {
				cls = &charClass{runes: slices.DeleteFunc(slices.Clone(cls.runes), func(r rune) bool { return r == '/' })}
			}
		}
		switch {
		case !cls.neg && len(cls.runes) == 1:
			alts = append(alts, atom{kind: aLit, r: cls.runes[0]})
		case cls.neg || len(cls.runes) > 0:
			alts = append(alts, atom{kind: aClass, cls: cls})
		}
		if len(out)*len(alts) > limit {
			return nil, false
		}
		next := make([]branch, 0, len(out)*len(alts))
		for _, nb := range out {
			for _, alt := range alts {
				next = append(next, append(slices.Clip(nb), alt))
			}
		}
		out = next
	}
	return out, true
}

func insertSorted(rs []rune, r rune) []rune {
	i, found := slices.BinarySearch(rs, r)
	if found {
		return rs
	}
	return slices.Insert(slices.Clone(rs), i, r)
}

// globs translates a normalized branch into doublestar patterns that
// together match what it matches. doublestar has "**" only as a whole
// segment (zero or more directories), so the agent's "**" (any string) is
// rewritten by where it stands in its segment (D is [^/]*):
//
//	"/" or start before it:  **  ->  **/*          .*  =  (D/)*D
//	"/" or end after it:     **  ->  */**          .*  =  D(/D)*
//	text on both sides:      **  ->  * or */**/*   .*  =  D | D/(D/)*D
//
// Each pattern ends with the sentinel (see Pattern.Match), so a "**" at
// the end is followed by "/" like every other.
//
// It reports false when that takes more than limit patterns.
func (b branch) globs(limit int) ([]string, bool) {
	out := [][]byte{make([]byte, 0, 2*len(b)+len(sentinel))}
	emit := func(s string) {
		for i := range out {
			out[i] = append(out[i], s...)
		}
	}
	fork := func(left, right string) {
		for i := range out {
			out = append(out, append(slices.Clone(out[i]), right...))
			out[i] = append(out[i], left...)
		}
	}
	isSlash := func(i int) bool { return b[i].kind == aLit && b[i].r == '/' }

	for i, a := range b {
		switch a.kind {
		case aLit:
			special := strings.ContainsRune(`*?[]{}\,`, a.r)
			for j := range out {
				if special {
					out[j] = append(out[j], '\\')
				}
				out[j] = utf8.AppendRune(out[j], a.r)
			}
		case aStar:
			emit("*")
		case aQuest:
			emit("?")
		case aClass:
			emit(classGlob(a.cls))
		case aDStar:
			switch {
			case i == 0 || isSlash(i-1):
				emit("**/*")
			case i == len(b)-1 || isSlash(i+1):
				emit("*/**")
			default:
				if 2*len(out) > limit {
					return nil, false
				}
				fork("*", "*/**/*")
			}
		}
	}
	globs := make([]string, len(out))
	for i, g := range out {
		globs[i] = string(append(g, sentinel...))
	}
	return globs, true
}

// classGlob writes a class for doublestar, every rune escaped so that "-"
// never forms a range and a leading "!" never negates.
func classGlob(c *charClass) string {
	var sb strings.Builder
	sb.WriteByte('[')
	if c.neg {
		sb.WriteByte('^')
	}
	for _, r := range c.runes {
		sb.WriteByte('\\')
		sb.WriteRune(r)
	}
	sb.WriteByte(']')
	return sb.String()
}

// hint is what a branch tells the index about the paths it can match. Every
// field is a necessary condition, so filtering by it never loses a match.
type hint struct {
	prefix string   // every match starts with prefix
	dirs   []string // every match has each of these as a directory name

	isExact bool
	exact   string // when isExact: the one path the branch matches

	hasFile bool
	file    string // when hasFile: every match's last segment

	hasExt bool
	ext    string // when hasExt: every match's last segment ends in "."+ext
}

// hintFor derives a branch's hint. A literal segment followed by "/" can
// only be a directory of the path; a literal last segment is its file name.
// Literals stop at U+FFFD: it also matches any invalid UTF-8 byte, so its
// bytes are not a safe filter.
func hintFor(b branch) hint {
	var h hint
	literal := func(a atom) bool { return a.kind == aLit && a.r != utf8.RuneError }

	n := 0
	for n < len(b) && literal(b[n]) {
		n++
	}
	h.prefix = litString(b[:n])
	if n == len(b) {
		h.exact, h.isExact = h.prefix, true
		return h
	}

	start := 0
	for i := 0; i <= len(b); i++ {
		if i < len(b) && !(b[i].kind == aLit && b[i].r == '/') {
			continue
		}
		if seg := b[start:i]; !slices.ContainsFunc(seg, func(a atom) bool { return !literal(a) }) {
			if i < len(b) {
				h.dirs = append(h.dirs, litString(seg))
			} else {
				h.file, h.hasFile = litString(seg), true
			}
		}
		start = i + 1
	}

	t := len(b)
	for t > 0 && literal(b[t-1]) {
		t--
	}
	tail := litString(b[t:])
	if dot := strings.LastIndexByte(tail, '.'); dot >= 0 && !strings.Contains(tail, "/") {
		h.ext, h.hasExt = tail[dot+1:], true
	}
	return h
}

func litString(as []atom) string {
	var sb strings.Builder
	sb.Grow(len(as))
	for _, a := range as {
		sb.WriteRune(a.r)
	}
	return sb.String()
}

// compileRegexp is the fallback for patterns whose brace groups expand
// past maxGlobs: doublestar could only take them as that many patterns.
// It fails only past the regexp package's limits (braces nested 1,000
// deep), which no real pattern reaches.
func compileRegexp(s seq) (*regexp.Regexp, error) {
	var sb strings.Builder
	sb.WriteString(`\A(?s:`)
	writeRegexp(&sb, s)
	sb.WriteString(`)\z`)
	return regexp.Compile(sb.String())
}

func writeRegexp(sb *strings.Builder, s seq) {
	for _, e := range s {
		if e.isAlt {
			sb.WriteString("(?:")
			for i, alt := range e.alts {
				if i > 0 {
					sb.WriteByte('|')
				}
				writeRegexp(sb, alt)
			}
			sb.WriteByte(')')
			continue
		}
		switch e.kind {
		case aLit:
			fmt.Fprintf(sb, `\x{%x}`, e.r)
		case aStar:
			sb.WriteString(`[^/]*`)
		case aDStar:
			sb.WriteString(`.*`)
		case aStar1:
			sb.WriteString(`[^/]+`)
		case aDStar1:
			sb.WriteString(`.+`)
		case aQuest:
			sb.WriteString(`[^/]`)
		case aClass:
			switch {
			case len(e.cls.runes) == 0 && e.cls.neg:
				sb.WriteString(`.`)
			case len(e.cls.runes) == 0:
				sb.WriteString(`[^\x00-\x{10FFFF}]`)
			default:
				sb.WriteByte('[')
				if e.cls.neg {
					sb.WriteByte('^')
				}
				for _, r := range e.cls.runes {
					fmt.Fprintf(sb, `\x{%x}`, r)
				}
				sb.WriteByte(']')
			}
		}
	}
}

// seqPrefix is the literal text every match of s starts with, for the
// index's sake when s is matched by a regular expression.
func seqPrefix(s seq) string {
	var sb strings.Builder
	for _, e := range s {
		if e.isAlt || e.kind != aLit || e.r == utf8.RuneError {
			break
		}
		sb.WriteRune(e.r)
	}
	return sb.String()
}
