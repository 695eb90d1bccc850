package initspec

import (
	"bytes"
	"fmt"
	"strings"

	"github.com/bkgen/bkgen/spec"
	"gopkg.in/yaml.v3"
)

// registryName is the key of the registry written for each provider.
var registryName = map[string]string{"buildkite": "packages", "ecr": "ecr", "gar": "gar", "hosted": "hosted"}

// YAML is the spec: the schema line for editors, the registry chosen with
// the others as a commented choice, and each image with what init guessed
// about it in comments.
func (r *Result) YAML() ([]byte, error) {
	doc := mapping()
	add(doc, "version", scalar("1", "!!int"), "")
	regs := mapping()
	reg := mapping()
	add(reg, "provider", str(r.Registry), "")
	switch r.Registry {
	case "buildkite":
		if r.Org != "" {
			add(reg, "org", str(r.Org), "from $BUILDKITE_ORGANIZATION_SLUG")
		} else {
			add(reg, "org", str("my-org"), "CHANGE ME: your Buildkite organization's slug")
		}
		add(reg, "registry", str(r.RepoName), "a container registry of your organization's Package Registries (create it first)")
	case "ecr":
		add(reg, "account_id", str("123456789012"), "CHANGE ME")
		add(reg, "region", str("us-east-1"), "CHANGE ME")
		add(reg, "create_repositories", scalar("true", "!!bool"), "")
	case "gar":
		add(reg, "location", str("us-central1"), "CHANGE ME")
		add(reg, "project", str("my-project"), "CHANGE ME")
		add(reg, "repository", str(r.RepoName), "")
		add(reg, "create_repositories", scalar("true", "!!bool"), "")
	}
	name := registryName[r.Registry]
	add(regs, name, reg, "")
	var others []string
	for _, p := range Providers {
		if p != r.Registry {
			others = append(others, "#   "+otherRegistry[p])
		}
	}
	regs.Content[0].HeadComment = "Chosen: " + r.Why + "."
	add(doc, "registries", regs, "")
	defaults := mapping()
	add(defaults, "registry", str(name), "")
	add(doc, "defaults", defaults, "every image's, unless it says otherwise")
	doc.Content[len(doc.Content)-2].HeadComment = "Or another registry (then point defaults.registry at it):\n" + strings.Join(others, "\n")
	images := mapping()
	for _, im := range r.Images {
		m := mapping()
		add(m, "context", str(im.Context), "")
		if im.Dockerfile != "" {
			add(m, "dockerfile", str(im.Dockerfile), "")
		}
		if len(im.DependsOn) > 0 {
			deps := &yaml.Node{Kind: yaml.SequenceNode, Style: yaml.FlowStyle}
			for _, d := range im.DependsOn {
				deps.Content = append(deps.Content, str(d))
			}
			add(m, "depends_on", deps, "")
		}
		add(images, im.Name, m, "")
		images.Content[len(images.Content)-2].HeadComment = strings.Join(im.Notes, "\n")
	}
	add(doc, "images", images, "")
	doc.Content[len(doc.Content)-2].HeadComment = "Steps that run in an image go under its consumers:, for example\n" +
		"#   app:\n#     consumers:\n#       test: {command: make test}"
	var b bytes.Buffer
	b.WriteString("# yaml-language-server: $schema=" + spec.SchemaURL + "\n")
	fmt.Fprintf(&b, "# Written by bkgen init: %d %s found. Check what it guessed, then\n# bkgen lint, and bkgen preview --all.\n", len(r.Images), plural(len(r.Images), "image", "images"))
	enc := yaml.NewEncoder(&b)
	enc.SetIndent(2)
	if err := enc.Encode(&yaml.Node{Kind: yaml.DocumentNode, Content: []*yaml.Node{doc}}); err != nil {
		return nil, err
	}
	if err := enc.Close(); err != nil {
		return nil, err
	}
	return spaced(b.Bytes()), nil
}

// spaced puts a blank line before each top-level field after the first
// (and before the comments above it).
func spaced(src []byte) []byte {
	lines := strings.SplitAfter(string(src), "\n")
	var out strings.Builder
	for i, l := range lines {
		top := l != "" && l[0] != ' ' && l[0] != '\n'
		if top && i > 0 && strings.HasPrefix(lines[i-1], " ") {
			out.WriteString("\n")
		}
		out.WriteString(l)
	}
	return []byte(out.String())
}

var otherRegistry = map[string]string{
	"buildkite": "packages: {provider: buildkite, org: my-org, registry: images}",
	"ecr":       `ecr: {provider: ecr, account_id: "123456789012", region: us-east-1, create_repositories: true}`,
	"gar":       "gar: {provider: gar, location: us-central1, project: my-project, repository: docker, create_repositories: true}",
	"hosted":    "hosted: {provider: hosted}   # hosted agents' own registry",
}

func plural(n int, one, many string) string {
	if n == 1 {
		return one
	}
	return many
}

func mapping() *yaml.Node { return &yaml.Node{Kind: yaml.MappingNode} }

func scalar(v, tag string) *yaml.Node { return &yaml.Node{Kind: yaml.ScalarNode, Value: v, Tag: tag} }

// str is a string, quoted by the encoder where YAML would read it as
// something else.
func str(v string) *yaml.Node { return scalar(v, "!!str") }

func add(m *yaml.Node, key string, v *yaml.Node, comment string) {
	k := str(key)
	if comment != "" {
		if v.Kind == yaml.ScalarNode {
			v.LineComment = comment
		} else {
			k.LineComment = comment
		}
	}
	m.Content = append(m.Content, k, v)
}
