package spec

import (
	"bytes"
	"encoding/json"
	"regexp"
	"strconv"
	"strings"

	"github.com/bkgen/bkgen/provider"
	"github.com/bkgen/bkgen/scanner"
	"github.com/bkgen/bkgen/stepvalue"
)

// SchemaURL is where the spec's JSON Schema is published: the $id of what
// JSONSchema returns, and what a spec's first line names for editors
// (# yaml-language-server: $schema=SchemaURL).
const SchemaURL = "https://raw.githubusercontent.com/bkgen/bkgen/main/schema/bkgen.schema.json"

// JSONSchema returns the JSON Schema (draft 2020-12) of the spec, for
// editors: made from the declarations the loader reads a spec by (its
// fields, their rules, the providers' and scanners' fields), so that it
// names the same fields and says the same words as the loader's messages.
// What only the loader can tell (whether a path exists, a plugin is
// pinned, two fields agree) is left to it. The bytes are the same from run
// to run: keys sorted, indented two spaces, ending in a newline.
func JSONSchema() ([]byte, error) {
	root := object(topFields, "version", "registries", "images")
	root["$schema"] = "https://json-schema.org/draft/2020-12/schema"
	root["$id"] = SchemaURL
	root["title"] = "bkgen spec"
	root["description"] = "A bkgen spec (.buildkite/bkgen.yml): the registries, the images built and pushed to them, and the steps that run inside them, from which bkgen generates a Buildkite pipeline."
	root["$defs"] = schema{
		"image":     imageSchema(false),
		"defaults":  imageSchema(true),
		"registry":  registrySchema(),
		"consumer":  stepObject(consumerFields, "command"),
		"scan":      scanSchema(),
		"step":      userStepSchema(false),
		"groupStep": userStepSchema(true),
		"ifChanged": anyOf(nonBlank(), schema{"type": "array", "items": nonBlank(), "minItems": 1}, object(ifChangedFields, "include")),
		"agents": describe(schema{"type": []string{"object", "array"}},
			"As Buildkite's agents attribute: a mapping such as {queue: linux}, or a list of key=value."),
		"plugins": describe(list(schema{"type": []string{"string", "object"}, "minProperties": 1, "maxProperties": 1}),
			"Plugins, each pinned (name#vX.Y.Z) and given as its source, or a mapping of its source to its configuration."),
	}
	var b bytes.Buffer
	enc := json.NewEncoder(&b)
	enc.SetEscapeHTML(false)
	enc.SetIndent("", "  ")
	if err := enc.Encode(root); err != nil {
		return nil, err
	}
	return b.Bytes(), nil
}

// schema is a JSON Schema, or a part of one: a map, so that it is written
// with its keys sorted.
type schema map[string]any

// A fieldDoc is a field of one of the spec's mappings: the name the loader
// reads it by (d.fields takes fieldNames), and, for the JSON Schema, what
// it is for and the shape of its value.
type fieldDoc struct {
	name, description string
	shape             schema
}

// fieldNames are the names of fields, as d.fields takes them.
func fieldNames(fields []fieldDoc) []string {
	names := make([]string, len(fields))
	for i, f := range fields {
		names[i] = f.name
	}
	return names
}

// matches is the shape of text r accepts.
func matches(r rule) schema {
	s := nonBlank()
	s["description"] = "Must be " + r.text + "."
	if p, ok := ecmaPattern(r.re); ok {
		s["pattern"] = p
	}
	return s
}

// ecmaPattern is re as a JSON Schema pattern (ECMA-262), when it is one:
// when it uses nothing but what both dialects read alike (characters,
// classes, groups, repetition, anchors and the common escapes). Flags,
// named groups, POSIX classes, \p, \z, \Q and the like are not.
func ecmaPattern(re *regexp.Regexp) (string, bool) {
	if re == nil {
		return "", false
	}
	p := re.String()
	inClass := false
	for i := 0; i < len(p); i++ {
		switch rest := p[i:]; {
		case rest[0] == '\\':
			escapes := `\.+*?()|[]{}^$/dDwWsSbBtnrf`
			if inClass {
				escapes += "-"
			}
			if i++; i == len(p) || !strings.ContainsRune(escapes, rune(p[i])) {
				return "", false
			}
		case inClass && strings.HasPrefix(rest, "[:"):
			return "", false
		case rest[0] == '[' && !inClass:
			if strings.HasPrefix(rest, "[]") || strings.HasPrefix(rest, "[^]") {
				return "", false
			}
			inClass = true
		case rest[0] == ']' && inClass:
			inClass = false
		case !inClass && strings.HasPrefix(rest, "(?") && !strings.HasPrefix(rest, "(?:"):
			return "", false
		}
	}
	return p, true
}

