// Package changes works out which files changed in this build, and says how
// it decided: by bkgen's own rules when bkgen evaluates if_changed (Detect),
// and by the Buildkite agent's when the agent will (Agent, which predicts
// what `buildkite-agent pipeline upload` computes; see AgentResult for how
// its rules differ).
//
// Detect's rules, the first that applies chooses the changes:
//
//  1. A list given with --changed-files or BUILDKITE_CHANGED_FILES_PATH is
//     taken as it is, and git is not run.
//  2. --diff-base or BUILDKITE_GIT_DIFF_BASE: the merge-base of that ref and HEAD.
//  3. A pull request build: the merge-base with origin/$BUILDKITE_PULL_REQUEST_BASE_BRANCH.
//  4. Any other branch: the merge-base with origin/$BUILDKITE_PIPELINE_DEFAULT_BRANCH
//     (else origin/main). On the default branch itself: the commit of its last
//     passed build when Buildkite can be asked, else HEAD's first parent.
//
// Paths are relative to the repository's top level, as the agent matches
// them, even when Options.Dir is a subdirectory (see Result.Prefix). Commits are
// compared, not the working tree: the build is of HEAD's commit. A rename
// counts both its paths, and paths are read whole (git diff -z), never as
// git quotes them.
//
// A shallow clone that lacks the base is deepened, a bounded number of
// commits at a time, which adds objects and remote-tracking refs to the
// checkout. Whenever the answer is uncertain, every file counts as changed
// and Result.Reason says why: nothing is ever skipped on a guess.
//
// Refs, branch names, paths and what git or Buildkite said come from outside
// bkgen (in a pull request, from its author): each goes into Reason, Ref and
// Notes through pipetext.Display, so none can forge a log line.
package changes

import (
	"cmp"
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strings"
	"time"

	"github.com/bkgen/bkgen/buildenv"
	"github.com/bkgen/bkgen/internal/inroot"
	"github.com/bkgen/bkgen/internal/pipetext"
	"github.com/bkgen/bkgen/internal/plural"
)

// Options says where to look and what the build's environment is.
type Options struct {
	Dir              string           // the checkout (git runs here)
	ChangedFilesPath string           // --changed-files; "-" reads Stdin
	Stdin            io.Reader        // read when ChangedFilesPath is "-"
	DiffBase         string           // --diff-base
	Env              buildenv.Build   // the build's BUILDKITE_* values
	Builds           LastPassedFinder // nil when no API token
	Git              string           // git binary; "" = "git" looked up on PATH
}

// Result is the set of changed files and how it was found.
type Result struct {
	All    bool     // treat every path as changed
	Files  []string // changed paths relative to the repository root (sorted, unique, except rule 1 which keeps the list as given, minus blank lines)
	Method string   // how the base was chosen: "changed-files", "diff-base", "pull-request", "branch", "default-branch-last-passed", "default-branch-first-parent", or "" when All
	Base   string   // the base commit (full sha) when git was used
	Ref    string   // what the base came from, e.g. "origin/main", "BUILDKITE_GIT_DIFF_BASE=v1.2", "build #123"
	Reason string   // one human sentence: how the base was chosen, or why everything counts as changed
	Notes  []string // extra human notes (e.g. "fetched 200 more commits to find the base", "API: 401 Unauthorized, using HEAD's first parent")
	// Prefix is where Options.Dir sits in the checkout when git listed
	// Files: "" at the top level, else a slash-separated path such as
	// "services/api". A caller working below the top level joins it to its
	// own paths before matching them with Files.
	Prefix string
}

// The Method values.
const (
	MethodChangedFiles             = "changed-files"
	MethodDiffBase                 = "diff-base"
	MethodPullRequest              = "pull-request"
	MethodBranch                   = "branch"
	MethodDefaultBranchLastPassed  = "default-branch-last-passed"
	MethodDefaultBranchFirstParent = "default-branch-first-parent"
)

