package changes

import (
	"context"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/bkgen/bkgen/buildenv"
	"github.com/google/go-cmp/cmp"
)

// Each test builds, with real git, a history on which the agent's rules
// (AgentResult) and bkgen's (Detect) answer differently, and checks both.

func agent(t *testing.T, dir string, b buildenv.Build) AgentResult {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	a := Agent(ctx, AgentOptions{Dir: dir, Env: b})
	t.Logf("agent: %+v", a)
	return a
}

// checkAgent asserts the agent applies if_changed to exactly files, found
// the way method says.
func checkAgent(t *testing.T, got AgentResult, method string, files ...string) {
	t.Helper()
	if !got.Apply {
		t.Fatalf("the agent applies no if_changed (%s), want %q", got.Reason, files)
	}
	if got.Method != method {
		t.Errorf("Method = %q, want %q", got.Method, method)
	}
	if diff := cmp.Diff(files, got.Files, cmpEmpty); diff != "" {
		t.Errorf("Files (-want +got):\n%s", diff)
	}
	if got.Reason == "" {
		t.Error("no Reason")
	}
}

// checkAgentOff asserts the agent applies no if_changed, for the reason given.
func checkAgentOff(t *testing.T, got AgentResult, reasonHas string) {
	t.Helper()
	if got.Apply || got.Files != nil {
		t.Fatalf("the agent applies if_changed to %q (%s), want it off", got.Files, got.Reason)
	}
	if !strings.Contains(got.Reason, reasonHas) {
		t.Errorf("Reason = %q, want it to mention %q", got.Reason, reasonHas)
	}
}

var cmpEmpty = cmp.Comparer(func(a, b []string) bool {
	if len(a) == 0 && len(b) == 0 {
		return true
	}
	return cmp.Equal([]string(a), []string(b))
})

// origin/main has moved past HEAD (a build of an older commit of main, or a
// checkout whose origin/main was fetched later): the merge-base is HEAD
// itself, so the agent sees only the working tree's changes, here none, and
// skips every step with if_changed; bkgen compares HEAD with its parent.
func TestAgentDefaultBranchBehindOrigin(t *testing.T) {
	t.Parallel()
	r := newRepo(t)
	r.commit("initial", "a/x.go", "b/y.go")
	built := r.commit("the build's commit", "a/x.go")
	r.commit("main moves on", "b/y.go")
	r.push("main")
	r.git("checkout", "--quiet", "--detach", built)

	b := env("BUILDKITE_BRANCH=main", "BUILDKITE_PIPELINE_DEFAULT_BRANCH=main")
	a := agent(t, r.dir, b)
	checkAgent(t, a, AgentMergeBase)
	if a.MergeBase != built {
		t.Errorf("MergeBase = %s, want HEAD %s", a.MergeBase, built)
	}
	checkFiles(t, detect(t, Options{Dir: r.dir, Env: b}), want{Files: []string{"a/x.go"}, Method: MethodDefaultBranchFirstParent})
}

// A branch with no commits of its own: origin/main is HEAD, so the agent
// takes HEAD's own change (the last commit of main); bkgen finds nothing.
func TestAgentBranchWithoutCommits(t *testing.T) {
	t.Parallel()
	r := newRepo(t)
	r.commit("initial", "a/x.go", "b/y.go")
	r.commit("last of main", "b/y.go")
	r.push("main")
	r.git("switch", "--quiet", "-c", "release")

	b := env("BUILDKITE_BRANCH=release")
	checkAgent(t, agent(t, r.dir, b), AgentFirstParent, "b/y.go")
	checkFiles(t, detect(t, Options{Dir: r.dir, Env: b}), want{Files: []string{}, Method: MethodBranch})
}

