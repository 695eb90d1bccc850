// Package schematest validates YAML documents against JSON Schemas in
// tests, with github.com/santhosh-tekuri/jsonschema: the spec's schema, and
// the plugin's options.
package schematest

import (
	"bytes"
	"testing"

	"github.com/santhosh-tekuri/jsonschema/v6"
	"gopkg.in/yaml.v3"
)

// Compile compiles a schema given as JSON text, or as a document decoded
// from YAML, under the name url.
func Compile(tb testing.TB, url string, doc any) *jsonschema.Schema {
	tb.Helper()
	if text, ok := doc.([]byte); ok {
		var err error
		if doc, err = jsonschema.UnmarshalJSON(bytes.NewReader(text)); err != nil {
			tb.Fatal(err)
		}
	}
	c := jsonschema.NewCompiler()
	if err := c.AddResource(url, JSONValue(doc)); err != nil {
		tb.Fatal(err)
	}
	s, err := c.Compile(url)
	if err != nil {
		tb.Fatal(err)
	}
	return s
}

// ValidateYAML decodes src and validates it: a YAML error, or the schema's.
func ValidateYAML(s *jsonschema.Schema, src []byte) error {
	var doc any
	if err := yaml.Unmarshal(src, &doc); err != nil {
		return err
	}
	return s.Validate(JSONValue(doc))
}

// JSONValue turns what yaml.v3 decoded into what the validator takes.
func JSONValue(v any) any {
	switch v := v.(type) {
	case map[string]any:
		out := map[string]any{}
		for k, c := range v {
			out[k] = JSONValue(c)
		}
		return out
	case []any:
		out := make([]any, len(v))
		for i, c := range v {
			out[i] = JSONValue(c)
		}
		return out
	case int:
		return float64(v)
	}
	return v
}
