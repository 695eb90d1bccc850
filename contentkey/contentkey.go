package contentkey

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"hash"
	"io/fs"
	"maps"
	"path"
	"runtime"
	"slices"
	"strconv"
	"strings"

	"github.com/bkgen/bkgen/imagebuild"
	"github.com/bkgen/bkgen/internal/inroot"
	"github.com/moby/patternmatcher"
)

// Version is the version of the key format; see the package documentation.
const Version = 2

// Image is one image to key: its name and its build inputs, paths relative
// to Root ("" for the context means Root, for the Dockerfile
// <Context>/Dockerfile). Secrets are ids only: a secret's value never
// reaches the key. DependsOn names other images in the same call.
type Image struct {
	Name string
	imagebuild.Inputs
}

// Options tunes ComputeWith. Every field but Root has a sensible zero value.
type Options struct {
	// Root is the repository root: every path of an Image is relative to it.
	// It may be a git checkout, a directory inside one, or not in git at all.
	Root string

	// Git is the git binary to run; "" means "git" from $PATH, and then no
	// git at all means hashing every file from disk.
	Git string

	// NoGit hashes every file from disk even when Root is in a git checkout,
	// as if git were not there. The keys are the same (in SHA-1
	// repositories); it is only slower. Meant for checking the fast path.
	NoGit bool
}

// Compute returns the content tag of every image, keyed by name. Images are
// keyed after the images they depend on; unknown names or cycles are errors.
// Root is the repository root (the directory the spec's paths are relative
// to); it may be a subdirectory of a git checkout, or not in git at all.
func Compute(ctx context.Context, root string, images []Image) (map[string]string, error) {
	return ComputeWith(ctx, Options{Root: root}, images)
}

// ComputeWith is Compute with options.
func ComputeWith(ctx context.Context, opts Options, images []Image) (map[string]string, error) {
	a, err := Analyze(ctx, opts, images)
	if err != nil {
		return nil, err
	}
	return a.Tags, nil
}

// Analysis is what Analyze finds for each image, by name.
type Analysis struct {
	Tags map[string]string // content tags
	// Inputs tells whether a path (a slash path relative to the root) is
	// one of the image's build inputs: its Dockerfile, the ignore file that
	// applies, or a file of its context that .dockerignore lets through. A
	// test is not safe for concurrent use.
	Inputs map[string]func(path string) bool
	// Paths is where each image's inputs are, symlinks followed.
	Paths map[string]Paths
}

// Input names which of an image's inputs a Problem is about.
type Input string

const (
	InputContext    Input = "context"
	InputDockerfile Input = "dockerfile"
	InputIgnoreFile Input = "ignore file" // <Dockerfile>.dockerignore or <context>/.dockerignore
)

// A Problem is something about an image's files on disk that keeps its key
// from being computed, and would keep Docker from building it: a missing
// context, a Dockerfile that is not a regular file, a bad ignore file, a
// symlink that leads out of the root...
type Problem struct {
	Image string
	Input Input
	// Msg names paths relative to the root; never an absolute path, never
	// anything read from a file.
	Msg string
	Err error // the cause, for errors.Is
}

func (p *Problem) Error() string { return fmt.Sprintf("image %q: %s: %s", p.Image, p.Input, p.Msg) }
func (p *Problem) Unwrap() error { return p.Err }

// Problems is the error of Analyze when images have problems: every one,
// in the order of the images.
type Problems []*Problem

func (ps Problems) Error() string {
	lines := make([]string, len(ps))
	for i, p := range ps {
		lines[i] = p.Error()
	}
	return strings.Join(lines, "\n")
}

