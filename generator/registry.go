package generator

import (
	"errors"
	"fmt"
	"github.com/bkgen/bkgen/stepvalue"

	"github.com/bkgen/bkgen/spec"
	"github.com/bkgen/bkgen/templates"
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
			return nil, errors.New("org is not set and BUILDKITE_ORGANIZATION_SLUG is empty; set org in the spec")
		}
		a.base = "packages.buildkite.com/" + org + "/" + r.Slug
		var err error
		if r.Auth == spec.AuthToken {
			a.login, err = templates.BuildkiteTokenLogin(templates.BuildkiteTokenLoginData{
				TokenEnv: r.TokenEnv, TokenEnvQ: quote(r.TokenEnv), ServerQ: quote(a.base),
			})
		} else {
			a.login, err = templates.BuildkiteOIDCLogin(templates.BuildkiteOIDCLoginData{
				AudienceQ: quote("https://" + a.base), ServerQ: quote(a.base),
			})
			a.expires = true
		}
		return a, err
	case spec.ECR:
		a.base = r.AccountID + ".dkr.ecr." + r.Region + ".amazonaws.com"
		fields := []stepvalue.Field{{Key: "account-ids", Value: stepvalue.Str(r.AccountID)}, {Key: "region", Value: stepvalue.Str(r.Region)}}
		if r.AssumeRole != "" {
			fields = append(fields, stepvalue.Field{Key: "assume_role", Value: stepvalue.Mapping(stepvalue.Field{Key: "role_arn", Value: stepvalue.Str(r.AssumeRole)})})
		}
		cfg := stepvalue.Mapping(fields...)
		a.plugins = []Plugin{{Source: ecrPlugin, Config: cfg}}
		return a, nil
	case spec.GAR:
		host := r.Location + "-docker.pkg.dev"
		a.base = host + "/" + r.Project + "/" + r.Repository
		if w := r.WorkloadIdentity; w != nil {
			cfg := stepvalue.Mapping(stepvalue.Field{Key: "audience", Value: stepvalue.Str(w.Audience)}, stepvalue.Field{Key: "service-account", Value: stepvalue.Str(w.ServiceAccount)}, stepvalue.Field{Key: "lifetime", Value: stepvalue.Integer(wifLifetime)})
			a.plugins = []Plugin{{Source: wifPlugin, Config: cfg}}
		}
		var err error
		a.login, err = templates.GARLogin(templates.GARLoginData{HostQ: quote(host)})
		return a, err
	case spec.Hosted:
		// Commands expand it when they run; a consumer's image attribute,
		// which the agent needs before the job starts, has it filled in when
		// the pipeline is uploaded.
		a.base = "${" + hostedRegistryVar + "}"
		a.hosted = true
		if g.in.Literal {
			// No interpolation: bkgen runs in that job, and fills it in itself.
			a.base = g.in.Env[hostedRegistryVar]
			if a.base == "" {
				return nil, errors.New("a hosted registry is $BUILDKITE_HOSTED_REGISTRY_URL, which an upload without interpolation leaves as it is, and it is not set here to fill in now: generate on a hosted agent, or upload with interpolation")
			}
		}
		return a, nil
	}
	return nil, fmt.Errorf("unknown provider %q", r.Provider)
}

// hostedRegistryVar holds a Buildkite hosted agent's registry.
const hostedRegistryVar = "BUILDKITE_HOSTED_REGISTRY_URL"
