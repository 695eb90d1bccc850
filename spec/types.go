// Package spec loads bkgen's spec file (.buildkite/bkgen.yml, format v1).
//
// The file is decoded strictly through yaml.Node so that every value keeps its
// line and column: Load reports every problem at once, each as
// FILE:LINE:COL: message, and a Spec it returns is complete and consistent
// (defaults applied, references resolved, no dependency cycles).
package spec

import (
	"slices"

	"github.com/bkgen/bkgen/glob"
	"github.com/bkgen/bkgen/imagebuild"
	"github.com/bkgen/bkgen/provider"
	"github.com/bkgen/bkgen/scanner"
	"github.com/bkgen/bkgen/stepvalue"
	"gopkg.in/yaml.v3"
)

// MultiArch is how an image with several platforms is built.
type MultiArch string

const (
	Native   MultiArch = "native"   // one step per platform on that platform's agents
	Emulated MultiArch = "emulated" // one step building every platform under emulation
)

// Spec is a loaded, validated spec file.
type Spec struct {
	File       string
	Version    int
	Registries []*Registry // sorted by name
	Images     []*Image    // in dependency order: an image comes after those it depends on
	Steps      []*UserStep // ordinary steps the spec adds, in its order
	Trust      *Trust      // nil: no trust model, every build is trusted
	Signing    *Signing    // nil: images are neither signed nor verified
}

// Registry returns the registry with the given name, or nil.
func (s *Spec) Registry(name string) *Registry {
	if i := slices.IndexFunc(s.Registries, func(r *Registry) bool { return r.Name == name }); i >= 0 {
		return s.Registries[i]
	}
	return nil
}

// Image returns the image with the given name, or nil.
func (s *Spec) Image(name string) *Image {
	if i := slices.IndexFunc(s.Images, func(im *Image) bool { return im.Name == name }); i >= 0 {
		return s.Images[i]
	}
	return nil
}

// Renewable are the images whose build may rebuild them at run time though
// their content tag is in the registry: those with a max_age, and those
// built on one of them (rebuilt on it when it is).
func (s *Spec) Renewable() map[string]bool {
	out := map[string]bool{}
	for _, im := range s.Images { // an image comes after those it is built on
		out[im.Name] = im.MaxAge > 0 || slices.ContainsFunc(im.DependsOn, func(d string) bool { return out[d] })
	}
	return out
}

// Registry is one entry of `registries`: its provider, and the fields as
// that provider declares them.
type Registry struct {
	Name     string
	Pos      Pos
	Provider provider.Provider
	Config   *provider.Config
}

// Image is one entry of `images`, with defaults applied.
type Image struct {
	Name       string
	Pos        Pos
	Registry   string
	Repository string
	// The build's inputs: the context ("." by default), the Dockerfile
	// (<context>/Dockerfile by default), target, args, labels, secrets,
	// platforms and the images it is built on.
	imagebuild.Inputs
	MultiArch MultiArch // "" for a single platform
	Agents    *stepvalue.Value
	// PlatformAgents maps a platform to the agents its native build runs on.
	PlatformAgents map[string]*stepvalue.Value
	Cache          Cache
	// CacheFrom are registry caches to read besides bkgen's own.
	CacheFrom []string
	// ExportEnv names the variable its consumers find its reference in.
	ExportEnv string
	// Annotations: its push records the build that made it (commit,
	// repository, time, build URL) as OCI annotations on its manifests,
	// which are not inputs of the content tag.
	Annotations bool
	// MaxAge is how many days an image built under its content tag is
	// reused: an older one is rebuilt, from fresh bases. 0: no limit.
	MaxAge    int
	IfChanged *IfChanged // nil: derived from the context, Dockerfile and dependencies
	Tags      []Tag
	Scan      *Scan // nil: no scan step
	// Step is what the spec adds to the image's own steps: its builds,
	// manifest and scan.
	Step      OwnStep
	Consumers []*Consumer
	// Outputs are files of the image taken out as the build's artifacts:
	// the outputs of this image's stage (a variant's, for a target of
	// their own).
	Outputs []*Output
	// Variant is the stage a variant builds: an image bkgen adds for the
	// consumers of Of that name a target of their own (Name is Of:Variant).
	// "" for the spec's own images.
	Variant, Of string

	// Where context and dockerfile are written, for errors about what they
	// name on disk; the image's Pos when one is left to its default.
	ContextPos, DockerfilePos Pos

	// Where each field was written (the image's own, or the default it
	// took), and the nodes of entries checked once every image is read.
	set               map[string]*yaml.Node
	dependsOnAt       []*yaml.Node
	platformAgentKeys map[string]*yaml.Node
}

