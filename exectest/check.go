package exectest

import (
	"cmp"
	"context"
	"encoding/json"
	"fmt"
	"maps"
	"os"
	"path"
	"path/filepath"
	"regexp"
	"slices"
	"sort"
	"strconv"
	"strings"
	"time"

	"github.com/bkgen/bkgen/imagebuild"
	"github.com/bkgen/bkgen/internal/agentsim"
	"github.com/bkgen/bkgen/provider"
	"github.com/bkgen/bkgen/spec"
	"github.com/bkgen/bkgen/stepvalue"
)

// The phases of a scenario, in order.
const (
	PhaseFirst   = "first"   // a fresh build: everything builds and runs
	PhaseAgain   = "again"   // the same commit again: every guard hits, nothing builds
	PhaseChanged = "changed" // one changed file: exactly that image and its dependents build
	PhaseCold    = "cold"    // a cold builder: layers come from the remote cache where there is one

	// Phases a scenario asks for (exec file: phases=...), run after again.
	PhaseStale   = "stale"   // images made older than their max_age: exactly those rebuild
	PhaseRebuild = "rebuild" // BKGEN_REBUILD names images: exactly those and the images built on them rebuild
	PhaseMoved   = "moved"   // the base the images are built FROM moves (--verify-registry): new tags, built on it

	// A pull request's build changes one image: the untrusted build builds
	// it under its own prefix and takes the rest from the trusted build,
	// and the trusted build of the same commit after it builds that image
	// again: it never reuses what the untrusted build pushed.
	PhaseUntrusted = "untrusted"
	PhaseTrusted   = "trusted"

	// Someone with push access puts an unsigned image under every content
	// tag (signing): the trusted build verifies before it reuses, so it
	// builds and signs every image again.
	PhaseForged = "forged"
)

// Phases lists every scenario's phases in the order they run.
var Phases = []string{PhaseFirst, PhaseAgain, PhaseChanged, PhaseCold}

// extraPhases are the phases a scenario may ask for, each run after again.
var extraPhases = []string{PhaseStale, PhaseRebuild, PhaseMoved, PhaseUntrusted, PhaseTrusted, PhaseForged}

// phaseOrder is the order of every phase, in the table too.
var phaseOrder = []string{PhaseFirst, PhaseAgain, PhaseStale, PhaseRebuild, PhaseMoved, PhaseUntrusted, PhaseTrusted, PhaseForged, PhaseChanged, PhaseCold}

// check is the checks after one build.
type check struct {
	ctx      context.Context
	repo     *Repo
	phase    string
	res      *agentsim.Result
	refs     map[string]string // image → content-tag reference, from bkgen preview
	prevRefs map[string]string // the previous phase's
	prevDone map[string]bool   // the previous phase's done
	env      map[string]string // the build's variables, for extra tags
	docker   dockerCLI
	row      *Row
	// scanCache: the jobs' BKGEN_SCAN_CACHE_DIR
	scanCache string
	// built: images with a step that ran docker buildx build.
	built map[string]bool
	// done: images whose final step passed (built, or found by the guard).
	done map[string]bool
	// broke: images with a build step that failed (reported already).
	broke map[string]bool
	// exec is the environment, for cosign and the scenarios' key.
	exec *Env
	// forged: in the forged phase, each image whose content tag the
	// harness replaced, and the digest it put there.
	forged map[string]string
}

func (c *check) fail(format string, a ...any) {
	c.row.Failures = append(c.row.Failures, fmt.Sprintf(format, a...))
}

func (c *check) run() {
	first := c.res.Step(agentsim.FirstStepKey)
	if first.State != agentsim.Passed {
		c.fail("%s: %s: %s", first.Step.Key, first.Reason, lastLines(first.Jobs, 3))
		return
	}
	c.steps()
	c.images()
	c.consumers()
	c.outputs()
	c.userSteps()
	c.scans()
	c.tokens()
	c.annotation()
	c.signatures()
	if c.repo.Scenario.TimeScale > 1 && c.phase == PhaseFirst {
		c.outlivedToken()
	}
	switch c.phase {
	case PhaseAgain:
		c.nothingBuilt()
	case PhaseChanged:
		c.exactlyChanged()
	case PhaseCold:
		c.fromRemoteCache()
	case PhaseStale:
		c.exactlyBuilt(c.repo.staleImages(), "older than its max_age, or built on an image that is")
		c.builtNow()
	case PhaseRebuild:
		c.exactlyBuilt(c.repo.rebuiltImages(), c.repo.Scenario.rebuildVar()+" asks for it")
		c.builtNow()
	case PhaseUntrusted:
		c.untrusted()
	case PhaseTrusted:
		c.trustedAfter()
	case PhaseForged:
		want := map[string]bool{}
		for name := range c.forged {
			want[name] = true
		}
		c.exactlyBuilt(want, "its content tag held an image with no signature")
	case PhaseMoved:
		moved := c.repo.onMovingBase()
		c.exactlyBuilt(moved, "its base moved")
		c.newTags(moved, "its base moved")
		c.onMovedBase()
	}
}

// untrusted: the pull request's build built exactly the image it changed
// (and those built on it), under its own prefix, and wrote no trusted tag;
// every other image it took from the trusted build, the same digest.
func (c *check) untrusted() {
	want := c.repo.changedImages()
	prefix := c.repo.Spec.Trust.TagPrefix
	for _, im := range c.repo.Spec.Images {
		if !c.repo.Executable(im) || c.notExecutable(im) || c.broke[im.Name] || c.neverBuilt(im) {
			continue
		}
		own := c.refs[im.Name]
		repo, tag, _ := strings.Cut(own, ":"+prefix)
		if tag == "" {
			c.fail("%s: the untrusted build's tag %s does not start with %s", im.Name, own, prefix)
			continue
		}
		trusted := repo + ":" + tag
		switch {
		case want[im.Name] && !c.built[im.Name]:
			c.fail("%s: changed in the pull request, and it did not build", im.Name)
		case !want[im.Name] && c.built[im.Name]:
			c.fail("%s: built, though a trusted build pushed the same image (%s)", im.Name, trusted)
		}
		if !c.done[im.Name] {
			continue
		}
		t, err := c.docker.inspect(c.ctx, trusted)
		switch {
		case want[im.Name] && err == nil:
			c.fail("%s: the untrusted build wrote the trusted tag %s", im.Name, trusted)
		case !want[im.Name] && err != nil:
			c.fail("%s: the trusted build's image is gone: %v", im.Name, err)
		case !want[im.Name]:
			if m, err := c.docker.inspect(c.ctx, own); err != nil || m.Digest != t.Digest {
				c.fail("%s: the untrusted build's %s is not the trusted build's image (%s): %v", im.Name, own, t.Digest, err)
			}
		}
	}
}

