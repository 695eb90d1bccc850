package exectest

import (
	"bytes"
	"cmp"
	"fmt"
	"io/fs"
	"os"
	"path"
	"path/filepath"
	"slices"
	"sort"
	"strings"

	"github.com/bkgen/bkgen/internal/gittest"
	"github.com/bkgen/bkgen/spec"
)

// Repo is a scenario's git repository, as the harness builds it: a copy of
// the example whose Dockerfiles are stand-ins and whose consumers run
// probes, committed on main.
type Repo struct {
	Dir      string
	Scenario *Scenario
	Spec     *spec.Spec
	Standins map[string]*Standin // by image
	// Branch is the repository's branch, the builds' and the pipeline's
	// default: a name of its own, so that no other scenario writes the
	// registry caches this one reads (several examples push base and web
	// to the same repositories).
	Branch string
	Commit string
	// Change is the image whose context holds ChangeFile, the file the
	// "changed" phase edits ("" when no image here can be rebuilt).
	Change     string
	ChangeFile string
	// MovingBase, for a scenario with the moved phase, is the base its
	// stand-ins are built FROM (not the environment's): a tag of the
	// run's own, which that phase moves.
	MovingBase string
	changes    int // how many times ChangeInput changed ChangeFile
}

// specPath is where a spec lives in its repository.
const specPath = ".buildkite/bkgen.yml"

// changeFileName is the file the harness adds to one image's context, to
// change it.
const changeFileName = "bkgen-exec-input.txt"

// RepoOptions make one run's repository of a scenario.
type RepoOptions struct {
	// Run goes into every marker (and so every content tag), and prefixes
	// every image's repository: builds of different runs, scenarios and
	// profiles never find each other's images, nor push to the same
	// repository (several examples push base and web to acme/images).
	Run string
	// Branch is the repository's branch ("main" when empty).
	Branch string
	// Label is every image's runLabel, by which the run finds its images
	// in dockerd's store ("" for none).
	Label string
}

// PrepareRepo makes the scenario's repository in dir.
func PrepareRepo(sc *Scenario, dir string, o RepoOptions, env *Env) (*Repo, error) {
	if o.Branch == "" {
		o.Branch = "main"
	}
	if err := copyTree(sc.Dir, dir); err != nil {
		return nil, err
	}
	src, err := os.ReadFile(filepath.Join(dir, specPath))
	if err != nil {
		return nil, err
	}
	s, err := spec.Load(specPath, src)
	if err != nil {
		return nil, err
	}
	r := &Repo{Dir: dir, Scenario: sc, Spec: s, Standins: map[string]*Standin{}, Branch: o.Branch}
	stages := map[string]string{} // Dockerfile and stage: the image building it
	for _, im := range s.Images {
		stage := cmp.Or(strings.ToLower(im.Target), finalStage)
		if other, ok := stages[im.Dockerfile+" "+stage]; ok {
			return nil, fmt.Errorf("images %s and %s both build %s of %s: the harness gives each image a stage of its own", other, im.Name, stage, im.Dockerfile)
		}
		stages[im.Dockerfile+" "+stage] = im.Name
		orig, err := os.ReadFile(filepath.Join(dir, filepath.FromSlash(im.Dockerfile)))
		if err != nil {
			return nil, fmt.Errorf("image %s: %w", im.Name, err)
		}
		base := env.BaseImage
		if reg := s.Registry(im.Registry); reg != nil && reg.Provider.Name() == "hosted" {
			base = env.HostedBaseImage()
		}
		if slices.Contains(sc.ExtraPhases, PhaseMoved) {
			r.MovingBase = env.PackagesHost + "/acme/exec/" + o.Run + "/moving-base:1"
			base = r.MovingBase
		}
		r.Standins[im.Name] = NewStandin(im, string(orig), o.Run, base)
		r.Standins[im.Name].Label = o.Label
	}
	if err := r.writeDockerfiles(); err != nil {
		return nil, err
	}
	// Each run's repositories of its own: scenarios running at once never
	// push the same blobs into one repository, which docker-registry can
	// refuse ("provided digest did not match uploaded content").
	probed, err := rewriteSpec(src, s, o.Run)
	if err != nil {
		return nil, err
	}
	if err := os.WriteFile(filepath.Join(dir, specPath), probed, 0o644); err != nil {
		return nil, err
	}
	if r.Spec, err = spec.Load(specPath, probed); err != nil {
		return nil, fmt.Errorf("the spec with probes: %w", err)
	}
	if sg := r.Spec.Signing; sg != nil && sg.PublicKey != "" && spec.KeyEnv(sg.PublicKey) == "" && !spec.KMS(sg.PublicKey) {
		// The public key of setup.sh's key pair, where the spec says the
		// repository keeps it.
		pub := filepath.Join(dir, filepath.FromSlash(sg.PublicKey))
		if !filepath.IsLocal(filepath.FromSlash(sg.PublicKey)) {
			return nil, fmt.Errorf("signing.public_key %s: the harness writes the public key into the repository, so give a path in it", sg.PublicKey)
		}
		b, err := os.ReadFile(env.CosignPub)
		if err == nil {
			err = os.MkdirAll(filepath.Dir(pub), 0o755)
		}
		if err == nil {
			err = os.WriteFile(pub, b, 0o644)
		}
		if err != nil {
			return nil, err
		}
	}
	if r.Change = r.changeTarget(); r.Change != "" {
		ctx := r.Spec.Image(r.Change).Context
		r.ChangeFile = path.Join(ctx, changeFileName)
		if ctx == "." {
			r.ChangeFile = changeFileName
		}
		if err := os.WriteFile(filepath.Join(dir, filepath.FromSlash(r.ChangeFile)), []byte("1\n"), 0o644); err != nil {
			return nil, err
		}
	}
	if err := r.git("init", "-q", "-b", r.Branch); err != nil {
		return nil, err
	}
	return r, r.commit("the example, with stand-in Dockerfiles and probes")
}

