package changes

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/bkgen/bkgen/buildenv"
	"github.com/bkgen/bkgen/internal/gittest"
	"github.com/google/go-cmp/cmp"
)

func TestMain(m *testing.M) { gittest.Main(m) }

// repo is a git repository built by a test with the real git binary.
type repo struct {
	t     *testing.T
	dir   string
	clock *int64 // minutes since 2024-01-01, shared with clones
}

// newRepo makes a repository on main with a bare "origin" next to it; the
// pushes keep origin/* up to date, as a CI checkout's fetch would.
func newRepo(t *testing.T) *repo {
	t.Helper()
	root := t.TempDir()
	r := &repo{t: t, dir: filepath.Join(root, "work"), clock: new(int64)}
	r.run(root, "init", "--quiet", "--bare", "--initial-branch=main", filepath.Join(root, "origin.git"))
	r.run(root, "init", "--quiet", "--initial-branch=main", r.dir)
	r.git("remote", "add", "origin", filepath.Join(root, "origin.git"))
	return r
}

// run runs git in dir. Each run ticks the clock, so every commit gets its own
// fixed date, a minute after the last: histories are reproducible and ordered.
func (r *repo) run(dir string, args ...string) string {
	t := r.t
	t.Helper()
	*r.clock++
	date := fmt.Sprintf("@%d +0000", time.Date(2024, 1, 1, 0, 0, 0, 0, time.UTC).Unix()+60**r.clock)
	cmd := gittest.Command(dir, args...)
	cmd.Env = append(cmd.Env, "GIT_AUTHOR_DATE="+date, "GIT_COMMITTER_DATE="+date)
	var stderr strings.Builder
	cmd.Stderr = &stderr
	out, err := cmd.Output()
	if err != nil {
		t.Fatalf("git %s: %v\n%s", strings.Join(args, " "), err, stderr.String())
	}
	return strings.TrimSpace(string(out))
}

func (r *repo) git(args ...string) string {
	r.t.Helper()
	return r.run(r.dir, args...)
}

func (r *repo) originURL() string {
	return "file://" + filepath.Join(filepath.Dir(r.dir), "origin.git")
}

// clone makes a fresh CI-like checkout of origin (e.g. "--depth", "1").
func (r *repo) clone(args ...string) *repo {
	r.t.Helper()
	c := &repo{t: r.t, dir: filepath.Join(r.t.TempDir(), "ci"), clock: r.clock}
	r.run(filepath.Dir(c.dir), append(append([]string{"clone", "--quiet"}, args...), r.originURL(), c.dir)...)
	return c
}

// commit writes each file with content unique to this moment, and commits
// everything (deletions and renames included); it returns the new sha.
func (r *repo) commit(msg string, files ...string) string {
	r.t.Helper()
	for _, f := range files {
		path := filepath.Join(r.dir, filepath.FromSlash(f))
		if err := os.MkdirAll(filepath.Dir(path), 0o755); err != nil {
			r.t.Fatal(err)
		}
		if err := os.WriteFile(path, []byte(fmt.Sprintf("%s: %s at %d\n", msg, f, *r.clock)), 0o644); err != nil {
			r.t.Fatal(err)
		}
	}
	r.git("add", "--all")
	r.git("commit", "--quiet", "--allow-empty", "-m", msg)
	return r.head()
}

func (r *repo) head() string {
	r.t.Helper()
	return r.git("rev-parse", "HEAD")
}

func (r *repo) push(refs ...string) {
	r.t.Helper()
	r.git(append([]string{"push", "--quiet", "--force", "origin"}, refs...)...)
}

// env reads "KEY=value" pairs as a build's environment.
func env(pairs ...string) buildenv.Build {
	m := map[string]string{}
	for _, p := range pairs {
		k, v, _ := strings.Cut(p, "=")
		m[k] = v
	}
	return buildenv.Read(func(k string) string { return m[k] })
}

func detect(t *testing.T, o Options) Result {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	r := Detect(ctx, o)
	t.Logf("result: %+v", r)
	return r
}

// want is the part of a Result a test cares about.
type want struct {
	Files  []string
	Method string
	Base   string
	Ref    string
}

func checkFiles(t *testing.T, got Result, w want) {
	t.Helper()
	if got.All {
		t.Fatalf("everything counts as changed, want a list: %s (notes %q)", got.Reason, got.Notes)
	}
	if diff := cmp.Diff(w.Files, got.Files); diff != "" {
		t.Errorf("Files (-want +got):\n%s", diff)
	}
	if got.Method != w.Method {
		t.Errorf("Method = %q, want %q", got.Method, w.Method)
	}
	if w.Base != "" && got.Base != w.Base {
		t.Errorf("Base = %s, want %s", got.Base, w.Base)
	}
	if w.Ref != "" && got.Ref != w.Ref {
		t.Errorf("Ref = %q, want %q", got.Ref, w.Ref)
	}
	if got.Reason == "" {
		t.Error("Reason is empty")
	}
}

// checkAll asserts that everything counts as changed, for the reason given.
func checkAll(t *testing.T, got Result, reasonHas string) {
	t.Helper()
	if !got.All {
		t.Fatalf("got a list %q (%s), want everything to count as changed", got.Files, got.Reason)
	}
	if got.Files != nil || got.Method != "" || got.Base != "" {
		t.Errorf("with All, got Files %q, Method %q, Base %q; want none", got.Files, got.Method, got.Base)
	}
	if !strings.Contains(got.Reason, reasonHas) {
		t.Errorf("Reason = %q, want it to mention %q", got.Reason, reasonHas)
	}
}

func hasNote(t *testing.T, got Result, part string) {
	t.Helper()
	for _, n := range got.Notes {
		if strings.Contains(n, part) {
			return
		}
	}
	t.Errorf("Notes = %q, want one mentioning %q", got.Notes, part)
}
