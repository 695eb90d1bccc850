package generator

import (
	"cmp"
	"fmt"
	"regexp"
	"slices"
	"strings"

	"github.com/bkgen/bkgen/imagebuild"
	"github.com/bkgen/bkgen/internal/pipetext"
	"github.com/bkgen/bkgen/scanner"
	"github.com/bkgen/bkgen/spec"
	"github.com/bkgen/bkgen/stepvalue"
	"github.com/bkgen/bkgen/templates"
)

// planned is one step of the pipeline, made from one entry of spec.Steps,
// with the decision whether it runs.
type planned struct {
	*Step
	image    *spec.Image
	ref      spec.StepRef
	user     *spec.UserStep // a step the spec adds itself (image unset)
	decision *StepDecision  // nil until the images are decided
}

// imageSteps makes every step of one image, in the order spec.Steps lists
// them: its build (one step, or one per platform and a manifest), its scan
// and its consumers.
func (g *gen) imageSteps(im *spec.Image) ([]planned, error) {
	t := g.targets[im.Name]
	var deps []string
	for _, d := range im.DependsOn {
		deps = append(deps, spec.FinalKey(g.in.Spec.Image(d)))
	}
	var out []planned
	var platforms []buildVariant // a native multi-arch build's, for its manifest
	for _, ref := range spec.Steps(im) {
		var s *Step
		var err error
		switch ref.Kind {
		case spec.BuildStep:
			v := variant(im, ref)
			if v.platform != "" {
				platforms = append(platforms, v)
			}
			s, err = g.buildStep(im, t, v, deps)
		case spec.ManifestStep:
			s, err = g.manifestStep(im, t, platforms)
		case spec.ScanStep:
			s, err = g.scanStep(im, t)
		case spec.ConsumerStep:
			s, err = g.consumerStep(im, ref.Consumer, t)
		case spec.OutputStep:
			s, err = g.outputStep(im, ref.Output, t)
		default:
			err = fmt.Errorf("unknown kind of step %q", ref.Kind)
		}
		if err != nil {
			return nil, err
		}
		if ref.Kind != spec.ConsumerStep {
			withOwnStep(s, im.Step)
		}
		out = append(out, planned{Step: s, image: im, ref: ref})
	}
	return out, nil
}

// withOwnStep adds what the spec says of an image's own steps to one of
// them. Its plugins run first: one that gets credentials (an AWS role
// through OIDC, say) is done before a registry's plugin logs in with them.
func withOwnStep(s *Step, own spec.OwnStep) {
	var plugins []Plugin
	for _, p := range own.Plugins {
		plugins = append(plugins, Plugin{Source: p.Source, Config: p.Config})
	}
	s.Plugins = append(plugins, s.Plugins...)
	s.Env, s.TimeoutInMinutes, s.Retry = own.Env, own.TimeoutInMinutes, own.Retry
	s.Concurrency, s.ConcurrencyGroup, s.Priority = own.Concurrency, own.ConcurrencyGroup, own.Priority
	s.Attrs = append(s.Attrs, own.Attrs...)
}

// buildVariant is what differs between a whole build and one platform of a
// native multi-arch build.
type buildVariant struct {
	key, label string
	platform   string // native multi-arch: the one platform this step builds
	metaKey    string
	agents     *stepvalue.Value
}

// variant is what a build step builds: the whole image, or one platform of
// a native multi-arch build, on that platform's agents.
func variant(im *spec.Image, ref spec.StepRef) buildVariant {
	if ref.Platform == "" {
		return buildVariant{key: ref.Key, label: ":docker: Build " + im.Name, metaKey: metaKey(im), agents: im.Agents}
	}
	v := buildVariant{
		key:      ref.Key,
		label:    fmt.Sprintf(":docker: Build %s (%s)", im.Name, ref.Platform),
		platform: ref.Platform,
		metaKey:  metaKey(im) + ":" + spec.ArchSlug(ref.Platform, im.Platforms),
		agents:   im.Agents,
	}
	if a, ok := im.PlatformAgents[ref.Platform]; ok {
		v.agents = a
	}
	return v
}

