package plan

import (
	"fmt"
	"regexp"
	"slices"
	"strings"

	"github.com/bkgen/bkgen/contentkey"
	"github.com/bkgen/bkgen/diag"
	"github.com/bkgen/bkgen/internal/inroot"
	"github.com/bkgen/bkgen/spec"
)

// fromAs is a FROM line that names its stage.
var fromAs = regexp.MustCompile(`(?im)^[ \t]*FROM[ \t]+(?:--\S+[ \t]+)*\S+[ \t]+AS[ \t]+(\S+)[ \t]*$`)

// checkTargets refuses a consumer whose target names no stage of its
// image's Dockerfile: its variant's build would fail after the image's.
func checkTargets(dir string, s *spec.Spec, paths map[string]contentkey.Paths) diag.List {
	var errs diag.List
	for _, im := range s.Images {
		if im.Of == "" {
			continue
		}
		name := paths[im.Name].Dockerfile
		src, _, err := inroot.ReadFile(dir, name, contentkey.DockerfileLimit)
		if err != nil {
			continue // the content key has said what is wrong with it
		}
		var stages []string
		for _, m := range fromAs.FindAllStringSubmatch(string(src), -1) {
			stages = append(stages, m[1])
		}
		if slices.ContainsFunc(stages, func(st string) bool { return strings.EqualFold(st, im.Target) }) {
			continue
		}
		for _, c := range im.Consumers {
			errs = append(errs, diag.Diagnostic{
				File: s.File, Pos: c.TargetPos, Severity: diag.Error, Rule: "build-input",
				Path: "images." + im.Of + ".consumers." + c.Name + ".target",
				Msg:  fmt.Sprintf("%s has no stage named %s (its named stages: %s)", name, im.Target, strings.Join(stages, ", ")),
			})
		}
	}
	return errs
}
