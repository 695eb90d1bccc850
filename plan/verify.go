package plan

import (
	"context"
	"fmt"
	"time"

	"github.com/bkgen/bkgen/buildenv"
	"github.com/bkgen/bkgen/generator"
	"github.com/bkgen/bkgen/internal/plural"
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
	// Now is the time an image's age is measured at (max_age); nil is
	// time.Now.
	Now func() time.Time

	c *registry.Checker // made once a run: see checker
}

// lookUpLimit bounds all the lookups: however slow the registries,
// generation finishes, and every unfinished lookup keeps its build step.
const lookUpLimit = time.Minute

// lookUp looks each image's content tag up, with the credentials the job
// already has.
func (v *Verify) lookUp(ctx context.Context, s *spec.Spec, refs map[string]generator.ContentRef, env buildenv.Build) map[string]generator.RegistryCheck {
	checks := map[string]generator.RegistryCheck{}
	var names, lookups []string
	for _, im := range s.Images {
		ref := refs[im.Name]
		if ref.MissingVar != "" {
			checks[im.Name] = generator.RegistryCheck{Reason: "could not check: " + ref.MissingVar + " is not set — keeping the build step"}
			continue
		}
		names = append(names, im.Name)
		lookups = append(lookups, ref.Ref)
	}
	c := v.checker(s, env)
	ctx, cancel := context.WithTimeout(ctx, lookUpLimit)
	defer cancel()
	for i, r := range c.Lookup(ctx, lookups) {
		check := generator.RegistryCheck{Present: r.State == registry.Present, Reason: r.Reason}
		if im := s.Image(names[i]); check.Present && im.MaxAge > 0 {
			check = v.age(ctx, c, lookups[i], im.MaxAge, check)
		}
		if check.Present && s.Signing != nil {
			// Only the job can verify it (cosign, the job's key): the
			// step reuses it if its signature verifies.
			check = generator.RegistryCheck{Reason: check.Reason + ", but its signature is verified before it is reused — keeping the build step, which rebuilds it if the signature does not verify"}
		}
		checks[names[i]] = check
	}
	// An image built on one that may be rebuilt for its age in this build
	// is rebuilt on it then: keep its build step too.
	renewable := s.Renewable()
	for _, im := range s.Images {
		for _, dep := range im.DependsOn {
			if c := checks[im.Name]; c.Present && renewable[dep] && !checks[dep].Present {
				checks[im.Name] = generator.RegistryCheck{Reason: c.Reason + ", but it is built on " + dep + ", which may be rebuilt for its age in this build — keeping the build step"}
			}
		}
	}
	return checks
}

// checker looks images up with the credentials the job has: its docker
// config, and a Buildkite OIDC token for the spec's Package Registries.
// One checker serves a run, sharing its tokens.
func (v *Verify) checker(s *spec.Spec, env buildenv.Build) *registry.Checker {
	if v.c != nil {
		return v.c
	}
	audiences := map[string]string{}
	for _, r := range s.Registries {
		a, err := r.Provider.Access(r.Config, env)
		if err != nil || a.OIDCAudience == "" {
			continue
		}
		base := a.Base
		if a.BaseVar != "" {
			base = a.BaseVarValue + base[len("${"+a.BaseVar+"}"):]
		}
		audiences[base] = a.OIDCAudience
	}
	v.c = &registry.Checker{Timeout: v.Timeout, OIDCAudiences: audiences, OIDCToken: v.OIDCToken}
	if v.c.OIDCToken == nil && env.InJob {
		v.c.OIDCToken = registry.AgentOIDCToken("", provider.OIDCTokenLifetime)
	}
	return v.c
}

// age keeps the build step of an image found in the registry that is older
// than its max_age, or whose age cannot be told: the step rebuilds it.
func (v *Verify) age(ctx context.Context, c *registry.Checker, ref string, maxAge int, found generator.RegistryCheck) generator.RegistryCheck {
	built, err := c.Built(ctx, ref)
	if err != nil {
		return generator.RegistryCheck{Reason: found.Reason + ", but cannot tell when it was built (" + err.Error() + ") — keeping the build step, which rebuilds it if it is older than max_age"}
	}
	now := time.Now
	if v.Now != nil {
		now = v.Now
	}
	days := int(now().Sub(built) / (24 * time.Hour))
	if now().Sub(built) > time.Duration(maxAge)*24*time.Hour {
		return generator.RegistryCheck{Reason: fmt.Sprintf("%s, built %s ago, more than max_age (%s) — keeping the build step, which rebuilds it from fresh bases", found.Reason, plural.Count(days, "day"), plural.Count(maxAge, "day"))}
	}
	found.Reason += fmt.Sprintf(", built %s ago (max_age %s)", plural.Count(days, "day"), plural.Count(maxAge, "day"))
	return found
}