func (g *gen) buildStep(im *spec.Image, t *target, v buildVariant, deps []string) (*Step, error) {
	var args []string
	add := func(flag, value string) { args = append(args, flag+" "+quote(value)) }
	add("--file", notAnOption(im.Dockerfile))
	if im.Target != "" {
		add("--target", im.Target)
	}
	for _, kv := range g.buildArgs(im) {
		add("--build-arg", kv.Key+"="+kv.Value)
	}
	for _, s := range im.Secrets {
		add("--secret", "id="+s+",env="+s)
	}
	for _, kv := range im.Labels {
		add("--label", kv.Key+"="+kv.Value)
	}
	switch {
	case v.platform != "":
		add("--platform", v.platform)
	case len(im.Platforms) > 0:
		add("--platform", strings.Join(im.Platforms, ","))
	}
	// What RUN steps can see besides the context.
	if im.Network != "" {
		add("--network", im.Network)
	}
	for _, h := range im.AddHosts {
		add("--add-host", h)
	}
	for _, id := range im.SSH {
		add("--ssh", id)
	}
	if im.ShmSize != "" {
		add("--shm-size", im.ShmSize)
	}
	for _, kv := range im.BuildContexts {
		add("--build-context", kv.Key+"="+kv.Value)
	}
	if len(im.Bases) > 0 {
		// The content tag names the digests its bases had when bkgen
		// looked them up: build on those, not on older local copies.
		args = append(args, "--pull")
	}
	// What dockerd's own BuildKit cannot do: with the classic image store of
	// a stock Elastic CI Stack agent it exports no cache, pushes no digest and
	// builds one platform at a time. Its inline cache is unreliable: an
	// imported one goes unused while another build from the same base runs,
	// and layers served from it are re-exported without their cache records,
	// so the next cold build misses (both seen with dockerd 20.10).
	var b *templates.Builder
	switch {
	case v.platform != "":
		b = &templates.Builder{Why: "Pushing one platform by digest"}
	case len(im.Platforms) > 1:
		b = &templates.Builder{Why: "Building several platforms at once"}
	case im.Provenance != "" || im.SBOM != "":
		b = &templates.Builder{Why: "Attaching attestations"}
	case im.Annotations:
		b = &templates.Builder{Why: "Annotating the manifest"}
	case im.Cache.Type == spec.CacheRegistry || im.Cache.Type == spec.CacheLocal || im.Cache.Type == spec.CacheS3:
		b = &templates.Builder{Why: "Exporting a cache"}
	case im.Cache.Type == spec.CacheInline:
		b = &templates.Builder{Why: "A dependable inline cache"}
	}
	if b != nil {
		b.Name, b.ImageQ = builderName, quote(builderImage)
	}
	from, to, cacheTag := g.cacheArgs(im, t, v.platform)
	args = append(args, from...)
	for _, ref := range im.CacheFrom {
		add("--cache-from", "type=registry,ref="+ref)
	}
	var extraTags []string
	for _, tag := range g.extraTags(im) {
		extraTags = append(extraTags, quoteExpanding(t.tagged(tag)))
	}
	if cacheTag != "" {
		extraTags = append(extraTags, quoteExpanding(t.cacheTagged(cacheTag)))
	}
	var push []string
	if im.Cache.Type == spec.CacheInline {
		// The cache travels in the image: it is exported with it.
		push, to = to, nil
	}
	push = append(push, attestations(im)...)
	if im.Annotations {
		// An index too where the push makes one: several platforms, or
		// attestations beside the image.
		levels := "manifest"
		if v.platform == "" && (len(im.Platforms) > 1 || im.Provenance != "" || im.SBOM != "") {
			levels = "index,manifest"
		}
		push = append(push, buildAnnotations(levels)...)
	}
	if v.platform != "" {
		// Pushed by digest only: the manifest step gives the image its tags.
		push = append(push, "--output "+quoteExpanding("type=image,name="+t.repo+",push-by-digest=true,name-canonical=true,push=true"))
	} else {
		args = append(args, "--tag "+quoteExpanding(t.ref()))
		for _, tag := range extraTags {
			args = append(args, "--tag "+tag)
		}
		push = append(push, "--push")
	}
	args = append(args, "--progress=plain", quote(notAnOption(im.Context)))
	baseLogins, plugins := g.baseAccess(im, t)
	data := templates.BuildData{
		Builder: b, BaseLogins: baseLogins, Login: t.Login, Relogin: t.Expires,
		// One platform of several does not publish: the manifest step does.
		Reuse: v.platform == "", Args: args, CacheTo: to, Push: push, ExtraTagsQ: extraTags,
		RefQ: quoteExpanding(t.ref()), MetaKeyQ: quote(v.metaKey), RepoQ: quoteExpanding(t.repo),
		MaxAgeDays: im.MaxAge,
	}
	if why, ok := g.fresh[im.Name]; ok {
		data.FreshWhyQ = quote(why)
	}
	if t.Ensure != nil {
		repos := []string{strings.TrimPrefix(t.repo, t.Base+"/")}
		if im.Cache.Type == spec.CacheRegistry || im.Cache.Type == spec.CacheInline {
			repos = append(repos, repos[0]+t.CacheRepoSuffix)
		}
		ensure, err := t.Ensure(slices.Compact(repos))
		if err != nil {
			return nil, err
		}
		data.Ensure = ensure
	}
	if t.trusted != nil {
		data.TrustedRefQ = quoteExpanding(t.trusted.ref())
	}
	data.Cosign = g.cosign(t.trusted != nil)
	if data.Cosign != nil && v.platform != "" {
		// The manifest step signs the merged index: one platform's
		// digest is never reused alone.
		data.Cosign.Sign = false
	}
	if data.Cosign != nil && g.trust.Trusted {
		// An image found without a signature that verifies is rebuilt.
		data.Renewable = true
	}
	if g.renewable[im.Name] {
		data.Renewable = true
		data.RenewedKeyQ, data.RenewedQ = quote(renewedKey(im.Name)), quote(im.Name+" was rebuilt in this build, from fresh bases")
		for _, dep := range im.DependsOn {
			if g.renewable[dep] {
				data.RenewedKeysQ = append(data.RenewedKeysQ, quote(renewedKey(dep)))
			}
		}
		if im.MaxAge > 0 {
			data.CreatedFormatQ = quote(createdFormat)
		}
	}
	if data.Renewable {
		if v.platform != "" {
			// Its manifest step merges whatever every platform publishes.
			data.PlatformDigestFormatQ, data.PlatformQ = quote(platformDigestFormat(v.platform)), quote(v.platform)
		}
	}
	cmd, err := templates.Build(data)
	if err != nil {
		return nil, err
	}
	return &Step{Key: v.key, Label: v.label, DependsOn: deps, Agents: v.agents, Plugins: plugins, Command: cmd}, nil
}

