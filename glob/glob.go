// Package glob matches if_changed patterns against changed paths exactly as
// the Buildkite agent (3.109 and later) does, and evaluates a step's
// include/exclude rule against a large change list quickly.
//
// # The agent's dialect
//
// A pattern matches a whole path, relative to the repository root, rune by
// rune; dotfiles are not special.
//
//	pattern  matches
//	*        any run of runes other than "/"
//	?        one rune other than "/"
//	**       any run of runes, "/" included, wherever it stands:
//	         "**.go" is every Go file, "a**b" matches "a/c/b"
//	**/      at the very start, also nothing: "**/x" matches "x"
//	/**/     also a single "/": "a/**/b" matches "a/b"
//	{a,b}    either; braces nest, and a branch may be empty ("{,a}")
//	         or hold "/"
//	[abc]    one of the runes listed, "/" included if listed; there are
//	         no ranges, so "[c-g]" is "c", "-" or "g"
//	[^abc]   one rune not listed, "/" included unless listed
//	\c       c itself, inside brackets too
//
// Elsewhere "}", "," and "]" are literals. "[]" matches nothing and "[^]"
// any one rune. The "**/" and "/**/" rules apply to exactly those tokens,
// as the agent rewrites them before parsing: "***/x" is not one, and in
// "a/**/**/b" only the first "/**/" is, as the two overlap. A "\" or a "["
// that ends the pattern is a literal, as in the agent's tokeniser. A pattern
// with an unclosed "{", or a "[" whose class never closes, is one the agent
// cannot parse: Compile returns a *SyntaxError.
//
// # Relation to doublestar
//
// Matching is done by github.com/bmatcuk/doublestar/v4 on translated
// patterns, as the dialects differ:
//   - the agent's "**" spans "/" anywhere; doublestar's only as a whole
//     segment, and elsewhere it is "*";
//   - "foo/**" does not match "foo" (doublestar's does);
//   - braces may hold "/" and empty branches, and a stray "}" is a literal;
//   - classes have no ranges, "!" does not negate, "[]" is not an error.
//
// So Compile expands braces, splits classes that can match "/", escapes
// every class member and rewrites each "**" into doublestar forms that
// match the same strings. A pattern whose braces expand past a few dozen
// doublestar patterns is matched by an equivalent regular expression
// instead, and one nested past the regexp package's limits (1,000 levels)
// is refused, though the agent would take it.
//
// Not the agent's either: a pattern or path that is not valid UTF-8 reads
// each bad byte as U+FFFD throughout (the agent compares a pattern's
// literal start byte by byte).
//
// # The agent's quirks
//
// Two departures of the agent's matcher from the table above, confirmed
// against agent 3.138.3 (whose matcher is zzglob v0.4.3), are reproduced,
// and Pattern.Quirks reports them for a pattern:
//
//   - A leading "~/" has its "~" replaced by the home directory of the
//     process (the job's $HOME; os.UserHomeDir here), as literal text, so
//     "~/x" stands for "/home/agent/x" and never matches a changed path.
//     A "~" anywhere else, or not followed by "/", is a literal; so is the
//     leading one when the home directory is unknown.
//   - When a pattern ends with a brace group followed by a single "*" or
//     "**", that last star matches at least one rune (for "*", one other
//     than "/") after each branch of the group that is empty or ends in
//     "*" or "**", with nested groups expanded; after other branches it
//     matches any number as usual. So "Gemfile{,.lock}*" matches
//     "Gemfile.lock" and "Gemfilex" but not "Gemfile", "src/{main,test*}*"
//     does not match "src/test", and "a*{,b}*" does not match "a". A group
//     elsewhere, or one followed by more than one star token ("***") or
//     by anything else, is unaffected. The groups the "**/" and "/**/"
//     rewrites make count: "a/**/*" does not match "a/", though as no
//     changed path ends in "/" that cannot show.
package glob

import (
	"fmt"
	"regexp"
	"strings"

	"github.com/bmatcuk/doublestar/v4"
)