// The shapes of values, as the decoder reads them.

// text is what d.str reads: a string, or a number taken as written.
func text() schema { return schema{"type": []string{"string", "number"}} }

// nonBlank is text that must not be empty.
func nonBlank() schema {
	s := text()
	s["minLength"] = 1
	return s
}

// scalar is what d.scalarText reads: any scalar but null.
func scalar() schema { return schema{"type": []string{"string", "number", "boolean"}} }

func boolean() schema { return schema{"type": "boolean"} }

func integer(lo, hi int) schema { return schema{"type": "integer", "minimum": lo, "maximum": hi} }

func enum(values ...string) schema { return schema{"enum": values} }

func list(item schema) schema { return schema{"type": "array", "items": item} }

// oneOrMany is what d.strList reads with oneOrMany: an item, or a list.
func oneOrMany(item schema) schema { return anyOf(item, list(item)) }

func anyOf(shapes ...schema) schema { return schema{"anyOf": shapes} }

func ref(def string) schema { return schema{"$ref": "#/$defs/" + def} }

// pattern is the shape of text re accepts, when re is also an ECMA-262
// pattern; of any text otherwise.
func pattern(re *regexp.Regexp) schema {
	if p, ok := ecmaPattern(re); ok {
		return schema{"pattern": p}
	}
	return schema{}
}

// anys is values as JSON values, for an enum of mixed types.
func anys(values []string) []any {
	out := make([]any, len(values))
	for i, v := range values {
		out[i] = v
	}
	return out
}

// mapOf is a mapping whose keys are keys (a rule's shape) and whose values
// are values.
func mapOf(keys, values schema) schema {
	return schema{"type": "object", "propertyNames": keys, "additionalProperties": values}
}

// object is a mapping of fields and no others, required among them.
func object(fields []fieldDoc, required ...string) schema {
	props := schema{}
	for _, f := range fields {
		props[f.name] = describe(f.shape, f.description)
	}
	s := schema{"type": "object", "properties": props, "additionalProperties": false}
	if len(required) > 0 {
		s["required"] = required
	}
	return s
}

// names is a mapping of the named fields and no others, their values as
// Buildkite takes them.
func names(fields []string) schema {
	props := schema{}
	for _, f := range fields {
		props[f] = schema{}
	}
	return schema{"type": "object", "properties": props, "additionalProperties": false}
}

// kindsShape is a pass-through value of kinds.
func kindsShape(kinds []stepvalue.Kind) schema {
	var types []string
	for _, k := range kinds {
		types = append(types, jsonTypes[k])
	}
	if len(types) == 1 {
		return schema{"type": types[0]}
	}
	return schema{"type": types}
}

// jsonTypes are the JSON types of pass-through values' kinds.
var jsonTypes = map[stepvalue.Kind]string{
	stepvalue.String: "string", stepvalue.Int: "integer", stepvalue.Float: "number", stepvalue.Bool: "boolean",
	stepvalue.Null: "null", stepvalue.Map: "object", stepvalue.List: "array",
}

// describe is shape with a description: what the field is for, then what
// the shape says of its value (a rule's words).
func describe(shape schema, description string) schema {
	out := schema{}
	for k, v := range shape {
		out[k] = v
	}
	if said, ok := shape["description"].(string); ok && description != "" {
		description += " " + said
	}
	if description != "" {
		out["description"] = description
	}
	return out
}

// imageSchema is an image's fields, or (isDefaults) those of the defaults:
// all but what names one image's own things.
func imageSchema(isDefaults bool) schema {
	var fields []fieldDoc
	for _, f := range imageFields {
		if !isDefaults || !f.imageOnly {
			fields = append(fields, fieldDoc{f.name, f.description, f.shape})
		}
	}
	return object(fields)
}

