// Package initspec writes a first spec for a repository (bkgen init): it
// finds the Dockerfiles git would commit, guesses each image's context, the
// images built on others (a FROM naming a sibling image, or an ARG NAME_IMAGE
// naming one), and a registry from the environment.
package initspec

import (
	"bytes"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"os/exec"
	"path"
	"path/filepath"
	"regexp"
	"slices"
	"strings"

	"github.com/bkgen/bkgen/imagebuild"
	"github.com/bkgen/bkgen/internal/dockerfile"
	"github.com/bkgen/bkgen/internal/pipetext"
)

// Providers are the registries init can write.
var Providers = []string{"buildkite", "ecr", "gar", "hosted"}

// Options are what init is told.
type Options struct {
	Root     string              // the repository root
	Registry string              // a provider of Providers; "" to choose from the environment
	Getenv   func(string) string // the environment
}

// Image is one image found.
type Image struct {
	Name       string
	Context    string // slash-separated, relative to the root; "." for the root
	Dockerfile string // "" when it is Context/Dockerfile
	Stages     []string
	DependsOn  []string
	Notes      []string // said in a comment above it
	file       *dockerfile.File
}

// Result is what init found.
type Result struct {
	Images []*Image
	// Registry is the provider chosen, and Why says why.
	Registry, Why string
	Org           string // the Buildkite organization, "" when unknown
	RepoName      string // a slug of the repository's directory name
	Skipped       []string
}

// ErrNoDockerfiles: the repository has no Dockerfile to build.
var ErrNoDockerfiles = errors.New("no Dockerfile found (Dockerfile, Containerfile, Dockerfile.NAME or NAME.Dockerfile, in files git would commit)")

// maxDockerfile bounds what init reads of one Dockerfile.
const maxDockerfile = 1 << 20

// Scan finds the repository's images.
func Scan(o Options) (*Result, error) {
	getenv := o.Getenv
	if getenv == nil {
		getenv = func(string) string { return "" }
	}
	files, err := listFiles(o.Root)
	if err != nil {
		return nil, err
	}
	abs, err := filepath.Abs(o.Root)
	if err != nil {
		return nil, err
	}
	r := &Result{RepoName: slug(filepath.Base(abs), "app")}
	present := map[string]bool{}
	for _, f := range files {
		present[f] = true
		for d := path.Dir(f); d != "."; d = path.Dir(d) {
			present[d] = true
		}
	}
	for _, f := range files {
		if !isDockerfile(path.Base(f)) {
			continue
		}
		if why := unusablePath(f); why != "" {
			r.Skipped = append(r.Skipped, pipetext.Display(f)+": "+why)
			continue
		}
		im, err := r.image(o.Root, f, present)
		if err != nil {
			r.Skipped = append(r.Skipped, pipetext.Display(f)+": "+err.Error())
			continue
		}
		r.Images = append(r.Images, im)
	}
	if len(r.Images) == 0 {
		return r, ErrNoDockerfiles
	}
	r.dependencies()
	r.chooseRegistry(o.Registry, getenv)
	return r, nil
}

// listFiles lists the files git would commit (tracked, and untracked but
// not ignored), slash-separated; outside a git repository, every file but
// those of dot-directories.
func listFiles(root string) ([]string, error) {
	cmd := exec.Command("git", "-C", root, "ls-files", "-z", "--cached", "--others", "--exclude-standard")
	var stderr bytes.Buffer
	cmd.Stderr = &stderr
	out, err := cmd.Output()
	if err == nil {
		var files []string
		for _, f := range strings.Split(string(out), "\x00") {
			if f != "" && !slices.Contains(files, f) {
				files = append(files, f)
			}
		}
		slices.Sort(files)
		return files, nil
	}
	if !strings.Contains(stderr.String(), "not a git repository") {
		return nil, fmt.Errorf("listing the repository's files: git ls-files: %v: %s", err, strings.TrimSpace(stderr.String()))
	}
	var files []string
	err = filepath.WalkDir(root, func(p string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		if d.IsDir() && p != root && strings.HasPrefix(d.Name(), ".") {
			return filepath.SkipDir
		}
		if d.Type().IsRegular() {
			rel, err := filepath.Rel(root, p)
			if err != nil {
				return err
			}
			files = append(files, filepath.ToSlash(rel))
		}
		return nil
	})
	return files, err
}

