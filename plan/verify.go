package plan

import (
	"context"
	"time"

	"github.com/bkgen/bkgen/buildenv"
	"github.com/bkgen/bkgen/generator"
	"github.com/bkgen/bkgen/provider"
	"github.com/bkgen/bkgen/registry"
	"github.com/bkgen/bkgen/spec"
)

// Verify looks every image's content tag up before the pipeline is made
// (--verify-registry), and leaves out the builds of images already there.
// Any doubt keeps the build step.
type Verify struct {
	// Timeout bounds one lookup; 0 is the registry package's default.
	Timeout time.Duration
	// OIDCToken gets the Buildkite OIDC token that logs in to a registry
	// which takes one; nil asks buildkite-agent when the environment is a
	// job's, and otherwise uses the docker config's credentials alone.
	OIDCToken registry.TokenFunc
}

// lookUpLimit bounds all the lookups: however slow the registries,
// generation finishes, and every unfinished lookup keeps its build step.
const lookUpLimit = time.Minute

// lookUp looks each image's content tag up, with the credentials the job
// already has.
func (v *Verify) lookUp(ctx context.Context, s *spec.Spec, refs map[string]generator.ContentRef, env buildenv.Build) map[string]generator.RegistryCheck {
	checks := map[string]generator.RegistryCheck{}
	var names, lookups []string
	audiences := map[string]string{}
	for _, im := range s.Images {
		ref := refs[im.Name]
		if ref.MissingVar != "" {
			checks[im.Name] = generator.RegistryCheck{Reason: "could not check: " + ref.MissingVar + " is not set — keeping the build step"}
			continue
		}
		names = append(names, im.Name)
		lookups = append(lookups, ref.Ref)
		if ref.OIDCAudience != "" {
			audiences[ref.Base] = ref.OIDCAudience
		}
	}
	c := &registry.Checker{Timeout: v.Timeout, OIDCAudiences: audiences, OIDCToken: v.OIDCToken}
	if c.OIDCToken == nil && env.InJob {
		c.OIDCToken = registry.AgentOIDCToken("", provider.OIDCTokenLifetime)
	}
	ctx, cancel := context.WithTimeout(ctx, lookUpLimit)
	defer cancel()
	for i, r := range c.Lookup(ctx, lookups) {
		checks[names[i]] = generator.RegistryCheck{Present: r.State == registry.Present, Reason: r.Reason}
	}
	return checks
}
