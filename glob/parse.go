package glob

import (
	"slices"
	"unicode/utf8"
)

// The parser mirrors the agent's three stages: a tokeniser, a token-level
// rewrite of "**/" and "/**/", and a parser for alternations. Matching
// semantics are those of the agent's automaton: each atom below matches as
// its regular-expression equivalent, and "/" is only special to "*" and "?".

// tokKind classifies a token.
type tokKind uint8

const (
	tLit   tokKind = iota // a literal rune, escaped or not special
	tStar                 // "*": any run of runes other than "/"
	tDStar                // "**": any run of runes, "/" included
	tQuest                // "?": one rune other than "/"
	tOpen                 // "{"
	tClose                // "}"
	tComma                // ","
	tClass                // a whole "[...]" or "[^...]"
)

type token struct {
	kind tokKind
	r    rune       // tLit
	cls  *charClass // tClass
	off  int        // byte offset in the source, for errors
}

func (t token) isSlash() bool { return t.kind == tLit && t.r == '/' }

// charClass is a bracket expression. The agent has no ranges, so it is a
// plain set of runes; either sense may match "/".
type charClass struct {
	neg   bool
	runes []rune // sorted, without duplicates
}

func (c *charClass) has(r rune) bool {
	_, found := slices.BinarySearch(c.runes, r)
	return found
}

// tokenise splits a pattern into tokens as the agent's tokeniser does: "\"
// makes the next rune literal (inside brackets too), "**" is one token and
// "***" is "**" then "*", and "]", "}" and "," are literals where they
// close or separate nothing. Invalid UTF-8 reads as U+FFFD, one per byte.
func tokenise(p string) ([]token, error) {
	toks := make([]token, 0, len(p))
	for i := 0; i < len(p); {
		off := i
		r, n := utf8.DecodeRuneInString(p[i:])
		i += n
		switch r {
		case '\\':
			if i == len(p) {
				// The agent's tokeniser keeps a "\" with nothing to escape as itself.
				toks = append(toks, token{kind: tLit, r: r, off: off})
				continue
			}
			r, n = utf8.DecodeRuneInString(p[i:])
			i += n
			toks = append(toks, token{kind: tLit, r: r, off: off})
		case '*':
			kind := tStar
			if i < len(p) && p[i] == '*' {
				kind, i = tDStar, i+1
			}
			toks = append(toks, token{kind: kind, off: off})
		case '?':
			toks = append(toks, token{kind: tQuest, off: off})
		case '{':
			toks = append(toks, token{kind: tOpen, off: off})
		case '}':
			toks = append(toks, token{kind: tClose, off: off})
		case ',':
			toks = append(toks, token{kind: tComma, off: off})
		case '[':
			if i == len(p) {
				// Likewise a "[" that ends the pattern opens nothing: a literal.
				toks = append(toks, token{kind: tLit, r: r, off: off})
				continue
			}
			cls, next, err := lexClass(p, i, off)
			if err != nil {
				return nil, err
			}
			i = next
			toks = append(toks, token{kind: tClass, cls: cls, off: off})
		default:
			toks = append(toks, token{kind: tLit, r: r, off: off})
		}
	}
	return toks, nil
}

// lexClass reads a bracket expression whose "[" is at open and whose body
// starts at i. Only a leading "^" negates ("!" is a literal) and the first
// "]" closes, so "[]" is an empty class and "[^]" matches any rune.
func lexClass(p string, i, open int) (*charClass, int, error) {
	cls := &charClass{}
	if i < len(p) && p[i] == '^' {
		cls.neg, i = true, i+1
	}
	for i < len(p) {
		r, n := utf8.DecodeRuneInString(p[i:])
		i += n
		switch r {
		case ']':
			slices.Sort(cls.runes)
			cls.runes = slices.Compact(cls.runes)
			return cls, i, nil
		case '\\':
			if i == len(p) {
				break // reported below: the class is what is left open
			}
			r, n = utf8.DecodeRuneInString(p[i:])
			i += n
		}
		cls.runes = append(cls.runes, r)
	}
	return nil, 0, &SyntaxError{Pattern: p, Offset: open, Msg: `unclosed "["`}
}