// Limits: local git is quick, the network is not, and a shallow clone is
// deepened at most this far before we give up and count everything.
const (
	gitTimeout   = 30 * time.Second
	fetchTimeout = 2 * time.Minute
	apiTimeout   = 30 * time.Second
	deepenFirst  = 64   // commits fetched by the first deepening
	deepenMax    = 4096 // commits fetched in all, growing fourfold each time
)

// Detect works out which files changed. It never fails: anything uncertain
// gives Result{All: true, Reason: ...}.
func Detect(ctx context.Context, o Options) Result {
	d := &detector{
		o:            o,
		gitTimeout:   gitTimeout,
		fetchTimeout: fetchTimeout,
		apiTimeout:   apiTimeout,
		deepenFirst:  deepenFirst,
		deepenMax:    deepenMax,
	}
	return d.detect(ctx)
}

// detector holds one Detect call's state; the limits are fields so that
// tests can make them small.
type detector struct {
	o Options

	gitTimeout, fetchTimeout, apiTimeout time.Duration
	deepenFirst, deepenMax               int

	git   runner
	head  string   // HEAD's sha, fixed once so every command sees the same commit
	notes []string // gathered along the way, reported with any result
}

func (d *detector) note(format string, args ...any) {
	d.notes = append(d.notes, fmt.Sprintf(format, args...))
}

// all gives up: every file counts as changed, and the reason says why.
func (d *detector) all(format string, args ...any) Result {
	return Result{
		All:    true,
		Reason: fmt.Sprintf(format, args...) + ", so every file counts as changed.",
		Notes:  d.notes,
	}
}

func (d *detector) detect(ctx context.Context) Result {
	// Rule 1: a list given to us is the answer, and git stays out of it.
	if path, source := flagOrEnv(d.o.ChangedFilesPath, "--changed-files", d.o.Env.ChangedFilesPath, "BUILDKITE_CHANGED_FILES_PATH"); path != "" {
		return d.fromList(path, source)
	}

	git, err := newRunner(d.o.Git, d.o.Dir, d.gitTimeout, d.fetchTimeout)
	if err != nil {
		return d.all("Git cannot be run (%v)", err)
	}
	d.git = git
	if _, err := git.topLevel(ctx); err != nil {
		var ge *gitError
		if errors.As(err, &ge) && ge.timedOut > 0 {
			return d.all("Git did not answer (%v)", err)
		}
		return d.all("%s is not a git checkout (%v)", describeDir(d.o.Dir), err)
	}
	head, ok, err := git.commit(ctx, "HEAD")
	switch {
	case err != nil:
		return d.all("Git cannot read HEAD (%v)", err)
	case !ok:
		return d.all("HEAD has no commit yet")
	}
	d.head = head

	// Rule 2: an explicit base.
	if ref, source := flagOrEnv(d.o.DiffBase, "--diff-base", d.o.Env.GitDiffBase, "BUILDKITE_GIT_DIFF_BASE"); ref != "" {
		branch, _ := strings.CutPrefix(ref, "origin/")
		if branch == ref {
			branch = "" // only origin/<branch> names something we know how to fetch
		}
		return d.sinceMergeBase(ctx, ref, branch, MethodDiffBase, source+"="+pipetext.Display(ref),
			fmt.Sprintf("Compared HEAD with its merge-base with %s (%s).", pipetext.Display(ref), source))
	}

	defaultBranch := d.o.Env.DefaultBranch()

	// Rule 3: a pull request is compared with the branch it merges into.
	if pr := d.o.Env.PullRequest; pr != "" && pr != "false" {
		base := d.o.Env.PullRequestBaseBranch
		if base == "" {
			d.note("BUILDKITE_PULL_REQUEST_BASE_BRANCH is not set: comparing with the default branch %s", pipetext.Display(defaultBranch))
			base = defaultBranch
		}
		origin := pipetext.Display("origin/" + base)
		return d.sinceMergeBase(ctx, "origin/"+base, base, MethodPullRequest, origin,
			fmt.Sprintf("Pull request #%s: compared HEAD with its merge-base with %s, the branch it merges into.", pipetext.Display(pr), origin))
	}

	// Rule 4: any other branch, or the default branch itself.
	branch := d.o.Env.Branch
	if branch == "" {
		branch = git.currentBranch(ctx)
	}
	if branch == defaultBranch {
		return d.onDefaultBranch(ctx, branch)
	}
	label := "Branch " + pipetext.Display(branch)
	if branch == "" {
		d.note("HEAD is detached and BUILDKITE_BRANCH is not set: treating this as a branch other than %s", pipetext.Display(defaultBranch))
		label = "Detached HEAD"
	}
	origin := pipetext.Display("origin/" + defaultBranch)
	return d.sinceMergeBase(ctx, "origin/"+defaultBranch, defaultBranch, MethodBranch, origin,
		fmt.Sprintf("%s: compared HEAD with its merge-base with %s, the pipeline's default branch.", label, origin))
}

