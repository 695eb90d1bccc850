// Package pipetest checks generated pipelines in tests with parts nobody on
// this project wrote: Buildkite's published JSON schema (testdata/buildkite,
// MIT, see its LICENSE) and go-pipeline, the agent's own parser and
// upload-time interpolation. It also checks the step graph.
package pipetest

import (
	"bytes"
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"runtime"
	"strings"
	"sync"
	"testing"
	"unicode"

	pipeline "github.com/buildkite/go-pipeline"
	"github.com/buildkite/go-pipeline/warning"
	"github.com/santhosh-tekuri/jsonschema/v6"
	"gopkg.in/yaml.v3"
)

var (
	schemaOnce sync.Once
	schema     *jsonschema.Schema
	schemaErr  error
)

// repoRoot is the module's root directory, found from this file's path.
func repoRoot() string {
	_, file, _, _ := runtime.Caller(0)
	return filepath.Join(filepath.Dir(file), "..", "..")
}

func loadSchema() (*jsonschema.Schema, error) {
	schemaOnce.Do(func() {
		f, err := os.Open(filepath.Join(repoRoot(), "testdata", "buildkite", "pipeline-schema.json"))
		if err != nil {
			schemaErr = err
			return
		}
		defer f.Close()
		doc, err := jsonschema.UnmarshalJSON(f)
		if err != nil {
			schemaErr = err
			return
		}
		c := jsonschema.NewCompiler()
		if err := c.AddResource("pipeline-schema.json", doc); err != nil {
			schemaErr = err
			return
		}
		schema, schemaErr = c.Compile("pipeline-schema.json")
	})
	return schema, schemaErr
}

// Problems returns everything wrong with a pipeline file: schema violations,
// go-pipeline parse errors and warnings, interpolation errors and graph
// problems. None means the agent would accept it as written.
func Problems(src []byte) []string {
	return findProblems(src, true)
}

// findProblems is Problems, for an upload with interpolation or without.
func findProblems(src []byte, interpolate bool) []string {
	var problems []string
	var raw any
	if err := yaml.Unmarshal(src, &raw); err != nil {
		return []string{"yaml: " + err.Error()}
	}
	s, err := loadSchema()
	if err != nil {
		return []string{"schema: " + err.Error()}
	}
	js, err := json.Marshal(raw)
	if err != nil {
		return []string{"json: " + err.Error()}
	}
	inst, err := jsonschema.UnmarshalJSON(bytes.NewReader(js))
	if err != nil {
		return []string{"json: " + err.Error()}
	}
	if err := s.Validate(inst); err != nil {
		problems = append(problems, "schema: "+err.Error())
	}
	p, err := pipeline.Parse(bytes.NewReader(src))
	if w := warning.As(err); w != nil {
		problems = append(problems, "go-pipeline warning: "+w.Error())
	} else if err != nil {
		return append(problems, "go-pipeline: "+err.Error())
	}
	problems = append(problems, graphProblems(p)...)
	if !interpolate {
		return problems
	}
	if err := p.Interpolate(emptyEnv{}, false); err != nil {
		problems = append(problems, "interpolation: "+err.Error())
	}
	return problems
}

// Check fails the test for every problem Problems finds.
func Check(t testing.TB, name string, src []byte) {
	t.Helper()
	for _, p := range Problems(src) {
		t.Errorf("%s: %s", name, p)
	}
}

// CheckLiteral is Check for a pipeline uploaded with --no-interpolation.
func CheckLiteral(t testing.TB, name string, src []byte) {
	t.Helper()
	for _, p := range findProblems(src, false) {
		t.Errorf("%s: %s", name, p)
	}
}

// Interpolated parses a pipeline and interpolates it as `pipeline upload`
// does with an empty environment: what each job's shell really receives.
func Interpolated(t testing.TB, src []byte) *pipeline.Pipeline {
	t.Helper()
	return InterpolatedWith(t, src, nil)
}

// InterpolatedWith is Interpolated in a job whose environment is env: a
// test sets variables there to see that none of them reaches the pipeline.
func InterpolatedWith(t testing.TB, src []byte, env map[string]string) *pipeline.Pipeline {
	t.Helper()
	p, err := Upload(src, env, true)
	if err != nil {
		t.Fatal(err)
	}
	return p
}

// Upload reads a pipeline as `buildkite-agent pipeline upload` does in a job
// whose environment is env: parsed, then interpolated unless interpolate is
// false (--no-interpolation).
func Upload(src []byte, env map[string]string, interpolate bool) (*pipeline.Pipeline, error) {
	p, err := pipeline.Parse(bytes.NewReader(src))
	if err != nil {
		return nil, fmt.Errorf("parse: %w", err)
	}
	if interpolate {
		if err := p.Interpolate(mapEnv(env), false); err != nil {
			return nil, fmt.Errorf("interpolate: %w", err)
		}
	}
	return p, nil
}

// Commands maps each command step's key to its command after interpolation.
func Commands(t testing.TB, src []byte) map[string]*pipeline.CommandStep {
	t.Helper()
	return CommandsWith(t, src, nil)
}