// writeDockerfiles writes each Dockerfile: the stand-ins of the images
// that build from it (an image and its variants), each its own stage.
func (r *Repo) writeDockerfiles() error {
	files := map[string][]*Standin{}
	var order []string
	for _, im := range r.Spec.Images {
		if files[im.Dockerfile] == nil {
			order = append(order, im.Dockerfile)
		}
		files[im.Dockerfile] = append(files[im.Dockerfile], r.Standins[im.Name])
	}
	for _, f := range order {
		p := filepath.Join(r.Dir, filepath.FromSlash(f))
		if err := os.WriteFile(p, []byte(sharedText(files[f])), 0o644); err != nil {
			return err
		}
	}
	return nil
}

// Executable reports whether the harness can build an image at all: its
// registry is one this machine serves and its cache one it has.
func (r *Repo) Executable(im *spec.Image) bool {
	reg := r.Spec.Registry(im.Registry)
	if reg == nil {
		return false
	}
	switch reg.Provider.Name() {
	case "buildkite", "hosted":
	default:
		return false
	}
	return im.Cache.Type != spec.CacheS3
}

// changeTarget picks the image the "changed" phase edits: of the images
// the harness can build, the one with the most dependents it can build too
// (the first in the spec's order on a tie).
func (r *Repo) changeTarget() string {
	best, most := "", -1
	for _, im := range r.Spec.Images {
		if !r.Executable(im) {
			continue
		}
		n := 0
		for _, d := range r.Dependents(im.Name) {
			if r.Executable(r.Spec.Image(d)) {
				n++
			}
		}
		if n > most {
			best, most = im.Name, n
		}
	}
	return best
}

// changedImages are the images a change to ChangeFile rebuilds: Change and
// the images built on it.
func (r *Repo) changedImages() map[string]bool {
	want := map[string]bool{r.Change: true}
	for _, d := range r.Dependents(r.Change) {
		want[d] = true
	}
	return want
}

// onMovingBase are the images the moved phase rebuilds: those built FROM
// the moving base, and the images built on them.
func (r *Repo) onMovingBase() map[string]bool {
	out := map[string]bool{}
	for _, im := range r.Spec.Images {
		if r.Standins[im.Name].FromArg == "" && r.Executable(im) {
			out[im.Name] = true
			for _, d := range r.Dependents(im.Name) {
				out[d] = true
			}
		}
	}
	return out
}

// agedImages are the images the stale phase makes older than their
// max_age.
func (r *Repo) agedImages() []*spec.Image {
	var out []*spec.Image
	for _, im := range r.Spec.Images {
		if im.MaxAge > 0 && r.Executable(im) {
			out = append(out, im)
		}
	}
	return out
}

// staleImages are the images the stale phase rebuilds: those it ages, and
// the images built on them.
func (r *Repo) staleImages() map[string]bool {
	out := map[string]bool{}
	for _, im := range r.agedImages() {
		out[im.Name] = true
		for _, d := range r.Dependents(im.Name) {
			out[d] = true
		}
	}
	return out
}

// rebuiltImages are the images the rebuild phase's BKGEN_REBUILD names,
// their variants, and the images built on any of them.
func (r *Repo) rebuiltImages() map[string]bool {
	out := map[string]bool{}
	for _, name := range strings.FieldsFunc(r.Scenario.Rebuild, func(c rune) bool { return c == ',' || c == ' ' }) {
		for _, im := range r.Spec.Images {
			if name == "all" || im.Name == name || im.Of == name {
				out[im.Name] = true
				for _, d := range r.Dependents(im.Name) {
					out[d] = true
				}
			}
		}
	}
	return out
}

