package bkgen_test

import (
	"bytes"
	"os"
	"regexp"
	"slices"
	"strings"
	"testing"

	"github.com/bkgen/bkgen/internal/schematest"
	"gopkg.in/yaml.v3"
)

// The plugin's plugin.yml is what Buildkite's plugin linter reads: a name,
// a description, an author, requirements, and its options as a JSON Schema
// that refuses unknown ones. The schema, the options hooks/command reads and
// the README's examples agree.
func TestPluginYAML(t *testing.T) {
	src, err := os.ReadFile("plugin.yml")
	if err != nil {
		t.Fatal(err)
	}
	var p struct {
		Name, Description, Author string
		Requirements              []string
		Configuration             map[string]any
	}
	if err := yaml.Unmarshal(src, &p); err != nil {
		t.Fatal(err)
	}
	if p.Name != "bkgen" || p.Description == "" || p.Author == "" || !slices.Contains(p.Requirements, "curl") {
		t.Errorf("plugin.yml: name %q, description %q, author %q, requirements %v", p.Name, p.Description, p.Author, p.Requirements)
	}
	if p.Configuration["additionalProperties"] != false {
		t.Errorf("plugin.yml: configuration must refuse unknown options (additionalProperties: false)")
	}
	schema := schematest.Compile(t, "plugin-configuration.json", p.Configuration)

	// Every option the hook reads is declared, and every declared one read.
	hook, err := os.ReadFile("hooks/command")
	if err != nil {
		t.Fatal(err)
	}
	var read []string
	for _, m := range regexp.MustCompile(`\$\(option ([A-Z_]+)\)|prefix\}([A-Z_]+)_\$i`).FindAllSubmatch(hook, -1) {
		name := strings.ToLower(strings.ReplaceAll(string(m[1])+string(m[2]), "_", "-"))
		if !slices.Contains(read, name) {
			read = append(read, name)
		}
	}
	props := p.Configuration["properties"].(map[string]any)
	for _, name := range read {
		if props[name] == nil {
			t.Errorf("hooks/command reads option %s, which plugin.yml does not declare", name)
		}
	}
	for name := range props {
		if !slices.Contains(read, name) {
			t.Errorf("plugin.yml declares option %s, which hooks/command never reads", name)
		}
	}

	// The README's plugin lines are valid configurations.
	readme, err := os.ReadFile("README.md")
	if err != nil {
		t.Fatal(err)
	}
	examples := 0
	for _, block := range regexp.MustCompile("(?s)```yaml\n(.*?)```").FindAllSubmatch(readme, -1) {
		if !bytes.Contains(block[1], []byte("github.com/bkgen/bkgen#v")) {
			continue
		}
		var doc any
		if err := yaml.Unmarshal(block[1], &doc); err != nil {
			t.Errorf("README plugin example: %v\n%s", err, block[1])
			continue
		}
		for _, cfg := range pluginConfigs(doc) {
			examples++
			if err := schema.Validate(schematest.JSONValue(cfg)); err != nil {
				t.Errorf("README plugin example does not fit plugin.yml: %v\n%s", err, block[1])
			}
		}
	}
	if examples == 0 {
		t.Error("the README shows no plugin configuration (github.com/bkgen/bkgen#vX.Y.Z)")
	}
	for _, bad := range []map[string]any{{"skiped": "omit"}, {"skipped": "drop"}, {"annotate": "yes"}, {"version": "1.2.3"}, {"upload-args": "--dry-run"}} {
		if schema.Validate(bad) == nil {
			t.Errorf("plugin.yml accepts %v", bad)
		}
	}
}

// pluginConfigs finds the configurations of the bkgen plugin in a pipeline.
func pluginConfigs(v any) []any {
	var out []any
	switch v := v.(type) {
	case map[string]any:
		for k, c := range v {
			if strings.HasPrefix(k, "github.com/bkgen/bkgen#") {
				if c == nil {
					c = map[string]any{}
				}
				out = append(out, c)
				continue
			}
			out = append(out, pluginConfigs(c)...)
		}
	case []any:
		for _, c := range v {
			out = append(out, pluginConfigs(c)...)
		}
	}
	return out
}
