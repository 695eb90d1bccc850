package changes

import (
	"context"
	"net/http"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/bkgen/bkgen/internal/fakebin"
	"github.com/bkgen/bkgen/internal/pipetest"
)

// Each test builds the history it describes with real git, then asks Detect
// the question a build on it would ask.

func TestFeatureBranch(t *testing.T) {
	t.Parallel()
	r := newRepo(t)
	base := r.commit("initial", "README.md", "app/main.go", "docs/guide.md")
	r.push("main")
	r.git("switch", "--quiet", "-c", "feature")
	r.commit("work", "app/main.go", "app/new.go")
	r.commit("more work", "docs/guide.md")

	t.Run("BUILDKITE_BRANCH", func(t *testing.T) {
		got := detect(t, Options{Dir: r.dir, Env: env("BUILDKITE_BRANCH=feature")})
		checkFiles(t, got, want{
			Files: []string{"app/main.go", "app/new.go", "docs/guide.md"}, Method: "branch", Base: base, Ref: "origin/main",
		})
	})
	t.Run("local current branch", func(t *testing.T) {
		got := detect(t, Options{Dir: r.dir})
		checkFiles(t, got, want{
			Files: []string{"app/main.go", "app/new.go", "docs/guide.md"}, Method: "branch", Base: base, Ref: "origin/main",
		})
	})
	t.Run("another default branch", func(t *testing.T) {
		r.git("branch", "develop", base)
		r.push("develop")
		got := detect(t, Options{Dir: r.dir, Env: env("BUILDKITE_BRANCH=feature", "BUILDKITE_PIPELINE_DEFAULT_BRANCH=develop")})
		checkFiles(t, got, want{
			Files: []string{"app/main.go", "app/new.go", "docs/guide.md"}, Method: "branch", Base: base, Ref: "origin/develop",
		})
	})
}

func TestBranchAlreadyInDefaultBranch(t *testing.T) {
	t.Parallel()
	r := newRepo(t)
	r.commit("initial", "a.txt")
	r.push("main")
	r.git("switch", "--quiet", "-c", "release")

	// The branch adds nothing of its own: that is exact, not a guess, but worth saying.
	got := detect(t, Options{Dir: r.dir, Env: env("BUILDKITE_BRANCH=release")})
	checkFiles(t, got, want{Files: []string{}, Method: "branch", Base: r.head()})
	hasNote(t, got, "adds no commits of its own")
}

func TestPullRequestAfterBaseMovedOn(t *testing.T) {
	t.Parallel()
	r := newRepo(t)
	forkPoint := r.commit("initial", "api/server.go", "web/index.html")
	r.git("switch", "--quiet", "-c", "feature")
	r.commit("feature", "api/server.go", "api/handler.go")
	r.git("switch", "--quiet", "main")
	r.commit("main moves on", "web/index.html", "web/style.css")
	r.git("branch", "release", forkPoint)
	r.push("main", "feature", "release")
	r.git("switch", "--quiet", "feature")

	prEnv := []string{"BUILDKITE_BRANCH=feature", "BUILDKITE_PULL_REQUEST=42", "BUILDKITE_PIPELINE_DEFAULT_BRANCH=main"}

	t.Run("into main", func(t *testing.T) {
		got := detect(t, Options{Dir: r.dir, Env: env(append(prEnv, "BUILDKITE_PULL_REQUEST_BASE_BRANCH=main")...)})
		// The merge-base, not origin/main's tip: web/* changed on main, not in the pull request.
		checkFiles(t, got, want{Files: []string{"api/handler.go", "api/server.go"}, Method: "pull-request", Base: forkPoint, Ref: "origin/main"})
		if !strings.Contains(got.Reason, "#42") {
			t.Errorf("Reason = %q, want it to name the pull request", got.Reason)
		}
	})
	t.Run("into a branch other than the default", func(t *testing.T) {
		got := detect(t, Options{Dir: r.dir, Env: env(append(prEnv, "BUILDKITE_PULL_REQUEST_BASE_BRANCH=release")...)})
		checkFiles(t, got, want{Files: []string{"api/handler.go", "api/server.go"}, Method: "pull-request", Base: forkPoint, Ref: "origin/release"})
	})
	t.Run("not a pull request", func(t *testing.T) {
		got := detect(t, Options{Dir: r.dir, Env: env("BUILDKITE_BRANCH=feature", "BUILDKITE_PULL_REQUEST=false", "BUILDKITE_PULL_REQUEST_BASE_BRANCH=release")})
		checkFiles(t, got, want{Files: []string{"api/handler.go", "api/server.go"}, Method: "branch", Ref: "origin/main"})
	})
}

