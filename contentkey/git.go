package contentkey

import (
	"bufio"
	"bytes"
	"context"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"
)

// gitRunner runs git in one directory: the one seam between this package
// and git.
type gitRunner struct {
	bin string
	dir string
}

func (g gitRunner) command(ctx context.Context, stderr *bytes.Buffer, args ...string) *exec.Cmd {
	cmd := exec.CommandContext(ctx, g.bin, args...)
	cmd.Dir = g.dir
	// Pathspecs are context directories, never globs; and reading must not
	// take the index lock from the user's own git commands.
	cmd.Env = append(os.Environ(), "GIT_LITERAL_PATHSPECS=1", "GIT_OPTIONAL_LOCKS=0")
	cmd.Stderr = stderr
	return cmd
}

func (g gitRunner) fail(args []string, err error, stderr *bytes.Buffer) error {
	if msg := strings.TrimSpace(stderr.String()); msg != "" {
		err = fmt.Errorf("%w: %s", err, msg)
	}
	return fmt.Errorf("git %s: %w", args[0], err)
}

// output runs git and returns its standard output.
func (g gitRunner) output(ctx context.Context, args ...string) ([]byte, error) {
	var stderr bytes.Buffer
	out, err := g.command(ctx, &stderr, args...).Output()
	if err != nil {
		return nil, g.fail(args, err, &stderr)
	}
	return out, nil
}

// records runs git and calls each with every NUL-terminated record of its
// output as it comes; the slice is only valid during the call. Streaming
// spares holding (and growing) megabytes of output for a large index.
func (g gitRunner) records(ctx context.Context, each func(rec []byte) error, args ...string) error {
	ctx, cancel := context.WithCancel(ctx)
	defer cancel()
	var stderr bytes.Buffer
	cmd := g.command(ctx, &stderr, args...)
	stdout, err := cmd.StdoutPipe()
	if err != nil {
		return err
	}
	if err := cmd.Start(); err != nil {
		return g.fail(args, err, &stderr)
	}
	sc := bufio.NewScanner(stdout)
	sc.Buffer(make([]byte, 0, 64<<10), 1<<20)
	sc.Split(splitNUL)
	var readErr error
	for readErr == nil && sc.Scan() {
		readErr = each(sc.Bytes())
	}
	if readErr == nil {
		readErr = sc.Err()
	}
	if readErr != nil {
		cancel() // git may still be writing; Wait would wait for it
	}
	if err := cmd.Wait(); err != nil && readErr == nil {
		return g.fail(args, err, &stderr)
	}
	return readErr
}

func splitNUL(data []byte, atEOF bool) (advance int, token []byte, err error) {
	if i := bytes.IndexByte(data, 0); i >= 0 {
		return i + 1, data[:i], nil
	}
	if atEOF && len(data) > 0 {
		return len(data), data, nil
	}
	return 0, nil, nil
}

// A repo is the git work tree that holds the root.
type repo struct {
	git       gitRunner
	format    objectFormat
	prefix    string // the root's path in the work tree: "" or ending in "/"
	indexFile string // OS path of the index
}

// openRepo returns the work tree the root is in, or nil when there is none
// to use: NoGit, no git installed, or a root git cannot read as a work
// tree (outside any, inside .git, owned by someone git distrusts...). Keys
// are then made from disk alone, which is slower but just as right.
func openRepo(ctx context.Context, opts Options) (*repo, error) {
	if opts.NoGit {
		return nil, nil
	}
	bin := opts.Git
	if bin == "" {
		bin = "git"
		if _, err := exec.LookPath(bin); err != nil {
			return nil, nil
		}
	}
	g := gitRunner{bin: bin, dir: opts.Root}
	out, err := g.output(ctx, "rev-parse", "--is-inside-work-tree", "--show-object-format", "--show-prefix", "--git-path", "index")
	if err != nil {
		if ctxErr := ctx.Err(); ctxErr != nil {
			return nil, ctxErr
		}
		if exitErr := (*exec.ExitError)(nil); errors.As(err, &exitErr) {
			return nil, nil // git ran and said no
		}
		return nil, err // the binary we were given does not run
	}
	// One answer per line, in the order asked: the prefix line is empty at
	// the top of the work tree. Outside one, git stops after the first.
	lines := strings.Split(strings.TrimSuffix(string(out), "\n"), "\n")
	if len(lines) != 4 || lines[0] != "true" {
		return nil, nil
	}
	format, err := parseObjectFormat(lines[1])
	if err != nil {
		return nil, err
	}
	indexFile := lines[3]
	if !filepath.IsAbs(indexFile) {
		indexFile = filepath.Join(opts.Root, indexFile)
	}
	return &repo{git: g, format: format, prefix: lines[2], indexFile: indexFile}, nil
}

