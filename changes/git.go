package changes

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"os/exec"
	"slices"
	"strings"
	"time"

	"github.com/bkgen/bkgen/internal/pipetext"
)

// runner runs one git binary in one directory. Every call carries its own
// timeout, so a stuck git (a lock, a slow remote) cannot hang the build.
type runner struct {
	bin          string        // resolved path of the git binary
	dir          string        // where git runs; "" is the working directory
	timeout      time.Duration // for local commands
	fetchTimeout time.Duration // for commands that talk to the remote
}

// newRunner resolves bin ("" means "git" on PATH) so that a missing git is
// reported once, up front, rather than as a failure of the first command.
func newRunner(bin, dir string, timeout, fetchTimeout time.Duration) (runner, error) {
	if bin == "" {
		bin = "git"
	}
	path, err := exec.LookPath(bin)
	if err != nil {
		return runner{}, err
	}
	return runner{bin: path, dir: dir, timeout: timeout, fetchTimeout: fetchTimeout}, nil
}

// gitError is a failed git command, with what git said on stderr.
type gitError struct {
	args     []string
	err      error
	stderr   string
	timedOut time.Duration // non-zero when the command ran out of time
}

// Error names the command and what git said, both for display: the
// arguments hold refs, and git's message may quote them or a path.
func (e *gitError) Error() string {
	cmd := "git"
	for _, a := range e.args {
		cmd += " " + pipetext.Display(a)
	}
	switch {
	case e.timedOut > 0:
		return fmt.Sprintf("%s: no answer within %s", cmd, e.timedOut)
	case e.stderr != "":
		return fmt.Sprintf("%s: %s", cmd, pipetext.Display(e.stderr))
	default:
		return fmt.Sprintf("%s: %v", cmd, e.err)
	}
}

func (e *gitError) Unwrap() error { return e.err }

// exitCode is git's exit status, or -1 when git did not exit normally.
func exitCode(err error) int {
	var exit *exec.ExitError
	if errors.As(err, &exit) {
		return exit.ExitCode()
	}
	return -1
}

func (r runner) run(ctx context.Context, args ...string) (string, error) {
	return r.runWithin(ctx, r.timeout, args...)
}

func (r runner) runWithin(ctx context.Context, timeout time.Duration, args ...string) (string, error) {
	ctx, cancel := context.WithTimeout(ctx, timeout)
	defer cancel()

	cmd := exec.CommandContext(ctx, r.bin, args...)
	cmd.Dir = r.dir
	// Never wait for a password nobody will type; keep messages in English so
	// that reasons read the same on every agent; and never take the index
	// lock from the user's own git commands.
	cmd.Env = append(cmd.Environ(), "GIT_TERMINAL_PROMPT=0", "LC_ALL=C", "GIT_OPTIONAL_LOCKS=0")
	// A killed git can leave helpers (ssh, remote-https) holding the pipes open.
	cmd.WaitDelay = 5 * time.Second
	var stdout, stderr bytes.Buffer
	cmd.Stdout, cmd.Stderr = &stdout, &stderr

	if err := cmd.Run(); err != nil {
		ge := &gitError{args: args, err: err, stderr: firstLine(stderr.String())}
		if errors.Is(ctx.Err(), context.DeadlineExceeded) {
			ge.timedOut = timeout
		}
		return stdout.String(), ge
	}
	return stdout.String(), nil
}

// firstLine keeps git's stderr to one line: enough to say what went wrong in a
// human sentence, without hints and progress noise.
func firstLine(s string) string {
	s = strings.TrimSpace(s)
	if i := strings.IndexByte(s, '\n'); i >= 0 {
		s = s[:i]
	}
	return strings.TrimSpace(s)
}

// topLevel is the absolute top-level directory of the checkout; it fails
// outside a work tree, including in a bare repository.
func (r runner) topLevel(ctx context.Context) (string, error) {
	out, err := r.run(ctx, "rev-parse", "--show-toplevel")
	return strings.TrimSuffix(out, "\n"), err
}

// prefix is where the directory git runs in sits below the top level: ""
// at the top, else a slash-separated path with no trailing slash.
func (r runner) prefix(ctx context.Context) (string, error) {
	out, err := r.run(ctx, "rev-parse", "--show-prefix")
	return strings.TrimSuffix(strings.TrimSuffix(out, "\n"), "/"), err
}

// commit resolves rev to a full commit sha; ok is false when there is no such
// commit (an unknown name, a missing object, a parent cut off by a shallow clone).
func (r runner) commit(ctx context.Context, rev string) (sha string, ok bool, err error) {
	if strings.HasPrefix(rev, "-") {
		// Never let a ref be read as an option.
		return "", false, nil
	}
	out, err := r.run(ctx, "rev-parse", "--verify", "--quiet", rev+"^{commit}")
	if err != nil {
		if exitCode(err) == 1 {
			return "", false, nil
		}
		return "", false, err
	}
	return strings.TrimSpace(out), true, nil
}

// currentBranch is the checked-out branch, or "" when HEAD is detached.
func (r runner) currentBranch(ctx context.Context) string {
	out, err := r.run(ctx, "symbolic-ref", "--quiet", "--short", "HEAD")
	if err != nil {
		return ""
	}
	return strings.TrimSpace(out)
}

func (r runner) isShallow(ctx context.Context) (bool, error) {
	out, err := r.run(ctx, "rev-parse", "--is-shallow-repository")
	return strings.TrimSpace(out) == "true", err
}

// mergeBase finds the best common ancestor of two commits; found is false
// when, as far as the local history goes, they have none.
func (r runner) mergeBase(ctx context.Context, a, b string) (sha string, found bool, err error) {
	out, err := r.run(ctx, "merge-base", a, b)
	if err != nil {
		if exitCode(err) == 1 {
			return "", false, nil
		}
		return "", false, err
	}
	return strings.TrimSpace(out), true, nil
}

// isAncestor reports whether commit a is reachable from commit b; a commit
// that is not even here is not an ancestor (yet).
func (r runner) isAncestor(ctx context.Context, a, b string) (bool, error) {
	if _, ok, err := r.commit(ctx, a); !ok || err != nil {
		return false, err
	}
	_, err := r.run(ctx, "merge-base", "--is-ancestor", a, b)
	if err != nil {
		if exitCode(err) == 1 {
			return false, nil
		}
		return false, err
	}
	return true, nil
}

// fetch talks to origin: it has the longer timeout and never fetches tags,
// which can be many and are never what we need.
func (r runner) fetch(ctx context.Context, args ...string) error {
	args = append([]string{"fetch", "--quiet", "--no-tags", "--no-recurse-submodules", "--no-write-fetch-head"}, args...)
	_, err := r.runWithin(ctx, r.fetchTimeout, args...)
	return err
}

// changedFiles lists the paths that differ between two commits, relative to
// the top level. Renames are split into a deletion and an addition so both
// paths count, and -z keeps every byte of every path (no quoting).
func (r runner) changedFiles(ctx context.Context, base, head string) ([]string, error) {
	out, err := r.run(ctx, "diff", "--no-ext-diff", "--no-relative", "--no-renames",
		"--name-only", "-z", base, head, "--")
	if err != nil {
		return nil, err
	}
	files := slices.DeleteFunc(strings.Split(out, "\x00"), func(s string) bool { return s == "" })
	slices.Sort(files)
	return slices.Compact(files), nil
}