func TestDefaultBranchMergeCommit(t *testing.T) {
	t.Parallel()
	r := newRepo(t)
	r.commit("initial", "a/one.txt", "b/two.txt")
	r.git("switch", "--quiet", "-c", "feature")
	r.commit("feature 1", "a/one.txt")
	r.commit("feature 2", "a/three.txt")
	r.git("switch", "--quiet", "main")
	beforeMerge := r.commit("main moves on", "b/two.txt")
	r.git("merge", "--quiet", "--no-ff", "-m", "Merge feature", "feature")
	r.push("main")

	got := detect(t, Options{Dir: r.dir, Env: env("BUILDKITE_BRANCH=main")})
	// The first parent is main before the merge: the merge brings the feature's files only.
	checkFiles(t, got, want{Files: []string{"a/one.txt", "a/three.txt"}, Method: "default-branch-first-parent", Base: beforeMerge, Ref: "HEAD^1"})
}

func TestDefaultBranchSquashMerge(t *testing.T) {
	t.Parallel()
	r := newRepo(t)
	base := r.commit("initial", "a/one.txt", "b/two.txt")
	r.git("switch", "--quiet", "-c", "feature")
	r.commit("feature 1", "a/one.txt")
	r.commit("feature 2", "a/three.txt")
	r.git("switch", "--quiet", "main")
	r.git("merge", "--quiet", "--squash", "feature")
	r.git("commit", "--quiet", "-m", "Squashed feature")
	r.push("main")

	got := detect(t, Options{Dir: r.dir, Env: env("BUILDKITE_BRANCH=main")})
	checkFiles(t, got, want{Files: []string{"a/one.txt", "a/three.txt"}, Method: "default-branch-first-parent", Base: base})
}

func TestDefaultBranchSeveralCommitsPushedAtOnce(t *testing.T) {
	t.Parallel()
	r := newRepo(t)
	r.commit("initial", "x.txt")
	lastPassed := r.commit("built and passed", "y.txt")
	r.commit("one", "svc/a.go")
	r.commit("two", "svc/b.go")
	r.commit("three", "docs/c.md")
	r.push("main")

	api := fakeBuildkite(t, func(t *testing.T, w http.ResponseWriter, r *http.Request) {
		writeBuilds(t, w, buildJSON(1312, lastPassed, "main"))
	})
	finder := newFinder(t, api, time.Second)

	got := detect(t, Options{Dir: r.dir, Env: env("BUILDKITE_BRANCH=main"), Builds: finder})
	// Everything since the last passed build, not only HEAD's own commit.
	checkFiles(t, got, want{
		Files: []string{"docs/c.md", "svc/a.go", "svc/b.go"}, Method: "default-branch-last-passed", Base: lastPassed, Ref: "build #1312",
	})

	t.Run("any LastPassedFinder", func(t *testing.T) {
		got := detect(t, Options{Dir: r.dir, Env: env("BUILDKITE_BRANCH=main"), Builds: fixedCommit(lastPassed)})
		checkFiles(t, got, want{Files: []string{"docs/c.md", "svc/a.go", "svc/b.go"}, Method: "default-branch-last-passed", Base: lastPassed})
	})
	t.Run("last passed build is HEAD", func(t *testing.T) {
		got := detect(t, Options{Dir: r.dir, Env: env("BUILDKITE_BRANCH=main"), Builds: fixedCommit(r.head())})
		checkFiles(t, got, want{Files: []string{}, Method: "default-branch-last-passed", Base: r.head()})
	})
}

// fixedCommit is a LastPassedFinder that always knows the answer.
type fixedCommit string

func (c fixedCommit) LastPassedCommit(context.Context, string) (string, error) { return string(c), nil }