// Analyze computes the content tags, and keeps for each image the test of
// which paths are its inputs, from the same reading of its ignore file.
// When images have problems, the error is Problems, with all of them.
func Analyze(ctx context.Context, opts Options, images []Image) (*Analysis, error) {
	order, err := dependencyOrder(images)
	if err != nil {
		return nil, err
	}
	// Asking git where the index is takes a process; the builds read their
	// files meanwhile.
	type opened struct {
		repo *repo
		err  error
	}
	repoDone := make(chan opened, 1)
	go func() {
		repo, err := openRepo(ctx, opts)
		repoDone <- opened{repo, err}
	}()
	// Each build's few files wait on the disk more than on the CPU.
	builds := make([]build, len(images))
	err = forEach(ctx, len(images), 4*runtime.GOMAXPROCS(0), func(i int) error {
		builds[i] = newBuild(opts.Root, images[i])
		return nil
	})
	o := <-repoDone
	if err == nil {
		err = o.err
	}
	if err != nil {
		return nil, err
	}
	repo := o.repo
	var contexts []string
	for _, b := range builds {
		if len(b.problems) == 0 {
			contexts = append(contexts, b.context)
		}
	}

	// One look at the files serves every image.
	tree, err := scan(ctx, opts, repo, contexts)
	if err != nil {
		return nil, err
	}
	if err := selectFiles(ctx, tree, builds); err != nil {
		return nil, err
	}
	if err := tree.hash(ctx, builds); err != nil {
		return nil, err
	}
	var problems Problems
	for _, b := range builds {
		problems = append(problems, b.problems...)
	}
	if len(problems) > 0 {
		return nil, problems
	}

	// Everything but the tags of dependencies is encoded in parallel; those
	// are added in dependency order.
	encoders := make([]*encoder, len(builds))
	err = forEach(ctx, len(builds), runtime.GOMAXPROCS(0), func(i int) error {
		encoders[i] = builds[i].encode(tree)
		return nil
	})
	if err != nil {
		return nil, err
	}
	a := &Analysis{
		Tags:   make(map[string]string, len(images)),
		Inputs: make(map[string]func(string) bool, len(images)),
		Paths:  make(map[string]Paths, len(images)),
	}
	for _, i := range order {
		e := encoders[i]
		for _, dep := range sortedSet(images[i].DependsOn) {
			e.record("depends", dep, a.Tags[dep])
		}
		a.Tags[images[i].Name] = "bk-" + hex.EncodeToString(e.sum()[:8])
		a.Inputs[images[i].Name] = builds[i].inputFilter()
		a.Paths[images[i].Name] = builds[i].paths()
	}
	return a, nil
}

// A build is an image being keyed: where its inputs are and what is found
// for it.
type build struct {
	img  Image
	root string
	// Slash paths relative to root, with symlinks resolved: Docker follows
	// a symlinked context or Dockerfile, and so do keys.
	context    string
	dockerfile string
	// ignoreFiles are where the build's ignore file may be, in BuildKit's
	// order of preference: <Dockerfile>.dockerignore beside the Dockerfile
	// as named (a symlinked Dockerfile's target has its own name), then the
	// context's .dockerignore.
	ignoreFiles [2]string
	ignoreFile  string   // the ignore file read, symlinks resolved; "" for none
	links       []string // the symlinks followed to reach all of the above

	dockerfileIDs [2]string                      // blob ids of the Dockerfile, SHA-1 and SHA-256: git says which counts
	ignore        *patternmatcher.PatternMatcher // .dockerignore, nil when there is none
	files         []int                          // indexes into the tree's files the build sends
	problems      Problems                       // when there are any, the build goes no further
}