// preprocess applies the agent's two rewrites that let "**" match zero
// directories: a leading "**/" becomes "{,**/}" and each "/**/" becomes
// "/{,**/}". Both work on tokens, so "***/" or an escaped "\*\*/" are left
// alone, and the scan copies the agent's exactly, quirks included: matches
// do not overlap ("a/**/**/b" rewrites only the first) and a failed partial
// match does not restart on the token that broke it ("a//**/b" is untouched).
func preprocess(toks []token) []token {
	zeroOrMoreDirs := func(at token) []token {
		return []token{
			{kind: tOpen, off: at.off}, {kind: tComma, off: at.off},
			{kind: tDStar, off: at.off}, {kind: tLit, r: '/', off: at.off},
			{kind: tClose, off: at.off},
		}
	}
	if len(toks) >= 2 && toks[0].kind == tDStar && toks[1].isSlash() {
		toks = append(zeroOrMoreDirs(toks[0]), toks[2:]...)
	}

	want := [3]func(token) bool{token.isSlash, func(t token) bool { return t.kind == tDStar }, token.isSlash}
	out := make([]token, 0, len(toks)+8)
	next := 0
	for i, t := range toks {
		if want[next](t) {
			if next++; next == len(want) {
				out = append(out, toks[i-2])
				out = append(out, zeroOrMoreDirs(toks[i-1])...)
				next = 0
			}
			continue
		}
		out = append(out, toks[i-next:i]...)
		next = 0
		out = append(out, t)
	}
	return append(out, toks[len(toks)-next:]...)
}

// atomKind classifies the pieces a pattern is made of once alternations are
// parsed.
type atomKind uint8

const (
	aLit atomKind = iota
	aStar
	aDStar
	aQuest
	aClass
	aStar1  // "*" that must match at least one rune (see starQuirk)
	aDStar1 // "**" likewise
)

// isStar reports whether a is a "*" or a "**", of either kind.
func (a atom) isStar() bool {
	switch a.kind {
	case aStar, aDStar, aStar1, aDStar1:
		return true
	}
	return false
}

type atom struct {
	kind atomKind
	r    rune       // aLit
	cls  *charClass // aClass
}

// elem is an atom or, when isAlt, an alternation of sequences.
type elem struct {
	atom
	isAlt bool
	alts  []seq
}

type seq []elem

// parsed is a pattern read through the agent's stages.
type parsed struct {
	s    seq       // what the agent matches, its quirks applied
	home bool      // the pattern starts with "~/" (see expandHome)
	tail *lastStar // when the pattern meets the trailing star quirk (see starQuirk)
}

// parsePattern reads a pattern as the agent does: tokenise, expand a
// leading "~/", rewrite "**/" and "/**/", parse, and apply the trailing
// star quirk.
func parsePattern(pattern string) (parsed, error) {
	toks, err := tokenise(pattern)
	if err != nil {
		return parsed{}, err
	}
	toks, home := expandHome(pattern, toks)
	s, err := parse(pattern, preprocess(toks))
	if err != nil {
		return parsed{}, err
	}
	pp := parsed{s: s, home: home}
	if len(toks) > 0 {
		pp.s, pp.tail = starQuirk(s, pattern[:toks[len(toks)-1].off])
	}
	return pp, nil
}

// parse builds the sequence a preprocessed token list stands for.
func parse(p string, toks []token) (seq, error) {
	ps := parser{src: p, toks: toks}
	s, _, err := ps.seq(false)
	return s, err
}

type parser struct {
	src  string
	toks []token
	pos  int
}

// seq parses up to the end of input or, inside an alternation, up to a ","
// or "}" (returned as the terminator). Elsewhere those two are literals.
func (ps *parser) seq(inAlt bool) (seq, tokKind, error) {
	var s seq
	if !inAlt {
		s = make(seq, 0, len(ps.toks)) // at most one element a token
	}
	for ps.pos < len(ps.toks) {
		t := ps.toks[ps.pos]
		ps.pos++
		switch t.kind {
		case tLit:
			s = append(s, elem{atom: atom{kind: aLit, r: t.r}})
		case tStar:
			s = append(s, elem{atom: atom{kind: aStar}})
		case tDStar:
			s = append(s, elem{atom: atom{kind: aDStar}})
		case tQuest:
			s = append(s, elem{atom: atom{kind: aQuest}})
		case tClass:
			s = append(s, elem{atom: atom{kind: aClass, cls: t.cls}})
		case tOpen:
			alts, err := ps.alternation(t.off)
			if err != nil {
				return nil, 0, err
			}
			s = append(s, elem{isAlt: true, alts: alts})
		case tClose, tComma:
			if inAlt {
				return s, t.kind, nil
			}
			r := '}'
			if t.kind == tComma {
				r = ','
			}
			s = append(s, elem{atom: atom{kind: aLit, r: r}})
		}
	}
	return s, 0, nil
}

// alternation parses the branches after a "{" found at offset open.
func (ps *parser) alternation(open int) ([]seq, error) {
	var alts []seq
	for {
		s, end, err := ps.seq(true)
		if err != nil {
			return nil, err
		}
		alts = append(alts, s)
		switch end {
		case tComma:
			continue
		case tClose:
			return alts, nil
		default:
			return nil, &SyntaxError{Pattern: ps.src, Offset: open, Msg: `unclosed "{"`}
		}
	}
}