// Pattern is a compiled if_changed pattern. It is immutable and safe for
// concurrent use.
type Pattern struct {
	src   string
	globs []dsGlob       // the path matches if any does
	re    *regexp.Regexp // instead of globs, when braces expand too far
	hints []hint         // what the index may assume about matching paths

	home bool      // the pattern starts with "~/" (QuirkHome)
	tail *lastStar // the pattern meets QuirkStarAfterBraces
}

// dsGlob is one doublestar pattern, sentinel included, with the literal
// text every path it matches starts with.
type dsGlob struct {
	pattern string
	prefix  string
}

// sentinel ends every translated pattern and every path given to
// doublestar. doublestar decides whether the rest of a pattern matches
// the empty end of a path from a short list of exact forms: it misses
// "*/**" and "**/*", and lets "/**/" match nothing. With the sentinel a
// path never runs out before its pattern, and since both end with the same
// two runes, P+sentinel matches path+sentinel exactly when P matches path.
const sentinel = "/\x00"

// SyntaxError reports a pattern the agent cannot parse. Offset is the byte
// offset of the construct at fault (the unclosed "{" or "[", or the "\").
type SyntaxError struct {
	Pattern string
	Offset  int
	Msg     string
}

func (e *SyntaxError) Error() string {
	return fmt.Sprintf("invalid pattern %q: %s at offset %d", e.Pattern, e.Msg, e.Offset)
}

// Compile parses an if_changed pattern in the agent's dialect.
// A pattern the agent cannot parse returns a *SyntaxError.
func Compile(pattern string) (*Pattern, error) {
	pp, err := parsePattern(pattern)
	if err != nil {
		return nil, err
	}
	s := pp.s

	p := &Pattern{src: pattern, home: pp.home, tail: pp.tail}
	var ok bool
	if p.globs, p.hints, ok = translate(s); !ok {
		if p.re, err = compileRegexp(s); err != nil {
			return nil, &SyntaxError{Pattern: pattern, Msg: "too complex to match (" + err.Error() + ")"}
		}
		p.globs, p.hints = nil, []hint{{prefix: seqPrefix(s)}}
	}
	return p, nil
}

// translate turns a parsed pattern into doublestar patterns and one hint
// per branch, or reports false if it expands past maxGlobs. A pattern that
// can match nothing (say "[]") has neither globs nor hints.
func translate(s seq) (globs []dsGlob, hints []hint, ok bool) {
	branches, ok := expand(s, maxGlobs)
	if !ok {
		return nil, nil, false
	}
	seen := make(map[string]bool)
	for _, b := range branches {
		nbs, ok := normalize(b, maxGlobs)
		if !ok || len(hints)+len(nbs) > maxGlobs {
			return nil, nil, false
		}
		for _, nb := range nbs {
			h := hintFor(nb)
			hints = append(hints, h)
			gs, ok := nb.globs(maxGlobs)
			if !ok {
				return nil, nil, false
			}
			for _, g := range gs {
				if !seen[g] {
					seen[g] = true
					globs = append(globs, dsGlob{pattern: g, prefix: h.prefix})
				}
			}
			if len(globs) > maxGlobs {
				return nil, nil, false
			}
		}
	}
	// The translation only writes valid patterns; checking here keeps a
	// slip from turning into a silent mismatch (the regexp is never wrong).
	for _, g := range globs {
		if !doublestar.ValidatePattern(g.pattern) {
			return nil, nil, false
		}
	}
	return globs, hints, true
}

// Match reports whether path matches the pattern, as the agent decides.
func (p *Pattern) Match(path string) bool {
	if p.re != nil {
		return p.re.MatchString(path)
	}
	name := ""
	for _, g := range p.globs {
		if !strings.HasPrefix(path, g.prefix) {
			continue
		}
		if name == "" {
			name = path + sentinel
		}
		if doublestar.MatchUnvalidated(g.pattern, name) {
			return true
		}
	}
	return false
}

// String returns the source text of the pattern.
func (p *Pattern) String() string { return p.src }