// BUILDKITE_GIT_DIFF_BASE naming HEAD: by name or sha the agent takes
// HEAD's own change; an annotated tag on HEAD rev-parses to the tag, not
// HEAD, so the agent diffs from the merge-base (HEAD) and sees nothing.
func TestAgentDiffBaseIsHead(t *testing.T) {
	t.Parallel()
	r := newRepo(t)
	r.commit("initial", "a/x.go", "b/y.go")
	head := r.commit("work", "a/x.go")
	r.git("tag", "-a", "-m", "release", "v1")
	r.git("tag", "light")

	for _, base := range []string{"HEAD", head, "light"} {
		t.Run(base, func(t *testing.T) {
			checkAgent(t, agent(t, r.dir, env("BUILDKITE_GIT_DIFF_BASE="+base)), AgentFirstParent, "a/x.go")
		})
	}
	t.Run("annotated tag", func(t *testing.T) {
		a := agent(t, r.dir, env("BUILDKITE_GIT_DIFF_BASE=v1"))
		checkAgent(t, a, AgentMergeBase)
		if a.MergeBase != head {
			t.Errorf("MergeBase = %s, want HEAD", a.MergeBase)
		}
		// bkgen resolves the tag to its commit, and finds nothing either.
		checkFiles(t, detect(t, Options{Dir: r.dir, Env: env("BUILDKITE_GIT_DIFF_BASE=v1")}), want{Files: []string{}, Method: MethodDiffBase})
	})
}

// A rename: the agent lists only the new path (git's rename detection is
// on), so a step watching the old directory is skipped; bkgen counts both.
func TestAgentRenameAcrossContexts(t *testing.T) {
	t.Parallel()
	r := newRepo(t)
	r.commit("initial", "api/schema.json", "web/index.html")
	r.push("main")
	r.git("switch", "--quiet", "-c", "feature")
	r.git("mv", "api/schema.json", "web/schema.json")
	r.git("commit", "--quiet", "-m", "move")

	b := env("BUILDKITE_BRANCH=feature")
	checkAgent(t, agent(t, r.dir, b), AgentMergeBase, "web/schema.json")
	checkFiles(t, detect(t, Options{Dir: r.dir, Env: b}), want{Files: []string{"api/schema.json", "web/schema.json"}, Method: MethodBranch})
}

// A non-ASCII name: git quotes it (core.quotePath) and the agent, reading
// without -z, matches the quoted text; bkgen reads the name itself.
func TestAgentQuotedPath(t *testing.T) {
	t.Parallel()
	r := newRepo(t)
	r.commit("initial", "README.md")
	r.push("main")
	r.git("switch", "--quiet", "-c", "feature")
	r.commit("docs", "docs/Ünïcode.md", "docs/plain.md", "tab\there.txt")

	b := env("BUILDKITE_BRANCH=feature")
	checkAgent(t, agent(t, r.dir, b), AgentMergeBase, `docs/plain.md`, `"docs/\303\234n\303\257code.md"`, `"tab\there.txt"`)
	checkFiles(t, detect(t, Options{Dir: r.dir, Env: b}), want{Files: []string{"docs/plain.md", "docs/Ünïcode.md", "tab\there.txt"}, Method: MethodBranch})
}

