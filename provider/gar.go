package provider

import (
	"regexp"

	"github.com/bkgen/bkgen/buildenv"
	"github.com/bkgen/bkgen/stepvalue"
	"github.com/bkgen/bkgen/templates"
)

// GAR is Google Artifact Registry: repositories under
// LOCATION-docker.pkg.dev/PROJECT/REPOSITORY. With workload identity, the
// login exchanges the job's OIDC token for the service account's access
// token itself (no gcloud on the agent), and the workload identity plugin
// gives the job's own commands Google credentials; without, gcloud's
// credentials or the metadata server's.
type GAR struct{}

// wifPlugin is the version of
// buildkite-plugins/gcp-workload-identity-federation-buildkite-plugin bkgen
// pins; bump it with the goldens.
const wifPlugin = "gcp-workload-identity-federation#v1.5.0"

// wifLifetime is the lifetime asked for the OIDC token that the workload
// identity plugin exchanges: gcloud exchanges it again each time its
// hour-long access token runs out, so it has to outlast the longest build.
const wifLifetime = 7200

var (
	gcpProjectRE = regexp.MustCompile(`^[a-z][a-z0-9-]{4,28}[a-z0-9]$`)
	gcpNameRE    = regexp.MustCompile(`^[a-z][a-z0-9-]*$`)
	wifAudience  = regexp.MustCompile(`^//iam\.googleapis\.com/\S+$`)
	email        = regexp.MustCompile(`^[^@\s]+@[^@\s]+$`)
)

func (GAR) Name() string { return "gar" }

func (GAR) Fields() []Field {
	return []Field{
		{Name: "location", Required: true, Pattern: gcpNameRE, Rule: "a location such as us-central1 or us"},
		{Name: "project", Required: true, Pattern: gcpProjectRE, Rule: "a Google Cloud project id"},
		{Name: "repository", Required: true, Pattern: gcpNameRE, Rule: "a repository id (lowercase letters, digits and '-')"},
		{Name: "create_repositories", Bool: true, Default: "false"},
		{Name: "workload_identity", Fields: []Field{
			{Name: "audience", Required: true, Pattern: wifAudience, Rule: "a workload identity provider such as //iam.googleapis.com/projects/NUMBER/locations/global/workloadIdentityPools/POOL/providers/PROVIDER"},
			{Name: "service_account", Required: true, Pattern: email, Rule: "a service account email"},
		}},
	}
}

func (GAR) Check(*Config) []Problem { return nil }

func (GAR) Scanners() []string { return pullingScanners }

func (GAR) Access(c *Config, _ buildenv.Build) (*Access, error) {
	host := c.Get("location") + "-docker.pkg.dev"
	a := &Access{Base: host + "/" + c.Get("project") + "/" + c.Get("repository"), Credentials: "gcp"}
	if c.Has("workload_identity.audience") {
		a.Plugins = []Plugin{{Source: wifPlugin, Config: stepvalue.Mapping(
			stepvalue.Field{Key: "audience", Value: stepvalue.Str(c.Get("workload_identity.audience"))},
			stepvalue.Field{Key: "service-account", Value: stepvalue.Str(c.Get("workload_identity.service_account"))},
			stepvalue.Field{Key: "lifetime", Value: stepvalue.Integer(wifLifetime)},
		)}}
	}
	d := templates.GARLoginData{}
	var err error
	if d.HostQ, err = quote(host); err != nil {
		return nil, err
	}
	if c.Has("workload_identity.audience") {
		if d.AudienceQ, err = quote(c.Get("workload_identity.audience")); err != nil {
			return nil, err
		}
		if d.ServiceAccountQ, err = quote(c.Get("workload_identity.service_account")); err != nil {
			return nil, err
		}
	}
	if a.Login, err = templates.GARLogin(d); err != nil {
		return nil, err
	}
	if c.Get("create_repositories") == "true" {
		// GAR makes an image's package on its first push: only the
		// registry's repository must exist.
		var e templates.EnsureGARData
		for _, f := range []struct {
			dst   *string
			field string
		}{{&e.ProjectQ, "project"}, {&e.LocationQ, "location"}, {&e.RepositoryQ, "repository"}} {
			if *f.dst, err = quote(c.Get(f.field)); err != nil {
				return nil, err
			}
		}
		a.Ensure = func([]string) (string, error) { return templates.EnsureGAR(e) }
	}
	return a, nil
}