// buildAnnotations record the build that pushes an image, as the OCI
// image spec names them, at the given levels of what it pushes: values the
// job's shell fills in, never inputs of the content tag.
func buildAnnotations(levels string) []string {
	var out []string
	for _, a := range []struct{ key, value string }{
		{"org.opencontainers.image.revision", "${BUILDKITE_COMMIT:-}"},
		{"org.opencontainers.image.source", "${BUILDKITE_REPO:-}"},
		{"org.opencontainers.image.url", "${BUILDKITE_BUILD_URL:-}"},
		{"org.opencontainers.image.created", "$(date -u +%Y-%m-%dT%H:%M:%SZ)"},
	} {
		out = append(out, "--annotation \""+levels+":"+a.key+"="+a.value+"\"")
	}
	return out
}

// attestations are the push's attestation flags: what the spec asks for,
// and otherwise none, said outright. A docker-container builder attaches
// minimal provenance unless told not to and dockerd's own builder cannot,
// so saying it makes every builder push the same shape: a plain manifest
// (an index of them for several platforms), or one with the attestations
// asked for.
func attestations(im *spec.Image) []string {
	out := []string{"--provenance=false", "--sbom=false"}
	if im.Provenance != "" {
		out[0] = "--provenance=mode=" + im.Provenance
	}
	if im.SBOM != "" {
		out[1] = "--sbom=" + quote("generator="+im.SBOM)
	}
	return out
}

