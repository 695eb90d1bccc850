// Package imagebuild is what decides an image's bytes: the inputs of one
// `docker buildx build`. The spec loads them, the content key hashes them
// and the build step passes them, all as this one type, so what is built
// and what is keyed cannot drift apart.
package imagebuild

// Inputs are an image's build inputs.
type Inputs struct {
	Context    string // slash path relative to the repository root
	Dockerfile string // slash path relative to the repository root
	Target     string // the stage to build; "" for the last
	Args       []KV   // build args, sorted by key
	Labels     []KV   // image labels, sorted by key
	Secrets    []string
	Platforms  []string
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