func describeDir(dir string) string {
	if dir == "" {
		return "The working directory"
	}
	return pipetext.Display(dir)
}

// sinceMergeBase diffs HEAD against its merge-base with ref. branch, when
// not empty, is the remote branch that ref tracks, fetched if ref is missing.
// label is Result.Ref, and reason Result.Reason, both already for display.
func (d *detector) sinceMergeBase(ctx context.Context, ref, branch, method, label, reason string) Result {
	shown := pipetext.Display(ref)
	refSHA, ok, err := d.git.commit(ctx, ref)
	if err != nil {
		return d.all("Git cannot read %s (%v)", shown, err)
	}
	if !ok && branch != "" {
		// A single-branch or shallow clone often lacks the base branch.
		if err := d.fetchBranch(ctx, branch); err != nil {
			return d.all("%s is missing and fetching it failed (%v)", shown, err)
		}
		if refSHA, ok, err = d.git.commit(ctx, ref); err != nil {
			return d.all("Git cannot read %s (%v)", shown, err)
		}
	}
	if !ok {
		return d.all("Git does not know %s (%s)", shown, label)
	}

	var base string
	outcome, err := d.deepenUntil(ctx, "the merge-base of "+shown+" and HEAD", []string{refSHA, d.head},
		func() (found bool, err error) {
			base, found, err = d.git.mergeBase(ctx, refSHA, d.head)
			return found, err
		})
	switch {
	case err != nil:
		return d.all("The merge-base of %s and HEAD is unknown (%v)", shown, err)
	case outcome == gaveUp:
		return d.all("No merge-base of %s and HEAD within %d more commits of history", shown, d.deepenMax)
	case outcome == notInHistory:
		return d.all("%s and HEAD share no history (a force push, or unrelated branches)", shown)
	}
	if base == d.head {
		d.note("HEAD is already part of %s, so this build adds no commits of its own", shown)
	}
	return d.diff(ctx, base, method, label, reason)
}

// fetchBranch fetches origin's branch into origin/<branch>, only a little of
// it when the clone is shallow (deepening then goes further as needed).
func (d *detector) fetchBranch(ctx context.Context, branch string) error {
	shallow, err := d.git.isShallow(ctx)
	if err != nil {
		return err
	}
	args := []string{"origin", "+refs/heads/" + branch + ":refs/remotes/origin/" + branch}
	if shallow {
		args = append([]string{fmt.Sprintf("--depth=%d", d.deepenFirst)}, args...)
	}
	if err := d.git.fetch(ctx, args...); err != nil {
		return err
	}
	d.note("fetched %s, which this checkout did not have", pipetext.Display("origin/"+branch))
	return nil
}

