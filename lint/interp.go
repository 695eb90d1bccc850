package lint

import (
	"bytes"
	"fmt"
	"slices"
	"strings"
	"unicode"
	"unicode/utf8"

	"github.com/bkgen/bkgen/diag"
	"github.com/buildkite/interpolate"
	"gopkg.in/yaml.v3"
)

// interpolation checks a string as upload-time interpolation will read it
// (the agent runs github.com/buildkite/interpolate over every string of the
// pipeline but signatures, with the uploading job's environment plus the
// pipeline's env block).
func (l *linter) interpolation(d *document, n *yaml.Node, sc scope) {
	s := n.Value
	if !strings.Contains(s, "$") {
		return
	}
	expr, err := interpolate.NewParser(s).Parse()
	if err != nil {
		line, col := l.src.lineOf(n, func(s string) bool {
			_, err := interpolate.NewParser(s).Parse()
			return err != nil
		})
		l.add(diag.Error, "interpolation", line, col, "upload-time interpolation fails on this value (%v), and with it the upload: write $$ for a literal \"$\"", err)
		return
	}

	var later, pasted []string
	for _, name := range variables(expr) {
		switch {
		case d.defined(name, sc):
			// The pipeline sets it for this very purpose.
		case sc.command && slices.Contains(freeText, name):
			pasted = append(pasted, name)
		case buildWide(name):
			// The same for every job of the build: no harm done.
		default:
			later = append(later, name)
		}
	}
	if len(later) > 0 {
		msg := fmt.Sprintf("%s %s interpolated at upload, from the uploading job's environment (empty if unset there); write %s to leave %s for the job to expand",
			list(later, "$"), isAre(later), list(later, "$$"), itThem(later))
		if sc.step != nil {
			var own []string
			for _, name := range later {
				if slices.Contains(sc.step.env, name) {
					own = append(own, name)
				}
			}
			if len(own) > 0 {
				msg += fmt.Sprintf(" (%s %s in this step's env, which the job sees but upload-time interpolation does not)", list(own, ""), isAre(own))
			}
		}
		line, col := l.locateVar(n, later[0])
		l.add(diag.Warning, "interpolated-variable", line, col, "%s", msg)
	}
	if len(pasted) > 0 {
		line, col := l.locateVar(n, pasted[0])
		l.add(diag.Warning, "interpolated-text", line, col, "%s %s pasted into the command at upload, so text whoever pushes controls (a branch name, a commit message) runs as shell code; write \"%s\" to let the job's shell expand %s as data",
			list(pasted, "$"), isAre(pasted), list(pasted, "$$"), itThem(pasted))
	}
}

// variables lists the variables an expression reads at upload, in order,
// once each: not the escaped ones ($$VAR, \$VAR), which are left for later.
func variables(e interpolate.Expression) []string {
	var names []string
	add := func(name string) {
		if !slices.Contains(names, name) {
			names = append(names, name)
		}
	}
	var walk func(interpolate.Expression)
	walk = func(e interpolate.Expression) {
		for _, item := range e {
			switch x := item.Expansion.(type) {
			case nil, interpolate.EscapedExpansion:
			case interpolate.VariableExpansion:
				add(x.Identifier)
			case interpolate.SubstringExpansion:
				add(x.Identifier)
			case interpolate.EmptyValueExpansion:
				add(x.Identifier)
				walk(x.Content)
			case interpolate.UnsetValueExpansion:
				add(x.Identifier)
				walk(x.Content)
			case interpolate.RequiredExpansion:
				add(x.Identifier)
				walk(x.Message)
			default:
				// A kind this code predates: escaped identifiers start with "$".
				for _, id := range x.Identifiers() {
					if !strings.HasPrefix(id, "$") {
						add(id)
					}
				}
			}
		}
	}
	walk(e)
	return names
}

// defined reports whether the pipeline's env block sets name where sc is:
// anywhere after the block, but only before the value within it.
func (d *document) defined(name string, sc scope) bool {
	if sc.envBlock == nil {
		return slices.Contains(d.env, name)
	}
	for i := 0; i < 2*sc.envIndex && i < len(sc.envBlock.Content); i += 2 {
		if k, ok := canonicalKey(sc.envBlock.Content[i]); ok && k == name {
			return true
		}
	}
	return false
}