// signatures: with signing, every image a trusted build pushed or reused
// is signed with the scenarios' key, and none is what the harness forged.
func (c *check) signatures() {
	if c.repo.Spec.Signing == nil || c.phase == PhaseUntrusted {
		return
	}
	for _, im := range c.repo.Spec.Images {
		if !c.done[im.Name] || c.refs[im.Name] == "" {
			continue
		}
		ref := c.refs[im.Name]
		if err := c.exec.cosignVerify(c.ctx, c.docker.config, ref); err != nil {
			c.fail("%s: %s is not signed with the scenario's key: %v", im.Name, ref, err)
		}
		if forged := c.forged[im.Name]; forged != "" {
			if m, err := c.docker.inspect(c.ctx, ref); err != nil || m.Digest == forged {
				c.fail("%s: %s still holds the unsigned image the harness put there (%s): %v", im.Name, ref, forged, err)
			}
		}
	}
}

// trustedAfter: the trusted build of the pull request's commit built the
// images only the untrusted build had built, and nothing else.
func (c *check) trustedAfter() {
	want := c.repo.changedImages()
	for _, im := range c.repo.Spec.Images {
		if !c.repo.Executable(im) || c.notExecutable(im) || c.broke[im.Name] || c.neverBuilt(im) {
			continue
		}
		switch {
		case want[im.Name] && !c.built[im.Name]:
			c.fail("%s: only an untrusted build had built it, and the trusted build did not build it", im.Name)
		case !want[im.Name] && c.built[im.Name]:
			c.fail("%s: built again, though its content tag is in the registry", im.Name)
		}
	}
}

// platformsOf is the platforms an image is built for: the agent's own,
// linux/amd64 here, when the spec names none.
func platformsOf(im *spec.Image) []string {
	if len(im.Platforms) == 0 {
		return []string{"linux/amd64"}
	}
	return im.Platforms
}

// newTags: exactly the images of want have content tags other than the
// phase before's (want says why they must).
func (c *check) newTags(want map[string]bool, why string) {
	for _, im := range c.repo.Spec.Images {
		if c.prevRefs[im.Name] == "" {
			continue
		}
		if moved := c.refs[im.Name] != c.prevRefs[im.Name]; moved != want[im.Name] {
			c.fail("%s: its content tag moved: %v, want %v (%s: %s → %s)", im.Name, moved, want[im.Name], why, c.prevRefs[im.Name], c.refs[im.Name])
		}
	}
}

// onMovedBase: each image built FROM the moving base is built on what it
// holds now: its layers start with the moved base's, on every platform.
func (c *check) onMovedBase() {
	base, err := c.docker.configs(c.ctx, c.repo.MovingBase)
	if err != nil {
		c.fail("the moving base: %v", err)
		return
	}
	for _, im := range c.repo.Spec.Images {
		if c.repo.Standins[im.Name].FromArg != "" || !c.done[im.Name] {
			continue
		}
		configs, err := c.docker.configs(c.ctx, c.refs[im.Name])
		if err != nil {
			c.fail("%s: %v", im.Name, err)
			continue
		}
		platforms := platformsOf(im)
		for _, p := range platforms {
			b, got := config(base, p), config(configs, p)
			if b == nil || got == nil {
				c.fail("%s (%s): no image config to compare with the moved base's", im.Name, p)
				continue
			}
			if len(b.RootFS.DiffIDs) > len(got.RootFS.DiffIDs) || strings.Join(got.RootFS.DiffIDs[:len(b.RootFS.DiffIDs)], " ") != strings.Join(b.RootFS.DiffIDs, " ") {
				c.fail("%s (%s): not built on the moved base %s: its layers do not start with the base's", im.Name, p, c.repo.MovingBase)
			}
		}
	}
}

// exactlyBuilt: the images of want build (want says why they must), and
// no other image that was in the registry before does.
func (c *check) exactlyBuilt(want map[string]bool, why string) {
	for _, im := range c.repo.Spec.Images {
		if !c.repo.Executable(im) || c.notExecutable(im) || c.broke[im.Name] || c.neverBuilt(im) {
			continue
		}
		switch {
		case want[im.Name] && !c.built[im.Name]:
			c.fail("%s: %s, and it did not build", im.Name, why)
		case !want[im.Name] && c.built[im.Name] && c.pushedBefore(im.Name):
			c.fail("%s: built again although its content tag is in the registry, and nothing asks for a rebuild", im.Name)
		}
	}
}

// builtNow: every image this build built was made by it, not by an earlier
// build (the harness backdated some of those by days): each platform's
// creation time is within the last day.
func (c *check) builtNow() {
	for _, im := range c.repo.Spec.Images {
		if !c.built[im.Name] || !c.done[im.Name] {
			continue
		}
		created, err := c.docker.created(c.ctx, c.refs[im.Name])
		if err != nil {
			c.fail("%s: %v", im.Name, err)
			continue
		}
		for p, t := range created {
			if age := time.Since(t); age > 24*time.Hour {
				c.fail("%s (%s): rebuilt, but its content tag holds an image built %s ago", im.Name, cmp.Or(p, "its platform"), age.Round(time.Hour))
			}
		}
	}
}

