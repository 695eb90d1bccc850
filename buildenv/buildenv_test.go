package buildenv

import "testing"

func getenv(vars map[string]string) func(string) string {
	return func(k string) string { return vars[k] }
}

func TestRead(t *testing.T) {
	b := Read(getenv(map[string]string{
		"BUILDKITE_ORGANIZATION_SLUG": "acme", "BUILDKITE_BRANCH": "feature",
		"BUILDKITE_HOSTED_REGISTRY_URL": "registry.test/acme", "BUILDKITE_PULL_REQUEST": "false",
	}))
	want := Build{OrganizationSlug: "acme", Branch: "feature", HostedRegistryURL: "registry.test/acme", PullRequest: "false",
		Upload: Upload{ApplyIfChanged: true}}
	if b != want {
		t.Errorf("Read = %+v, want %+v", b, want)
	}
}

func TestInJob(t *testing.T) {
	if !Read(getenv(map[string]string{"BUILDKITE_AGENT_ACCESS_TOKEN": "x", "BUILDKITE_JOB_ID": "y"})).InJob {
		t.Error("not in a job with both variables set")
	}
	if Read(getenv(map[string]string{"BUILDKITE_JOB_ID": "y"})).InJob {
		t.Error("in a job without an agent access token")
	}
}

func TestDefaultBranch(t *testing.T) {
	if got := (Build{}).DefaultBranch(); got != "main" {
		t.Errorf("unset: %q, want main", got)
	}
	if got := (Build{PipelineDefaultBranch: "develop"}).DefaultBranch(); got != "develop" {
		t.Errorf("set: %q, want develop", got)
	}
}
