//go:build unix

package contentkey_test

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"syscall"
	"testing"

	"github.com/bkgen/bkgen/contentkey"
	"github.com/bkgen/bkgen/imagebuild"
	"github.com/google/go-cmp/cmp"
)

// TestMain lets a test run Compute in a child process of this binary, as
// another user: root reads every directory whatever its mode, so a test of
// unreadable directories run by root runs its check as nobody.
func TestMain(m *testing.M) {
	if req := os.Getenv("BKGEN_TEST_COMPUTE"); req != "" {
		os.Exit(computeChild(req))
	}
	os.Exit(m.Run())
}

type computeRequest struct {
	Root   string
	Images []contentkey.Image
}

type computeResult struct {
	Tags     map[string]string
	Problems []string
	Err      string
}

func compute(req computeRequest) computeResult {
	tags, err := contentkey.Compute(context.Background(), req.Root, req.Images)
	var res computeResult
	res.Tags = tags
	var problems contentkey.Problems
	if errors.As(err, &problems) {
		for _, p := range problems {
			res.Problems = append(res.Problems, p.Error())
		}
	} else if err != nil {
		res.Err = err.Error()
	}
	return res
}

func computeChild(req string) int {
	var r computeRequest
	if err := json.Unmarshal([]byte(req), &r); err != nil {
		fmt.Fprintln(os.Stderr, err)
		return 2
	}
	if err := json.NewEncoder(os.Stdout).Encode(compute(r)); err != nil {
		fmt.Fprintln(os.Stderr, err)
		return 2
	}
	return 0
}

// nobody is the user a root test runs its checks as.
const nobody = 65534

// computeUnprivileged runs Compute as a user whom modes apply to: this
// process when it is not root, else a child as nobody, which needs the
// repository (and the directories above it) open to others.
func computeUnprivileged(t *testing.T, r *testRepo, images ...contentkey.Image) computeResult {
	t.Helper()
	req := computeRequest{Root: r.dir, Images: images}
	if os.Geteuid() != 0 {
		return compute(req)
	}
	for d := r.dir; d != filepath.Dir(d) && d != os.TempDir(); d = filepath.Dir(d) {
		r.must(os.Chmod(d, 0o755))
	}
	self, err := os.Executable()
	r.must(err)
	bin := filepath.Join(t.TempDir(), "contentkey.test")
	// cp writes it: a file this process held open for writing could be
	// inherited by a parallel test's child, and running it would fail with
	// "text file busy".
	if out, err := exec.Command("cp", self, bin).CombinedOutput(); err != nil {
		t.Fatalf("cp: %v\n%s", err, out)
	}
	r.must(os.Chmod(filepath.Dir(bin), 0o755))
	data, err := json.Marshal(req)
	r.must(err)
	cmd := exec.Command(bin)
	cmd.Dir = "/"
	// git, run as nobody, must trust a repository root owns.
	cmd.Env = append(os.Environ(), "BKGEN_TEST_COMPUTE="+string(data), "HOME=/",
		"GIT_CONFIG_COUNT=1", "GIT_CONFIG_KEY_0=safe.directory", "GIT_CONFIG_VALUE_0=*")
	cmd.SysProcAttr = &syscall.SysProcAttr{Credential: &syscall.Credential{Uid: nobody, Gid: nobody}}
	out, err := cmd.Output()
	if err != nil {
		var exit *exec.ExitError
		if errors.As(err, &exit) {
			t.Fatalf("the child as nobody failed: %v\n%s", err, exit.Stderr)
		}
		t.Skipf("cannot run a process as another user here (%v), and root reads unreadable directories", err)
	}
	var res computeResult
	if err := json.Unmarshal(out, &res); err != nil {
		t.Fatalf("the child's answer: %v\n%s", err, out)
	}
	return res
}

// A directory or file that cannot be read stops only the images Docker
// would read it for: not one whose .dockerignore excludes it, since Docker
// does not descend into an excluded directory that no exception pattern
// starts in.
func TestUnreadable(t *testing.T) {
	t.Parallel()
	r := newRepo(t)
	r.write("app/Dockerfile", "FROM scratch\n")
	r.write("app/main.go", "package main\n")
	r.write("app/.dockerignore", "private\n*.key\n")
	r.write("app/private/data", "excluded\n")
	r.write("app/x.key", "excluded\n")
	r.write("web/Dockerfile", "FROM scratch\n")
	r.write("web/.dockerignore", "private\n!private/keep.txt\n")
	r.write("web/private/keep.txt", "kept\n")
	r.write("files/Dockerfile", "FROM scratch\n")
	r.write("files/secret.txt", "sent\n")
	r.write("Dockerfile", "FROM scratch\n")
	r.commitAll()
	app := contentkey.Image{Name: "app", Inputs: imagebuild.Inputs{Context: "app"}}
	want := r.keys(app)["app"]

	for _, p := range []string{"app/private", "app/x.key", "web/private", "files/secret.txt"} {
		r.must(os.Chmod(r.path(p), 0))
	}
	got := computeUnprivileged(t, r, app)
	if got.Err != "" || len(got.Problems) > 0 || got.Tags["app"] != want {
		t.Errorf("app excludes what it cannot read: %+v; want tag %s", got, want)
	}

	got = computeUnprivileged(t, r, app,
		contentkey.Image{Name: "web", Inputs: imagebuild.Inputs{Context: "web"}},
		contentkey.Image{Name: "files", Inputs: imagebuild.Inputs{Context: "files"}},
		contentkey.Image{Name: "all", Inputs: imagebuild.Inputs{Context: "."}})
	wantProblems := []string{
		`image "web": context: cannot read the directory web/private: permission denied`,
		`image "files": context: cannot read files/secret.txt: permission denied`,
		`image "all": context: cannot read the directory app/private: permission denied (2 unreadable directories in all)`,
		`image "all": context: cannot read app/x.key: permission denied (2 unreadable files in all)`,
	}
	if diff := cmp.Diff(wantProblems, got.Problems); got.Err != "" || diff != "" {
		t.Errorf("err %q, problems (-want +got):\n%s", got.Err, diff)
	}
}
