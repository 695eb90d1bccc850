// Package pin is bkgen's one rule for when a plugin reference is pinned:
// to a release tag or a full commit sha, so the code it runs cannot change
// under a pipeline. The spec refuses what it finds, lint warns about it in
// any pipeline file.
package pin

import (
	"fmt"
	"regexp"
	"strings"
)

var (
	// A release: vX.Y.Z, perhaps with a pre-release or build suffix.
	releaseRe = regexp.MustCompile(`^v?\d+\.\d+\.\d+([-+][0-9A-Za-z.+-]*)?$`)
	partialRe = regexp.MustCompile(`^v?\d+(\.\d+)?$`)
	fullShaRe = regexp.MustCompile(`^([0-9a-f]{40}|[0-9a-f]{64})$`)
	shortSha  = regexp.MustCompile(`^[0-9a-f]{7,39}$`)
)

// Check says why a plugin reference (source#ref) is not pinned and how to
// pin it, or "", "" when it is: no ref (the repository's default branch),
// a branch, a partial version that may be a moving tag, or a short sha. A
// plugin in the repository (or on the agent) is as pinned as the commit.
func Check(name string) (why, fix string) {
	if strings.HasPrefix(name, ".") || strings.HasPrefix(name, "/") || strings.HasPrefix(name, `\`) || strings.HasPrefix(name, "file://") {
		return "", ""
	}
	source, ref, hasRef := strings.Cut(name, "#")
	fix = "pin a release tag (" + source + "#vX.Y.Z) or a full commit sha"
	switch {
	case !hasRef || ref == "":
		why = "without a #ref the agent checks out the plugin repository's default branch, which can change under the pipeline"
	case releaseRe.MatchString(ref), fullShaRe.MatchString(ref):
		return "", ""
	case partialRe.MatchString(ref):
		why = fmt.Sprintf("%q is a partial version, which may be a tag that moves with each release", ref)
	case shortSha.MatchString(ref):
		why = fmt.Sprintf("%q looks like a short commit sha, which can become ambiguous", ref)
		fix = "write the full 40-character sha"
	default:
		why = fmt.Sprintf("%q looks like a branch, not a release tag or a commit sha, so it can change under the pipeline", ref)
	}
	return why, fix
}