// newBuild resolves the build's context, reads its Dockerfile and its
// ignore file, and keeps every problem it finds.
func newBuild(root string, img Image) build {
	b := build{img: img, root: root}
	problem := func(input Input, err error) {
		b.problems = append(b.problems, &Problem{Image: img.Name, Input: input, Msg: err.Error(), Err: err})
	}
	contextOK := false
	var err error
	if b.context, err = cleanPath(img.Context); err != nil {
		problem(InputContext, err)
	} else if r, err := inroot.Dir(root, b.context); err != nil {
		problem(InputContext, err)
	} else {
		b.context, contextOK = r.Path, true
		b.links = append(b.links, r.Links...)
	}
	dockerfile := img.Dockerfile
	if dockerfile == "" {
		dockerfile = path.Join(img.Context, "Dockerfile")
	}
	if dockerfile, err = cleanPath(dockerfile); err != nil {
		problem(InputDockerfile, err)
	} else if !contextOK && strings.HasPrefix(dockerfile, contextPrefix(b.context)) {
		// A Dockerfile in a context that is not there would only repeat
		// the context's problem.
	} else if data, r, err := inroot.ReadFile(root, dockerfile, DockerfileLimit); err != nil {
		problem(InputDockerfile, err)
	} else {
		b.dockerfile = r.Path
		b.dockerfileIDs = [2]string{sha1Format.blobID(data), sha256Format.blobID(data)}
		b.links = append(b.links, r.Links...)
		// Its ignore file is beside it as named: in its directory resolved,
		// without following a last link of its own.
		dir := path.Dir(r.Path)
		if len(r.Links) > 0 {
			d, _ := inroot.Dir(root, path.Dir(dockerfile))
			dir = d.Path
		}
		b.ignoreFiles = [2]string{path.Join(dir, path.Base(dockerfile)) + ".dockerignore", path.Join(b.context, ".dockerignore")}
	}
	if len(b.problems) == 0 {
		if err := b.readIgnore(); err != nil {
			problem(InputIgnoreFile, err)
		}
	}
	b.links = sortedSet(b.links)
	return b
}

// cleanPath checks that p is a slash path that stays inside the root.
func cleanPath(p string) (string, error) {
	if p == "" {
		return ".", nil
	}
	c := path.Clean(p)
	if path.IsAbs(c) || c == ".." || strings.HasPrefix(c, "../") {
		return "", fmt.Errorf("%q is not a path inside the root", p)
	}
	return c, nil
}

// Limits on the files a build reads whole. They come with the commit, from
// whoever wrote it; no real one comes near these. DockerfileLimit holds
// for whatever else reads an image's Dockerfile too.
var (
	DockerfileLimit = inroot.Limit{Bytes: 4 << 20, Of: "a Dockerfile"}
	ignoreLimit     = inroot.Limit{Bytes: 1 << 20, Of: "an ignore file"}
)

func (b *build) readIgnore() error {
	for _, name := range b.ignoreFiles {
		data, r, err := inroot.ReadFile(b.root, name, ignoreLimit)
		if errors.Is(err, fs.ErrNotExist) {
			continue
		}
		if err != nil {
			return err
		}
		b.ignoreFile = r.Path
		b.links = append(b.links, r.Links...)
		if b.ignore, err = parseIgnoreFile(data); err != nil {
			return fmt.Errorf("%s: %w", name, err)
		}
		return nil
	}
	return nil
}

// encode starts the build's encoding, as the package documentation
// describes it, with every record but the dependencies'.
func (b *build) encode(tree *tree) *encoder {
	e := &encoder{h: sha256.New()}
	e.record("bkgen-contentkey", strconv.Itoa(Version))
	e.record("objects", string(tree.format))
	dockerfileID := b.dockerfileIDs[0]
	if tree.format == sha256Format {
		dockerfileID = b.dockerfileIDs[1]
	}
	e.record("dockerfile", dockerfileID)
	e.record("target", b.img.Target)
	for _, p := range sortedSet(b.img.Platforms) {
		e.record("platform", p)
	}
	for _, kv := range sortedKV(b.img.Args) {
		e.record("arg", kv.Key, kv.Value)
	}
	for _, kv := range sortedKV(b.img.Labels) {
		e.record("label", kv.Key, kv.Value)
	}
	for _, id := range sortedSet(b.img.Secrets) {
		e.record("secret", id)
	}
	if b.img.Network != "" && b.img.Network != "default" {
		e.record("network", b.img.Network)
	}
	for _, h := range sortedSet(b.img.AddHosts) {
		e.record("add-host", h)
	}
	for _, id := range sortedSet(b.img.SSH) {
		e.record("ssh", id)
	}
	if b.img.ShmSize != "" {
		e.record("shm-size", b.img.ShmSize)
	}
	for _, kv := range sortedKV(b.img.BuildContexts) {
		e.record("build-context", kv.Key, kv.Value)
	}
	if b.img.Provenance != "" {
		e.record("provenance", b.img.Provenance)
	}
	if b.img.SBOM != "" {
		e.record("sbom", b.img.SBOM)
	}
	if b.img.KeySalt != "" {
		e.record("salt", b.img.KeySalt)
	}
	for _, kv := range sortedKV(b.img.Bases) {
		e.record("base", kv.Key, kv.Value)
	}
	prefix := len(contextPrefix(b.context))
	for _, i := range b.files {
		f := &tree.files[i]
		e.record("file", f.path[prefix:], f.mode.String(), f.oid)
	}
	return e
}