func TestFirstCommit(t *testing.T) {
	t.Parallel()
	r := newRepo(t)
	r.commit("the very first", "a.txt")
	r.push("main")

	got := detect(t, Options{Dir: r.dir, Env: env("BUILDKITE_BRANCH=main")})
	checkAll(t, got, "first commit")

	t.Run("shallow clone of it", func(t *testing.T) {
		c := r.clone("--depth", "1")
		got := detect(t, Options{Dir: c.dir, Env: env("BUILDKITE_BRANCH=main")})
		checkAll(t, got, "first commit")
	})
}

func TestNoCommitYet(t *testing.T) {
	t.Parallel()
	r := newRepo(t)
	got := detect(t, Options{Dir: r.dir, Env: env("BUILDKITE_BRANCH=main")})
	checkAll(t, got, "HEAD has no commit")
}

func TestShallowCloneMissingItsBase(t *testing.T) {
	t.Parallel()
	r := newRepo(t)
	// More history than the first deepening fetches, to show it stays bounded.
	for range 100 {
		r.git("commit", "--quiet", "--allow-empty", "-m", "ancient history")
	}
	for range 20 {
		r.commit("main", "main.txt")
	}
	forkPoint := r.head()
	r.git("switch", "--quiet", "-c", "feature")
	for range 5 {
		r.commit("feature", "feature/code.go")
	}
	r.git("switch", "--quiet", "main")
	for range 10 {
		r.commit("main later", "later.txt")
	}
	r.push("main", "feature")

	t.Run("feature branch", func(t *testing.T) {
		// Like an agent's --depth 1 clone of the branch: no origin/main, no history.
		c := r.clone("--depth", "1", "--branch", "feature")
		got := detect(t, Options{Dir: c.dir, Env: env("BUILDKITE_BRANCH=feature")})
		checkFiles(t, got, want{Files: []string{"feature/code.go"}, Method: "branch", Base: forkPoint, Ref: "origin/main"})
		hasNote(t, got, "fetched origin/main")
		hasNote(t, got, "deepened the shallow clone")
		if shallow := c.git("rev-parse", "--is-shallow-repository"); shallow != "true" {
			t.Errorf("the clone was unshallowed (is-shallow-repository = %s); deepening should be bounded", shallow)
		}
	})
	t.Run("default branch first parent", func(t *testing.T) {
		c := r.clone("--depth", "1", "--branch", "main")
		got := detect(t, Options{Dir: c.dir, Env: env("BUILDKITE_BRANCH=main")})
		checkFiles(t, got, want{Files: []string{"later.txt"}, Method: "default-branch-first-parent"})
		hasNote(t, got, "HEAD's parent")
	})
	t.Run("default branch last passed", func(t *testing.T) {
		c := r.clone("--depth", "1", "--branch", "main")
		got := detect(t, Options{Dir: c.dir, Env: env("BUILDKITE_BRANCH=main"), Builds: fixedCommit(forkPoint)})
		checkFiles(t, got, want{Files: []string{"later.txt"}, Method: "default-branch-last-passed", Base: forkPoint})
	})
	t.Run("deepening is bounded", func(t *testing.T) {
		c := r.clone("--depth", "1", "--branch", "feature")
		d := &detector{
			o:          Options{Dir: c.dir, Env: env("BUILDKITE_BRANCH=feature")},
			gitTimeout: gitTimeout, fetchTimeout: fetchTimeout, apiTimeout: apiTimeout,
			deepenFirst: 2, deepenMax: 6, // the fork point is 6 commits below the feature's tip
		}
		got := d.detect(context.Background())
		checkAll(t, got, "within 6 more commits")
	})
}

