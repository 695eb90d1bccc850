// Package buildenv is what bkgen reads of a Buildkite build's environment:
// the BUILDKITE_* variables, read once by the command and handed down as a
// value, so that no library reads the environment, and a run depends on
// nothing this package does not name.
package buildenv

import "cmp"

// Build is a build's environment, as the agent sets it for a job; "" is a
// variable that is not set.
type Build struct {
	OrganizationSlug      string // BUILDKITE_ORGANIZATION_SLUG
	PipelineSlug          string // BUILDKITE_PIPELINE_SLUG
	Branch                string // BUILDKITE_BRANCH
	PipelineDefaultBranch string // BUILDKITE_PIPELINE_DEFAULT_BRANCH
	PullRequest           string // BUILDKITE_PULL_REQUEST: its number, or "false"
	PullRequestBaseBranch string // BUILDKITE_PULL_REQUEST_BASE_BRANCH
	GitDiffBase           string // BUILDKITE_GIT_DIFF_BASE
	ChangedFilesPath      string // BUILDKITE_CHANGED_FILES_PATH
	HostedRegistryURL     string // HostedRegistryURLVar
	// APIToken is BUILDKITE_API_TOKEN, for Buildkite's REST API: a secret,
	// never to be printed.
	APIToken string
	// InJob: BUILDKITE_AGENT_ACCESS_TOKEN and BUILDKITE_JOB_ID are set, so
	// this runs in a job, where buildkite-agent can request OIDC tokens.
	InJob bool
}

// HostedRegistryURLVar holds the registry of Buildkite hosted agents.
const HostedRegistryURLVar = "BUILDKITE_HOSTED_REGISTRY_URL"

// Read reads a build's environment through getenv (os.Getenv, say).
func Read(getenv func(string) string) Build {
	return Build{
		OrganizationSlug:      getenv("BUILDKITE_ORGANIZATION_SLUG"),
		PipelineSlug:          getenv("BUILDKITE_PIPELINE_SLUG"),
		Branch:                getenv("BUILDKITE_BRANCH"),
		PipelineDefaultBranch: getenv("BUILDKITE_PIPELINE_DEFAULT_BRANCH"),
		PullRequest:           getenv("BUILDKITE_PULL_REQUEST"),
		PullRequestBaseBranch: getenv("BUILDKITE_PULL_REQUEST_BASE_BRANCH"),
		GitDiffBase:           getenv("BUILDKITE_GIT_DIFF_BASE"),
		ChangedFilesPath:      getenv("BUILDKITE_CHANGED_FILES_PATH"),
		HostedRegistryURL:     getenv(HostedRegistryURLVar),
		APIToken:              getenv("BUILDKITE_API_TOKEN"),
		InJob:                 getenv("BUILDKITE_AGENT_ACCESS_TOKEN") != "" && getenv("BUILDKITE_JOB_ID") != "",
	}
}

// DefaultBranch is the pipeline's default branch: main unless the pipeline
// says otherwise, as the agent takes it.
func (b Build) DefaultBranch() string {
	return cmp.Or(b.PipelineDefaultBranch, "main")
}
