package generator

import (
	"fmt"
	"regexp"
	"strings"

	"github.com/bkgen/bkgen/internal/pipetext"
	"github.com/bkgen/bkgen/spec"
)

var (
	semverRE   = regexp.MustCompile(`^v?(0|[1-9][0-9]*)\.(0|[1-9][0-9]*)\.(0|[1-9][0-9]*)(-[0-9A-Za-z.-]+)?(\+[0-9A-Za-z.-]+)?$`)
	shaRE      = regexp.MustCompile(`^[0-9a-f]{40}([0-9a-f]{24})?$`)
	digitsRE   = regexp.MustCompile(`^[0-9]+$`)
	badTagChar = regexp.MustCompile(`[^A-Za-z0-9_.-]+`)
)

// tagValues are the values a tag's templates take in this build ("" for
// none): branch and git tag made fit for a tag, the commit's first 7 hex
// digits, the git tag's semantic version (a leading v dropped) and, for a
// release that is not a pre-release, its major, minor and patch numbers.
func (g *gen) tagValues() map[string]string {
	env := g.in.Env
	v := map[string]string{"branch": tagSafe(env.Branch), "tag": tagSafe(env.Tag)}
	if shaRE.MatchString(env.Commit) {
		v["sha"] = env.Commit[:7]
	}
	if digitsRE.MatchString(env.BuildNumber) {
		v["build_number"] = env.BuildNumber
	}
	if m := semverRE.FindStringSubmatch(env.Tag); m != nil {
		v["version"] = tagSafe(strings.TrimPrefix(env.Tag, "v"))
		if m[4] == "" {
			v["major"], v["minor"], v["patch"] = m[1], m[2], m[3]
		}
	}
	return v
}

// tagSafe makes text a tag's: runs of other characters become '-', and
// it does not start with '.' or '-'.
func tagSafe(s string) string {
	return strings.TrimLeft(badTagChar.ReplaceAllString(s, "-"), ".-")
}

// extraTags are the image's extra tags with their templates filled in. A
// tag one of whose templates has no value in this build is left out, and
// a note says so.
func (g *gen) extraTags(im *spec.Image) []string {
	values := g.tagValues()
	var out []string
	for _, t := range im.Tags {
		missing := ""
		text := spec.TagTemplateRE.ReplaceAllStringFunc(t.Text, func(m string) string {
			name := spec.TagTemplateRE.FindStringSubmatch(m)[1]
			if values[name] == "" && missing == "" {
				missing = name
			}
			return values[name]
		})
		if missing != "" {
			g.note(fmt.Sprintf("image %s: tag %s is left out: {{%s}} has no value in this build", im.Name, pipetext.Display(t.Text), missing))
			continue
		}
		if len(text) > 128 {
			text = text[:128]
		}
		out = append(out, text)
	}
	return out
}
