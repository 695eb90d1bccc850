// Package pipetext turns text into pipeline text: what bkgen writes into a
// pipeline so that, after `buildkite-agent pipeline upload` interpolates it
// with whatever environment the uploading job has, the job gets the
// original text back, byte for byte. Text that cannot make that trip is
// refused, never passed through.
//
// The agent's interpolation (github.com/buildkite/interpolate) reads `$$`
// and `\$` as an escaped `$`, `\\` as itself, `$NAME` and `${...}` as
// expansions, and everything else as text. Escape doubles every `$`; that
// is exact unless a `$` follows an odd run of backslashes, whose last one
// the agent would take as an escape. No pipeline text yields such a run
// before a `$`, so that text, and NUL and invalid UTF-8, are refused.
//
// Text bound for a shell goes through ShellQuote first, whose output never
// holds such a run: so every string but one with a NUL reaches a shell
// exactly, whatever the agent's environment.
package pipetext

import (
	"fmt"
	"strconv"
	"strings"
	"unicode"
	"unicode/utf8"
)

// Error says why a text cannot be written into a pipeline.
type Error struct {
	Offset int // byte offset of the first character that cannot be written
	Reason string
}

func (e *Error) Error() string { return e.Reason }

// Check reports whether Escape can write s.
func Check(s string) error { return check(s, true) }

func check(s string, interpolated bool) error {
	backslashes := 0
	for i := 0; i < len(s); {
		r, size := utf8.DecodeRuneInString(s[i:])
		switch {
		case r == utf8.RuneError && size == 1:
			return &Error{i, "it is not valid UTF-8"}
		case r == 0:
			return &Error{i, "it holds a NUL character, which no pipeline value or shell word can hold"}
		case r == '$' && backslashes%2 == 1 && interpolated:
			return &Error{i - 1, `\$ cannot reach the job as written: upload-time interpolation turns \$ into $ (write $ alone: bkgen escapes it)`}
		}
		if r == '\\' {
			backslashes++
		} else {
			backslashes = 0
		}
		i += size
	}
	return nil
}

// Escape returns the pipeline text whose interpolation, with any
// environment, is s.
func Escape(s string) (string, error) {
	if err := Check(s); err != nil {
		return "", err
	}
	return strings.ReplaceAll(s, "$", "$$"), nil
}

// Raw returns s for a pipeline the agent will not interpolate (an upload
// with --no-interpolation): any text but NUL and invalid UTF-8 is written
// as it is.
func Raw(s string) (string, error) {
	if err := check(s, false); err != nil {
		return "", err
	}
	return s, nil
}

// ShellQuote returns one bash word that expands to s: s itself when it
// holds only characters no shell treats specially, else s in single
// quotes, else (for backslashes and control characters) in ANSI-C quotes,
// $'...'. Its result always passes Check. Only a NUL cannot be quoted.
func ShellQuote(s string) (string, error) {
	if strings.IndexByte(s, 0) >= 0 {
		return "", &Error{strings.IndexByte(s, 0), "it holds a NUL character, which no shell word can hold"}
	}
	switch {
	case s != "" && isSafeWord(s):
		return s, nil
	case singleQuotable(s):
		return "'" + strings.ReplaceAll(s, "'", `'\''`) + "'", nil
	}
	return ansiQuote(s), nil
}

func isSafeWord(s string) bool {
	for i := 0; i < len(s); i++ {
		c := s[i]
		if !('a' <= c && c <= 'z' || 'A' <= c && c <= 'Z' || '0' <= c && c <= '9' || strings.IndexByte("_@%+=:./-", c) >= 0) {
			return false
		}
	}
	return true
}

// singleQuotable is text that reads the same inside single quotes and in a
// pipeline: printable UTF-8, newlines and tabs, and no backslash.
func singleQuotable(s string) bool {
	if !utf8.ValidString(s) {
		return false
	}
	for _, r := range s {
		if r == '\\' || !(unicode.IsPrint(r) || r == '\n' || r == '\t') {
			return false
		}
	}
	return true
}

// ansiQuote writes s as $'...': backslashes and quotes escaped, control
// and other unprintable characters and invalid UTF-8 as \xHH bytes, so the
// word means the same in any locale.
func ansiQuote(s string) string {
	var b strings.Builder
	b.WriteString("$'")
	for i := 0; i < len(s); {
		r, size := utf8.DecodeRuneInString(s[i:])
		switch {
		case r == '\\':
			b.WriteString(`\\`)
		case r == '\'':
			b.WriteString(`\'`)
		case r == '\n':
			b.WriteString(`\n`)
		case r == '\t':
			b.WriteString(`\t`)
		case r == '\r':
			b.WriteString(`\r`)
		case r == utf8.RuneError && size == 1, !unicode.IsPrint(r):
			for _, c := range []byte(s[i : i+size]) {
				fmt.Fprintf(&b, `\x%02X`, c)
			}
		default:
			b.WriteString(s[i : i+size])
		}
		i += size
	}
	b.WriteByte('\'')
	return b.String()
}

// Display returns text from outside bkgen (a file name, a branch) for a
// message, a log line or a reason in the pipeline: as it is when it is
// plain printable text, else Go-quoted, so it can neither forge lines or
// terminal escapes nor put an escaping backslash before a `$`.
func Display(s string) string {
	if s != "" && utf8.ValidString(s) && !strings.ContainsAny(s, `\"`) && strings.TrimSpace(s) == s {
		plain := true
		for _, r := range s {
			if !unicode.IsPrint(r) {
				plain = false
				break
			}
		}
		if plain {
			return s
		}
	}
	return strconv.Quote(s)
}
