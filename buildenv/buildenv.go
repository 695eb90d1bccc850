// Package buildenv is what bkgen reads of a Buildkite build's environment:
// the BUILDKITE_* variables, read once by the command and handed down as a
// value, so that no library reads the environment, and a run depends on
// nothing this package does not name.
package buildenv

import (
	"cmp"
	"strconv"
)

// Build is a build's environment, as the agent sets it for a job; "" is a
// variable that is not set.
type Build struct {
	OrganizationSlug      string // BUILDKITE_ORGANIZATION_SLUG
	PipelineSlug          string // BUILDKITE_PIPELINE_SLUG
	Branch                string // BUILDKITE_BRANCH
	Commit                string // BUILDKITE_COMMIT
	Tag                   string // BUILDKITE_TAG: the git tag a tag build builds
	BuildNumber           string // BUILDKITE_BUILD_NUMBER
	PipelineDefaultBranch string // BUILDKITE_PIPELINE_DEFAULT_BRANCH
	PullRequest           string // BUILDKITE_PULL_REQUEST: its number, or "false"
	PullRequestBaseBranch string // BUILDKITE_PULL_REQUEST_BASE_BRANCH
	GitDiffBase           string // BUILDKITE_GIT_DIFF_BASE
	ChangedFilesPath      string // BUILDKITE_CHANGED_FILES_PATH
	HostedRegistryURL     string // HostedRegistryURLVar
	// Rebuild is RebuildVar: the images to rebuild whatever the registry
	// holds ("all", or names), as a "rebuild" button sets it.
	Rebuild string
	// APIToken is BUILDKITE_API_TOKEN, for Buildkite's REST API: a secret,
	// never to be printed.
	APIToken string
	// InJob: BUILDKITE_AGENT_ACCESS_TOKEN and BUILDKITE_JOB_ID are set, so
	// this runs in a job, where buildkite-agent can request OIDC tokens.
	InJob bool
	// Upload is how buildkite-agent pipeline upload will treat if_changed
	// in this environment.
	Upload Upload
}

// RebuildVar names the images to rebuild whatever the registry holds, like
// bkgen's --rebuild: a pipeline's "rebuild" button (a new build with this
// variable) sets it.
const RebuildVar = "BKGEN_REBUILD"

// Upload is what `buildkite-agent pipeline upload` (agent 3.138.3) reads
// of its flags and environment to apply if_changed. The agent's flag
// library (urfave/cli v1) takes the first of a flag's variables that is
// set, even to "": an empty one is false, and a value strconv.ParseBool
// refuses fails the upload.
type Upload struct {
	ApplyIfChanged bool   // --apply-if-changed: on unless switched off
	ApplySource    string // what switched it off, e.g. "BUILDKITE_AGENT_APPLY_IF_CHANGED=false"
	FetchDiffBase  bool   // --fetch-diff-base, BUILDKITE_FETCH_DIFF_BASE
	// GitDiffBase and ChangedFilesPath are --git-diff-base and
	// --changed-files-path, from BUILDKITE_GIT_DIFF_BASE and
	// BUILDKITE_CHANGED_FILES_PATH unless given as flags.
	GitDiffBase      string
	ChangedFilesPath string
	// Err says why the upload will fail before it reads the pipeline (a
	// switch it cannot parse); "" when it will not.
	Err string
}

// The agent's variables for its if_changed switches, in the order it reads them.
var (
	ApplyIfChangedVars = []string{"BUILDKITE_AGENT_APPLY_IF_CHANGED", "BUILDKITE_AGENT_APPLY_SKIP_IF_UNCHANGED"}
	FetchDiffBaseVars  = []string{"BUILDKITE_FETCH_DIFF_BASE"}
)

// HostedRegistryURLVar holds the registry of Buildkite hosted agents.
const HostedRegistryURLVar = "BUILDKITE_HOSTED_REGISTRY_URL"

// Read reads a build's environment through getenv (os.Getenv, say), which
// cannot tell a variable set to "" from one not set; ReadLookup can.
func Read(getenv func(string) string) Build {
	return ReadLookup(func(k string) (string, bool) {
		v := getenv(k)
		return v, v != ""
	})
}

// ReadLookup reads a build's environment through lookup (os.LookupEnv, say).
func ReadLookup(lookup func(string) (string, bool)) Build {
	getenv := func(k string) string { v, _ := lookup(k); return v }
	b := Build{
		OrganizationSlug:      getenv("BUILDKITE_ORGANIZATION_SLUG"),
		PipelineSlug:          getenv("BUILDKITE_PIPELINE_SLUG"),
		Branch:                getenv("BUILDKITE_BRANCH"),
		Commit:                getenv("BUILDKITE_COMMIT"),
		Tag:                   getenv("BUILDKITE_TAG"),
		BuildNumber:           getenv("BUILDKITE_BUILD_NUMBER"),
		PipelineDefaultBranch: getenv("BUILDKITE_PIPELINE_DEFAULT_BRANCH"),
		PullRequest:           getenv("BUILDKITE_PULL_REQUEST"),
		PullRequestBaseBranch: getenv("BUILDKITE_PULL_REQUEST_BASE_BRANCH"),
		GitDiffBase:           getenv("BUILDKITE_GIT_DIFF_BASE"),
		ChangedFilesPath:      getenv("BUILDKITE_CHANGED_FILES_PATH"),
		HostedRegistryURL:     getenv(HostedRegistryURLVar),
		Rebuild:               getenv(RebuildVar),
		APIToken:              getenv("BUILDKITE_API_TOKEN"),
		InJob:                 getenv("BUILDKITE_AGENT_ACCESS_TOKEN") != "" && getenv("BUILDKITE_JOB_ID") != "",
	}
	b.Upload = Upload{ApplyIfChanged: true, GitDiffBase: b.GitDiffBase, ChangedFilesPath: b.ChangedFilesPath}
	u := &b.Upload
	if name, v, ok := firstSet(lookup, ApplyIfChangedVars); ok {
		u.ApplyIfChanged, u.Err = agentBool(name, v, "apply-if-changed")
		if !u.ApplyIfChanged {
			u.ApplySource = name + "=" + v
		}
	}
	if name, v, ok := firstSet(lookup, FetchDiffBaseVars); ok {
		var err string
		u.FetchDiffBase, err = agentBool(name, v, "fetch-diff-base")
		u.Err = cmp.Or(u.Err, err)
	}
	return b
}

// firstSet is the first of names that is set, as urfave/cli v1 reads a
// flag's variables.
func firstSet(lookup func(string) (string, bool), names []string) (name, value string, ok bool) {
	for _, n := range names {
		if v, ok := lookup(n); ok {
			return n, v, true
		}
	}
	return "", "", false
}

// agentBool reads a boolean flag's variable as the agent does: "" is
// false, else strconv.ParseBool, whose refusal fails the upload (err says
// so; the value is then false).
func agentBool(name, v, flag string) (value bool, err string) {
	if v == "" {
		return false, ""
	}
	b, perr := strconv.ParseBool(v)
	if perr != nil {
		return false, name + " is not true or false, so buildkite-agent pipeline upload fails (could not parse it as a bool value for flag " + flag + ")"
	}
	return b, ""
}

// DefaultBranch is the pipeline's default branch: main unless the pipeline
// says otherwise, as the agent takes it.
func (b Build) DefaultBranch() string {
	return cmp.Or(b.PipelineDefaultBranch, "main")
}