// Dependents are the images a change to name's context changes besides
// name: the others built from that context (its variants), and the images
// built on any of those, directly or not, in spec order.
func (r *Repo) Dependents(name string) []string {
	in := map[string]bool{name: true}
	var out []string
	if im := r.Spec.Image(name); im != nil {
		for _, o := range r.Spec.Images {
			if o.Name != name && o.Context == im.Context {
				in[o.Name] = true
				out = append(out, o.Name)
			}
		}
	}
	for _, im := range r.Spec.Images { // in dependency order
		for _, d := range im.DependsOn {
			if in[d] && !in[im.Name] {
				in[im.Name] = true
				out = append(out, im.Name)
			}
		}
	}
	return out
}

// ChangeInput edits the change file and commits: one changed file in one
// image's context. A scenario that lists its changed files gets this one.
func (r *Repo) ChangeInput() error {
	if r.Change == "" {
		return fmt.Errorf("no image here can be rebuilt")
	}
	r.changes++ // each change another content: the file starts as 1
	if err := os.WriteFile(filepath.Join(r.Dir, filepath.FromSlash(r.ChangeFile)), fmt.Appendf(nil, "%d\n", r.changes+1), 0o644); err != nil {
		return err
	}
	if err := r.writeChangedFiles([]string{r.ChangeFile}); err != nil {
		return err
	}
	return r.commit("change " + r.ChangeFile)
}

// Rebuild changes every Dockerfile by a comment: every content tag changes
// and no layer does, so each image builds again, from whatever cache it
// can find.
func (r *Repo) Rebuild(note string) error {
	var files []string
	for _, im := range r.Spec.Images {
		r.Standins[im.Name].Rebuild = note
		files = append(files, im.Dockerfile)
	}
	if err := r.writeDockerfiles(); err != nil {
		return err
	}
	if err := r.writeChangedFiles(files); err != nil {
		return err
	}
	return r.commit(note)
}

// writeChangedFiles rewrites the list of changed files the scenario gives
// bkgen (--changed-files FILE), if it gives one.
func (r *Repo) writeChangedFiles(files []string) error {
	for i, a := range r.Scenario.Args {
		name := ""
		switch {
		case a == "--changed-files" && i+1 < len(r.Scenario.Args):
			name = r.Scenario.Args[i+1]
		case strings.HasPrefix(a, "--changed-files="):
			name = strings.TrimPrefix(a, "--changed-files=")
		}
		if name != "" && name != "-" {
			sort.Strings(files)
			return os.WriteFile(filepath.Join(r.Dir, filepath.FromSlash(name)), []byte(strings.Join(files, "\n")+"\n"), 0o644)
		}
	}
	return nil
}

func (r *Repo) commit(msg string) error {
	if err := r.git("add", "-A"); err != nil {
		return err
	}
	if err := r.git("commit", "-q", "--allow-empty", "-m", msg); err != nil {
		return err
	}
	out, err := gittest.Command(r.Dir, "rev-parse", "HEAD").Output()
	if err != nil {
		return fmt.Errorf("git rev-parse: %w", err)
	}
	r.Commit = strings.TrimSpace(string(out))
	return nil
}

func (r *Repo) git(args ...string) error {
	cmd := gittest.Command(r.Dir, args...)
	var out bytes.Buffer
	cmd.Stdout, cmd.Stderr = &out, &out
	if err := cmd.Run(); err != nil {
		return fmt.Errorf("git %s: %v: %s", strings.Join(args, " "), err, out.String())
	}
	return nil
}

// copyTree copies an example, leaving out the harness's own files (env,
// args and exec at its top).
func copyTree(src, dst string) error {
	return filepath.WalkDir(src, func(p string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		rel, err := filepath.Rel(src, p)
		if err != nil {
			return err
		}
		switch rel {
		case "env", "args", "exec":
			return nil
		}
		target := filepath.Join(dst, rel)
		info, err := d.Info()
		if err != nil {
			return err
		}
		switch {
		case d.IsDir():
			return os.MkdirAll(target, 0o755)
		case info.Mode()&fs.ModeSymlink != 0:
			link, err := os.Readlink(p)
			if err != nil {
				return err
			}
			return os.Symlink(link, target)
		default:
			b, err := os.ReadFile(p)
			if err != nil {
				return err
			}
			return os.WriteFile(target, b, info.Mode().Perm())
		}
	})
}