// steps: every step that ran passed; the ones that cannot run here are
// listed with why.
func (c *check) steps() {
	c.built, c.done, c.broke = map[string]bool{}, map[string]bool{}, map[string]bool{}
	for _, s := range c.res.Steps {
		switch s.State {
		case agentsim.Failed:
			if c.scanMustFail(s.Step.Key) {
				c.row.Ran++ // and scans() checks it failed for its findings
				continue
			}
			c.fail("%s: %s%s: %s", s.Step.Key, s.Reason, c.neverRan(s), lastLines(s.Jobs, 3))
			if im := c.imageOfBuildStep(s.Step.Key); im != "" {
				c.broke[im] = true
			}
		case agentsim.Broken:
			c.row.Notes = append(c.row.Notes, fmt.Sprintf("%s did not run: %s", s.Step.Key, s.Reason))
		case agentsim.NotExecutable:
			c.row.NotExecutable = append(c.row.NotExecutable, s.Step.Key+": "+s.Reason)
		case agentsim.SoftFailed:
			c.row.Notes = append(c.row.Notes, fmt.Sprintf("%s soft-failed: %s: %s", s.Step.Key, s.Reason, lastLines(s.Jobs, 2)))
		case agentsim.Passed:
			if s.Step.Kind == "" { // a wait or a group's entry runs nothing
				c.row.Ran++
			}
		case agentsim.Skipped:
			c.row.Notes = append(c.row.Notes, fmt.Sprintf("%s skipped: %s", s.Step.Key, s.Reason))
		}
		for _, call := range c.res.Calls(s.Step.Key) {
			if call.Builds() && s.Step.Key != agentsim.FirstStepKey {
				if im := c.imageOfBuildStep(s.Step.Key); im != "" {
					c.built[im] = true
				}
			}
		}
	}
	for _, im := range c.repo.Spec.Images {
		if s := c.res.Step(spec.FinalKey(im)); s != nil && s.State == agentsim.Passed {
			c.done[im.Name] = true
		}
	}
}

// neverRan says, of a failed consumer step, that its command never ran
// in a job that failed (its probe left no record).
func (c *check) neverRan(s *agentsim.StepResult) string {
	for _, im := range c.repo.Spec.Images {
		for _, cons := range im.Consumers {
			if spec.ConsumerKey(im, cons) != s.Step.Key {
				continue
			}
			for _, j := range s.Jobs {
				if p, err := readProbe(j.Checkout, s.Step.Key, j.Index); err == nil && p == nil && j.State == agentsim.Failed {
					return " before its command ran (no probe record)"
				}
			}
		}
	}
	return ""
}

// imageOfBuildStep is the image whose build (or per-platform build) a step is.
func (c *check) imageOfBuildStep(key string) string {
	for _, im := range c.repo.Spec.Images {
		for _, ref := range spec.Steps(im) {
			if ref.Kind == spec.BuildStep && ref.Key == key {
				return im.Name
			}
		}
	}
	return ""
}

// images: for each image pushed: its content tag in the registry, with the
// digest the meta-data names; its extra tags at the same digest; every
// platform, each built as that architecture; its marker, build args and
// labels; and, built on another image, that image's layers first.
func (c *check) images() {
	for _, im := range c.repo.Spec.Images {
		if !c.done[im.Name] {
			continue
		}
		ref := c.refs[im.Name]
		if ref == "" {
			c.fail("%s: bkgen preview gives no content tag", im.Name)
			continue
		}
		repo := ref[:strings.LastIndex(ref, ":")]
		md := c.res.MetaData["bkgen:image:"+im.Name]
		wantDigest, ok := strings.CutPrefix(md, repo+"@")
		if !ok || !strings.HasPrefix(wantDigest, "sha256:") {
			c.fail("%s: meta-data bkgen:image:%s is %q, not %s@sha256:...", im.Name, im.Name, md, repo)
			continue
		}
		m, err := c.docker.inspect(c.ctx, ref)
		if err != nil {
			c.fail("%s: the content tag is not in the registry: %v", im.Name, err)
			continue
		}
		if m.Digest != wantDigest {
			c.fail("%s: %s is %s, but meta-data bkgen:image:%s says %s", im.Name, ref, m.Digest, im.Name, wantDigest)
		}
		for _, tag := range c.extraTags(im) {
			t, err := c.docker.inspect(c.ctx, repo+":"+tag)
			switch {
			case err != nil:
				c.fail("%s: extra tag %s is not in the registry: %v", im.Name, tag, err)
			case t.Digest != m.Digest:
				c.fail("%s: extra tag %s is %s, not the content tag's %s", im.Name, tag, t.Digest, m.Digest)
			}
		}
		c.attestations(im, ref, m)
		c.annotations(im, ref)
		if c.phase == PhaseAgain {
			continue // the same images as the build before: only the tags and meta-data are new
		}
		c.contents(im, repo, m)
	}
}

// attestations: an image has exactly the attestations its spec asks for,
// whichever builder made it: without any, a plain manifest (an index of
// them for several platforms); with provenance, SLSA provenance for every
// platform; with an SBOM, one listing the package every stand-in holds.
func (c *check) attestations(im *spec.Image, ref string, m *manifest) {
	attached := 0
	for _, x := range m.Manifests {
		if x.Platform != nil && x.Platform.OS == "unknown" {
			attached++
		}
	}
	if im.Provenance == "" && im.SBOM == "" {
		if attached > 0 {
			c.fail("%s: %d attestation manifests, though the spec asks for none", im.Name, attached)
		}
		return
	}
	found, err := c.docker.attestations(c.ctx, ref)
	if err != nil {
		c.fail("%s: %v", im.Name, err)
		return
	}
	platforms := platformsOf(im)
	for _, p := range platforms {
		a := found[p]
		if a == nil && len(found) == 1 {
			for _, only := range found {
				a = only
			}
		}
		switch {
		case a == nil:
			c.fail("%s (%s): no attestations, though the spec asks for them", im.Name, p)
			continue
		case im.Provenance != "" && a.Provenance == "":
			c.fail("%s (%s): no SLSA provenance, though the spec asks for provenance: %s", im.Name, p, im.Provenance)
		case im.Provenance == "" && a.Provenance != "":
			c.fail("%s (%s): SLSA provenance the spec does not ask for", im.Name, p)
		}
		switch {
		case im.SBOM != "" && !slices.Contains(a.Packages, plantedPackage+"@"+plantedVersion):
			c.fail("%s (%s): its SBOM does not list %s@%s: %v", im.Name, p, plantedPackage, plantedVersion, a.Packages)
		case im.SBOM == "" && a.Packages != nil:
			c.fail("%s (%s): an SBOM the spec does not ask for", im.Name, p)
		}
	}
}

