package provider

import (
	"errors"

	"github.com/bkgen/bkgen/buildenv"
	"github.com/bkgen/bkgen/templates"
)

// Buildkite is Buildkite Package Registries: repositories under
// packages.buildkite.com/ORG/REGISTRY, logged in to with an OIDC token from
// the agent (no stored secret) or a token from the environment.
type Buildkite struct{}

// packagesHost serves Buildkite Package Registries.
const packagesHost = "packages.buildkite.com"

// OIDCTokenLifetime is how long, in seconds, an OIDC token bkgen asks for
// lives: Buildkite Package Registries take at most 5 minutes, which is why a
// build logs in again right before it pushes.
const OIDCTokenLifetime = 300

func (Buildkite) Name() string { return "buildkite" }

func (Buildkite) Fields() []Field {
	return []Field{
		{Name: "org", Pattern: slugRE, Rule: "an organization slug (lowercase letters, digits and '-')"},
		{Name: "registry", Required: true, Pattern: slugRE, Rule: "a registry slug (lowercase letters, digits and '-')"},
		{Name: "auth", Enum: []string{"oidc", "token"}, Default: "oidc"},
		{Name: "token_env", Pattern: envNameRE, Rule: "an environment variable name: it names the variable holding the token, never the token itself"},
	}
}

func (Buildkite) Check(c *Config) []Problem {
	switch {
	case c.Get("auth") == "oidc" && c.Has("token_env"):
		return []Problem{{"token_env", "only used with auth: token (this registry logs in with OIDC)"}}
	case c.Get("auth") == "token" && !c.Has("token_env"):
		return []Problem{{"auth", "token needs token_env, the name of the env var that holds the token"}}
	}
	return nil
}

func (Buildkite) Scanners() []string { return pullingScanners }

func (Buildkite) Access(c *Config, env buildenv.Build) (*Access, error) {
	org := c.Get("org")
	if org == "" {
		org = env.OrganizationSlug
	}
	if org == "" {
		return nil, errors.New("org is not set and BUILDKITE_ORGANIZATION_SLUG is empty; set org in the spec")
	}
	a := &Access{Base: packagesHost + "/" + org + "/" + c.Get("registry")}
	server, err := quote(a.Base)
	if err != nil {
		return nil, err
	}
	if c.Get("auth") == "token" {
		tokenEnv, err := quote(c.Get("token_env"))
		if err != nil {
			return nil, err
		}
		a.Login, err = templates.BuildkiteTokenLogin(templates.BuildkiteTokenLoginData{TokenEnv: c.Get("token_env"), TokenEnvQ: tokenEnv, ServerQ: server})
		return a, err
	}
	// A token is good for one registry: its audience names it.
	a.OIDCAudience = "https://" + a.Base
	audience, err := quote(a.OIDCAudience)
	if err != nil {
		return nil, err
	}
	a.Login, err = templates.BuildkiteOIDCLogin(templates.BuildkiteOIDCLoginData{AudienceQ: audience, ServerQ: server, Lifetime: OIDCTokenLifetime})
	a.Expires = true
	return a, err
}