func TestForcePush(t *testing.T) {
	t.Parallel()

	t.Run("default branch: last passed commit no longer an ancestor", func(t *testing.T) {
		t.Parallel()
		r := newRepo(t)
		r.commit("initial", "a.txt")
		r.push("main")
		gone := r.commit("later rewritten", "b.txt")
		r.push("main")
		r.git("reset", "--quiet", "--hard", "HEAD~1")
		parent := r.commit("rewritten", "c.txt")
		r.commit("new tip", "d.txt")
		r.push("main")

		for name, dir := range map[string]string{"commit still here": r.dir, "fresh clone": r.clone().dir} {
			t.Run(name, func(t *testing.T) {
				got := detect(t, Options{Dir: dir, Env: env("BUILDKITE_BRANCH=main"), Builds: fixedCommit(gone)})
				checkFiles(t, got, want{Files: []string{"d.txt"}, Method: "default-branch-first-parent", Base: parent})
				hasNote(t, got, "not an ancestor of HEAD")
			})
		}
	})
	t.Run("branch: origin/main rewritten with no shared history", func(t *testing.T) {
		t.Parallel()
		r := newRepo(t)
		r.commit("initial", "a.txt")
		r.push("main")
		r.git("switch", "--quiet", "-c", "feature")
		r.commit("feature", "f.txt")
		r.git("switch", "--quiet", "--orphan", "rewrite")
		r.commit("a new beginning", "z.txt")
		r.push("+rewrite:main")
		r.git("switch", "--quiet", "feature")

		got := detect(t, Options{Dir: r.dir, Env: env("BUILDKITE_BRANCH=feature")})
		checkAll(t, got, "share no history")
	})
}

func TestDetachedHead(t *testing.T) {
	t.Parallel()
	r := newRepo(t)
	base := r.commit("initial", "a.txt")
	r.push("main")
	r.git("switch", "--quiet", "-c", "feature")
	r.commit("feature", "b.txt")
	r.push("feature")
	r.git("switch", "--quiet", "--detach", "feature") // as the agent checks out a commit

	t.Run("BUILDKITE_BRANCH given", func(t *testing.T) {
		got := detect(t, Options{Dir: r.dir, Env: env("BUILDKITE_BRANCH=feature")})
		checkFiles(t, got, want{Files: []string{"b.txt"}, Method: "branch", Base: base})
	})
	t.Run("BUILDKITE_BRANCH is the default branch", func(t *testing.T) {
		got := detect(t, Options{Dir: r.dir, Env: env("BUILDKITE_BRANCH=main")})
		checkFiles(t, got, want{Files: []string{"b.txt"}, Method: "default-branch-first-parent", Base: base})
	})
	t.Run("no branch known", func(t *testing.T) {
		got := detect(t, Options{Dir: r.dir})
		checkFiles(t, got, want{Files: []string{"b.txt"}, Method: "branch", Base: base})
		hasNote(t, got, "detached")
	})
}

func TestRenameOutOfWatchedDirectory(t *testing.T) {
	t.Parallel()
	r := newRepo(t)
	r.commit("initial", "watched/config.yml", "watched/keep.txt")
	r.push("main")
	r.git("switch", "--quiet", "-c", "feature")
	if err := os.Mkdir(filepath.Join(r.dir, "elsewhere"), 0o755); err != nil {
		t.Fatal(err)
	}
	r.git("mv", "watched/config.yml", "elsewhere/config.yml")
	r.git("commit", "--quiet", "-m", "move it out")

	got := detect(t, Options{Dir: r.dir, Env: env("BUILDKITE_BRANCH=feature")})
	// Both paths: a step watching watched/** must notice its file left.
	checkFiles(t, got, want{Files: []string{"elsewhere/config.yml", "watched/config.yml"}, Method: "branch"})
}

func TestDeletion(t *testing.T) {
	t.Parallel()
	r := newRepo(t)
	r.commit("initial", "svc/old.go", "svc/main.go")
	r.push("main")
	r.git("switch", "--quiet", "-c", "feature")
	r.git("rm", "--quiet", "svc/old.go")
	r.git("commit", "--quiet", "-m", "delete")

	got := detect(t, Options{Dir: r.dir, Env: env("BUILDKITE_BRANCH=feature")})
	checkFiles(t, got, want{Files: []string{"svc/old.go"}, Method: "branch"})
}

func TestUnusualPaths(t *testing.T) {
	t.Parallel()
	names := []string{
		"dir with spaces/file name.txt",
		"naïve/日本語.txt",
		`quote"d and 'apostrophe'.txt`,
		"tab\there.txt",
		"new\nline.txt",
		" leading space.txt",
		"trailing space.txt ",
		`back\slash.txt`,
	}
	r := newRepo(t)
	r.commit("initial", "plain.txt")
	r.push("main")
	r.git("switch", "--quiet", "-c", "feature")
	r.commit("unusual", names...)

	got := detect(t, Options{Dir: r.dir, Env: env("BUILDKITE_BRANCH=feature")})
	checkFiles(t, got, want{Files: slices.Sorted(slices.Values(names)), Method: "branch"})
}