// annotations: an image that asks for them records the build that pushed
// it on what its content tag names: this build's commit when it built the
// image, an earlier build's when it reused it.
func (c *check) annotations(im *spec.Image, ref string) {
	if !im.Annotations {
		return
	}
	raw, err := c.docker.run(c.ctx, "buildx", "imagetools", "inspect", ref, "--raw")
	if err != nil {
		c.fail("%s: %v", im.Name, err)
		return
	}
	var m struct {
		Annotations map[string]string `json:"annotations"`
	}
	if err := json.Unmarshal([]byte(raw), &m); err != nil {
		c.fail("%s: its manifest: %v", im.Name, err)
		return
	}
	rev, created := m.Annotations["org.opencontainers.image.revision"], m.Annotations["org.opencontainers.image.created"]
	switch {
	case c.built[im.Name] && rev != c.env["BUILDKITE_COMMIT"]:
		c.fail("%s: built by this build, and its revision annotation is %q, not %s (annotations %v)", im.Name, rev, c.env["BUILDKITE_COMMIT"], m.Annotations)
	case rev == "" || created == "":
		c.fail("%s: no revision or created annotation: %v", im.Name, m.Annotations)
	}
}

// contents looks inside an image, on each of its platforms.
func (c *check) contents(im *spec.Image, repo string, m *manifest) {
	st := c.repo.Standins[im.Name]
	platforms := platformsOf(im)
	byPlatform := m.platforms()
	if len(platforms) > 1 {
		var missing []string
		for _, p := range platforms {
			if byPlatform[p] == "" {
				missing = append(missing, p)
			}
		}
		if len(missing) > 0 {
			c.fail("%s: the image lists %s, not %s", im.Name, strings.Join(sortedPlatforms(byPlatform), ", "), strings.Join(missing, ", "))
		}
	}
	configs, err := c.docker.configs(c.ctx, repo+"@"+m.Digest)
	if err != nil {
		c.fail("%s: %v", im.Name, err)
	}
	for _, p := range platforms {
		ref := repo + "@" + m.Digest
		if d := byPlatform[p]; d != "" {
			ref = repo + "@" + d
		} else if len(platforms) > 1 {
			continue // reported above
		}
		in, err := c.docker.lookInside(c.ctx, ref, p)
		if err != nil {
			c.fail("%s (%s): looking inside: %v", im.Name, p, err)
			continue
		}
		if want := st.Marker(p); in.Marker != want {
			c.fail("%s (%s): the marker says %q, want %q", im.Name, p, in.Marker, want)
		}
		if want := unameArch(p); in.Uname != want {
			c.fail("%s (%s): uname -m in the image says %q, want %q", im.Name, p, in.Uname, want)
		}
		var args []string
		for _, kv := range im.Args {
			args = append(args, kv.Key+"="+kv.Value)
		}
		sort.Strings(args)
		if want := strings.Join(args, " "); in.Args != want {
			c.fail("%s (%s): built with args %q, want the spec's %q", im.Name, p, in.Args, want)
		}
		cfg := config(configs, p)
		if cfg == nil {
			continue
		}
		for _, kv := range im.Labels {
			if got := cfg.Config.Labels[kv.Key]; got != kv.Value {
				c.fail("%s (%s): label %s is %q, want %q", im.Name, p, kv.Key, got, kv.Value)
			}
		}
		for _, dep := range im.DependsOn {
			c.builtOn(im, dep, p, cfg)
		}
	}
}

// builtOn: an image built on dep has dep's layers (this build's dep) first.
func (c *check) builtOn(im *spec.Image, dep, platform string, cfg *imageConfig) {
	depRef := c.refs[dep]
	if depRef == "" || !c.done[dep] {
		return
	}
	if !c.repo.Standins[im.Name].fromDep(dep) {
		return
	}
	depConfigs, err := c.docker.configs(c.ctx, depRef)
	if err != nil {
		c.fail("%s: %v", dep, err)
		return
	}
	dc := config(depConfigs, platform)
	if dc == nil {
		c.fail("%s (%s): %s has no %s image to build on", im.Name, platform, dep, platform)
		return
	}
	if len(dc.RootFS.DiffIDs) > len(cfg.RootFS.DiffIDs) || strings.Join(cfg.RootFS.DiffIDs[:len(dc.RootFS.DiffIDs)], " ") != strings.Join(dc.RootFS.DiffIDs, " ") {
		c.fail("%s (%s): not built on this build's %s (%s): its layers do not start with that image's", im.Name, platform, dep, depRef)
	}
}

// fromDep reports whether the stand-in builds FROM dep's image.
func (s *Standin) fromDep(dep string) bool { return s.FromArg == imagebuild.DependencyArg(dep) }

// outputs: each output step that ran took its files out of this build's
// image of its stage: the artifacts it uploaded hold that stage's marker.
func (c *check) outputs() {
	for _, im := range c.repo.Spec.Images {
		for _, o := range im.Outputs {
			key := spec.OutputKey(im, o)
			s := c.res.Step(key)
			if s == nil || s.State != agentsim.Passed || !c.done[im.Name] {
				continue
			}
			rel := strings.TrimPrefix(path.Join(o.Path, strings.TrimPrefix(markerPath, o.From)), "/")
			if o.From != "/" && !strings.HasPrefix(markerPath, o.From+"/") {
				continue // the marker is not under what it takes
			}
			want := c.repo.Standins[im.Name].Marker("linux/amd64")
			for _, j := range s.Jobs {
				if !slices.Contains(j.Artifacts, rel) {
					c.fail("%s: uploaded %d artifacts, not %s", key, len(j.Artifacts), rel)
					continue
				}
				got, err := os.ReadFile(filepath.Join(j.Checkout, filepath.FromSlash(rel)))
				if err != nil || strings.TrimSpace(string(got)) != want {
					c.fail("%s: %s says %q, want %q (%v)", key, rel, strings.TrimSpace(string(got)), want, err)
				}
			}
		}
	}
}

