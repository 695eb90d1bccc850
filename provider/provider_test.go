package provider_test

import (
	"strings"
	"testing"

	"github.com/bkgen/bkgen/buildenv"
	"github.com/bkgen/bkgen/provider"
)

func config(name string, kv ...string) *provider.Config {
	c := provider.NewConfig(name)
	for i := 0; i+1 < len(kv); i += 2 {
		c.Set(kv[i], kv[i+1])
	}
	return c
}

// TestAccess checks what each provider tells a job: where repositories
// are, how it logs in, and what else about the registry steps must know.
func TestAccess(t *testing.T) {
	for _, tc := range []struct {
		name   string
		p      provider.Provider
		c      *provider.Config
		env    buildenv.Build
		check  func(t *testing.T, a *provider.Access)
		errSub string
	}{
		{name: "buildkite oidc", p: provider.Buildkite{}, c: config("r", "registry", "images", "auth", "oidc"), env: buildenv.Build{OrganizationSlug: "acme"},
			check: func(t *testing.T, a *provider.Access) {
				if a.Base != "packages.buildkite.com/acme/images" || !a.Expires || a.OIDCAudience != "https://packages.buildkite.com/acme/images" ||
					!strings.Contains(a.Login, "oidc request-token --audience https://packages.buildkite.com/acme/images") {
					t.Errorf("%+v", a)
				}
			}},
		{name: "buildkite token", p: provider.Buildkite{}, c: config("r", "org", "acme", "registry", "images", "auth", "token", "token_env", "PKG_TOKEN"),
			check: func(t *testing.T, a *provider.Access) {
				if a.Expires || a.OIDCAudience != "" || !strings.Contains(a.Login, "printenv PKG_TOKEN | docker login") {
					t.Errorf("%+v", a)
				}
			}},
		{name: "buildkite without an org", p: provider.Buildkite{}, c: config("r", "registry", "images", "auth", "oidc"), errSub: "org is not set"},
		{name: "ecr", p: provider.ECR{}, c: config("r", "account_id", "123456789012", "region", "us-east-1", "assume_role", "arn:aws:iam::123456789012:role/ci"),
			check: func(t *testing.T, a *provider.Access) {
				if a.Base != "123456789012.dkr.ecr.us-east-1.amazonaws.com" || a.Login != "" || len(a.Plugins) != 1 ||
					a.Plugins[0].Config.Get("assume-role").Get("role-arn").Scalar != "arn:aws:iam::123456789012:role/ci" || a.CacheToAttrs == "" {
					t.Errorf("%+v", a)
				}
			}},
		{name: "gar with workload identity", p: provider.GAR{}, c: config("r", "location", "us", "project", "my-project", "repository", "docker",
			"workload_identity.audience", "//iam.googleapis.com/x", "workload_identity.service_account", "ci@p.iam"),
			check: func(t *testing.T, a *provider.Access) {
				// The login exchanges the token itself: TestGARLoginExchange runs it.
				if a.Base != "us-docker.pkg.dev/my-project/docker" || len(a.Plugins) != 1 || strings.Contains(a.Login, "gcloud auth") ||
					!strings.Contains(a.Login, "docker login us-docker.pkg.dev --username oauth2accesstoken --password-stdin") {
					t.Errorf("%+v", a)
				}
			}},
		{name: "gar without", p: provider.GAR{}, c: config("r", "location", "us", "project", "my-project", "repository", "docker"),
			check: func(t *testing.T, a *provider.Access) {
				if len(a.Plugins) != 0 || !strings.Contains(a.Login, "gcloud auth configure-docker us-docker.pkg.dev") {
					t.Errorf("%+v", a)
				}
			}},
		{name: "hosted", p: provider.Hosted{}, c: config("r"),
			check: func(t *testing.T, a *provider.Access) {
				if a.Base != "${BUILDKITE_HOSTED_REGISTRY_URL}" || a.BaseVar != "BUILDKITE_HOSTED_REGISTRY_URL" || a.Login != "" {
					t.Errorf("%+v", a)
				}
			}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			a, err := tc.p.Access(tc.c, tc.env)
			switch {
			case tc.errSub != "":
				if err == nil || !strings.Contains(err.Error(), tc.errSub) {
					t.Errorf("err = %v, want %q", err, tc.errSub)
				}
			case err != nil:
				t.Fatal(err)
			default:
				tc.check(t, a)
			}
		})
	}
}

// TestDeclarations checks every provider's fields say what they need, so
// the spec's messages and a schema can be made from them alone.
func TestDeclarations(t *testing.T) {
	var check func(p provider.Provider, fs []provider.Field)
	check = func(p provider.Provider, fs []provider.Field) {
		for _, f := range fs {
			if f.Pattern != nil && f.Rule == "" {
				t.Errorf("%s.%s has a pattern and no rule to say it in words", p.Name(), f.Name)
			}
			if f.Default != "" && f.Enum == nil && !f.Bool {
				t.Errorf("%s.%s has a default but no values", p.Name(), f.Name)
			}
			if f.Bool && f.Default != "true" && f.Default != "false" {
				t.Errorf("%s.%s is true or false, and its default %q is neither", p.Name(), f.Name, f.Default)
			}
			check(p, f.Fields)
		}
	}
	for _, p := range provider.All {
		check(p, p.Fields())
		if provider.Named(p.Name()) != p || len(p.Scanners()) == 0 {
			t.Errorf("%s: named %v, scanners %v", p.Name(), provider.Named(p.Name()), p.Scanners())
		}
	}
	var bk provider.Buildkite
	if got := bk.Check(config("r", "auth", "oidc", "token_env", "X")); len(got) != 1 || got[0].Field != "token_env" {
		t.Errorf("Check = %+v", got)
	}
}