// CommandsWith is Commands in a job whose environment is env.
func CommandsWith(t testing.TB, src []byte, env map[string]string) map[string]*pipeline.CommandStep {
	t.Helper()
	out := map[string]*pipeline.CommandStep{}
	for _, s := range InterpolatedWith(t, src, env).Steps {
		if c, ok := s.(*pipeline.CommandStep); ok {
			out[c.Key] = c
		}
	}
	return out
}

// Plain says what keeps s from being one plain line of display text (see
// pipetext.Display): a character that is not printable, such as a newline
// or an escape, or an odd run of backslashes before a $, which upload-time
// interpolation would take as an escape. It is nil for a plain line.
func Plain(s string) error {
	backslashes := 0
	for _, r := range s {
		switch {
		case !unicode.IsPrint(r):
			return fmt.Errorf("holds %U", r)
		case r == '$' && backslashes%2 == 1:
			return fmt.Errorf(`holds an escaping \ before $`)
		case r == '\\':
			backslashes++
			continue
		}
		backslashes = 0
	}
	return nil
}

type emptyEnv struct{}

func (emptyEnv) Get(string) (string, bool) { return "", false }
func (emptyEnv) Set(string, string)        {}

// mapEnv is an uploading job's environment; a nil one is empty.
type mapEnv map[string]string

func (e mapEnv) Get(name string) (string, bool) {
	v, ok := e[name]
	return v, ok
}

// Set would take the pipeline's top-level env block, which bkgen never writes.
func (e mapEnv) Set(string, string) {}

// GraphEntry is a step of an upload as its graph sees it: its key ("" for
// none) and the keys its depends_on names.
type GraphEntry struct {
	Key       string
	DependsOn []string
}

// Graph lists every step of an upload, whatever its kind, a group's steps
// right after the group.
func Graph(steps pipeline.Steps) ([]GraphEntry, []string) {
	var out []GraphEntry
	var problems []string
	for _, s := range steps {
		var e GraphEntry
		var fields map[string]any
		var children pipeline.Steps
		switch s := s.(type) {
		case *pipeline.CommandStep:
			e.Key, fields = s.Key, s.RemainingFields
		case *pipeline.GroupStep:
			e.Key, fields, children = s.Key, s.RemainingFields, s.Steps
		case *pipeline.WaitStep:
			fields = s.Contents
		case *pipeline.InputStep:
			fields = s.Contents
		case *pipeline.TriggerStep:
			fields = s.Contents
		default:
			problems = append(problems, fmt.Sprintf("graph: unexpected step type %T", s))
			continue
		}
		if e.Key == "" {
			e.Key, _ = fields["key"].(string)
		}
		switch d := fields["depends_on"].(type) {
		case string:
			e.DependsOn = []string{d}
		case []any:
			for _, x := range d {
				switch x := x.(type) {
				case string:
					e.DependsOn = append(e.DependsOn, x)
				case map[string]any:
					if k, ok := x["step"].(string); ok {
						e.DependsOn = append(e.DependsOn, k)
					}
				}
			}
		}
		out = append(out, e)
		inner, more := Graph(children)
		out, problems = append(out, inner...), append(problems, more...)
	}
	return out, problems
}

func graphProblems(p *pipeline.Pipeline) []string {
	keys := map[string]bool{}
	deps := map[string][]string{}
	var order []string
	entries, problems := Graph(p.Steps)
	for _, e := range entries {
		if e.Key == "" {
			continue // a step of the spec's own may have none; bkgen's always do
		}
		if keys[e.Key] {
			problems = append(problems, fmt.Sprintf("graph: key %q is used twice", e.Key))
		}
		keys[e.Key] = true
		order = append(order, e.Key)
		deps[e.Key] = e.DependsOn
	}
	if len(p.Steps) > 500 {
		problems = append(problems, fmt.Sprintf("graph: %d steps, more than the 500 Buildkite accepts", len(p.Steps)))
	}
	for _, k := range order {
		for _, d := range deps[k] {
			if !keys[d] {
				problems = append(problems, fmt.Sprintf("graph: %s depends on %q, which no step has as key", k, d))
			}
		}
	}
	// A step may only depend on steps before it: bkgen emits in dependency
	// order, which also rules out cycles.
	pos := map[string]int{}
	for i, k := range order {
		pos[k] = i
	}
	for _, k := range order {
		for _, d := range deps[k] {
			if i, ok := pos[d]; ok && i >= pos[k] {
				problems = append(problems, fmt.Sprintf("graph: %s depends on %s, which comes after it", k, d))
			}
		}
	}
	return problems
}

// KeyValues parses KEY=VALUE lines (blank lines and # comments ignored),
// as the examples' env files hold them.
func KeyValues(src string) (map[string]string, error) {
	out := map[string]string{}
	for i, line := range strings.Split(src, "\n") {
		line = strings.TrimSpace(line)
		if line == "" || strings.HasPrefix(line, "#") {
			continue
		}
		k, v, ok := strings.Cut(line, "=")
		if !ok {
			return nil, fmt.Errorf("line %d: expected KEY=VALUE", i+1)
		}
		out[strings.TrimSpace(k)] = strings.TrimSpace(v)
	}
	return out, nil
}