// extraTags are an image's tags besides the content tag, as the job's
// shell expands them, with the templates this harness's builds give a
// value (branch names here are fit for a tag already), and an inline
// cache's tag.
func (c *check) extraTags(im *spec.Image) []string {
	sha := c.env["BUILDKITE_COMMIT"]
	sha = sha[:min(7, len(sha))]
	templates := strings.NewReplacer("{{branch}}", c.env["BUILDKITE_BRANCH"], "{{sha}}", sha, "{{build_number}}", c.env["BUILDKITE_BUILD_NUMBER"])
	var out []string
	for _, t := range im.Tags {
		text := templates.Replace(t.Text)
		if strings.Contains(text, "{{") {
			continue // no value in a branch build ({{version}}): bkgen leaves it out
		}
		out = append(out, os.Expand(text, func(k string) string { return c.env[k] }))
	}
	if im.Cache.Type == spec.CacheInline {
		out = append(out, "buildcache-"+regexp.MustCompile(`[^A-Za-z0-9_.-]`).ReplaceAllString(c.env["BUILDKITE_BRANCH"], "-"))
	}
	return out
}

// consumers: each consumer job ran its command inside its image (the probe
// saw the image's marker), with the step's env and its parallel index, and
// left the artifacts its artifact_paths name.
func (c *check) consumers() {
	for _, im := range c.repo.Spec.Images {
		for _, cons := range im.Consumers {
			key := spec.ConsumerKey(im, cons)
			s := c.res.Step(key)
			if s != nil && s.State != agentsim.NotExecutable && s.State != agentsim.Broken && s.Step != nil {
				// A branch filter or condition that leaves the build's branch
				// out skips the step; one that keeps it does not.
				out := !agentsim.BranchMatches(c.repo.Branch, s.Step.Branches)
				if a, ok := attr(cons, "if"); ok {
					if m := branchCond.FindStringSubmatch(a.Value.Scalar); m != nil && (m[2] == c.repo.Branch) != (m[1] == "==") {
						out = true
					}
				}
				// (A step may be skipped for other reasons: bkgen's skip.)
				filtered := s.State == agentsim.Skipped && (strings.HasPrefix(s.Reason, "branches ") || strings.HasPrefix(s.Reason, "if "))
				switch {
				case out && s.State != agentsim.Skipped:
					c.fail("%s: %s on branch %s, which its branches or if should have skipped", key, s.State, c.repo.Branch)
				case !out && filtered:
					c.fail("%s: skipped on branch %s (%s), which its branches and if keep", key, c.repo.Branch, s.Reason)
				}
			}
			if s == nil || (s.State != agentsim.Passed && s.State != agentsim.SoftFailed) {
				continue
			}
			want := c.repo.Standins[im.Name].Marker(hostPlatform(im))
			matrix := matrixDims(cons) != nil
			if matrix {
				c.matrixJobs(key, cons, s)
			}
			for _, j := range s.Jobs {
				index := j.Index
				if matrix {
					index = 0 // no BUILDKITE_PARALLEL_JOB: each job its own checkout
				}
				p, err := readProbe(j.Checkout, key, index)
				if err != nil {
					c.fail("%s: %v", key, err)
					continue
				}
				if p == nil {
					c.fail("%s: the step %s, but its command never ran (no probe record); its output ends: %s", key, s.State, lastLines([]*agentsim.Job{j}, 2))
					continue
				}
				if p.Marker != want {
					c.fail("%s: ran in %q, not in image %s (%q)", key, p.Marker, im.Name, want)
				}
				clouds := cons.Container.Credentials
				if clouds == nil {
					clouds = registryClouds[c.repo.Spec.Registry(im.Registry).Provider.Name()]
				}
				if !cons.Container.JobImage {
					// A job image is the job: what it reads is in it already.
					c.credentials(key, clouds, p)
					c.container(key, cons.Container, p)
				}
				for name, want := range wantEnv(cons, clouds) {
					if got, want := p.Env[name], interpolateMatrix(want, j.Step.Permutation); got != want {
						c.fail("%s: env %s is %q inside the image, want %q", key, name, got, want)
					}
				}
				if cons.Parallelism > 1 {
					if p.ParallelJob != strconv.Itoa(j.Index) || p.ParallelJobCount != strconv.Itoa(cons.Parallelism) {
						c.fail("%s: parallel job %d of %d saw BUILDKITE_PARALLEL_JOB=%s, BUILDKITE_PARALLEL_JOB_COUNT=%s", key, j.Index, cons.Parallelism, p.ParallelJob, p.ParallelJobCount)
					}
				}
				for _, miss := range j.MissingArtifacts {
					c.fail("%s: artifact_paths %q matched no file", key, miss)
				}
			}
			if n := len(s.Jobs); cons.Parallelism > 1 && n != cons.Parallelism {
				c.fail("%s: %d jobs ran, want parallelism %d", key, n, cons.Parallelism)
			}
		}
	}
}

// branchCond is the one kind of if the harness's scenarios use.
var branchCond = regexp.MustCompile(`^build\.branch (==|!=) "([^"]*)"$`)

// attr is a consumer's pass-through attribute, if it has it.
func attr(cons *spec.Consumer, key string) (*spec.StepAttr, bool) {
	for i := range cons.Attrs {
		if cons.Attrs[i].Key == key {
			return &cons.Attrs[i], true
		}
	}
	return nil, false
}