// renewedKey is the meta-data key an image sets when its build rebuilt it
// at run time (for its age, or on an image rebuilt so): the images built
// on it rebuild on it too.
func renewedKey(image string) string { return "bkgen:renewed:" + image }

// createdFormat prints an image's creation time in Unix seconds, each
// platform's for an index (docker buildx imagetools inspect --format): its
// .Image is one image when the index holds one platform (attestations
// aside), else a map of them.
const createdFormat = `{{if .Image.Created}}{{.Image.Created.Unix}}{{else}}{{range .Image}}{{.Created.Unix}} {{end}}{{end}}`

// platformDigestFormat prints the digest of one platform's manifest in an
// index; a variant is compared only when the platform names one.
func platformDigestFormat(platform string) string {
	parts := strings.Split(platform, "/")
	cond := fmt.Sprintf(`(eq .Platform.OS %q) (eq .Platform.Architecture %q)`, parts[0], parts[1])
	if len(parts) > 2 {
		cond += fmt.Sprintf(` (eq .Platform.Variant %q)`, parts[2])
	}
	return `{{range .Manifest.Manifests}}{{if .Platform}}{{if and ` + cond + `}}{{.Digest}}{{end}}{{end}}{{end}}`
}

// baseAccess is how a build of im reaches the images it is built on that
// live in other registries: their logins (shell) and plugins, besides its
// own registry's plugins. The spec has refused pairs of registries that
// cannot both be logged in to in one job.
func (g *gen) baseAccess(im *spec.Image, t *target) (logins []string, plugins []Plugin) {
	plugins = append(plugins, t.plugins...)
	seen := map[string]bool{t.registry.Name: true}
	for _, d := range im.DependsOn {
		base := g.targets[d]
		if seen[base.registry.Name] {
			continue
		}
		seen[base.registry.Name] = true
		if base.Login != "" {
			logins = append(logins, base.Login)
		}
		plugins = append(plugins, base.plugins...)
	}
	return logins, plugins
}

// notAnOption keeps a path from reading as an option or as "-" (stdin):
// docker takes `-` for a context read from stdin, and `--file -` likewise.
func notAnOption(p string) string {
	if strings.HasPrefix(p, "-") {
		return "./" + p
	}
	return p
}

// buildArgs are the spec's args plus, for each image this one is built on,
// NAME_IMAGE set to that image's content-tag reference, so a Dockerfile can
// say `ARG BASE_IMAGE` / `FROM ${BASE_IMAGE}` and get exactly this commit's
// base. An arg the spec sets itself wins.
func (g *gen) buildArgs(im *spec.Image) []spec.KV {
	args := append([]spec.KV{}, im.Args...)
	set := map[string]bool{}
	for _, kv := range im.Args {
		set[kv.Key] = true
	}
	for _, dep := range im.DependsOn {
		name := imagebuild.DependencyArg(dep)
		if !set[name] {
			args = append(args, spec.KV{Key: name, Value: g.targets[dep].ref()})
		}
	}
	return args
}

var nonTagChar = regexp.MustCompile(`[^A-Za-z0-9_.-]`)