// onDefaultBranch compares with the last passed build when Buildkite can
// tell us which it was, else with HEAD's first parent.
func (d *detector) onDefaultBranch(ctx context.Context, branch string) Result {
	if d.o.Builds != nil {
		if r, ok := d.sinceLastPassed(ctx, branch); ok {
			return r
		}
	}

	var parent string
	outcome, err := d.deepenUntil(ctx, "HEAD's parent", []string{d.head}, func() (ok bool, err error) {
		parent, ok, err = d.git.commit(ctx, d.head+"^1")
		return ok, err
	})
	switch {
	case err != nil:
		return d.all("HEAD's parent is unknown (%v)", err)
	case outcome == notInHistory:
		return d.all("HEAD is the first commit: it has no parent to compare with")
	case outcome == gaveUp:
		return d.all("HEAD's parent was not found within %d more commits of history", d.deepenMax)
	}
	return d.diff(ctx, parent, MethodDefaultBranchFirstParent, "HEAD^1",
		fmt.Sprintf("On the default branch %s: compared HEAD with its first parent.", pipetext.Display(branch)))
}

// sinceLastPassed diffs HEAD against the commit of the branch's last passed
// build. ok is false, with a note saying why, when that commit cannot be used.
func (d *detector) sinceLastPassed(ctx context.Context, branch string) (r Result, ok bool) {
	const fallback = "using HEAD's first parent"
	build, err := d.lastPassed(ctx, branch)
	switch {
	case err != nil:
		d.note("API: %v; %s", err, fallback)
		return Result{}, false
	case build.commit == "":
		d.note("API: no passed build of %s yet; %s", pipetext.Display(branch), fallback)
		return Result{}, false
	case !isFullSHA(build.commit):
		d.note("API: %s names commit %q, not a full sha; %s", build, build.commit, fallback)
		return Result{}, false
	}

	outcome, err := d.deepenUntil(ctx, "the commit of "+build.String(), []string{d.head}, func() (bool, error) {
		return d.git.isAncestor(ctx, build.commit, d.head)
	})
	switch {
	case err != nil:
		d.note("cannot tell whether %.12s of %s is an ancestor of HEAD (%v); %s", build.commit, build, err, fallback)
		return Result{}, false
	case outcome != found:
		d.note("the commit %.12s of %s is not an ancestor of HEAD (a force push?); %s", build.commit, build, fallback)
		return Result{}, false
	}
	which := "its last passed build"
	if build.number != 0 {
		which += ", " + build.String()
	}
	return d.diff(ctx, build.commit, MethodDefaultBranchLastPassed, build.String(),
		fmt.Sprintf("On the default branch %s: compared HEAD with %.12s, the commit of %s.", pipetext.Display(branch), build.commit, which)), true
}

// lastPassed asks Buildkite, within its own deadline whatever the finder does.
func (d *detector) lastPassed(ctx context.Context, branch string) (passedBuild, error) {
	ctx, cancel := context.WithTimeout(ctx, d.apiTimeout)
	defer cancel()
	if f, ok := d.o.Builds.(passedBuildFinder); ok {
		return f.lastPassedBuild(ctx, branch)
	}
	commit, err := d.o.Builds.LastPassedCommit(ctx, branch)
	return passedBuild{branch: branch, commit: commit}, err
}

func isFullSHA(s string) bool {
	if len(s) != 40 && len(s) != 64 { // SHA-1 or SHA-256 repositories
		return false
	}
	return strings.Trim(strings.ToLower(s), "0123456789abcdef") == ""
}

// diff finishes a successful detection.
func (d *detector) diff(ctx context.Context, base, method, ref, reason string) Result {
	files, err := d.git.changedFiles(ctx, base, d.head)
	if err != nil {
		return d.all("Git cannot list the changes since %.12s (%v)", base, err)
	}
	// A wrong prefix would match every path against the wrong directory.
	prefix, err := d.git.prefix(ctx)
	if err != nil {
		return d.all("Git cannot tell where %s is in the checkout (%v)", pipetext.Display(cmp.Or(d.o.Dir, ".")), err)
	}
	return Result{Files: files, Method: method, Base: base, Ref: ref, Reason: reason, Notes: d.notes, Prefix: prefix}
}

