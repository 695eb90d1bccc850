package provider

import (
	"regexp"

	"github.com/bkgen/bkgen/buildenv"
	"github.com/bkgen/bkgen/stepvalue"
	"github.com/bkgen/bkgen/templates"
)

// ECR is Amazon Elastic Container Registry: repositories under
// ACCOUNT.dkr.ecr.REGION.amazonaws.com, logged in to by the ecr plugin, with
// the role it assumes when one is given: with the agent's own AWS
// credentials, or (auth: oidc, for hosted agents, which have none) with the
// job's Buildkite OIDC token.
type ECR struct{}

// ecrPlugin is the version of buildkite-plugins/ecr-buildkite-plugin bkgen
// pins (v2.12.0 added assume-role.oidc); bump it with the goldens.
const ecrPlugin = "ecr#v2.12.0"

var (
	accountRE   = regexp.MustCompile(`^[0-9]{12}$`)
	awsRegionRE = regexp.MustCompile(`^[a-z]{2}(-[a-z]+)+-[0-9]$`)
	roleARNRE   = regexp.MustCompile(`^arn:aws[a-z-]*:iam::[0-9]{12}:role/[\w+=,.@/-]+$`)
)

func (ECR) Name() string { return "ecr" }

func (ECR) Fields() []Field {
	return []Field{
		{Name: "account_id", Required: true, Pattern: accountRE, Rule: "a 12-digit AWS account id (quote it to keep leading zeros)"},
		{Name: "region", Required: true, Pattern: awsRegionRE, Rule: "an AWS region such as us-east-1"},
		{Name: "assume_role", Pattern: roleARNRE, Rule: "an IAM role ARN such as arn:aws:iam::123456789012:role/ci"},
		{Name: "auth", Enum: []string{"instance", "oidc"}, Default: "instance"},
		{Name: "create_repositories", Bool: true, Default: "false"},
	}
}

func (ECR) Check(c *Config) []Problem {
	if c.Get("auth") == "oidc" && c.Get("assume_role") == "" {
		return []Problem{{Field: "auth", Msg: "auth: oidc assumes a role with the job's Buildkite OIDC token: name it in assume_role (a role whose trust policy accepts https://agent.buildkite.com tokens for sts.amazonaws.com)"}}
	}
	return nil
}

// Scanners: ECR scans its own images too.
func (ECR) Scanners() []string { return with(pullingScanners, "ecr") }

func (ECR) Access(c *Config, _ buildenv.Build) (*Access, error) {
	fields := []stepvalue.Field{
		{Key: "account-ids", Value: stepvalue.Str(c.Get("account_id"))},
		{Key: "region", Value: stepvalue.Str(c.Get("region"))},
	}
	if role := c.Get("assume_role"); role != "" {
		// The names plugin.yml declares (the agent reads assume_role.role_arn
		// as the same variable, but a plugin linter does not).
		ar := []stepvalue.Field{{Key: "role-arn", Value: stepvalue.Str(role)}}
		if c.Get("auth") == "oidc" {
			ar = append(ar, stepvalue.Field{Key: "oidc", Value: stepvalue.Boolean(true)})
		}
		fields = append(fields, stepvalue.Field{Key: "assume-role", Value: stepvalue.Mapping(ar...)})
	}
	a := &Access{
		Credentials: "aws",
		Base:        c.Get("account_id") + ".dkr.ecr." + c.Get("region") + ".amazonaws.com",
		Plugins:     []Plugin{{Source: ecrPlugin, Config: stepvalue.Mapping(fields...)}},
		// ECR refuses BuildKit's default cache manifest.
		CacheToAttrs: ",image-manifest=true,oci-mediatypes=true",
		// Repositories with IMMUTABLE tags refuse to move buildcache-*.
		CacheRepoSuffix: "-cache",
	}
	if c.Get("create_repositories") == "true" {
		region := c.Get("region")
		a.Ensure = func(repos []string) (string, error) {
			d := templates.EnsureECRData{RegionQ: region}
			for _, r := range repos {
				q, err := quote(r)
				if err != nil {
					return "", err
				}
				d.RepositoriesQ = append(d.RepositoriesQ, q)
			}
			return templates.EnsureECR(d)
		}
	}
	return a, nil
}