// cacheTagFor names a branch's registry cache: tags allow fewer characters
// than branch names.
func cacheTagFor(branch, arch string) string {
	tag := "buildcache-" + nonTagChar.ReplaceAllString(branch, "-")
	if arch != "" {
		tag += "-" + arch
	}
	if len(tag) > 128 {
		tag = tag[:128]
	}
	return tag
}

// builderName and builderImage are bkgen's own docker-container builder,
// for builds dockerd's own BuildKit cannot do: the BuildKit release is
// pinned, and named in the builder's name, so an agent that ran an older
// bkgen does not reuse that one's.
const (
	builderImage = "moby/buildkit:v0.34.2"
	builderName  = "bkgen-buildkit-v0.34.2"
)

// cacheArgs are the --cache-from/--cache-to flags for an image (one platform
// of it for native multi-arch), and, for an inline cache, the extra tag the
// cache travels under.
func (g *gen) cacheArgs(im *spec.Image, t *target, platform string) (from, to []string, cacheTag string) {
	arch := ""
	if platform != "" {
		arch = spec.ArchSlug(platform, im.Platforms)
	}
	// A variant shares its image's repository: its caches are its own.
	variant := ""
	if im.Variant != "" {
		variant = nonTagChar.ReplaceAllString(im.Variant, "-")
	}
	slot := strings.Trim(variant+"-"+arch, "-")
	add := func(flag, value string) {
		arg := flag + " " + quoteExpanding(value)
		if flag == "--cache-to" {
			to = append(to, arg)
		} else {
			from = append(from, arg)
		}
	}
	// A branch reads its own cache first, then the default branch's, so a new
	// branch starts warm; it writes only its own.
	branches := []string{g.in.Env.DefaultBranch()}
	if b := g.in.Env.Branch; b != "" && b != branches[0] {
		branches = []string{b, branches[0]}
	}
	switch im.Cache.Type {
	case spec.CacheRegistry:
		for _, b := range branches {
			add("--cache-from", "type=registry,ref="+t.cacheTagged(cacheTagFor(b, slot)))
		}
		if t.trusted != nil {
			// The trusted default branch's cache too: reading it is safe.
			add("--cache-from", "type=registry,ref="+t.trusted.cacheTagged(cacheTagFor(g.in.Env.DefaultBranch(), slot)))
		}
		add("--cache-to", "type=registry,ref="+t.cacheTagged(cacheTagFor(branches[0], slot))+",mode=max"+t.CacheToAttrs)
	case spec.CacheInline:
		for _, b := range branches {
			add("--cache-from", "type=registry,ref="+t.cacheTagged(cacheTagFor(b, variant)))
		}
		add("--cache-to", "type=inline")
		cacheTag = cacheTagFor(branches[0], variant)
	case spec.CacheLocal:
		// An untrusted build's caches are apart from trusted builds'.
		dir := strings.TrimSuffix(im.Cache.Path, "/") + "/" + g.cachePrefix() + cmp.Or(im.Of, im.Name)
		if slot != "" {
			dir += "-" + slot
		}
		add("--cache-from", "type=local,src="+dir)
		add("--cache-to", "type=local,dest="+dir+",mode=max")
	case spec.CacheS3:
		name := g.cachePrefix() + cmp.Or(im.Cache.Name, im.Of, im.Name)
		if slot != "" {
			name += "-" + slot
		}
		where := "type=s3,region=" + im.Cache.Region + ",bucket=" + im.Cache.Bucket + ",name=" + name
		add("--cache-from", where)
		add("--cache-to", where+",mode=max")
	}
	return from, to, cacheTag
}

// cachePrefix starts the names of an untrusted build's local and S3
// caches, which live beside trusted builds' whatever the registry: ""
// for a trusted build.
func (g *gen) cachePrefix() string {
	if t := g.trust; !t.Trusted {
		return cmp.Or(t.TagPrefix, spec.DefaultUntrustedPrefix)
	}
	return ""
}

