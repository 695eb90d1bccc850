// Package provider holds bkgen's container registries, one file each: what
// the spec may say about a registry of the kind (its fields and their
// rules, checked by the spec loader and named in its messages), which
// scanners reach its images, and how a job reaches it (where repositories
// live, the login, the plugins, whether the login expires, how consumers
// run the image, and how --verify-registry authenticates).
//
// Adding a provider is a file here implementing Provider, its entry in All,
// a login template if it needs one, an example and its golden.
package provider

import (
	"fmt"
	"regexp"
	"slices"

	"github.com/bkgen/bkgen/buildenv"
	"github.com/bkgen/bkgen/internal/named"
	"github.com/bkgen/bkgen/internal/pipetext"
	"github.com/bkgen/bkgen/stepvalue"
)

// A Provider is a kind of container registry.
type Provider interface {
	// Name is what the spec's provider field says.
	Name() string
	// Fields are the registry's fields besides provider.
	Fields() []Field
	// Check reports problems between fields (auth: token without
	// token_env), after each field has passed its own rule.
	Check(c *Config) []Problem
	// Scanners names the scan tools that reach the registry's images.
	Scanners() []string
	// Access is how a job reaches the registry.
	Access(c *Config, env buildenv.Build) (*Access, error)
}

// All are the providers, in the order messages list them.
var All = []Provider{Buildkite{}, ECR{}, GAR{}, Hosted{}}

// Named returns the provider called name, or nil.
func Named(name string) Provider { return named.Find(All, name) }

// Names lists the providers' names.
func Names() []string { return named.Names(All) }

// A Field is one field a registry of some provider may set.
type Field struct {
	Name     string
	Required bool
	// Pattern, when set, is what the value must match; Rule says it in
	// words, for messages ("an AWS region such as us-east-1").
	Pattern *regexp.Regexp
	Rule    string
	// Enum, when set, lists the values allowed; Default is taken when the
	// field is left out.
	Enum    []string
	Default string
	// Fields, when set, make this field a mapping of them.
	Fields []Field
	// Bool makes the field true or false (held as "true" or "false").
	Bool bool
}

// Config is a registry as the spec wrote it: each field's text by name
// ("workload_identity.audience" within a mapping), defaults applied.
type Config struct {
	Name   string // the registry's name in the spec
	values map[string]string
}

// NewConfig is an empty config for the registry called name.
func NewConfig(name string) *Config {
	return &Config{Name: name, values: map[string]string{}}
}

// Set records a field's value.
func (c *Config) Set(field, value string) { c.values[field] = value }

// Get returns a field's value, "" when it is not set.
func (c *Config) Get(field string) string { return c.values[field] }

// Has reports whether a field is set.
func (c *Config) Has(field string) bool {
	_, ok := c.values[field]
	return ok
}

// A Problem is something wrong between a registry's fields, reported at
// Field ("" for the registry itself).
type Problem struct {
	Field, Msg string
}

// Access is how a job reaches one registry.
type Access struct {
	// Base is what repositories are under, such as
	// packages.buildkite.com/acme/images. When BaseVar is set it is
	// "${BaseVar}": the job's shell expands it, and an image attribute has
	// it filled in when the pipeline is uploaded.
	Base    string
	BaseVar string
	// BaseVarValue is what BaseVar holds in this environment, "" when it
	// is not set: the base the upload will fill in.
	BaseVarValue string
	// Login is the shell that logs a job in, "" when plugins do or none is
	// needed. It may print nothing but progress, and reads secrets only
	// from the environment.
	Login   string
	Plugins []Plugin
	// Expires: the login lasts minutes (an OIDC token lives 5), so a step
	// logs in again right before it pushes.
	Expires bool
	// CacheToAttrs are --cache-to attributes the registry needs with a
	// registry cache, such as ECR's ",image-manifest=true".
	CacheToAttrs string
	// Credentials is the cloud whose credentials the job holds for the
	// registry ("aws", "gcp"; "" for none): a consumer's container gets
	// them unless the spec says otherwise.
	Credentials string
	// OIDCAudience is the audience of the Buildkite OIDC token that logs in,
	// "" when the job's docker config does; --verify-registry asks for it.
	OIDCAudience string
	// CacheRepoSuffix, when set, puts an image's registry cache in a
	// repository of its own, its repository's name and this: a registry
	// whose repositories may refuse to rewrite a tag (ECR's IMMUTABLE
	// tags) cannot hold buildcache-* tags that move.
	CacheRepoSuffix string
	// Ensure, when set, is the shell that creates the repositories named
	// (without the registry) that do not exist yet, run before a push.
	Ensure func(repositories []string) (string, error)
}

// Plugin is a plugin a step runs to reach a registry, pinned.
type Plugin struct {
	Source string
	Config *stepvalue.Value
}

// quote makes a field's value one shell word. The fields' rules leave no
// NUL in them, the only thing that cannot be quoted.
func quote(s string) (string, error) {
	q, err := pipetext.ShellQuote(s)
	if err != nil {
		return "", fmt.Errorf("%s: %w", pipetext.Display(s), err)
	}
	return q, nil
}

// Scanners reached by every registry: the ones that pull the image.
var pullingScanners = []string{"trivy", "grype"}

func with(list []string, more ...string) []string {
	return append(slices.Clone(list), more...)
}

// Patterns shared by more than one provider's fields.
var (
	slugRE    = regexp.MustCompile(`^[a-z0-9][a-z0-9-]*$`)
	envNameRE = regexp.MustCompile(`^[A-Za-z_][A-Za-z0-9_]*$`)
)