// An uncommitted edit to a tracked file: the agent diffs the working tree,
// so it counts; bkgen compares commits. An untracked file counts for
// neither.
func TestAgentUncommittedEdit(t *testing.T) {
	t.Parallel()
	r := newRepo(t)
	r.commit("initial", "a/x.go", "b/y.go")
	r.push("main")
	r.git("switch", "--quiet", "-c", "feature")
	r.commit("work", "a/x.go")
	for name, text := range map[string]string{"b/y.go": "edited by a hook\n", "c/new.go": "untracked\n"} {
		if err := os.MkdirAll(filepath.Join(r.dir, filepath.Dir(name)), 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(filepath.Join(r.dir, name), []byte(text), 0o644); err != nil {
			t.Fatal(err)
		}
	}

	b := env("BUILDKITE_BRANCH=feature")
	checkAgent(t, agent(t, r.dir, b), AgentMergeBase, "a/x.go", "b/y.go")
	checkFiles(t, detect(t, Options{Dir: r.dir, Env: b}), want{Files: []string{"a/x.go"}, Method: MethodBranch})
}

// Shallow clones: the agent never fetches or deepens. Predicting it must
// not change the clone either.
func TestAgentShallowClones(t *testing.T) {
	t.Parallel()
	r := newRepo(t)
	r.commit("initial", "a/x.go", "b/y.go")
	for range 5 {
		r.commit("main", "b/y.go")
	}
	r.git("switch", "--quiet", "-c", "feature")
	r.commit("feature", "a/x.go")
	r.commit("more", "a/z.go")
	r.git("switch", "--quiet", "main")
	r.commit("main later", "b/y.go")
	r.push("main", "feature")

	unchanged := func(t *testing.T, c *repo) func() {
		refs, shallow := c.git("for-each-ref"), c.git("rev-parse", "--is-shallow-repository")
		return func() {
			if c.git("for-each-ref") != refs || c.git("rev-parse", "--is-shallow-repository") != shallow {
				t.Error("predicting the agent changed the clone")
			}
		}
	}
	t.Run("single branch: no origin/main", func(t *testing.T) {
		c := r.clone("--depth", "1", "--branch", "feature")
		defer unchanged(t, c)()
		checkAgentOff(t, agent(t, c.dir, env("BUILDKITE_BRANCH=feature")), "git rev-parse origin/main fails")
	})
	t.Run("origin/main without the merge-base", func(t *testing.T) {
		c := r.clone("--depth", "1", "--no-single-branch", "--branch", "feature")
		check := unchanged(t, c)
		checkAgentOff(t, agent(t, c.dir, env("BUILDKITE_BRANCH=feature")), "git merge-base origin/main HEAD fails")
		check()
		// bkgen deepens until it finds the merge-base.
		checkFiles(t, detect(t, Options{Dir: c.dir, Env: env("BUILDKITE_BRANCH=feature")}), want{Files: []string{"a/x.go", "a/z.go"}, Method: MethodBranch})
	})
	t.Run("default branch at depth 1", func(t *testing.T) {
		// HEAD's parent is cut off: git log shows HEAD as if it were the
		// first commit, so every file is HEAD's change.
		c := r.clone("--depth", "1", "--branch", "main")
		defer unchanged(t, c)()
		checkAgent(t, agent(t, c.dir, env("BUILDKITE_BRANCH=main")), AgentFirstParent, "a/x.go", "b/y.go")
	})
}

// The switches, read as the agent's flag library reads them.
func TestAgentSwitches(t *testing.T) {
	t.Parallel()
	r := newRepo(t)
	r.commit("initial", "a/x.go")
	r.push("main")
	r.git("switch", "--quiet", "-c", "feature")
	r.commit("work", "a/x.go")
	list := filepath.Join(t.TempDir(), "changed.txt")
	if err := os.WriteFile(list, []byte("one.txt\n\n  \n two.txt\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	lookup := func(pairs ...string) buildenv.Build {
		m := map[string]string{}
		for _, p := range pairs {
			k, v, _ := strings.Cut(p, "=")
			m[k] = v
		}
		return buildenv.ReadLookup(func(k string) (string, bool) { v, ok := m[k]; return v, ok })
	}
	for _, tc := range []struct {
		name  string
		env   []string
		off   string // the reason mentions this; "" when it applies
		fails bool
	}{
		{"default on", nil, "", false},
		{"false", []string{"BUILDKITE_AGENT_APPLY_IF_CHANGED=false"}, "BUILDKITE_AGENT_APPLY_IF_CHANGED=false", false},
		{"0", []string{"BUILDKITE_AGENT_APPLY_IF_CHANGED=0"}, "BUILDKITE_AGENT_APPLY_IF_CHANGED=0", false},
		{"set empty", []string{"BUILDKITE_AGENT_APPLY_IF_CHANGED="}, "BUILDKITE_AGENT_APPLY_IF_CHANGED=", false},
		{"skip variant", []string{"BUILDKITE_AGENT_APPLY_SKIP_IF_UNCHANGED=false"}, "BUILDKITE_AGENT_APPLY_SKIP_IF_UNCHANGED=false", false},
		{"first set wins", []string{"BUILDKITE_AGENT_APPLY_IF_CHANGED=true", "BUILDKITE_AGENT_APPLY_SKIP_IF_UNCHANGED=false"}, "", false},
		{"unparseable", []string{"BUILDKITE_AGENT_APPLY_IF_CHANGED=yes"}, "fails", true},
		{"unparseable fetch", []string{"BUILDKITE_FETCH_DIFF_BASE=maybe"}, "fails", true},
	} {
		t.Run(tc.name, func(t *testing.T) {
			a := agent(t, r.dir, lookup(append(tc.env, "BUILDKITE_BRANCH=feature")...))
			switch {
			case tc.fails:
				if a.Fails == "" || a.Apply {
					t.Errorf("the upload does not fail: %+v", a)
				}
			case tc.off != "":
				checkAgentOff(t, a, tc.off)
			default:
				checkAgent(t, a, AgentMergeBase, "a/x.go")
			}
		})
	}
	t.Run("changed files list", func(t *testing.T) {
		checkAgent(t, agent(t, r.dir, lookup("BUILDKITE_CHANGED_FILES_PATH="+list)), AgentChangedFiles, "one.txt", " two.txt")
	})
	t.Run("unreadable list", func(t *testing.T) {
		checkAgentOff(t, agent(t, r.dir, lookup("BUILDKITE_CHANGED_FILES_PATH="+list+".missing")), "cannot read")
	})
	t.Run("base order", func(t *testing.T) {
		for _, tc := range []struct {
			env  []string
			want string
		}{
			{nil, "origin/main"},
			{[]string{"BUILDKITE_PIPELINE_DEFAULT_BRANCH=develop"}, "origin/develop"},
			{[]string{"BUILDKITE_PIPELINE_DEFAULT_BRANCH=develop", "BUILDKITE_PULL_REQUEST_BASE_BRANCH=release", "BUILDKITE_PULL_REQUEST=false"}, "origin/release"},
			{[]string{"BUILDKITE_GIT_DIFF_BASE=v1", "BUILDKITE_PULL_REQUEST_BASE_BRANCH=release"}, "v1"},
		} {
			if got := AgentDiffBase(lookup(tc.env...)); got != tc.want {
				t.Errorf("%q: base %q, want %q", tc.env, got, tc.want)
			}
		}
	})
}

// With BUILDKITE_FETCH_DIFF_BASE the agent fetches the base first; bkgen
// asks the remote where it is instead, and says whether the fetch matters.
func TestAgentFetchDiffBase(t *testing.T) {
	t.Parallel()
	r := newRepo(t)
	r.commit("initial", "a/x.go")
	r.push("main")
	c := r.clone()
	c.git("switch", "--quiet", "-c", "feature")
	c.commit("work", "a/x.go")
	b := env("BUILDKITE_FETCH_DIFF_BASE=true")

	a := agent(t, c.dir, b)
	checkAgent(t, a, AgentMergeBase, "a/x.go")
	if len(a.Notes) != 1 || !strings.Contains(a.Notes[0], "changes nothing") {
		t.Errorf("Notes = %q, want one saying the fetch changes nothing", a.Notes)
	}
	r.commit("main moves", "b/y.go")
	r.push("main")
	before := c.git("rev-parse", "origin/main")
	a = agent(t, c.dir, b)
	if len(a.Notes) != 1 || !strings.Contains(a.Notes[0], "may differ") {
		t.Errorf("Notes = %q, want one saying the prediction may differ", a.Notes)
	}
	if after := c.git("rev-parse", "origin/main"); after != before {
		t.Errorf("predicting fetched origin/main (%s, was %s)", after, before)
	}
}