func TestSubdirectory(t *testing.T) {
	t.Parallel()
	r := newRepo(t)
	r.commit("initial", "services/api/main.go", "README.md")
	r.push("main")
	r.git("switch", "--quiet", "-c", "feature")
	r.commit("change", "services/api/main.go", "README.md")
	sub := filepath.Join(r.dir, "services", "api")

	got := detect(t, Options{Dir: sub, Env: env("BUILDKITE_BRANCH=feature")})
	// Relative to the top level, like the agent, whatever Dir is.
	checkFiles(t, got, want{Files: []string{"README.md", "services/api/main.go"}, Method: "branch"})

	if got.Prefix != "services/api" {
		t.Errorf("Prefix = %q, want services/api", got.Prefix)
	}
	if got := detect(t, Options{Dir: r.dir, Env: env("BUILDKITE_BRANCH=feature")}); got.Prefix != "" {
		t.Errorf("at the top: Prefix = %q, want none", got.Prefix)
	}
}

func TestGitUnavailable(t *testing.T) {
	t.Parallel()
	r := newRepo(t)
	r.commit("initial", "a.txt")

	got := detect(t, Options{Dir: r.dir, Git: filepath.Join(t.TempDir(), "no-such-git"), Env: env("BUILDKITE_BRANCH=main")})
	checkAll(t, got, "Git cannot be run")
}

// Not parallel: it empties PATH for the whole process.
func TestNoGitOnPath(t *testing.T) {
	r := newRepo(t)
	r.commit("initial", "a.txt")
	t.Setenv("PATH", "")

	got := detect(t, Options{Dir: r.dir, Env: env("BUILDKITE_BRANCH=main")})
	checkAll(t, got, "Git cannot be run")
}

func TestNotACheckout(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	got := detect(t, Options{Dir: dir, Env: env("BUILDKITE_BRANCH=main")})
	checkAll(t, got, "not a git checkout")

	t.Run("bare repository", func(t *testing.T) {
		r := newRepo(t)
		got := detect(t, Options{Dir: filepath.Join(filepath.Dir(r.dir), "origin.git")})
		checkAll(t, got, "not a git checkout")
	})
}

func TestFetchFails(t *testing.T) {
	t.Parallel()
	r := newRepo(t)
	r.commit("initial", "a.txt")
	r.git("switch", "--quiet", "-c", "feature")
	r.commit("feature", "b.txt")
	// Never pushed, and then the remote is gone: origin/main cannot be had.
	r.git("remote", "set-url", "origin", filepath.Join(t.TempDir(), "nowhere.git"))

	got := detect(t, Options{Dir: r.dir, Env: env("BUILDKITE_BRANCH=feature")})
	checkAll(t, got, "fetching it failed")
}

func TestChangedFilesList(t *testing.T) {
	t.Parallel()
	const list = "app/main.go\n\n  spaced name.txt  \n \t \ndocs/guide.md\napp/main.go\nlast line without newline"
	wantFiles := []string{"app/main.go", "  spaced name.txt  ", "docs/guide.md", "app/main.go", "last line without newline"}
	path := filepath.Join(t.TempDir(), "changed.txt")
	if err := os.WriteFile(path, []byte(list), 0o644); err != nil {
		t.Fatal(err)
	}
	// No git and no checkout: rule 1 must not need either.
	noGit := filepath.Join(t.TempDir(), "no-such-git")
	notRepo := t.TempDir()

	t.Run("file", func(t *testing.T) {
		got := detect(t, Options{Dir: notRepo, Git: noGit, ChangedFilesPath: path})
		checkFiles(t, got, want{Files: wantFiles, Method: "changed-files", Ref: "--changed-files=" + path})
	})
	t.Run("stdin", func(t *testing.T) {
		got := detect(t, Options{Dir: notRepo, Git: noGit, ChangedFilesPath: "-", Stdin: strings.NewReader(list)})
		checkFiles(t, got, want{Files: wantFiles, Method: "changed-files", Ref: "--changed-files=-"})
	})
	t.Run("BUILDKITE_CHANGED_FILES_PATH", func(t *testing.T) {
		got := detect(t, Options{Dir: notRepo, Git: noGit, Env: env("BUILDKITE_CHANGED_FILES_PATH=" + path)})
		checkFiles(t, got, want{Files: wantFiles, Method: "changed-files", Ref: "BUILDKITE_CHANGED_FILES_PATH=" + path})
	})
	t.Run("flag wins over the environment", func(t *testing.T) {
		got := detect(t, Options{Dir: notRepo, Git: noGit, ChangedFilesPath: "-", Stdin: strings.NewReader("only.txt\n"),
			Env: env("BUILDKITE_CHANGED_FILES_PATH=" + path)})
		checkFiles(t, got, want{Files: []string{"only.txt"}, Method: "changed-files"})
	})
	t.Run("empty list", func(t *testing.T) {
		got := detect(t, Options{Dir: notRepo, Git: noGit, ChangedFilesPath: "-", Stdin: strings.NewReader("\n\n")})
		checkFiles(t, got, want{Files: []string{}, Method: "changed-files"})
	})
	t.Run("missing file", func(t *testing.T) {
		got := detect(t, Options{Dir: notRepo, Git: noGit, ChangedFilesPath: filepath.Join(notRepo, "nope.txt")})
		checkAll(t, got, "cannot be read")
	})
	t.Run("stdin wanted but none given", func(t *testing.T) {
		got := detect(t, Options{Dir: notRepo, Git: noGit, ChangedFilesPath: "-"})
		checkAll(t, got, "no stdin")
	})
}