// sortedKV is pairs sorted by key, the last of a repeated key winning.
func sortedKV(kvs []imagebuild.KV) []imagebuild.KV {
	byKey := make(map[string]string, len(kvs))
	for _, kv := range kvs {
		byKey[kv.Key] = kv.Value
	}
	out := make([]imagebuild.KV, 0, len(byKey))
	for _, k := range slices.Sorted(maps.Keys(byKey)) {
		out = append(out, imagebuild.KV{Key: k, Value: byKey[k]})
	}
	return out
}

func sortedSet(s []string) []string {
	return slices.Compact(slices.Sorted(slices.Values(s)))
}

// An encoder writes records of length-prefixed fields into a hash, buffered
// because a context makes thousands of small records.
type encoder struct {
	h   hash.Hash
	buf []byte
}

func (e *encoder) record(fields ...string) {
	for i, f := range fields {
		if i > 0 {
			e.buf = append(e.buf, ' ')
		}
		e.buf = strconv.AppendInt(e.buf, int64(len(f)), 10)
		e.buf = append(e.buf, ':')
		e.buf = append(e.buf, f...)
	}
	e.buf = append(e.buf, '\n')
	if len(e.buf) >= 32<<10 {
		e.h.Write(e.buf)
		e.buf = e.buf[:0]
	}
}

func (e *encoder) sum() []byte {
	e.h.Write(e.buf)
	return e.h.Sum(nil)
}

// dependencyOrder checks names and dependencies and returns the indexes of
// images so that every image comes after the images it depends on.
func dependencyOrder(images []Image) ([]int, error) {
	byName := make(map[string]int, len(images))
	for i, img := range images {
		if img.Name == "" {
			return nil, fmt.Errorf("image %d has no name", i)
		}
		if _, dup := byName[img.Name]; dup {
			return nil, fmt.Errorf("image %q is listed twice", img.Name)
		}
		byName[img.Name] = i
	}
	for _, img := range images {
		for _, dep := range img.DependsOn {
			if _, ok := byName[dep]; !ok {
				return nil, fmt.Errorf("image %q depends on unknown image %q", img.Name, dep)
			}
		}
	}

	const (
		unvisited = iota
		visiting
		done
	)
	state := make([]int, len(images))
	order := make([]int, 0, len(images))
	var chain []string // the images being visited, to name a cycle
	var visit func(i int) error
	visit = func(i int) error {
		switch state[i] {
		case done:
			return nil
		case visiting:
			cycle := append(chain[slices.Index(chain, images[i].Name):], images[i].Name)
			return fmt.Errorf("images depend on each other in a cycle: %s", strings.Join(cycle, " -> "))
		}
		state[i] = visiting
		chain = append(chain, images[i].Name)
		for _, dep := range images[i].DependsOn {
			if err := visit(byName[dep]); err != nil {
				return err
			}
		}
		chain = chain[:len(chain)-1]
		state[i] = done
		order = append(order, i)
		return nil
	}
	for i := range images {
		if err := visit(i); err != nil {
			return nil, err
		}
	}
	return order, nil
}