// MultiPlatform reports whether the image is built for more than one platform.
func (im *Image) MultiPlatform() bool { return len(im.Platforms) > 1 }

// KV is a key and its value, from a mapping whose order does not matter.
type KV = imagebuild.KV

// CacheType is where BuildKit keeps an image's layer cache.
type CacheType string

const (
	CacheRegistry CacheType = "registry"
	CacheInline   CacheType = "inline"
	CacheLocal    CacheType = "local"
	CacheS3       CacheType = "s3"
	CacheNone     CacheType = "none"
)

// Cache is an image's build cache.
type Cache struct {
	Type   CacheType
	Path   string // local
	Bucket string // s3
	Region string // s3
	Name   string // s3: the cache's name within the bucket; default the image name
}

// Tag is an extra tag pushed with the content tag. It may refer to variables
// ($NAME or ${NAME}) that the job's shell expands when the step runs.
type Tag struct {
	Text string
	Pos  Pos
}

// Scan is an image's vulnerability scan, and where the spec sets it.
type Scan struct {
	scanner.Settings
	Pos Pos
}

// Pattern is one if_changed glob, with where it was written.
type Pattern struct {
	Text string
	Pos  Pos
	Glob *glob.Pattern // compiled by Load; nil for patterns made elsewhere
}

// IfChanged is an if_changed value: a step runs when some changed path
// matches an Include pattern and no Exclude pattern.
type IfChanged struct {
	Include []Pattern
	Exclude []Pattern
	Pos     Pos
}

// Consumer is a step that runs inside an image.
type Consumer struct {
	Name        string
	Pos         Pos
	Label       string
	Command     string
	Parallelism int // 0: not set
	// Target is the build stage the consumer runs in, when not its image's:
	// it runs in the image's variant for that stage. "" for the image's own.
	Target    string
	TargetPos Pos
	// Of is the image the spec lists the consumer under, when it runs in
	// that image's variant; its key and label name that image.
	Of        string
	IfChanged *IfChanged
	Env       []KV // sorted by key
	Container Container
	// Pass-through step attributes, as Buildkite has them.
	Agents           *stepvalue.Value
	Plugins          []Plugin
	ArtifactPaths    []string
	TimeoutInMinutes int
	Retry            *stepvalue.Value
	SoftFail         *stepvalue.Value
	Concurrency      int
	ConcurrencyGroup string
	Priority         *int
	DependsOn        []string // extra step keys
	dependsOnAt      []*yaml.Node
	// Attrs are the other command-step attributes the spec passes through
	// (if, branches, allow_dependency_failure, ...), in StepAttrs order.
	Attrs []StepAttr
}

// Output is files of a build stage taken out of its image and uploaded as
// the build's artifacts (outputs:), by a step that follows the image's
// decision: it runs when the image is built or guarded, on what is under
// its content tag.
type Output struct {
	Target string // the stage, "" for the image's own
	From   string // the directory in the image whose contents are taken ("/" for all)
	Path   string // where they go in the checkout, relative: the artifacts are Path/**/*
	Pos    Pos
	// Of is the image the spec lists it under, when it comes from that
	// image's variant for Target.
	Of string
}

// OwnStep is what the spec adds to an image's own steps (builds, manifest,
// scan): attributes Buildkite's command steps take that make sense there.
type OwnStep struct {
	Env              []KV     // sorted by key
	Plugins          []Plugin // run before the registry's own
	TimeoutInMinutes int
	Retry            *stepvalue.Value
	Concurrency      int
	ConcurrencyGroup string
	Priority         *int
	Attrs            []StepAttr // secrets, notify, cancel_on_build_failing
}

// StepAttr is a command-step attribute passed through as written.
type StepAttr struct {
	Key   string
	Value *stepvalue.Value
}

// Plugin is one of a consumer's plugins: a pinned source and its config.
type Plugin struct {
	Source string
	Config *stepvalue.Value // nil when it has none
	Pos    Pos
}