// wantEnv is what a consumer's probe must see of the variables it
// records: its own env always; the pipeline's variable when the job's
// environment propagates and is not denied; the hook's only when passed.
func wantEnv(cons *spec.Consumer, clouds []string) map[string]string {
	ct := cons.Container
	want := map[string]string{buildVar: "unset", hookVar: "unset", awsKeyVar: "unset"}
	if ct.JobImage {
		// The job runs in the image: its whole environment is there.
		want = map[string]string{buildVar: buildValue, hookVar: hookValue, awsKeyVar: awsKeyValue}
		for _, kv := range cons.Env {
			want[kv.Key] = kv.Value
		}
		return want
	}
	if slices.Contains(clouds, "aws") {
		want[awsKeyVar] = awsKeyValue
	}
	if ct.Propagate && !matchesAny(ct.Deny, buildVar) {
		want[buildVar] = buildValue
	}
	if matchesAny(ct.Pass, hookVar) && !matchesAny(ct.Deny, hookVar) {
		want[hookVar] = hookValue
	}
	for _, kv := range cons.Env {
		want[kv.Key] = kv.Value
	}
	return want
}

// matrixJobs: a matrix consumer ran one job for each combination of its
// matrix that Buildkite would run (the product of its setup, less what an
// adjustment skips, plus what one adds), and each job's command saw its
// own combination.
func (c *check) matrixJobs(key string, cons *spec.Consumer, s *agentsim.StepResult) {
	a, _ := attr(cons, "matrix")
	want := wantMatrix(a.Value)
	var got []string
	for _, j := range s.Jobs {
		p, err := readProbe(j.Checkout, key, 0)
		if err != nil || p == nil {
			continue // reported with the job's other checks
		}
		got = append(got, p.Matrix)
		if p.Matrix != matrixText(j.Step.Permutation) {
			c.fail("%s: the job for %q saw %q in its command", key, matrixText(j.Step.Permutation), p.Matrix)
		}
	}
	sort.Strings(got)
	if !slices.Equal(got, want) {
		c.fail("%s: matrix jobs %q, want %q", key, got, want)
	}
}

// wantMatrix is each combination of a matrix, as matrixText writes it, sorted.
func wantMatrix(m *stepvalue.Value) []string {
	setup, adjustments := m, (*stepvalue.Value)(nil)
	if m.Kind == stepvalue.Map {
		setup, adjustments = m.Get("setup"), m.Get("adjustments")
	}
	combos := []map[string]string{{}}
	dims := map[string]*stepvalue.Value{"": setup}
	if setup.Kind == stepvalue.Map {
		dims = map[string]*stepvalue.Value{}
		for i, k := range setup.Keys {
			dims[k] = setup.Items[i]
		}
	}
	for _, d := range slices.Sorted(maps.Keys(dims)) {
		var next []map[string]string
		for _, combo := range combos {
			for _, v := range dims[d].Items {
				n := maps.Clone(combo)
				n[d] = v.Scalar
				next = append(next, n)
			}
		}
		combos = next
	}
	set := map[string]bool{}
	for _, combo := range combos {
		set[matrixText(combo)] = true
	}
	if adjustments != nil {
		for _, adj := range adjustments.Items {
			with := map[string]string{}
			if w := adj.Get("with"); w.Kind == stepvalue.Map {
				for i, k := range w.Keys {
					with[k] = w.Items[i].Scalar
				}
			} else {
				with[""] = w.Scalar
			}
			skip := adj.Get("skip")
			set[matrixText(with)] = skip == nil || skip.Kind == stepvalue.Bool && skip.Scalar == "false"
		}
	}
	var out []string
	for t, run := range set {
		if run {
			out = append(out, t)
		}
	}
	sort.Strings(out)
	return out
}

var matrixToken = regexp.MustCompile(`\{\{\s*matrix(\.[\w.-]+)?\s*\}\}`)

// interpolateMatrix fills a matrix job's combination into text, as
// Buildkite does before the job runs.
func interpolateMatrix(text string, p map[string]string) string {
	if p == nil {
		return text
	}
	return matrixToken.ReplaceAllStringFunc(text, func(tok string) string {
		dim := strings.TrimPrefix(matrixToken.FindStringSubmatch(tok)[1], ".")
		return p[dim]
	})
}

// userSteps: the spec's own steps are in the build; each that ran started
// after every step its depends_on names had finished, and after whatever
// came before a wait, block or input before it; one that did not run was
// skipped by bkgen (its if_changed) or waits for what cannot run here.
func (c *check) userSteps() {
	for _, us := range spec.AllUserSteps(c.repo.Spec.Steps) {
		if us.Key == "" {
			continue
		}
		s := c.res.Step(us.Key)
		if s == nil {
			c.fail("steps: %s is not in the build", us.Key)
			continue
		}
		switch s.State {
		case agentsim.Passed, agentsim.Skipped, agentsim.NotExecutable:
		default:
			c.fail("%s: %s: %s", us.Key, s.State, s.Reason)
			continue
		}
		filtered := strings.HasPrefix(s.Reason, "its group is skipped") || strings.HasPrefix(s.Reason, "branches ") || strings.HasPrefix(s.Reason, "if ")
		if s.State == agentsim.Skipped && us.IfChanged == nil && !filtered {
			c.fail("%s: skipped (%s), but it has no if_changed", us.Key, s.Reason)
		}
		for _, d := range us.DependsOn {
			if !slices.ContainsFunc(s.Step.DependsOn, func(x agentsim.Dependency) bool { return x.Key == d }) {
				c.fail("%s: the pipeline lost its depends_on %s", us.Key, d)
			}
		}
		if s.State != agentsim.Passed || len(s.Jobs) == 0 {
			continue
		}
		start := s.Jobs[0].Start
		for _, d := range s.Step.DependsOn {
			dep := c.res.Step(d.Key)
			if dep == nil {
				continue
			}
			for _, j := range dep.Jobs {
				if j.End.After(start) {
					c.fail("%s started before %s (which it waits for) finished", us.Key, d.Key)
				}
			}
		}
	}
}

// registryClouds are the clouds whose credentials a consumer of an image
// in a registry of the provider gets by default.
var registryClouds = map[string][]string{"ecr": {"aws"}, "gar": {"gcp"}}

// credentials: the cloud credential files reached the container, readable,
// exactly when the consumer's clouds say so.
func (c *check) credentials(key string, clouds []string, p *Probe) {
	for _, f := range []struct{ cloud, file string }{{"gcp", "gcp-credentials"}, {"gcp", "gcp-token"}, {"aws", "aws-token"}} {
		if want := slices.Contains(clouds, f.cloud); p.Readable[f.file] != want {
			c.fail("%s: the %s file readable inside is %v, want %v (credentials %v)", key, f.file, p.Readable[f.file], want, clouds)
		}
	}
}

