package plan

import (
	"context"
	"fmt"
	"slices"
	"strings"

	"github.com/bkgen/bkgen/buildenv"
	"github.com/bkgen/bkgen/contentkey"
	"github.com/bkgen/bkgen/imagebuild"
	"github.com/bkgen/bkgen/internal/dockerfile"
	"github.com/bkgen/bkgen/internal/inroot"
	"github.com/bkgen/bkgen/registry"
	"github.com/bkgen/bkgen/spec"
	"github.com/google/go-containerregistry/pkg/name"
)

// siblingArg stands, while bases are read, for the NAME_IMAGE build arg
// bkgen gives an image built on another: a base naming it is that image,
// keyed by its content tag already, not a base from outside.
const siblingArg = "\x00sibling"

// resolveBases looks up the digest of every image each image is built
// from outside the repository (FROM, COPY --from), with the credentials
// the job has, and records them in the images' Bases, so that their
// content tags follow their bases. It returns notes for people: the bases
// that could not be looked up, which the tags then do not follow.
func (v *Verify) resolveBases(ctx context.Context, dir string, s *spec.Spec, env buildenv.Build) []string {
	type use struct {
		im  *spec.Image
		ref string // as the Dockerfile names it
	}
	var uses []use
	var notes []string
	lookups := map[string]string{} // ref as written -> as looked up
	for _, im := range s.Images {
		src, _, err := inroot.ReadFile(dir, im.Dockerfile, contentkey.DockerfileLimit)
		if err != nil {
			continue // the content key says what is wrong with it
		}
		args := map[string]string{}
		for _, kv := range im.Args {
			args[kv.Key] = kv.Value
		}
		for _, dep := range im.DependsOn {
			if name := imagebuild.DependencyArg(dep); args[name] == "" {
				args[name] = siblingArg
			}
		}
		for _, b := range dockerfile.Parse(string(src)).Bases(im.Target, args) {
			switch {
			case strings.Contains(b.Ref, siblingArg):
				continue
			case b.Unresolved != "":
				notes = append(notes, fmt.Sprintf("image %s: %s line %d names its base with $%s, which has no value: its content tag cannot follow that base", im.Name, im.Dockerfile, b.Line, b.Unresolved))
				continue
			case strings.Contains(b.Ref, "@sha256:"):
				continue // pinned in the Dockerfile, which is keyed
			}
			full, err := name.ParseReference(b.Ref)
			if err != nil {
				notes = append(notes, fmt.Sprintf("image %s: %s line %d: %q is not an image reference: %v", im.Name, im.Dockerfile, b.Line, b.Ref, err))
				continue
			}
			lookups[b.Ref] = full.Name()
			uses = append(uses, use{im, b.Ref})
		}
	}
	if len(uses) == 0 {
		return notes
	}
	// Each base once, however many images are built from it.
	var refs []string
	for _, u := range uses {
		if !slices.Contains(refs, lookups[u.ref]) {
			refs = append(refs, lookups[u.ref])
		}
	}
	c := v.checker(s, env)
	ctx, cancel := context.WithTimeout(ctx, lookUpLimit)
	defer cancel()
	results := c.Lookup(ctx, refs)
	for _, u := range uses {
		r := results[slices.Index(refs, lookups[u.ref])]
		if r.State != registry.Present {
			notes = append(notes, fmt.Sprintf("image %s: could not look up its base %s (%s): its content tag does not follow that base", u.im.Name, u.ref, strings.TrimSuffix(r.Reason, " — keeping the build step")))
			continue
		}
		u.im.Bases = append(u.im.Bases, imagebuild.KV{Key: u.ref, Value: r.Digest})
	}
	return notes
}