// outputStep takes files out of the image its build step made or found,
// and uploads them as the build's artifacts.
func (g *gen) outputStep(im *spec.Image, o *spec.Output, t *target) (*Step, error) {
	of, stage := im.Name, ""
	if o.Of != "" {
		of, stage = o.Of, o.Target
	}
	label := ":package: Output " + of
	if stage != "" {
		label += " (" + stage + ")"
	}
	source := strings.TrimSuffix(o.From, "/") + "/."
	cmd, err := templates.Output(templates.OutputData{
		Login: t.Login, RefQ: quoteExpanding(t.ref()), FromQ: quote(o.From), SourceQ: quote(source),
		PathQ: quote(notAnOption(o.Path)), MetaKeyQ: quote("bkgen:output:" + im.Name),
	})
	if err != nil {
		return nil, err
	}
	return &Step{
		Key: spec.OutputKey(im, o), Label: label, DependsOn: []string{spec.FinalKey(im)},
		Agents: im.Agents, Plugins: t.plugins, Command: cmd, ArtifactPaths: []string{o.Path + "/**/*"},
	}, nil
}

// manifestStep merges the per-platform builds of a native multi-arch build.
func (g *gen) manifestStep(im *spec.Image, t *target, platforms []buildVariant) (*Step, error) {
	var keysQ, tagsQ, deps []string
	for _, v := range platforms {
		keysQ = append(keysQ, quote(v.metaKey))
		deps = append(deps, v.key)
	}
	for _, tag := range g.extraTags(im) {
		tagsQ = append(tagsQ, quoteExpanding(t.tagged(tag)))
	}
	if im.Cache.Type == spec.CacheInline {
		tagsQ = append(tagsQ, quoteExpanding(t.cacheTagged(cacheTagFor(g.branchOrDefault(), ""))))
	}
	_, fresh := g.fresh[im.Name]
	var trustedQ string
	if t.trusted != nil {
		trustedQ = quoteExpanding(t.trusted.ref())
	}
	var annotations []string
	if im.Annotations {
		annotations = buildAnnotations("index")
	}
	c := g.cosign(t.trusted != nil)
	cmd, err := templates.Manifest(templates.ManifestData{
		TrustedRefQ: trustedQ, Annotations: annotations, Cosign: c,
		// A platform rebuilt for its signature is merged as one rebuilt for its age.
		Login: t.Login, MetaKeysQ: keysQ, ExtraTagsQ: tagsQ, Merge: fresh || g.renewable[im.Name] || c != nil && c.Sign,
		RefQ: quoteExpanding(t.ref()), MetaKeyQ: quote(metaKey(im)), RepoQ: quoteExpanding(t.repo),
	})
	if err != nil {
		return nil, err
	}
	return &Step{
		Key: spec.ManifestKey(im), Label: ":docker: Manifest " + im.Name, DependsOn: deps,
		Agents: im.Agents, Plugins: t.plugins, Command: cmd,
	}, nil
}

func (g *gen) branchOrDefault() string {
	return cmp.Or(g.in.Env.Branch, g.in.Env.DefaultBranch())
}

func (g *gen) scanStep(im *spec.Image, t *target) (*Step, error) {
	scan, err := im.Scan.Tool.Step(&im.Scan.Settings, scanner.Target{
		Image: im.Name, Repository: im.Repository, RefQ: quoteExpanding(t.ref()), Tag: t.tag,
		Platforms: im.Platforms, Login: t.Login, Registry: t.registry.Config,
	})
	if err != nil {
		return nil, err
	}
	return &Step{
		Key: spec.ScanKey(im), Label: ":shield: Scan " + im.Name, DependsOn: []string{spec.FinalKey(im)},
		Agents: im.Agents, Plugins: t.plugins,
		ArtifactPaths: scan.ArtifactPaths, Command: scan.Command,
	}, nil
}