// matchesAny: name matches one of the spec's name patterns (a final *
// matches any rest).
func matchesAny(patterns []string, name string) bool {
	for _, p := range patterns {
		if p == name || strings.HasSuffix(p, "*") && strings.HasPrefix(name, strings.TrimSuffix(p, "*")) {
			return true
		}
	}
	return false
}

// container: the consumer's container ran as its spec says.
func (c *check) container(key string, ct spec.Container, p *Probe) {
	switch {
	case ct.User == "agent":
		if want := fmt.Sprintf("%d:%d", os.Getuid(), os.Getgid()); p.User != want {
			c.fail("%s: ran as %s, want the agent's %s", key, p.User, want)
		}
	case strings.Contains(ct.User, ":") && p.User != ct.User:
		c.fail("%s: ran as %s, want %s", key, p.User, ct.User)
	}
	if ct.Workdir != "" && p.Dir != ct.Workdir {
		c.fail("%s: ran in %s, want %s", key, p.Dir, ct.Workdir)
	}
	if p.Shell != ct.Shell[0] {
		c.fail("%s: the command ran in %s, want %s", key, p.Shell, ct.Shell[0])
	}
	for _, t := range ct.Tmpfs {
		dst, _, _ := strings.Cut(t, ":")
		if p.Mounts[dst] != "tmpfs" {
			c.fail("%s: %s is %q, want a tmpfs", key, dst, p.Mounts[dst])
		}
	}
	for _, h := range ct.AddHosts {
		name, addr, _ := strings.Cut(h, ":")
		if p.Hosts[name] != addr {
			c.fail("%s: /etc/hosts gives %s as %q, want %s", key, name, p.Hosts[name], addr)
		}
	}
	for _, v := range ct.Volumes {
		if dst := strings.Split(v, ":")[1]; !p.Dirs[dst] {
			c.fail("%s: the volume %s is not mounted", key, v)
		}
	}
}

// hostPlatform is the platform of an image a container runs here: amd64
// when the image has it (or names none), else its first.
func hostPlatform(im *spec.Image) string {
	if len(im.Platforms) == 0 || slices.Contains(im.Platforms, "linux/amd64") {
		return "linux/amd64"
	}
	return im.Platforms[0]
}

// tokens: every OIDC token asked for the lifetime bkgen means to ask (the
// registry refuses longer ones, and expired ones: see agentsim.Docker).
func (c *check) tokens() {
	lifetimes := map[int]int{}
	c.row.TokenLifetimes = lifetimes
	for _, t := range c.res.Tokens {
		lifetimes[t.Lifetime]++
		if t.Lifetime != provider.OIDCTokenLifetime {
			c.fail("an OIDC token for %s was asked for %d s, not %d s", t.Audience, t.Lifetime, provider.OIDCTokenLifetime)
		}
	}
	if len(c.res.Tokens) > 0 {
		var parts []string
		for _, l := range sortedInts(lifetimes) {
			parts = append(parts, fmt.Sprintf("%d × %d s", lifetimes[l], l))
		}
		c.row.Notes = append(c.row.Notes, "OIDC tokens: "+strings.Join(parts, ", "))
	}
	for _, call := range c.res.DockerCalls {
		if call.Refused != "" {
			c.row.Notes = append(c.row.Notes, "registry refused: "+call.Refused)
		}
	}
}

// outlivedToken: on a faster token clock, some build step ran longer than
// the first token it asked for lived, so the push needed another (else the
// scenario proves nothing about expiry).
func (c *check) outlivedToken() {
	if len(c.broke) > 0 {
		return // a build failed: that is the finding
	}
	scale := c.repo.Scenario.TimeScale
	for _, s := range c.res.Steps {
		if c.imageOfBuildStep(s.Step.Key) == "" || s.State != agentsim.Passed {
			continue
		}
		for _, j := range s.Jobs {
			for _, t := range c.res.Tokens {
				if t.Job != j.ID {
					continue
				}
				if lived := j.End.Sub(t.Issued).Seconds() * scale; lived > float64(t.Lifetime) {
					c.row.Notes = append(c.row.Notes, fmt.Sprintf("%s ran %.0f s on the registry's clock, longer than its first token's %d s, and pushed", s.Step.Key, lived, t.Lifetime))
					return
				}
				break // only the job's first token
			}
		}
	}
	c.fail("no build step outlived its first OIDC token (time scale %g): the scenario shows nothing about expiry", scale)
}

// annotation: bkgen upload --annotate added the plan to the build.
func (c *check) annotation() {
	for _, a := range c.res.Annotations {
		if a.Context == "bkgen" && strings.Contains(a.Body, "bkgen") {
			return
		}
	}
	c.fail("bkgen upload --annotate added no annotation with context bkgen")
}

// nothingBuilt: the same commit again builds nothing (where the build
// before pushed the image).
func (c *check) nothingBuilt() {
	for _, s := range c.res.Steps {
		if im := c.imageOfBuildStep(s.Step.Key); im == "" || !c.pushedBefore(im) {
			continue
		}
		for _, call := range c.res.Calls(s.Step.Key) {
			if call.Builds() {
				c.fail("%s: built again (docker %s) although its content tag is in the registry", s.Step.Key, strings.Join(call.Args[:min(2, len(call.Args))], " "))
				break
			}
		}
	}
}

// exactlyChanged: one changed file rebuilds exactly its image and the
// images built on it (of those the harness can build).
func (c *check) exactlyChanged() {
	want := c.repo.changedImages()
	for _, im := range c.repo.Spec.Images {
		if !c.repo.Executable(im) || c.notExecutable(im) || c.broke[im.Name] || c.neverBuilt(im) || c.prevRefs[im.Name] == "" {
			continue
		}
		changedTag := c.refs[im.Name] != c.prevRefs[im.Name]
		switch {
		case want[im.Name] && !c.built[im.Name]:
			c.fail("%s: %s changed, and %s did not build", im.Name, c.repo.ChangeFile, im.Name)
		case !want[im.Name] && c.built[im.Name]:
			c.fail("%s: built, but %s is not in its inputs", im.Name, c.repo.ChangeFile)
		}
		if changedTag != want[im.Name] {
			c.fail("%s: its content tag changed: %v, want %v (%s → %s)", im.Name, changedTag, want[im.Name], c.prevRefs[im.Name], c.refs[im.Name])
		}
	}
}

