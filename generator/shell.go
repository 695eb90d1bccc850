package generator

import (
	"regexp"
	"strings"
)

// quote makes s one shell word that the shell passes on unchanged.
func quote(s string) string {
	if s != "" && safeWord.MatchString(s) {
		return s
	}
	return "'" + strings.ReplaceAll(s, "'", `'\''`) + "'"
}

var safeWord = regexp.MustCompile(`^[A-Za-z0-9_@%+=:./-]+$`)

var shellVar = regexp.MustCompile(`\$(?:[A-Za-z_][A-Za-z0-9_]*|\{[A-Za-z_][A-Za-z0-9_]*\})`)

// quoteExpanding makes s one shell word in which $NAME and ${NAME} are still
// expanded by the job's shell (for tags such as build-$BUILDKITE_BUILD_NUMBER)
// and nothing else is special.
func quoteExpanding(s string) string {
	if !shellVar.MatchString(s) {
		return quote(s)
	}
	var b strings.Builder
	b.WriteByte('"')
	last := 0
	for _, m := range shellVar.FindAllStringIndex(s, -1) {
		b.WriteString(escapeDoubleQuoted(s[last:m[0]]))
		name := strings.Trim(s[m[0]+1:m[1]], "{}")
		b.WriteString("${" + name + "}")
		last = m[1]
	}
	b.WriteString(escapeDoubleQuoted(s[last:]))
	b.WriteByte('"')
	return b.String()
}

func escapeDoubleQuoted(s string) string {
	r := strings.NewReplacer(`\`, `\\`, `"`, `\"`, "`", "\\`", `$`, `\$`)
	return r.Replace(s)
}

// Upload-time variables are the only `$` bkgen leaves for `pipeline upload` to
// interpolate (the hosted registry's URL is known to the uploading job). They
// travel through the generator as a marker that escapeDollars turns into
// ${NAME} after every other `$` has been escaped.
const uploadMark = "\x00"

func uploadVar(name string) string { return uploadMark + name + uploadMark }

// escapeDollars protects text from upload-time interpolation: the agent
// replaces $NAME when the pipeline is uploaded, and $$ is its escape for `$`.
// A literal pipeline keeps its `$` as they are.
func escapeDollars(s string, literal bool) string {
	if !literal {
		s = strings.ReplaceAll(s, "$", "$$")
	}
	if !strings.Contains(s, uploadMark) {
		return s
	}
	parts := strings.Split(s, uploadMark)
	var b strings.Builder
	for i, p := range parts {
		if i%2 == 1 {
			b.WriteString("${" + p + "}")
		} else {
			b.WriteString(p)
		}
	}
	return b.String()
}

// expandUploadVars fills in upload-time variables from env, as the agent
// will; ok is false when one is missing.
func expandUploadVars(s string, env map[string]string) (string, bool) {
	if !strings.Contains(s, uploadMark) {
		return s, true
	}
	parts := strings.Split(s, uploadMark)
	for i := 1; i < len(parts); i += 2 {
		v, ok := env[parts[i]]
		if !ok || v == "" {
			return "", false
		}
		parts[i] = v
	}
	return strings.Join(parts, ""), true
}
