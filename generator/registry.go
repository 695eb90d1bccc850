package generator

import (
	"fmt"

	"github.com/bkgen/bkgen/spec"
	"github.com/bkgen/bkgen/templates"
	"gopkg.in/yaml.v3"
)

// Plugin versions bkgen pins. Each is the plugin's documented interface at
// that version; bump them together with the goldens.
const (
	ecrPlugin = "ecr#v2.11.0"                             // buildkite-plugins/ecr-buildkite-plugin
	wifPlugin = "gcp-workload-identity-federation#v1.5.0" // buildkite-plugins/gcp-workload-identity-federation-buildkite-plugin
)

// wifLifetime is the lifetime asked for the OIDC token that the workload
// identity plugin exchanges: gcloud exchanges it again each time its hour-long
// access token runs out, so it has to outlast the longest build.
const wifLifetime = 7200

// access is how steps reach one registry: the repositories' host and how
// to log in there.
type access struct {
	registry *spec.Registry
	base     string   // what repositories are under, e.g. packages.buildkite.com/acme/images
	login    string   // shell lines that log in, "" when plugins do it or none is needed
	plugins  []Plugin // plugins that log in (or get credentials) before the command
	// expires: the login lasts minutes (an OIDC token lives 5), so a step
	// logs in again right before it pushes.
	expires bool
	// hosted: a Buildkite hosted agent's own registry; the agent is already
	// logged in, and consumers run in the image with the step's image attribute.
	hosted bool
}

func (g *gen) access(r *spec.Registry) (*access, error) {
	a := &access{registry: r}
	switch r.Provider {
	case spec.Buildkite:
		org := g.orgOf(r)
		if org == "" {
			return nil, fmt.Errorf("registries.%s: org is not set and BUILDKITE_ORGANIZATION_SLUG is empty; set org in the spec", r.Name)
		}
		a.base = "packages.buildkite.com/" + org + "/" + r.Slug
		var err error
		if r.Auth == spec.AuthToken {
			a.login, err = templates.Render("login-buildkite-token.sh.tmpl", map[string]string{
				"TokenEnv": r.TokenEnv, "TokenEnvQ": quote(r.TokenEnv), "ServerQ": quote(a.base),
			})
		} else {
			a.login, err = templates.Render("login-buildkite-oidc.sh.tmpl", map[string]string{
				"AudienceQ": quote("https://" + a.base), "ServerQ": quote(a.base),
			})
			a.expires = true
		}
		return a, err
	case spec.ECR:
		a.base = r.AccountID + ".dkr.ecr." + r.Region + ".amazonaws.com"
		cfg := mapping("account-ids", r.AccountID, "region", r.Region)
		if r.AssumeRole != "" {
			cfg.Content = append(cfg.Content, rawStr("assume_role"), mapping("role_arn", r.AssumeRole))
		}
		a.plugins = []Plugin{{Source: ecrPlugin, Config: cfg}}
		return a, nil
	case spec.GAR:
		host := r.Location + "-docker.pkg.dev"
		a.base = host + "/" + r.Project + "/" + r.Repository
		if w := r.WorkloadIdentity; w != nil {
			cfg := mapping("audience", w.Audience, "service-account", w.ServiceAccount)
			cfg.Content = append(cfg.Content, rawStr("lifetime"), intNode(wifLifetime))
			a.plugins = []Plugin{{Source: wifPlugin, Config: cfg}}
		}
		var err error
		a.login, err = templates.Render("login-gar.sh.tmpl", map[string]string{"HostQ": quote(host)})
		return a, err
	case spec.Hosted:
		// Interpolated when the pipeline is uploaded: the uploading job, on a
		// hosted agent, knows its cluster's registry.
		a.base = uploadVar("BUILDKITE_HOSTED_REGISTRY_URL")
		a.hosted = true
		if g.in.Literal {
			// No interpolation: bkgen runs in that job, and fills it in itself.
			a.base = g.in.Env["BUILDKITE_HOSTED_REGISTRY_URL"]
			if a.base == "" {
				return nil, fmt.Errorf("registries.%s: a hosted registry is $BUILDKITE_HOSTED_REGISTRY_URL, which an upload without interpolation leaves as it is, and it is not set here to fill in now: generate on a hosted agent, or upload with interpolation", r.Name)
			}
		}
		return a, nil
	}
	return nil, fmt.Errorf("registries.%s: unknown provider %q", r.Name, r.Provider)
}

// mapping builds a plugin config of string pairs, in the order given. Like
// every node given to a Step, it is escaped when the pipeline is written.
func mapping(kv ...string) *yaml.Node {
	m := &yaml.Node{Kind: yaml.MappingNode, Tag: "!!map"}
	for _, s := range kv {
		m.Content = append(m.Content, rawStr(s))
	}
	return m
}

func rawStr(s string) *yaml.Node {
	return &yaml.Node{Kind: yaml.ScalarNode, Tag: "!!str", Value: s}
}