// outcome is how a search through a possibly shallow history ended.
type outcome int

const (
	found        outcome = iota
	notInHistory         // the history is whole and what we look for is not in it
	gaveUp               // the clone is still shallow, but we fetched as much as we allow
)

// deepenUntil calls check until it reports true, deepening a shallow clone
// between calls: deepenFirst commits first, four times more each time after,
// up to deepenMax in all. wants are the commits whose history is deepened.
func (d *detector) deepenUntil(ctx context.Context, what string, wants []string, check func() (bool, error)) (outcome, error) {
	fetched, step := 0, d.deepenFirst
	for {
		ok, err := check()
		if err != nil {
			return 0, err
		}
		if ok {
			if fetched > 0 {
				d.note("deepened the shallow clone by %d commits to find %s", fetched, what)
			}
			return found, nil
		}
		shallow, err := d.git.isShallow(ctx)
		if err != nil {
			return 0, err
		}
		if !shallow {
			return notInHistory, nil
		}
		if fetched >= d.deepenMax {
			return gaveUp, nil
		}
		step = min(step, d.deepenMax-fetched)
		args := append([]string{fmt.Sprintf("--deepen=%d", step), "origin"}, wants...)
		if err := d.git.fetch(ctx, args...); err != nil {
			return 0, fmt.Errorf("fetching more history failed: %w", err)
		}
		fetched += step
		step *= 4
	}
}

// flagOrEnv is the value of a flag, else of the variable the agent sets
// for it, with the name of the one it came from; "", "" when neither is set.
func flagOrEnv(flag, flagName, env, envName string) (value, source string) {
	switch {
	case flag != "":
		return flag, flagName
	case env != "":
		return env, envName
	}
	return "", ""
}

// openList opens a list of changed paths. One inside the repository may be
// a symlink the repository commits: it is followed only while it stays
// inside, so the list cannot be a device or a file elsewhere on the agent.
func (d *detector) openList(name string) (*os.File, error) {
	root, err1 := filepath.Abs(d.o.Dir)
	abs, err2 := filepath.Abs(name)
	if err1 == nil && err2 == nil {
		if rel, err := filepath.Rel(root, abs); err == nil && rel != "." && !strings.HasPrefix(rel, ".."+string(filepath.Separator)) && rel != ".." {
			r, err := inroot.Resolve(root, filepath.ToSlash(rel))
			if err != nil {
				return nil, err
			}
			name = filepath.Join(root, filepath.FromSlash(r.Path))
		}
	}
	return os.Open(name)
}

// fromList applies rule 1. Only the flag reads stdin for "-": an environment
// variable names a file.
func (d *detector) fromList(path, source string) Result {
	var (
		files []string
		err   error
		where = "in " + pipetext.Display(path)
	)
	switch {
	case path == "-" && source == "--changed-files":
		where = "on stdin"
		if d.o.Stdin == nil {
			return d.all("The changed files were to be read from stdin (--changed-files -), but there is no stdin")
		}
		files, err = readList(d.o.Stdin)
	default:
		var f *os.File
		if f, err = d.openList(path); err == nil {
			files, err = readList(f)
			f.Close()
		}
	}
	if err != nil {
		return d.all("The list of changed files cannot be read (%s)", pipetext.Display(err.Error()))
	}
	return Result{
		Files:  files,
		Method: MethodChangedFiles,
		Ref:    source + "=" + pipetext.Display(path),
		Reason: fmt.Sprintf("Took the %s listed %s (%s), without running git.", plural.Count(len(files), "changed path"), where, source),
		Notes:  d.notes,
	}
}
