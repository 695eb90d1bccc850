package spec

import (
	"path"
	"regexp"
	"strings"

	"github.com/bkgen/bkgen/internal/pipetext"
	"gopkg.in/yaml.v3"
)

// Trust is the spec's trust model: which builds are trusted, and where the
// images of the others go, so that no build a pull request's author
// controls can publish what a trusted build will reuse.
type Trust struct {
	// Branches are the branches (path.Match patterns) whose builds are
	// trusted, unless they build a pull request; nil means the pipeline's
	// default branch alone.
	Branches []string
	// TagPrefix starts every tag an untrusted build writes (content tags,
	// extra tags, registry caches) in the same repositories; "" when
	// Registry is set.
	TagPrefix string
	// Registry, when set, is the registry every image of an untrusted
	// build goes to instead of its own: one the registry's own policy (a
	// Buildkite OIDC policy, say) can keep apart.
	Registry   string
	Pos        Pos
	registryAt *yaml.Node
}

// DefaultUntrustedPrefix is the tag prefix of untrusted builds when the
// spec names neither a prefix nor a registry.
const DefaultUntrustedPrefix = "untrusted-"

// tagPrefixRule: a tag's first character, then what tags allow, short
// enough to leave room for the content tag.
var tagPrefixRule = rule{regexp.MustCompile(`^[a-z0-9][a-z0-9_.-]{0,29}$`),
	"a tag prefix (up to 30 lowercase letters, digits, '.', '_' and '-', starting with a letter or digit)"}

// branchPatternRule is what a trusted branch is, checked by path.Match.
var branchPatternRule = rule{text: "a branch pattern (* ? [...] as in path.Match)"}

// trustFields are trust's, and untrustedFields those of its untrusted.
var (
	trustFields = []fieldDoc{
		{"branches", "The branches whose builds are trusted, unless they build a pull request; the pipeline's default branch by default.",
			oneOrMany(matches(branchPatternRule))},
		{"untrusted", "Where the images of untrusted builds go: tag_prefix (" + DefaultUntrustedPrefix + " by default) or registry, not both.", object(untrustedFields)},
	}
	untrustedFields = []fieldDoc{
		{"tag_prefix", "What starts every tag an untrusted build writes, in the same repositories.", matches(tagPrefixRule)},
		{"registry", "The registry every image of an untrusted build goes to instead of its own, by its name under registries.", nonBlank()},
	}
)

func (d *decoder) trust(n *yaml.Node) *Trust {
	f, ok := d.fields(n, "trust", fieldNames(trustFields))
	if !ok {
		return nil
	}
	t := &Trust{Pos: posOf(n), TagPrefix: DefaultUntrustedPrefix}
	if p, ok := f["branches"]; ok {
		items, _ := d.strList(p.value, "trust.branches", true)
		for _, it := range items {
			if _, err := path.Match(it.text, ""); err != nil || strings.TrimSpace(it.text) == "" {
				d.errorf(it.node, "trust.branches", "%s is not %s", quoteForMessage(it.text), branchPatternRule.text)
				continue
			}
			t.Branches = append(t.Branches, it.text)
		}
	}
	if p, ok := f["untrusted"]; ok {
		u, ok := d.fields(p.value, "trust.untrusted", fieldNames(untrustedFields))
		if !ok {
			return t
		}
		prefix, hasPrefix := u["tag_prefix"]
		reg, hasRegistry := u["registry"]
		switch {
		case hasPrefix && hasRegistry:
			d.errorf(reg.key, "trust.untrusted", "give tag_prefix or registry, not both")
		case hasPrefix:
			if s, ok := d.nonEmpty(prefix.value, "trust.untrusted.tag_prefix"); ok {
				switch {
				case !tagPrefixRule.check(d, prefix.value, "trust.untrusted.tag_prefix", s):
				case strings.HasPrefix(s, "bk-") || strings.HasPrefix(s, "buildcache"):
					d.errorf(prefix.value, "trust.untrusted.tag_prefix", "%s would make tags a trusted build writes: choose another prefix", quoteForMessage(s))
				default:
					t.TagPrefix = s
				}
			}
		case hasRegistry:
			t.Registry, t.TagPrefix, t.registryAt = d.name(reg.value, "trust.untrusted.registry"), "", reg.value
		}
	}
	return t
}

// checkTrust checks the trust model names a registry of the spec.
func (d *decoder) checkTrust(s *Spec) {
	if t := s.Trust; t != nil && t.Registry != "" && s.Registry(t.Registry) == nil {
		var names []string
		for _, r := range s.Registries {
			names = append(names, r.Name)
		}
		d.errorf(t.registryAt, "trust.untrusted.registry", "no registry named %s%s", quoteForMessage(t.Registry), didYouMean(t.Registry, names))
	}
}

// Trusted reports whether a build is trusted, and why: it builds no pull
// request, and its branch matches the trusted branches (the default
// branch when the spec names none).
func (t *Trust) Trusted(branch, pullRequest, defaultBranch string) (bool, string) {
	if pullRequest != "" && pullRequest != "false" {
		return false, "it builds pull request " + pipetext.Display(pullRequest)
	}
	patterns := t.Branches
	if patterns == nil {
		if defaultBranch == "" {
			defaultBranch = "main"
		}
		patterns = []string{defaultBranch}
	}
	if branch == "" {
		return false, "its branch is unknown (BUILDKITE_BRANCH is not set)"
	}
	for _, p := range patterns {
		if ok, _ := path.Match(p, branch); ok {
			return true, "branch " + pipetext.Display(branch) + " matches trusted branch " + pipetext.Display(p)
		}
	}
	var shown []string
	for _, p := range patterns {
		shown = append(shown, pipetext.Display(p))
	}
	return false, "branch " + pipetext.Display(branch) + " is not a trusted branch (" + strings.Join(shown, ", ") + ")"
}
