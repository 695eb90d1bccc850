package lint

import (
	"fmt"
	"math"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"unicode"
	"unicode/utf8"

	"github.com/bkgen/bkgen/diag"
	"gopkg.in/yaml.v3"
)

// keepOut ends every secret warning.
const keepOut = "anyone who can read the pipeline can read it; fetch it at run time instead (Buildkite secrets, a secrets plugin or an agent hook)"

// token is a credential format recognisable on its own, wherever it is.
type token struct {
	what string
	re   *regexp.Regexp
	show int // how many leading bytes to print: the format's fixed prefix; 0 prints the match
}

var tokens = []token{
	{"an AWS access key id", regexp.MustCompile(`\b(?:AKIA|ASIA)[0-9A-Z]{16}\b`), 4},
	{"a GitHub token", regexp.MustCompile(`\b(?:ghp|gho|ghu|ghs|ghr)_[A-Za-z0-9]{36,}`), 4},
	{"a GitHub token", regexp.MustCompile(`\bgithub_pat_[A-Za-z0-9_]{22,}`), 11},
	{"a Slack token", regexp.MustCompile(`\bxox[baprs]-[A-Za-z0-9-]{10,}`), 5},
	{"a Buildkite API token", regexp.MustCompile(`\bbkua_[A-Za-z0-9]{20,}`), 5},
	{"a private key", regexp.MustCompile(`-----BEGIN (?:[A-Z0-9]+ )*PRIVATE KEY(?: BLOCK)?-----`), 0},
}

var (
	// A shell assignment, as in a command or a plugin's environment list:
	// NAME=value, perhaps exported, perhaps quoted.
	assignRe = regexp.MustCompile(`(?:^|[\s;&|(])(?:export\s+)?([A-Za-z_][A-Za-z0-9_]*)=(?:"([^"$\s]*)"|'([^'\s]*)'|([^\s"'$;&|)]*))`)
	bearerRe = regexp.MustCompile(`(?i)\bbearer\s+([A-Za-z0-9._~+/-]+=*)`)
)

// secrets warns about a string that holds what looks like a credential:
// a known token format anywhere; a long random-looking literal given to a
// variable or plugin setting whose name says it is secret; the same in a
// shell assignment or a bearer header in a command or plugin setting.
// Only a redacted prefix is ever printed.
func (l *linter) secrets(n *yaml.Node, sc scope) {
	s := n.Value
	var seen []string // the tokens reported, so nothing is reported twice
	for _, t := range tokens {
		for _, m := range t.re.FindAllString(s, -1) {
			if strings.Contains(m, "EXAMPLE") {
				continue // the AWS documentation's example keys
			}
			shown := strconv.Quote(m)
			if t.show > 0 {
				shown = strconv.Quote(m[:t.show] + "…")
			}
			line, col := l.src.find(n, m, nil)
			l.add(diag.Warning, "literal-secret", line, col, "this looks like %s (%s): %s", t.what, shown, keepOut)
			seen = append(seen, m)
		}
	}
	fresh := func(v string) bool {
		for _, m := range seen {
			if strings.Contains(v, m) || strings.Contains(m, v) {
				return false
			}
		}
		return true
	}

	switch {
	case sc.envVar != "":
		if secretLiteral(sc.envVar, s) && fresh(s) {
			l.warnf(n, "literal-secret", "%s is set to what looks like a literal secret (%s): %s", sc.envVar, redact(s), keepOut)
		}
		return
	case sc.plugins && sc.setting != "" && secretLiteral(sc.setting, s) && fresh(s):
		l.warnf(n, "literal-secret", "plugin setting %s is set to what looks like a literal secret (%s): %s", sc.setting, redact(s), keepOut)
		return
	case !sc.command && !sc.plugins:
		return
	}
	for _, m := range assignRe.FindAllStringSubmatch(s, -1) {
		name, value := m[1], m[2]+m[3]+m[4]
		if secretLiteral(name, value) && fresh(value) {
			line, col := l.src.find(n, name+"=", nil)
			l.add(diag.Warning, "literal-secret", line, col, "%s is set to what looks like a literal secret (%s): %s", name, redact(value), keepOut)
		}
	}
	for _, m := range bearerRe.FindAllStringSubmatch(s, -1) {
		if looksSecret(m[1], false) && fresh(m[1]) {
			line, col := l.src.find(n, m[1], nil)
			l.add(diag.Warning, "literal-secret", line, col, "this looks like a literal bearer token (%s): %s", redact(m[1]), keepOut)
		}
	}
}

// notSecretKeys qualify a "*_KEY" name that is not a credential.
var notSecretKeys = []string{"PUBLIC", "PUB", "CACHE", "STEP", "IDEMPOTENCY", "PARTITION", "SORT"}

// secretLiteral reports whether v, given to a variable or setting called
// name, looks like a credential written out. A name ending in TOKEN,
// SECRET, PASSWORD or the like is taken at its word; one ending in KEY only
// with a qualifier (a bare "key" is a step or cache key far more often),
// and then the value must look random too.
func secretLiteral(name, v string) bool {
	words := strings.FieldsFunc(strings.ToUpper(name), func(r rune) bool {
		return r == '_' || r == '-' || r == '.'
	})
	if len(words) == 0 {
		return false
	}
	switch words[len(words)-1] {
	case "TOKEN", "SECRET", "PASSWORD", "PASSWD", "APIKEY", "PAT":
		return looksSecret(v, true)
	case "KEY":
		return len(words) > 1 && !slices.Contains(notSecretKeys, words[len(words)-2]) && looksSecret(v, false)
	}
	return false
}

// looksSecret reports whether a literal looks like a credential rather
// than a name, path, reference or template: long, without spaces, "$" (a
// reference, interpolated or left to the shell) or ":" (a URL, an ARN, a
// secret manager's path), and random-looking: long hex, or upper and lower
// case letters and digits mixed (letters and digits will do when the name
// is sure), with enough variety.
func looksSecret(v string, sure bool) bool {
	minLen := 20
	if sure {
		minLen = 16
	}
	if utf8.RuneCountInString(v) < minLen || strings.ContainsAny(v, " \t\n$:") || strings.Contains(v, "{{") ||
		strings.HasPrefix(v, "/") || strings.HasPrefix(v, "./") || strings.HasPrefix(v, "~") {
		return false
	}
	var upper, lower, digit bool
	hex := true
	for _, r := range v {
		upper = upper || unicode.IsUpper(r)
		lower = lower || unicode.IsLower(r)
		digit = digit || unicode.IsDigit(r)
		hex = hex && strings.ContainsRune("0123456789abcdefABCDEF", r)
	}
	random := hex && len(v) >= 32 || upper && lower && digit || sure && (upper || lower) && digit
	return random && entropy(v) >= 3
}

// entropy is the Shannon entropy of s, in bits per rune.
func entropy(s string) float64 {
	counts := make(map[rune]int)
	n := 0
	for _, r := range s {
		counts[r]++
		n++
	}
	h := 0.0
	for _, c := range counts {
		p := float64(c) / float64(n)
		h -= p * math.Log2(p)
	}
	return h
}

// redact shows the first four characters of a secret and its length.
func redact(s string) string {
	r := []rune(s)
	return fmt.Sprintf("%q, %d characters", string(r[:min(4, len(r))])+"…", len(r))
}
