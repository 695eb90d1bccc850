package plan

import (
	"fmt"
	"slices"
	"strings"

	"github.com/bkgen/bkgen/buildenv"
	"github.com/bkgen/bkgen/generator"
	"github.com/bkgen/bkgen/spec"
)

// RebuildAll, given to --rebuild or BKGEN_REBUILD, rebuilds every image.
const RebuildAll = "all"

// rebuild reads what is asked to be rebuilt: the --rebuild values, else
// BKGEN_REBUILD, each "all" or image names separated by commas or spaces.
// A name no image has is an error: a rebuild asked for must not quietly
// rebuild nothing.
func rebuild(s *spec.Spec, flags []string, env string) (generator.Rebuild, error) {
	var r generator.Rebuild
	words, from := flags, "--rebuild"
	if len(flags) == 0 {
		words, from = []string{env}, buildenv.RebuildVar
	}
	var names []string
	for _, w := range words {
		names = append(names, strings.FieldsFunc(w, func(c rune) bool { return c == ',' || c == ' ' || c == '\t' || c == '\n' })...)
	}
	if len(names) == 0 {
		if len(flags) > 0 {
			return r, fmt.Errorf("--rebuild needs %s or an image's name", RebuildAll)
		}
		return r, nil
	}
	var unknown []string
	for _, n := range names {
		switch {
		case n == RebuildAll:
			r.All = true
		case s.Image(n) != nil:
			if !slices.Contains(r.Images, n) {
				r.Images = append(r.Images, n)
			}
		default:
			unknown = append(unknown, fmt.Sprintf("%q", n))
		}
	}
	if len(unknown) > 0 {
		var have []string
		for _, im := range s.Images {
			if im.Variant == "" {
				have = append(have, im.Name)
			}
		}
		return generator.Rebuild{}, fmt.Errorf("%s names no image of the spec: %s (its images: %s; or %s)", from, strings.Join(unknown, ", "), strings.Join(have, ", "), RebuildAll)
	}
	list := strings.Join(r.Images, ",")
	if r.All {
		r.Images, list = nil, RebuildAll
	}
	sep := "="
	if from == "--rebuild" {
		sep = " "
	}
	r.Asked = from + sep + list
	return r, nil
}
