package changes

import (
	"cmp"
	"context"
	"fmt"
	"strings"

	"github.com/bkgen/bkgen/buildenv"
	"github.com/bkgen/bkgen/internal/pipetext"
	"github.com/bkgen/bkgen/internal/plural"
)

// AgentResult is what `buildkite-agent pipeline upload` (agent 3.138.3,
// clicommand/pipeline_upload.go) will take as this build's changed files
// when it applies if_changed: Agent predicts it by asking git exactly what
// the agent asks, read-only, so that nothing bkgen does changes what the
// agent then computes.
//
// The agent's rules, which differ from bkgen's own (Detect):
//   - BUILDKITE_AGENT_APPLY_IF_CHANGED (or, when that is not set,
//     BUILDKITE_AGENT_APPLY_SKIP_IF_UNCHANGED) set to false or "" turns
//     if_changed off: the agent removes it and every step runs. A value
//     strconv.ParseBool refuses fails the upload.
//   - BUILDKITE_CHANGED_FILES_PATH is read as lines; blank ones dropped.
//   - Otherwise the base is the first non-empty of BUILDKITE_GIT_DIFF_BASE
//     (verbatim), origin/$BUILDKITE_PULL_REQUEST_BASE_BRANCH,
//     origin/$BUILDKITE_PIPELINE_DEFAULT_BRANCH and origin/main; it never
//     reads BUILDKITE_PULL_REQUEST or BUILDKITE_BRANCH. When `git rev-parse
//     BASE` prints HEAD's sha, the changes are HEAD's own (`git log
//     --first-parent -1 --name-only`); otherwise `git diff --name-only` from
//     the merge-base to the working tree, so uncommitted edits to tracked
//     files count. git's output is read without -z: a path git quotes
//     (core.quotePath) is matched as quoted, and a rename lists only its new
//     path.
//   - It never deepens a shallow clone. With BUILDKITE_FETCH_DIFF_BASE it
//     fetches the base first and only logs a failure. Any git error turns
//     if_changed off: every step runs.
type AgentResult struct {
	// Apply: the agent skips the steps whose if_changed matches none of
	// Files. When false, it removes every if_changed and every step runs.
	Apply bool
	// Files are the changed paths as the agent will read them (git's
	// quoting kept), in git's order.
	Files     []string
	Method    string // AgentChangedFiles, AgentFirstParent or AgentMergeBase; "" when !Apply
	DiffBase  string // the base the agent asks git about, e.g. "origin/main"; "" with a list
	MergeBase string // the merge-base it diffs from (AgentMergeBase)
	// Reason is one sentence: how the agent will find the changes, or why
	// it will apply no if_changed. For display.
	Reason string
	Notes  []string // what else the agent will do or say, for display
	// Fails says why the upload itself will fail before it reads the
	// pipeline; "" when it will not.
	Fails string
}

// The AgentResult.Method values.
const (
	AgentChangedFiles = "agent-changed-files"
	AgentFirstParent  = "agent-first-parent"
	AgentMergeBase    = "agent-merge-base"
)

// AgentOptions is where the agent runs and with what environment.
type AgentOptions struct {
	Dir string         // where buildkite-agent pipeline upload runs git: the checkout
	Env buildenv.Build // the job's environment, with Upload read from it (and from the upload's flags)
	Git string         // git binary; "" = "git" looked up on PATH
}

// DefaultAgentDiffBase is the agent's last resort for a base.
const DefaultAgentDiffBase = "origin/main"

// AgentDiffBase is the base the agent diffs against when no list is given.
func AgentDiffBase(env buildenv.Build) string {
	orOrigin := func(branch string) string {
		if branch == "" {
			return ""
		}
		return "origin/" + branch
	}
	return cmp.Or(env.Upload.GitDiffBase, orOrigin(env.PullRequestBaseBranch), orOrigin(env.PipelineDefaultBranch), DefaultAgentDiffBase)
}