// buildWideVars are set by Buildkite for the build as a whole, so the
// uploading job has the same values as every other job: interpolating them
// at upload changes nothing (BUILDKITE_COMMIT the agent even resolves to a
// sha first).
var buildWideVars = []string{
	"BUILDKITE", "CI",
	"BUILDKITE_BUILD_ID", "BUILDKITE_BUILD_NUMBER", "BUILDKITE_BUILD_URL", "BUILDKITE_COMMIT",
	"BUILDKITE_ORGANIZATION_ID", "BUILDKITE_ORGANIZATION_SLUG",
	"BUILDKITE_PIPELINE_DEFAULT_BRANCH", "BUILDKITE_PIPELINE_ID", "BUILDKITE_PIPELINE_NAME",
	"BUILDKITE_PIPELINE_PROVIDER", "BUILDKITE_PIPELINE_SLUG", "BUILDKITE_PIPELINE_TEAMS",
	"BUILDKITE_REPO", "BUILDKITE_SOURCE", "BUILDKITE_REBUILT_FROM_BUILD_ID", "BUILDKITE_REBUILT_FROM_BUILD_NUMBER",
	"BUILDKITE_MERGE_QUEUE_BASE_BRANCH", "BUILDKITE_MERGE_QUEUE_BASE_COMMIT",
	"BUILDKITE_GITHUB_DEPLOYMENT_ID", "BUILDKITE_GITHUB_DEPLOYMENT_ENVIRONMENT", "BUILDKITE_GITHUB_DEPLOYMENT_TASK",
	"BUILDKITE_GITHUB_EVENT", "BUILDKITE_GITHUB_ACTION",
	// The cluster's: the same for every job the cluster runs. bkgen itself
	// interpolates the hosted registry at upload, on purpose.
	"BUILDKITE_CLUSTER_ID", "BUILDKITE_CLUSTER_NAME", "BUILDKITE_HOSTED_REGISTRY_URL",
}

// buildWidePrefixes name families of build-wide variables.
var buildWidePrefixes = []string{"BUILDKITE_PULL_REQUEST", "BUILDKITE_TRIGGERED_FROM_", "BUILDKITE_BUILD_CREATOR", "BUILDKITE_BUILD_AUTHOR"}

// freeText are the build-wide variables whose text comes from whoever
// pushes or triggers the build. They are fine in a label, but pasted into
// a command before the shell parses it they can run as code.
var freeText = []string{
	"BUILDKITE_BRANCH", "BUILDKITE_TAG", "BUILDKITE_MESSAGE",
	"BUILDKITE_BUILD_AUTHOR", "BUILDKITE_BUILD_AUTHOR_EMAIL",
	"BUILDKITE_BUILD_CREATOR", "BUILDKITE_BUILD_CREATOR_EMAIL",
	"BUILDKITE_PULL_REQUEST_BASE_BRANCH", "BUILDKITE_PULL_REQUEST_LABELS",
	"BUILDKITE_PULL_REQUEST_REPO", "BUILDKITE_GITHUB_DEPLOYMENT_PAYLOAD",
}

func buildWide(name string) bool {
	if slices.Contains(freeText, name) || slices.Contains(buildWideVars, name) {
		return true
	}
	for _, p := range buildWidePrefixes {
		if strings.HasPrefix(name, p) {
			return true
		}
	}
	return false
}

// locateVar finds the first unescaped $NAME or ${NAME in n's source.
func (l *linter) locateVar(n *yaml.Node, name string) (line, col int) {
	return l.src.find(n, "$", func(text []byte, i int) bool {
		if i > 0 && (text[i-1] == '$' || text[i-1] == '\\') {
			return false
		}
		rest := bytes.TrimPrefix(text[i+1:], []byte("{"))
		if !bytes.HasPrefix(rest, []byte(name)) {
			return false
		}
		r, _ := utf8.DecodeRune(rest[len(name):])
		return !(unicode.IsLetter(r) || unicode.IsNumber(r) || r == '_')
	})
}

// list joins names, each with a prefix: "$A", "$A and $B", "$A, $B and $C".
func list(names []string, prefix string) string {
	var b strings.Builder
	for i, name := range names {
		switch {
		case i == 0:
		case i == len(names)-1:
			b.WriteString(" and ")
		default:
			b.WriteString(", ")
		}
		b.WriteString(prefix + name)
	}
	return b.String()
}

func isAre(names []string) string {
	if len(names) == 1 {
		return "is"
	}
	return "are"
}

func itThem(names []string) string {
	if len(names) == 1 {
		return "it"
	}
	return "them"
}