// maxPathspecs bounds the directories passed to git: git matches every
// index entry against every pathspec, which for hundreds of contexts costs
// more than looking at the whole tree.
const maxPathspecs = 16

// cleanFiles returns, sorted by path, the tracked files under dirs whose
// blob id git vouches for: stage 0 entries of a file or symlink that
// git diff-files, trusting the index's stat cache, finds unmodified.
// Assume-unchanged and skip-worktree entries are left out, since git stops
// looking at their files; so are submodules, whose files the walk finds.
func (r *repo) cleanFiles(ctx context.Context, dirs []string) ([]indexEntry, error) {
	var pathspecs []string
	if len(dirs) <= maxPathspecs && !slices.Equal(dirs, []string{"."}) {
		pathspecs = append([]string{"--"}, dirs...)
	}

	// Both commands run at once: one stats the tracked files while the
	// other reads the index.
	modified := map[string]bool{}
	diffDone := make(chan error, 1)
	go func() {
		diffDone <- r.git.records(ctx, func(p []byte) error {
			modified[string(p)] = true
			return nil
		}, append([]string{"diff-files", "--name-only", "--relative", "-z"}, pathspecs...)...)
	}()
	var index []indexEntry
	err := r.git.records(ctx, func(rec []byte) error {
		f, ok, err := parseIndexEntry(rec)
		if ok {
			index = append(index, f)
		}
		return err
	}, append([]string{"ls-files", "--stage", "-v", "-z"}, pathspecs...)...)
	if diffErr := <-diffDone; err == nil {
		err = diffErr
	}
	if err != nil {
		return nil, err
	}

	files := slices.DeleteFunc(index, func(e indexEntry) bool { return modified[e.path] })
	// ls-files lists in index order, which is byte order; make sure, since
	// the tree merges the two lists.
	if !slices.IsSortedFunc(files, comparePaths) {
		slices.SortFunc(files, comparePaths)
	}
	return files, nil
}

// parseIndexEntry reads a record of "git ls-files --stage -v -z",
// "<tag> <mode> <oid> <stage>\t<path>", and says whether the entry is one
// git vouches for, before looking for modifications.
func parseIndexEntry(rec []byte) (indexEntry, bool, error) {
	meta, p, ok1 := bytes.Cut(rec, []byte{'\t'})
	tag, meta, ok2 := bytes.Cut(meta, []byte{' '})
	mode, meta, ok3 := bytes.Cut(meta, []byte{' '})
	oid, stage, ok4 := bytes.Cut(meta, []byte{' '})
	if !ok1 || !ok2 || !ok3 || !ok4 {
		return indexEntry{}, false, fmt.Errorf("git ls-files: unexpected record %q", rec)
	}
	// Lowercase tags are assume-unchanged, S is skip-worktree: git no
	// longer looks at those files. Other stages are merge conflicts.
	if string(tag) != "H" || string(stage) != "0" {
		return indexEntry{}, false, nil
	}
	f := indexEntry{path: string(p), oid: string(oid)}
	switch string(mode) {
	case "100644":
		f.mode = modeRegular
	case "100755":
		f.mode = modeExecutable
	case "120000":
		f.mode = modeSymlink
	default:
		return indexEntry{}, false, nil // a submodule, whose files the walk finds
	}
	return f, true, nil
}

func comparePaths(a, b indexEntry) int { return strings.Compare(a.path, b.path) }
