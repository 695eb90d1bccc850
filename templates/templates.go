// Package templates holds the shell text of every step bkgen emits, as
// embedded text/template files, so a reader finds each command in one place.
//
// Templates receive values already shell-quoted by the generator (fields
// named *Q, or lists of ready words), so a template never quotes by hand.
// Every `$` in the result is escaped against upload-time interpolation by the
// generator afterwards: write shell here exactly as the job should run it.
package templates

import (
	"bytes"
	"embed"
	"fmt"
	"strings"
	"text/template"
)

//go:embed *.sh.tmpl
var files embed.FS

// parsed once: the templates are fixed at build time.
var set = template.Must(template.New("").Option("missingkey=error").ParseFS(files, "*.sh.tmpl"))

// Render runs the named template (e.g. "build.sh.tmpl") with data and returns
// the script with blank lines at either end trimmed.
func Render(name string, data any) (string, error) {
	var buf bytes.Buffer
	if err := set.ExecuteTemplate(&buf, name, data); err != nil {
		return "", fmt.Errorf("template %s: %w", name, err)
	}
	return strings.Trim(buf.String(), "\n"), nil
}

// Names lists every template, for tests that render them all.
func Names() []string {
	var names []string
	for _, t := range set.Templates() {
		if strings.HasSuffix(t.Name(), ".sh.tmpl") {
			names = append(names, t.Name())
		}
	}
	return names
}