// consumerEnv is what Buildkite tells a job about itself, passed into a
// consumer's container by name (unless denied) even when the job's
// environment is not propagated, so scripts inside behave as on the agent.
var consumerEnv = []string{
	"BUILDKITE", "CI", "BUILDKITE_AGENT_ACCESS_TOKEN", "BUILDKITE_AGENT_ENDPOINT",
	"BUILDKITE_ANALYTICS_TOKEN", "BUILDKITE_BRANCH", "BUILDKITE_BUILD_ID", "BUILDKITE_BUILD_NUMBER",
	"BUILDKITE_BUILD_URL", "BUILDKITE_COMMIT", "BUILDKITE_JOB_ID", "BUILDKITE_LABEL", "BUILDKITE_MESSAGE",
	"BUILDKITE_ORGANIZATION_SLUG", "BUILDKITE_PARALLEL_JOB", "BUILDKITE_PARALLEL_JOB_COUNT",
	"BUILDKITE_PIPELINE_SLUG", "BUILDKITE_PULL_REQUEST", "BUILDKITE_PULL_REQUEST_BASE_BRANCH",
	"BUILDKITE_REPO", "BUILDKITE_RETRY_COUNT", "BUILDKITE_STEP_KEY", "BUILDKITE_TAG",
}

// consumerStep runs a spec's command inside the image. By default the step
// logs in, pulls and runs the command in a container as its container spec
// says, handing it over verbatim in a quoted heredoc. With container mode
// job_image (hosted agents) the step's image attribute makes the image the
// job's own, and the command is the spec's.
//
// A command the pipeline cannot carry as it is (a backslash before a `$`,
// which upload-time interpolation would eat) travels as one ANSI-C quoted
// shell word instead, which the agent's bash turns back into the command.
func (g *gen) consumerStep(im *spec.Image, c *spec.Consumer, t *target) (*Step, error) {
	label := c.Label
	if label == "" {
		label = c.ListedUnder(im) + " " + c.Name
	}
	agents := c.Agents
	if agents == nil {
		agents = im.Agents
	}
	plugins := append([]Plugin{}, t.plugins...)
	for _, p := range c.Plugins {
		plugins = append(plugins, Plugin{Source: p.Source, Config: p.Config})
	}
	env := c.Env
	if of := g.exported(im); of.ExportEnv != "" {
		// The image's reference, in the variable the spec names, unless
		// the consumer sets that one itself.
		ref, ok := t.baseFilled(t.ref())
		if !ok {
			return nil, fmt.Errorf("%s: export_env gives it the image's reference, which needs $%s: set it when bkgen runs", spec.ConsumerKey(im, c), t.BaseVar)
		}
		if !slices.ContainsFunc(env, func(kv spec.KV) bool { return kv.Key == of.ExportEnv }) {
			env = append(slices.Clone(env), spec.KV{Key: of.ExportEnv, Value: ref})
			slices.SortFunc(env, func(a, b spec.KV) int { return strings.Compare(a.Key, b.Key) })
		}
	}
	s := &Step{
		Key:              spec.ConsumerKey(im, c),
		Label:            label,
		DependsOn:        append([]string{spec.FinalKey(im)}, c.DependsOn...),
		Agents:           agents,
		Plugins:          plugins,
		Env:              env,
		Parallelism:      c.Parallelism,
		Concurrency:      c.Concurrency,
		ConcurrencyGroup: c.ConcurrencyGroup,
		Priority:         c.Priority,
		TimeoutInMinutes: c.TimeoutInMinutes,
		Retry:            c.Retry,
		SoftFail:         c.SoftFail,
		ArtifactPaths:    c.ArtifactPaths,
		Attrs:            c.Attrs,
	}
	// The command goes as it is unless the pipeline cannot carry it so.
	write := pipetext.Escape
	if g.in.Literal {
		write = pipetext.Raw
	}
	_, err := write(c.Command)
	verbatim := err == nil
	if c.Container.JobImage {
		// The job runs in the image: the step's image attribute, which the
		// agent reads before the job starts, so its registry variable is
		// filled in by the upload.
		s.Image = imageRef{Rest: t.ref()}
		if t.BaseVar != "" {
			s.Image = imageRef{UploadVar: t.BaseVar, Rest: strings.TrimPrefix(t.ref(), t.Base)}
			if g.in.Literal {
				ref, ok := t.baseFilled(t.ref())
				if !ok {
					return nil, fmt.Errorf("%s: mode job_image leaves $%s to the upload, and this one does not interpolate: set it when bkgen runs", s.Key, t.BaseVar)
				}
				s.Image = imageRef{Rest: ref}
			}
		}
		s.Command = c.Command
		if !verbatim {
			s.Command = "eval " + quote(c.Command)
		}
		return s, nil
	}
	data := containerData(c, env, t)
	data.Login, data.RefQ = t.Login, quoteExpanding(t.ref())
	if verbatim {
		data.Delimiter, data.Command = heredocDelimiter(c.Command), c.Command
	} else {
		data.CommandQ = quote(c.Command)
	}
	s.Command, err = templates.Consumer(data)
	return s, err
}