// pushedBefore reports whether the previous phase's build left the image
// in the registry: its content tag then was this one.
func (c *check) pushedBefore(im string) bool {
	return c.prevDone[im] && c.prevRefs[im] == c.refs[im]
}

// neverBuilt reports whether an image's build never ran because an image
// it is built on failed (reported already) or was skipped.
func (c *check) neverBuilt(im *spec.Image) bool {
	for _, ref := range spec.Steps(im) {
		if ref.Kind != spec.BuildStep {
			continue
		}
		if s := c.res.Step(ref.Key); s == nil || s.State == agentsim.Broken || s.State == agentsim.Skipped {
			return true
		}
	}
	return false
}

// notExecutable reports whether an image's final step could not run here.
func (c *check) notExecutable(im *spec.Image) bool {
	s := c.res.Step(spec.FinalKey(im))
	return s != nil && s.State == agentsim.NotExecutable
}

// fromRemoteCache: on a cold builder every image builds again, and one
// with a registry (or inline) cache gets its layers from it: every layer
// under the context's COPY is the very layer of the build before (a RUN
// step that ran again makes a new one: its files' times differ).
func (c *check) fromRemoteCache() {
	for _, im := range c.repo.Spec.Images {
		if !c.repo.Executable(im) || c.notExecutable(im) || c.broke[im.Name] || c.neverBuilt(im) {
			continue
		}
		if !c.built[im.Name] {
			c.fail("%s: every Dockerfile changed, and %s did not build", im.Name, im.Name)
			continue
		}
		if im.Cache.Type != spec.CacheRegistry && im.Cache.Type != spec.CacheInline || !c.done[im.Name] || !c.prevDone[im.Name] {
			continue
		}
		if dep := c.repo.Standins[im.Name].FromArg; dep != "" {
			// Built on an image that was just built again: its COPY layer is
			// new (a fresh checkout's files), so no layer above it can come
			// from any cache; builtOn checks it is this build's.
			c.row.Notes = append(c.row.Notes, im.Name+": built on a rebuilt image, so its own layers are new")
			continue
		}
		before, err := c.docker.configs(c.ctx, c.prevRefs[im.Name])
		if err != nil {
			c.fail("%s: %v", im.Name, err)
			continue
		}
		now, err := c.docker.configs(c.ctx, c.refs[im.Name])
		if err != nil {
			c.fail("%s: %v", im.Name, err)
			continue
		}
		platforms := platformsOf(im)
		ok := true
		for _, p := range platforms {
			b, n := config(before, p), config(now, p)
			if b == nil || n == nil {
				continue // reported by the image checks
			}
			if !sameUnderTop(b.RootFS.DiffIDs, n.RootFS.DiffIDs) {
				ok = false
				c.fail("%s (%s): on a cold builder the %s cache did not serve the build: the layers under the COPY were made again (%s)",
					im.Name, p, im.Cache.Type, c.importSeen(im))
			}
		}
		if ok {
			c.row.Notes = append(c.row.Notes, im.Name+": layers from the remote cache")
		}
	}
}

// sameUnderTop reports whether two images share every layer but the last.
func sameUnderTop(a, b []string) bool {
	if len(a) != len(b) || len(a) < 2 {
		return false
	}
	return strings.Join(a[:len(a)-1], " ") == strings.Join(b[:len(b)-1], " ")
}

// importSeen says whether an image's builds imported a cache manifest.
func (c *check) importSeen(im *spec.Image) string {
	for _, ref := range spec.Steps(im) {
		if ref.Kind != spec.BuildStep {
			continue
		}
		for _, call := range c.res.Calls(ref.Key) {
			if out, _ := os.ReadFile(call.Output); call.Builds() && strings.Contains(string(out), "importing cache manifest") {
				return "its build imported a cache manifest"
			}
		}
	}
	return "no build of it imported a cache manifest"
}

// errorLine picks what a person reads first in a failed job's output.
var errorLine = regexp.MustCompile(`(?i)(^|\s)(error|fatal)\b|refuses|denied|not found|no such|stand-in for the example entrypoint`)

// lastLines is the end of the jobs' output, the harness's own lines left
// out: what a person reads first when a step fails. A line that reports
// an error, and the one after it, come first.
func lastLines(jobs []*agentsim.Job, n int) string {
	var picked []string
	for _, j := range jobs {
		if j == nil || (j.State != agentsim.Failed && j.State != agentsim.SoftFailed && len(jobs) > 1) {
			continue
		}
		var lines []string
		for _, l := range strings.Split(j.Output(), "\n") {
			l = strings.TrimSpace(l)
			if l == "" || strings.HasPrefix(l, "~~~ bkgen-exec agent") || strings.HasPrefix(l, "$ ") ||
				strings.HasPrefix(l, "WARNING! Your credentials") || strings.HasPrefix(l, "Configure a credential helper") ||
				strings.HasPrefix(l, "https://docs.docker.com/go/credential-store") {
				continue
			}
			lines = append(lines, l)
		}
		for i := len(lines) - 1; i >= 0; i-- {
			if errorLine.MatchString(lines[i]) {
				lines = lines[i:min(i+2, len(lines))]
				break
			}
		}
		if len(lines) > n {
			lines = lines[len(lines)-n:]
		}
		picked = append(picked, strings.Join(lines, " | "))
		break
	}
	return strings.Join(picked, " / ")
}

func sortedPlatforms(m map[string]string) []string {
	var out []string
	for p := range m {
		out = append(out, p)
	}
	sort.Strings(out)
	return out
}

func sortedInts(m map[int]int) []int {
	var out []int
	for k := range m {
		out = append(out, k)
	}
	sort.Ints(out)
	return out
}