func TestDiffBase(t *testing.T) {
	t.Parallel()
	r := newRepo(t)
	r.commit("initial", "a.txt")
	tagged := r.commit("release", "b.txt")
	r.git("tag", "v1.2")
	r.push("main")
	r.commit("after the release", "c.txt")
	r.git("switch", "--quiet", "-c", "feature")
	r.commit("feature", "d.txt")

	// Even on a pull request build, an explicit base comes first.
	prEnv := []string{"BUILDKITE_BRANCH=feature", "BUILDKITE_PULL_REQUEST=7", "BUILDKITE_PULL_REQUEST_BASE_BRANCH=main"}

	t.Run("BUILDKITE_GIT_DIFF_BASE", func(t *testing.T) {
		got := detect(t, Options{Dir: r.dir, Env: env(append(prEnv, "BUILDKITE_GIT_DIFF_BASE=v1.2")...)})
		checkFiles(t, got, want{Files: []string{"c.txt", "d.txt"}, Method: "diff-base", Base: tagged, Ref: "BUILDKITE_GIT_DIFF_BASE=v1.2"})
	})
	t.Run("--diff-base wins over the environment", func(t *testing.T) {
		got := detect(t, Options{Dir: r.dir, DiffBase: "main", Env: env(append(prEnv, "BUILDKITE_GIT_DIFF_BASE=v1.2")...)})
		checkFiles(t, got, want{Files: []string{"d.txt"}, Method: "diff-base", Ref: "--diff-base=main"})
	})
	t.Run("unknown ref", func(t *testing.T) {
		got := detect(t, Options{Dir: r.dir, Env: env(append(prEnv, "BUILDKITE_GIT_DIFF_BASE=v9.9")...)})
		checkAll(t, got, "v9.9")
	})
	t.Run("ref that looks like an option", func(t *testing.T) {
		got := detect(t, Options{Dir: r.dir, DiffBase: "--output=/tmp/x"})
		checkAll(t, got, "does not know")
	})
	t.Run("missing remote branch is fetched", func(t *testing.T) {
		r.git("branch", "release", tagged)
		r.push("release")
		r.git("update-ref", "-d", "refs/remotes/origin/release")
		got := detect(t, Options{Dir: r.dir, DiffBase: "origin/release"})
		checkFiles(t, got, want{Files: []string{"c.txt", "d.txt"}, Method: "diff-base", Base: tagged})
		hasNote(t, got, "fetched origin/release")
	})
}

func TestGitTimeout(t *testing.T) {
	t.Parallel()
	r := newRepo(t)
	r.commit("initial", "a.txt")
	// A "git" that never answers stands for one stuck on a lock or a remote.
	slow := filepath.Join(t.TempDir(), "git")
	fakebin.Write(t, slow, "#!/bin/sh\nexec sleep 30\n")
	d := &detector{o: Options{Dir: r.dir, Git: slow}, gitTimeout: 200 * time.Millisecond}
	start := time.Now()
	got := d.detect(context.Background())
	checkAll(t, got, "no answer within 200ms")
	if took := time.Since(start); took > 10*time.Second {
		t.Errorf("took %s despite the timeout", took)
	}
}

