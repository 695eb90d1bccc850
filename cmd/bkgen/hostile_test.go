//go:build unix

package main

import (
	"bytes"
	"os"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
)

// In a pull request's build, the spec and every file of the repository
// come from whoever opened it. These tests lay out such repositories with
// real files, symlinks and FIFOs, and run every command on them.

const privateKey = "-----BEGIN OPENSSH PRIVATE KEY-----\nb3BlbnNzaC1rZXktdjEAAAAA\n-----END OPENSSH PRIVATE KEY-----\n"

// hostileRepo is a repository root inside a temporary directory that also
// holds a private key beside it, outside the root.
type hostileRepo struct {
	t    *testing.T
	root string
	key  string // absolute path of the private key
}

func newHostileRepo(t *testing.T) *hostileRepo {
	t.Helper()
	dir := t.TempDir()
	r := &hostileRepo{t: t, root: filepath.Join(dir, "repo"), key: filepath.Join(dir, "id_ed25519")}
	if err := os.WriteFile(r.key, []byte(privateKey), 0o600); err != nil {
		t.Fatal(err)
	}
	r.write("Dockerfile", "FROM scratch\n")
	return r
}

func (r *hostileRepo) path(p string) string { return filepath.Join(r.root, filepath.FromSlash(p)) }

func (r *hostileRepo) mkdirFor(p string) {
	r.t.Helper()
	if err := os.MkdirAll(filepath.Dir(r.path(p)), 0o755); err != nil {
		r.t.Fatal(err)
	}
}

func (r *hostileRepo) write(p, content string) {
	r.t.Helper()
	r.mkdirFor(p)
	if err := os.WriteFile(r.path(p), []byte(content), 0o644); err != nil {
		r.t.Fatal(err)
	}
}

func (r *hostileRepo) symlink(target, p string) {
	r.t.Helper()
	r.mkdirFor(p)
	os.Remove(r.path(p))
	if err := os.Symlink(target, r.path(p)); err != nil {
		r.t.Fatal(err)
	}
}

func (r *hostileRepo) fifo(p string) {
	r.t.Helper()
	r.mkdirFor(p)
	if err := syscall.Mkfifo(r.path(p), 0o644); err != nil {
		r.t.Skipf("cannot make a FIFO here: %v", err)
	}
}

// bkgen runs a command in-process on the repository, with -C its root.
func (r *hostileRepo) bkgen(args ...string) (status int, stdout, stderr string) {
	r.t.Helper()
	var out, errb bytes.Buffer
	args = append([]string{args[0], "-C", r.root}, args[1:]...)
	status = run(args, &stdio{in: strings.NewReader(""), out: &out, err: &errb}, func(string) (string, bool) { return "", false })
	return status, out.String(), errb.String()
}

// refused checks that every command that reads the spec refuses it: exit
// status 2, nothing on stdout, the message on stderr, and neither the key
// nor an absolute path of this machine.
func (r *hostileRepo) refused(want string, extra ...string) {
	r.t.Helper()
	// upload runs what generate runs, after looking for the agent: the
	// scripts run it with a stand-in (upload.txtar, hostile.txtar).
	for _, cmd := range [][]string{{"generate", "--all"}, {"lint"}, {"preview", "--all"}} {
		status, stdout, stderr := r.bkgen(append(cmd, extra...)...)
		if status != exitUsage || stdout != "" || !strings.Contains(stderr, want) {
			r.t.Errorf("bkgen %s: exit %d, stdout %q, stderr %q; want exit 2, nothing on stdout and %q on stderr", cmd[0], status, stdout, stderr, want)
		}
		r.clean(cmd[0], stderr)
	}
}

// clean checks that output says nothing of the key or this machine's paths.
func (r *hostileRepo) clean(cmd, output string) {
	r.t.Helper()
	if strings.Contains(output, "PRIVATE KEY") || strings.Contains(output, "b3BlbnNz") {
		r.t.Errorf("bkgen %s printed the private key:\n%s", cmd, output)
	}
	if strings.Contains(output, filepath.Dir(r.root)) {
		r.t.Errorf("bkgen %s printed an absolute path:\n%s", cmd, output)
	}
}