// exported is the image whose export_env a consumer of im gets: im, or the
// image im is a variant of.
func (g *gen) exported(im *spec.Image) *spec.Image {
	if im.Of != "" {
		if of := g.in.Spec.Image(im.Of); of != nil {
			return of
		}
	}
	return im
}

// containerData is how the consumer's container runs, from its spec and
// the step's env.
func containerData(c *spec.Consumer, env []spec.KV, t *target) templates.ConsumerData {
	ct := c.Container
	d := templates.ConsumerData{
		BuildkiteEnv: consumerEnv, Propagate: ct.Propagate, DenyQ: ct.Deny,
		SSHAgent: ct.SSHAgent, EntrypointQ: quote(ct.Shell[0]),
		MountCheckout: ct.MountCheckout, AgentUser: ct.User == "agent",
	}
	for _, kv := range env {
		d.StepEnv = append(d.StepEnv, kv.Key)
	}
	d.PassQ = strings.Join(ct.Pass, " | ")
	clouds := ct.Credentials
	if clouds == nil && t.Credentials != "" {
		clouds = []string{t.Credentials}
	}
	d.AWS, d.GCP = slices.Contains(clouds, "aws"), slices.Contains(clouds, "gcp")
	for _, a := range ct.Shell[1:] {
		d.ShellArgsQ = append(d.ShellArgsQ, quote(a))
	}
	if ct.Workdir != "" {
		d.WorkdirQ = quote(ct.Workdir)
	}
	opt := func(name, value string) {
		if value != "" {
			d.OptionsQ = append(d.OptionsQ, quote("--"+name+"="+value))
		}
	}
	if ct.User != "agent" {
		opt("user", ct.User)
	}
	opt("network", ct.Network)
	opt("shm-size", ct.ShmSize)
	opt("cpus", ct.CPUs)
	opt("memory", ct.Memory)
	opt("gpus", ct.GPUs)
	if ct.Privileged {
		d.OptionsQ = append(d.OptionsQ, "--privileged")
	}
	for _, h := range ct.AddHosts {
		opt("add-host", h)
	}
	for _, p := range ct.Tmpfs {
		opt("tmpfs", p)
	}
	for _, v := range ct.Volumes {
		if rest, ok := strings.CutPrefix(v, "./"); ok {
			// In the checkout, wherever the job has it.
			d.OptionsQ = append(d.OptionsQ, `--volume="$PWD"/`+quote(rest))
			continue
		}
		opt("volume", v)
	}
	return d
}

// heredocDelimiter picks a delimiter that no line of the command equals, so
// the quoted heredoc carries the command through untouched.
func heredocDelimiter(command string) string {
	lines := map[string]bool{}
	for _, l := range strings.Split(command, "\n") {
		lines[l] = true
	}
	d := "BKGEN_COMMAND"
	for i := 1; lines[d]; i++ {
		d = fmt.Sprintf("BKGEN_COMMAND_%d", i)
	}
	return d
}