func isDockerfile(base string) bool {
	lower := strings.ToLower(base)
	return base == "Dockerfile" || base == "Containerfile" ||
		strings.HasPrefix(base, "Dockerfile.") && !strings.HasSuffix(lower, ".dockerignore") ||
		strings.HasSuffix(lower, ".dockerfile")
}

// unusablePath says why the spec could not name f, or "".
func unusablePath(f string) string {
	if strings.ContainsFunc(f, func(r rune) bool { return r < ' ' || r == 0x7f }) {
		return "its path has control characters"
	}
	if strings.Contains(f, "$") {
		return "its path has a '$'"
	}
	return ""
}

var nonSlug = regexp.MustCompile(`[^a-z0-9]+`)

// slug makes s an image or registry name: lowercase letters, digits and
// '-'; def when nothing is left.
func slug(s, def string) string {
	s = strings.Trim(nonSlug.ReplaceAllString(strings.ToLower(s), "-"), "-")
	if s == "" {
		return def
	}
	return s
}

// image reads the Dockerfile at f: its name, context and stages.
func (r *Result) image(root, f string, present map[string]bool) (*Image, error) {
	src, err := readFile(filepath.Join(root, filepath.FromSlash(f)))
	if err != nil {
		return nil, err
	}
	dir, base := path.Dir(f), path.Base(f)
	im := &Image{Context: dir}
	if base != "Dockerfile" {
		im.Dockerfile = f
	}
	// The name: the directory's, and the file's own part where it has one.
	name := path.Base(dir)
	if dir == "." {
		name = r.RepoName
	}
	own := ""
	switch lower := strings.ToLower(base); {
	case strings.HasPrefix(base, "Dockerfile."):
		own = strings.TrimPrefix(base, "Dockerfile.")
	case strings.HasSuffix(lower, ".dockerfile"):
		own = base[:len(base)-len(".dockerfile")]
	}
	if own != "" && own != name {
		if dir == "." {
			name = own
		} else {
			name += "-" + own
		}
	}
	im.Name = r.unique(slug(name, "app"))
	df := dockerfile.Parse(src)
	im.file = df
	for _, s := range df.Stages {
		if s.Name != "" {
			im.Stages = append(im.Stages, s.Name)
		}
	}
	if len(df.Stages) == 0 {
		return nil, errors.New("it has no FROM line")
	}
	// The context: the Dockerfile's directory, unless what it copies is
	// only found from the repository root (docker build -f dir/Dockerfile .).
	if dir != "." && copiesFromRoot(df, dir, present) {
		im.Context = "."
		im.Notes = append(im.Notes, "context is the repository root: what "+pipetext.Display(f)+" copies is there, not in "+pipetext.Display(dir))
		if im.Dockerfile == "" {
			im.Dockerfile = f
		}
	}
	if len(df.Stages) > 1 {
		im.Notes = append(im.Notes, fmt.Sprintf("%d stages (%s): the image is the last; a consumer's target: runs in another", len(df.Stages), strings.Join(stageNames(df), ", ")))
	}
	return im, nil
}

func readFile(name string) (string, error) {
	f, err := os.Open(name)
	if err != nil {
		return "", err
	}
	defer f.Close()
	b, err := io.ReadAll(io.LimitReader(f, maxDockerfile+1))
	if err != nil {
		return "", err
	}
	if len(b) > maxDockerfile {
		return "", fmt.Errorf("larger than %d bytes", maxDockerfile)
	}
	return string(b), nil
}

func stageNames(df *dockerfile.File) []string {
	var out []string
	for i, s := range df.Stages {
		if s.Name != "" {
			out = append(out, s.Name)
		} else {
			out = append(out, fmt.Sprintf("#%d", i))
		}
	}
	return out
}

