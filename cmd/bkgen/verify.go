package main

import (
	"context"
	"time"

	"github.com/bkgen/bkgen/generator"
	"github.com/bkgen/bkgen/registry"
	"github.com/bkgen/bkgen/spec"
)

// verifyRegistry looks every image's content tag up (--verify-registry), with
// the credentials the job already has: the docker config, plus a Buildkite
// OIDC token when running in a job. Any doubt keeps the build step.
func verifyRegistry(bg context.Context, s *spec.Spec, refs map[string]generator.ContentRef, inJob bool, timeout time.Duration) map[string]generator.RegistryCheck {
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
	c := &registry.Checker{Timeout: timeout, OIDCAudiences: audiences}
	if inJob {
		c.OIDCToken = registry.AgentOIDCToken("")
	}
	// However slow the registries, generation finishes: past this, every
	// unfinished lookup is unknown and keeps its build step.
	bg, cancel := context.WithTimeout(bg, time.Minute)
	defer cancel()
	for i, r := range c.Lookup(bg, lookups) {
		checks[names[i]] = generator.RegistryCheck{Present: r.State == registry.Present, Reason: r.Reason}
	}
	return checks
}