// Agent predicts the agent's changed files. It runs only read-only git
// commands (the agent's own, with the same arguments) and never fetches.
func Agent(ctx context.Context, o AgentOptions) AgentResult {
	u := o.Env.Upload
	switch {
	case u.Err != "":
		return AgentResult{Fails: u.Err, Reason: "buildkite-agent pipeline upload will fail: " + u.Err + "."}
	case !u.ApplyIfChanged:
		return AgentResult{Reason: pipetext.Display(u.ApplySource) + " turns if_changed off: the agent removes it, and every step runs."}
	case u.ChangedFilesPath != "":
		d := &detector{o: Options{Dir: o.Dir}}
		f, err := d.openList(u.ChangedFilesPath)
		var files []string
		if err == nil {
			files, err = readList(f)
			f.Close()
		}
		shown := pipetext.Display(u.ChangedFilesPath)
		if err != nil {
			return AgentResult{Reason: fmt.Sprintf("The agent cannot read the changed files in %s (%s), so it applies no if_changed: every step runs.", shown, pipetext.Display(err.Error()))}
		}
		return AgentResult{Apply: true, Files: files, Method: AgentChangedFiles,
			Reason: fmt.Sprintf("The agent takes the %s listed in %s (BUILDKITE_CHANGED_FILES_PATH), without running git.", plural.Count(len(files), "changed path"), shown)}
	}

	base := AgentDiffBase(o.Env)
	shown := pipetext.Display(base)
	git, err := newRunner(o.Git, o.Dir, gitTimeout, fetchTimeout)
	if err != nil {
		return agentOff("git cannot be run (%v)", err)
	}
	var notes []string
	if u.FetchDiffBase {
		notes = append(notes, agentFetchNote(ctx, git, base))
	}
	baseOut, err := git.run(ctx, "rev-parse", base)
	if err != nil {
		return agentOff("git rev-parse %s fails (%v)", shown, err).with(base, notes)
	}
	headOut, err := git.run(ctx, "rev-parse", "HEAD")
	if err != nil {
		return agentOff("git rev-parse HEAD fails (%v)", err).with(base, notes)
	}
	if strings.TrimSpace(baseOut) == strings.TrimSpace(headOut) {
		out, err := git.run(ctx, "log", "--first-parent", "-1", "--name-only", "--pretty=format:")
		if err != nil {
			return agentOff("git log --first-parent -1 fails (%v)", err).with(base, notes)
		}
		notes = append(notes, "the agent warns that a build of more than one commit on this branch gets an incomplete diff")
		files := lines(out)
		return AgentResult{Apply: true, Files: files, Method: AgentFirstParent, DiffBase: base, Notes: notes,
			Reason: fmt.Sprintf("%s is HEAD, so the agent takes HEAD's own changes (git log --first-parent -1): %s.", shown, plural.Count(len(files), "path"))}
	}
	mbOut, err := git.run(ctx, "merge-base", base, "HEAD")
	if err != nil {
		return agentOff("git merge-base %s HEAD fails (%v)", shown, err).with(base, notes)
	}
	mergeBase := strings.TrimSpace(mbOut)
	out, err := git.run(ctx, "diff", "--name-only", mergeBase)
	if err != nil {
		return agentOff("git diff --name-only %.12s fails (%v)", mergeBase, err).with(base, notes)
	}
	files := lines(out)
	return AgentResult{Apply: true, Files: files, Method: AgentMergeBase, DiffBase: base, MergeBase: mergeBase, Notes: notes,
		Reason: fmt.Sprintf("The agent diffs the working tree against %.12s, the merge-base of %s and HEAD: %s.", mergeBase, shown, plural.Count(len(files), "path"))}
}

// agentOff is the agent giving up on if_changed after a git error.
func agentOff(format string, args ...any) AgentResult {
	return AgentResult{Reason: "The agent applies no if_changed, so every step runs: " + fmt.Sprintf(format, args...) + "."}
}

func (r AgentResult) with(base string, notes []string) AgentResult {
	r.DiffBase, r.Notes = base, notes
	return r
}

// agentFetchNote says what the agent's fetch of the base
// (BUILDKITE_FETCH_DIFF_BASE) will change, found without fetching: a
// fetch would change what the agent computes after it.
func agentFetchNote(ctx context.Context, git runner, base string) string {
	shown := pipetext.Display(base)
	remote, branch, ok := strings.Cut(base, "/")
	if !ok || remote == "" || branch == "" || strings.HasPrefix(remote, "-") {
		return fmt.Sprintf("the agent fetches %s before the diff (BUILDKITE_FETCH_DIFF_BASE); bkgen cannot tell what that fetch brings, so the prediction uses this checkout as it is", shown)
	}
	out, err := git.runWithin(ctx, git.fetchTimeout, "ls-remote", "--", remote, "refs/heads/"+branch)
	remoteSHA, _, _ := strings.Cut(strings.TrimSpace(out), "\t")
	switch {
	case err != nil:
		return fmt.Sprintf("the agent fetches %s before the diff (BUILDKITE_FETCH_DIFF_BASE), but the remote does not answer here (%v): if its fetch fails too, it only logs that and diffs against %s as it is", shown, err, shown)
	case remoteSHA == "":
		return fmt.Sprintf("the agent fetches %s before the diff (BUILDKITE_FETCH_DIFF_BASE), but the remote has no such branch: its fetch fails, which it only logs", shown)
	}
	local, ok, _ := git.commit(ctx, base)
	if ok && local == remoteSHA {
		return fmt.Sprintf("the agent fetches %s before the diff (BUILDKITE_FETCH_DIFF_BASE); the remote's branch is where %s is here, so the fetch changes nothing", shown, shown)
	}
	return fmt.Sprintf("the agent fetches %s before the diff (BUILDKITE_FETCH_DIFF_BASE); the remote's branch is at %.12s, not where %s is here, so the agent's diff may differ from this prediction (bkgen does not fetch: that would change what the agent computes)", shown, remoteSHA, shown)
}

// FromAgent is the agent's answer as a Result, for --if-changed agent:
// its files (everything when it applies no if_changed), its reason and
// notes, and where dir sits in the checkout.
func FromAgent(ctx context.Context, dir string, a AgentResult) Result {
	r := Result{Method: a.Method, Ref: pipetext.Display(a.DiffBase), Base: a.MergeBase, Reason: a.Reason, Notes: a.Notes}
	if !a.Apply {
		r = Result{All: true, Reason: a.Reason, Notes: a.Notes}
	} else {
		r.Files = a.Files
		if r.Files == nil {
			r.Files = []string{}
		}
	}
	if git, err := newRunner("", dir, gitTimeout, fetchTimeout); err == nil {
		if prefix, err := git.prefix(ctx); err == nil {
			r.Prefix = prefix
		}
	}
	return r
}
