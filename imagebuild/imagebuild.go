// Package imagebuild is what decides an image's bytes: the inputs of one
// `docker buildx build`. The spec loads them, the content key hashes them
// and the build step passes them, all as this one type, so what is built
// and what is keyed cannot drift apart.
package imagebuild

import (
	"regexp"
	"strings"
)

var nonArgChar = regexp.MustCompile(`[^A-Za-z0-9_]`)

// DependencyArg is the build arg an image built on dep is given, holding
// dep's content-tag reference: NAME_IMAGE, so a Dockerfile can say
// `ARG BASE_IMAGE` / `FROM ${BASE_IMAGE}`.
func DependencyArg(dep string) string {
	return strings.ToUpper(nonArgChar.ReplaceAllString(dep, "_")) + "_IMAGE"
}

// Inputs are an image's build inputs.
type Inputs struct {
	Context    string // slash path relative to the repository root
	Dockerfile string // slash path relative to the repository root
	Target     string // the stage to build; "" for the last
	Args       []KV   // build args, sorted by key
	Labels     []KV   // image labels, sorted by key
	Secrets    []string
	Platforms  []string
	// Bases are the images from outside the repository it is built from
	// (FROM, COPY --from), each with the digest it resolved to when looked
	// up (--verify-registry), sorted: a base that moves makes a new tag,
	// and the build pulls its bases (--pull) to build on those digests.
	// None when nothing was looked up.
	Bases []KV
	// Network is the RUN steps' network ("" or "default", or "none"),
	// AddHosts their extra hosts (NAME:ADDRESS), SSH the ids of the agent's
	// SSH sockets they may mount, ShmSize their /dev/shm size, and
	// BuildContexts named contexts (NAME: docker-image://REF, pinned): what
	// a RUN can see, and so what it can make.
	Network       string
	AddHosts, SSH []string
	ShmSize       string
	BuildContexts []KV
	// Provenance is the SLSA provenance attached to the image: "min",
	// "max", or "" for none. SBOM is the generator image whose SBOM is
	// attached, "" for none. Either changes what is pushed under the tag.
	Provenance, SBOM string
	// KeySalt is text that changes the content tag and nothing else: a
	// new salt starts new tags on purpose. "" for none.
	KeySalt string
	// DependsOn names the images built first, whose content tags are
	// inputs too (as NAME_IMAGE build args).
	DependsOn []string
}

// KV is a key and its value, from a mapping whose order does not matter.
type KV struct {
	Key, Value string
}