// TestHostileTextInReasons: branch names, refs and file names come from the
// pull request or the job's environment; whatever they hold, the reason, the
// ref and the notes stay plain lines that cannot forge a log line.
func TestHostileTextInReasons(t *testing.T) {
	t.Parallel()
	r := newRepo(t)
	r.commit("initial", "a.txt")
	r.push("main")
	r.git("switch", "--quiet", "-c", "feature")
	r.commit("feature", "b.txt")
	const forged = "\n--- forged\x1b[31m\r"
	list := filepath.Join(t.TempDir(), "list"+forged)
	if err := os.WriteFile(list, []byte("b.txt\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	for name, o := range map[string]Options{
		"branch":          {Dir: r.dir, Env: env("BUILDKITE_BRANCH=feat" + forged)},
		"default branch":  {Dir: r.dir, Env: env("BUILDKITE_BRANCH=feature", "BUILDKITE_PIPELINE_DEFAULT_BRANCH=dev"+forged)},
		"pull request":    {Dir: r.dir, Env: env("BUILDKITE_PULL_REQUEST=7"+forged, "BUILDKITE_PULL_REQUEST_BASE_BRANCH=ma"+forged)},
		"no base branch":  {Dir: r.dir, Env: env("BUILDKITE_PULL_REQUEST=7", "BUILDKITE_PIPELINE_DEFAULT_BRANCH=dev"+forged)},
		"diff base":       {Dir: r.dir, DiffBase: "v1" + forged},
		"diff base env":   {Dir: r.dir, Env: env("BUILDKITE_GIT_DIFF_BASE=origin/x" + forged)},
		"list":            {Dir: r.dir, ChangedFilesPath: list},
		"missing list":    {Dir: r.dir, ChangedFilesPath: list + "x"},
		"not a checkout":  {Dir: t.TempDir() + forged},
		"default on HEAD": {Dir: r.dir, Env: env("BUILDKITE_BRANCH=main"+forged, "BUILDKITE_PIPELINE_DEFAULT_BRANCH=main"+forged)},
	} {
		t.Run(name, func(t *testing.T) {
			if name == "not a checkout" {
				if err := os.MkdirAll(o.Dir, 0o755); err != nil {
					t.Fatal(err)
				}
			}
			got := detect(t, o)
			for _, text := range append([]string{got.Reason, got.Ref}, got.Notes...) {
				if err := pipetest.Plain(text); err != nil {
					t.Errorf("%q %v", text, err)
				}
			}
		})
	}
}

// TestHostileChangedFilesList checks a list of changed files inside the
// checkout that the repository makes a symlink to a device or a file
// elsewhere is not read: everything counts as changed, and nothing of the
// target reaches a reason.
func TestHostileChangedFilesList(t *testing.T) {
	noGit := filepath.Join(t.TempDir(), "no-such-git")
	dir := t.TempDir()
	secret := filepath.Join(t.TempDir(), "id_ed25519")
	if err := os.WriteFile(secret, []byte("PRIVATE KEY\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	for name, target := range map[string]string{"zero.txt": "/dev/zero", "key.txt": secret, "up.txt": "../outside.txt"} {
		if err := os.Symlink(target, filepath.Join(dir, name)); err != nil {
			t.Fatal(err)
		}
		got := detect(t, Options{Dir: dir, Git: noGit, ChangedFilesPath: filepath.Join(dir, name)})
		if !got.All || strings.Contains(got.Reason, "PRIVATE") || !strings.Contains(got.Reason, "outside the repository") {
			t.Errorf("%s -> %s: %+v", name, target, got)
		}
	}
	// A list outside the checkout, as the agent writes it, is read as it is.
	list := filepath.Join(t.TempDir(), "changed.txt")
	if err := os.WriteFile(list, []byte("a.go\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	if got := detect(t, Options{Dir: dir, Git: noGit, ChangedFilesPath: list}); got.All || len(got.Files) != 1 {
		t.Errorf("outside list: %+v", got)
	}
}
