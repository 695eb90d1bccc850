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
func ConsumerKey(im *Image, c *Consumer) string { return im.Name + "-" + c.Name }

// FinalKey is the key of the step after which im is complete and pushed.
func FinalKey(im *Image) string {
	if im.MultiArch == Native {
		return ManifestKey(im)
	}
	return BuildKey(im, "")
}

// StepKeys returns the keys of every step bkgen makes for im.
func StepKeys(im *Image) []string {
	var keys []string
	for _, s := range stepsOf(im) {
		keys = append(keys, s.key)
	}
	return keys
}

// step is one step bkgen makes for an image, as far as Buildkite's limits
// care: its key, its parallelism and where the spec makes it.
type step struct {
	key         string
	parallelism int
	pos         Pos
}

// stepsOf lists the steps bkgen makes for im, in pipeline order.
func stepsOf(im *Image) []step {
	var out []step
	if im.MultiArch == Native {
		for _, p := range im.Platforms {
			out = append(out, step{BuildKey(im, p), 1, im.Pos})
		}
	}
	out = append(out, step{FinalKey(im), 1, im.Pos})
	if im.Scan != nil {
		out = append(out, step{ScanKey(im), 1, im.Scan.Pos})
	}
	for _, c := range im.Consumers {
		out = append(out, step{ConsumerKey(im, c), c.Parallelism, c.Pos})
	}
	return out
}
