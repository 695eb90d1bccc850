package spec

import "strings"

// ArchSlug names a platform within step keys and tags: linux/arm64 is
// "arm64", linux/arm/v7 is "arm-v7"; the OS is kept when platforms mix them.
func ArchSlug(platform string, all []string) string {
	parts := strings.Split(platform, "/")
	mixed := false
	for _, p := range all {
		if strings.Split(p, "/")[0] != parts[0] {
			mixed = true
		}
	}
	if !mixed && len(parts) > 1 {
		parts = parts[1:]
	}
	return strings.Join(parts, "-")
}

// Step keys are part of bkgen's contract: users' own steps depend on them.

// BuildKey is the key of im's build step; with a platform, of that
// platform's step in a native multi-arch build.
func BuildKey(im *Image, platform string) string {
	if platform != "" {
		return "build-" + im.Name + "-" + ArchSlug(platform, im.Platforms)
	}
	return "build-" + im.Name
}

// ManifestKey is the key of the step merging a native multi-arch build.
func ManifestKey(im *Image) string { return "manifest-" + im.Name }

// ScanKey is the key of im's scan.
func ScanKey(im *Image) string { return "scan-" + im.Name }

// ConsumerKey is the key of a consumer's step.
func ConsumerKey(im *Image, c *Consumer) string { return c.ListedUnder(im) + "-" + c.Name }

// ListedUnder is the image the spec lists c under: im, or the image im is
// a variant of.
func (c *Consumer) ListedUnder(im *Image) string {
	if c.Of != "" {
		return c.Of
	}
	return im.Name
}

// FinalKey is the key of the step after which im is complete and pushed.
func FinalKey(im *Image) string {
	if im.MultiArch == Native {
		return ManifestKey(im)
	}
	return BuildKey(im, "")
}

// StepKind is what a step bkgen makes for an image does. The values are
// part of `bkgen preview --format json`.
type StepKind string

const (
	BuildStep    StepKind = "build"    // builds and pushes the image, or one platform of it
	ManifestStep StepKind = "manifest" // merges the platforms of a native multi-arch build
	ScanStep     StepKind = "scan"     // scans what the build pushed
	UserStepKind StepKind = "step"     // one the spec adds itself
	ConsumerStep StepKind = "consumer" // runs a consumer's command in the image
	OutputStep   StepKind = "output"   // takes files out of the image as artifacts
)

// StepRef is one step bkgen makes for an image: what it is, its key, and
// what Buildkite's limits count.
type StepRef struct {
	Kind        StepKind
	Key         string
	Platform    string    // a BuildStep of a native multi-arch build: the platform it builds
	Consumer    *Consumer // a ConsumerStep: the consumer it runs
	Output      *Output   // an OutputStep: what it takes out
	Parallelism int       // jobs it runs as (0 is one)
	Pos         Pos       // where the spec makes it
}

// Steps lists the steps bkgen makes for im, in pipeline order: its build
// (one step, or one per platform and a manifest), its scan, its consumers.
// It is the one list of them: the spec's checks and the generator both walk it.
func Steps(im *Image) []StepRef {
	var out []StepRef
	if im.MultiArch == Native {
		for _, p := range im.Platforms {
			out = append(out, StepRef{Kind: BuildStep, Key: BuildKey(im, p), Platform: p, Parallelism: 1, Pos: im.Pos})
		}
		out = append(out, StepRef{Kind: ManifestStep, Key: ManifestKey(im), Parallelism: 1, Pos: im.Pos})
	} else {
		out = append(out, StepRef{Kind: BuildStep, Key: BuildKey(im, ""), Parallelism: 1, Pos: im.Pos})
	}
	if im.Scan != nil {
		out = append(out, StepRef{Kind: ScanStep, Key: ScanKey(im), Parallelism: 1, Pos: im.Scan.Pos})
	}
	for _, c := range im.Consumers {
		out = append(out, StepRef{Kind: ConsumerStep, Key: ConsumerKey(im, c), Consumer: c, Parallelism: c.Parallelism, Pos: c.Pos})
	}
	for _, o := range im.Outputs {
		out = append(out, StepRef{Kind: OutputStep, Key: OutputKey(im, o), Output: o, Parallelism: 1, Pos: o.Pos})
	}
	return out
}

// OutputKey is the key of the step taking an output out of im:
// output-IMAGE, and -STAGE for a stage of its own.
func OutputKey(im *Image, o *Output) string {
	if o.Of != "" {
		return "output-" + o.Of + "-" + o.Target
	}
	return "output-" + im.Name
}