// copiesFromRoot: some COPY or ADD source of the Dockerfile is missing
// from dir, and every one missing there is found at the root.
func copiesFromRoot(df *dockerfile.File, dir string, present map[string]bool) bool {
	missing := 0
	for _, s := range df.Stages {
		for _, in := range s.Body {
			if in.Cmd != "COPY" && in.Cmd != "ADD" {
				continue
			}
			if _, ok := in.Flag("from"); ok {
				continue
			}
			words := in.Words()
			if len(words) < 2 {
				continue
			}
			for _, src := range words[:len(words)-1] {
				if strings.ContainsAny(src, "$*?[") || strings.Contains(src, "://") || strings.HasPrefix(src, "<<") {
					continue
				}
				src = strings.Trim(path.Clean("/"+src), "/")
				if src == "" || present[path.Join(dir, src)] {
					continue
				}
				if !present[src] {
					return false
				}
				missing++
			}
		}
	}
	return missing > 0
}

// unique returns name, or name-2, name-3... when an image has it.
func (r *Result) unique(name string) string {
	taken := func(n string) bool {
		return slices.ContainsFunc(r.Images, func(im *Image) bool { return im.Name == n })
	}
	if !taken(name) {
		return name
	}
	for i := 2; ; i++ {
		if n := fmt.Sprintf("%s-%d", name, i); !taken(n) {
			return n
		}
	}
}

// dependencies finds the images built on others: a global ARG NAME_IMAGE
// (what bkgen passes an image built on NAME), or a FROM whose repository's
// last part names a sibling image.
func (r *Result) dependencies() {
	byArg, byName := map[string]string{}, map[string]bool{}
	for _, im := range r.Images {
		byArg[imagebuild.DependencyArg(im.Name)] = im.Name
		byName[im.Name] = true
	}
	for _, im := range r.Images {
		df := im.file
		add := func(dep, note string) {
			if dep == im.Name || slices.Contains(im.DependsOn, dep) || r.reaches(dep, im.Name) {
				return
			}
			im.DependsOn = append(im.DependsOn, dep)
			if note != "" {
				im.Notes = append(im.Notes, note)
			}
		}
		for _, a := range df.Args {
			if dep, ok := byArg[a.Name]; ok {
				add(dep, "")
			}
		}
		stages := map[string]bool{}
		for _, s := range df.Stages {
			words := s.From.Words()
			if len(words) > 0 && !strings.Contains(words[0], "$") && !stages[strings.ToLower(words[0])] {
				ref := words[0]
				repo := ref
				if i := strings.LastIndexAny(repo, ":@"); i > strings.LastIndex(repo, "/") {
					repo = repo[:i]
				}
				if dep := path.Base(repo); byName[dep] {
					add(dep, fmt.Sprintf("FROM %s looks like image %s: write ARG %s and FROM ${%s}, so it builds on this build's %s", pipetext.Display(ref), dep, imagebuild.DependencyArg(dep), imagebuild.DependencyArg(dep), dep))
				}
			}
			if s.Name != "" {
				stages[s.Name] = true
			}
		}
	}
	// Each image after those it is built on, otherwise as found.
	var ordered []*Image
	placed := map[string]bool{}
	for len(ordered) < len(r.Images) {
		for _, im := range r.Images {
			if !placed[im.Name] && !slices.ContainsFunc(im.DependsOn, func(d string) bool { return !placed[d] }) {
				ordered = append(ordered, im)
				placed[im.Name] = true
			}
		}
	}
	r.Images = ordered
}

// reaches: from is built on to, directly or not.
func (r *Result) reaches(from, to string) bool {
	seen := map[string]bool{}
	var walk func(string) bool
	walk = func(n string) bool {
		if seen[n] {
			return false
		}
		seen[n] = true
		i := slices.IndexFunc(r.Images, func(im *Image) bool { return im.Name == n })
		if i < 0 {
			return false
		}
		for _, d := range r.Images[i].DependsOn {
			if d == to || walk(d) {
				return true
			}
		}
		return false
	}
	return walk(from)
}

func (r *Result) chooseRegistry(flag string, getenv func(string) string) {
	r.Org = getenv("BUILDKITE_ORGANIZATION_SLUG")
	switch {
	case flag != "":
		r.Registry, r.Why = flag, "--registry "+flag
	case getenv("BUILDKITE_HOSTED_REGISTRY_URL") != "":
		r.Registry, r.Why = "hosted", "$BUILDKITE_HOSTED_REGISTRY_URL is set: this is a hosted agent"
	default:
		r.Registry, r.Why = "buildkite", "the default; give --registry ecr, gar or hosted for another"
	}
}