func TestSpecFileMustBeARegularFileInsideTheRoot(t *testing.T) {
	t.Parallel()
	const spec = ".buildkite/bkgen.yml"
	for _, tc := range []struct {
		name  string
		setup func(r *hostileRepo)
		want  string
		args  []string
	}{
		{"symlink out of the root", func(r *hostileRepo) { r.symlink("../../id_ed25519", spec) },
			"cannot read the spec: .buildkite/bkgen.yml: the symlink .buildkite/bkgen.yml leads outside the repository\n", nil},
		{"absolute symlink", func(r *hostileRepo) { r.symlink(r.key, spec) },
			"the symlink .buildkite/bkgen.yml leads outside the repository (to an absolute path)", nil},
		{"through a symlinked directory", func(r *hostileRepo) { r.symlink("..", ".buildkite"); r.write("../bkgen.yml", "x") },
			"the symlink .buildkite leads outside the repository", nil},
		{"device", func(r *hostileRepo) { r.symlink("/dev/zero", spec) },
			"leads outside the repository (to an absolute path)", nil},
		{"stdin", func(r *hostileRepo) { r.symlink("/dev/stdin", spec) },
			"leads outside the repository (to an absolute path)", nil},
		{"FIFO", func(r *hostileRepo) { r.fifo(spec) },
			"cannot read the spec: .buildkite/bkgen.yml is a FIFO, not a regular file\n", nil},
		{"directory", func(r *hostileRepo) { r.mkdirFor(spec + "/x") },
			".buildkite/bkgen.yml is a directory, not a regular file", nil},
		{"too large", func(r *hostileRepo) { r.write(spec, "version: 1\n#"+strings.Repeat("x", 1<<20)) },
			".buildkite/bkgen.yml is larger than 1 MiB, more than bkgen reads for a spec\n", nil},
		{"into .git", func(r *hostileRepo) { r.write(".git/config", "[core]\n"); r.symlink("../.git/config", spec) },
			".buildkite/bkgen.yml leads into .git through the symlink .buildkite/bkgen.yml, which bkgen does not read", nil},
		{"-f outside the root", func(r *hostileRepo) {}, "the spec must be inside the repository root (the -C directory)", []string{"-f", "KEY"}},
		{"-f up and out", func(r *hostileRepo) {}, "cannot read the spec: ../id_ed25519 leads outside the repository", []string{"-f", "../id_ed25519"}},
		{"missing", func(r *hostileRepo) {}, "no spec at .buildkite/bkgen.yml (use -f to name another file", nil},
	} {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			r := newHostileRepo(t)
			tc.setup(r)
			for i, a := range tc.args {
				if a == "KEY" {
					tc.args[i] = r.key
				}
			}
			r.refused(tc.want, tc.args...)
		})
	}
}

func TestSpecThroughASymlinkInsideTheRoot(t *testing.T) {
	t.Parallel()
	r := newHostileRepo(t)
	r.write("ci/bkgen.yml", "version: 1\nregistries:\n  packages: {provider: buildkite, org: acme, registry: images}\nimages:\n  app: {}\n")
	r.symlink("../ci/bkgen.yml", ".buildkite/bkgen.yml")
	if status, stdout, stderr := r.bkgen("generate", "--all", "-q"); status != exitOK || !strings.Contains(stdout, "key: build-app") {
		t.Errorf("exit %d\n%s\n%s", status, stdout, stderr)
	}
	// An absolute -f inside the root is the path relative to it.
	status, _, stderr := r.bkgen("lint", "-f", r.path("ci/nope.yml"))
	if status != exitUsage || !strings.Contains(stderr, "no spec at ci/nope.yml") {
		t.Errorf("exit %d, stderr %q", status, stderr)
	}
}

// Dockerfiles and ignore files that are symlinks to devices, FIFOs, or
// files outside the repository are spec errors at the image's context or
// dockerfile, from generate and lint alike; nothing is read from them.
func TestHostileBuildInputs(t *testing.T) {
	t.Parallel()
	const spec = `version: 1
registries:
  packages: {provider: buildkite, org: acme, registry: images}
images:
  zero:
    context: zero
  random:
    context: random
  stdin:
    context: stdin
    dockerfile: stdin/Dockerfile
  fifo:
    context: fifo
  key:
    context: key
`
	r := newHostileRepo(t)
	r.write(".buildkite/bkgen.yml", spec)
	r.symlink("/dev/zero", "zero/Dockerfile")
	r.write("random/Dockerfile", "FROM scratch\n")
	r.symlink("/dev/urandom", "random/.dockerignore")
	r.symlink("/dev/stdin", "stdin/Dockerfile")
	r.write("fifo/Dockerfile", "FROM scratch\n")
	r.fifo("fifo/.dockerignore")
	r.symlink("../..", "key")
	want := []string{
		".buildkite/bkgen.yml:5:3: images.zero.dockerfile: zero/Dockerfile: the symlink zero/Dockerfile leads outside the repository (to an absolute path)",
		".buildkite/bkgen.yml:8:14: images.random.context: ignore file random/.dockerignore: the symlink random/.dockerignore leads outside the repository (to an absolute path)",
		".buildkite/bkgen.yml:11:17: images.stdin.dockerfile: stdin/Dockerfile: the symlink stdin/Dockerfile leads outside the repository (to an absolute path)",
		".buildkite/bkgen.yml:13:14: images.fifo.context: ignore file fifo/.dockerignore is a FIFO, not a regular file",
		".buildkite/bkgen.yml:15:14: images.key.context: key: the symlink key leads outside the repository",
	}
	status, stdout, stderr := r.bkgen("generate", "--all")
	if status != exitUsage || stdout != "" || stderr != strings.Join(want, "\n")+"\n" {
		t.Errorf("generate: exit %d, stdout %q, stderr:\n%s\nwant exit 2 and:\n%s", status, stdout, stderr, strings.Join(want, "\n"))
	}
	r.clean("generate", stderr)
	status, stdout, stderr = r.bkgen("lint")
	var wantLint []string
	for _, w := range want {
		file, rest, _ := strings.Cut(w, ": ")
		wantLint = append(wantLint, file+": error: "+rest+" [build-input]")
	}
	if status != exitProblems || stdout != strings.Join(wantLint, "\n")+"\n" {
		t.Errorf("lint: exit %d, stdout:\n%s\nwant exit 1 and:\n%s", status, stdout, strings.Join(wantLint, "\n"))
	}
	r.clean("lint", stdout+stderr)
}