// stepObject is a command step's fields (a consumer's, an image's own
// steps'), concurrency needing concurrency_group.
func stepObject(fields []fieldDoc, required ...string) schema {
	s := object(fields, required...)
	s["dependentRequired"] = schema{"concurrency": []string{"concurrency_group"}}
	return s
}

// registrySchema is a registry: its provider, then that provider's fields,
// one branch each.
func registrySchema() schema {
	var branches []schema
	for _, p := range provider.All {
		props, required := providerFields(p.Fields())
		props["provider"] = schema{"const": p.Name()}
		then := schema{"type": "object", "properties": props, "additionalProperties": false}
		if len(required) > 0 {
			then["required"] = required
		}
		branches = append(branches, schema{
			"if":   schema{"properties": schema{"provider": schema{"const": p.Name()}}, "required": []string{"provider"}},
			"then": then,
		})
	}
	return schema{
		"type":     "object",
		"required": []string{"provider"},
		"properties": schema{
			"provider": describe(enum(provider.Names()...), "The kind of registry; the fields it takes follow from it."),
		},
		"allOf": branches,
	}
}

// providerFields are the properties of a provider's fields, and those
// required.
func providerFields(fields []provider.Field) (schema, []string) {
	props := schema{}
	var required []string
	for _, f := range fields {
		var s schema
		switch {
		case f.Fields != nil:
			sub, subRequired := providerFields(f.Fields)
			s = schema{"type": "object", "properties": sub, "additionalProperties": false}
			if len(subRequired) > 0 {
				s["required"] = subRequired
			}
		case f.Bool:
			s = boolean()
			if f.Default != "" {
				s["default"], _ = strconv.ParseBool(f.Default)
			}
		case f.Enum != nil:
			s = enum(f.Enum...)
		case f.Rule != "":
			s = matches(rule{f.Pattern, f.Rule})
		default:
			s = nonBlank()
		}
		if f.Default != "" && !f.Bool {
			s["default"] = f.Default
		}
		if f.Required {
			required = append(required, f.Name)
		}
		props[f.Name] = s
	}
	return props, required
}

// scanSchema is an image's scan: true, false, or the tool and the options
// it takes (the first tool's when it names none).
func scanSchema() schema {
	fields := []fieldDoc{{"tool", "The scanner; " + scanner.All[0].Name() + " by default.", enum(scanner.Names()...)}}
	for _, o := range scanner.Options {
		fields = append(fields, fieldDoc{string(o), scanOptions[o].description, scanOptions[o].shape})
	}
	s := object(fields)
	var branches []schema
	for i, t := range scanner.All {
		when := schema{"properties": schema{"tool": schema{"const": t.Name()}}}
		if i > 0 {
			when["required"] = []string{"tool"}
		}
		takes := []string{"tool"}
		for _, o := range t.Options() {
			takes = append(takes, string(o))
		}
		branches = append(branches, schema{"if": when, "then": schema{"propertyNames": enum(takes...)}})
	}
	s["allOf"] = branches
	return anyOf(boolean(), s)
}

// userStepShapes are the fields of the spec's own steps the loader reads
// itself; it passes the others through.
var userStepShapes = schema{
	"key":        matches(stepKeyRule),
	"depends_on": anyOf(matches(stepKeyRule), list(anyOf(matches(stepKeyRule), names(dependencyFields)))),
	"if_changed": ref("ifChanged"),
	"plugins":    ref("plugins"),
	"matrix":     matrixShape(),
}

// userStepSchema is one of the spec's own steps (inGroup: one in a group,
// which cannot be a group): "wait", or a mapping of one kind's fields.
func userStepSchema(inGroup bool) schema {
	kinds := []schema{describe(schema{"const": "wait"}, "A wait step.")}
	for _, k := range userStepKinds {
		if inGroup && k.kind == "group" {
			continue
		}
		s := describe(names(k.fields), k.description)
		props := s["properties"].(schema)
		for name, shape := range userStepShapes {
			if _, ok := props[name]; ok {
				props[name] = shape
			}
		}
		switch k.kind {
		case "command":
			s["anyOf"] = []schema{{"required": []string{"command"}}, {"required": []string{"commands"}}}
		case "group":
			props["steps"] = list(ref("groupStep"))
			s["required"] = []string{"group", "steps"}
		default:
			s["required"] = []string{k.kind}
		}
		kinds = append(kinds, s)
	}
	return anyOf(kinds...)
}
