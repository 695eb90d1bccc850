package spec

import (
	"bufio"
	"bytes"
	"encoding/json"
	"flag"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"

	"github.com/bkgen/bkgen/internal/schematest"
	"github.com/bkgen/bkgen/scanner"
	"github.com/santhosh-tekuri/jsonschema/v6"
)

var update = flag.Bool("update", false, "rewrite ../schema/bkgen.schema.json from JSONSchema")

// repoRoot is the repository, seen from this package's directory.
const repoRoot = ".."

// schemaFile is the published schema, in the repository.
var schemaFile = filepath.Join(repoRoot, "schema", "bkgen.schema.json")

// TestSchemaFile checks the published schema is what JSONSchema makes; go
// test ./spec -update rewrites it.
func TestSchemaFile(t *testing.T) {
	got, err := JSONSchema()
	if err != nil {
		t.Fatal(err)
	}
	if again, _ := JSONSchema(); !bytes.Equal(got, again) {
		t.Error("JSONSchema makes other bytes each time")
	}
	if *update {
		if err := os.WriteFile(schemaFile, got, 0o644); err != nil {
			t.Fatal(err)
		}
		return
	}
	want, err := os.ReadFile(schemaFile)
	if err != nil {
		t.Fatal(err)
	}
	if !bytes.Equal(got, want) {
		t.Errorf("%s is not what JSONSchema makes: go test ./spec -update rewrites it", schemaFile)
	}
}

// compileSchema compiles what JSONSchema makes, which checks it against
// the draft's metaschema.
func compileSchema(t *testing.T) *jsonschema.Schema {
	t.Helper()
	src, err := JSONSchema()
	if err != nil {
		t.Fatal(err)
	}
	return schematest.Compile(t, SchemaURL, src)
}

// specFiles are the files globs match, at least one each.
func specFiles(t *testing.T, globs ...string) []string {
	t.Helper()
	var out []string
	for _, g := range globs {
		files, err := filepath.Glob(g)
		if err != nil || len(files) == 0 {
			t.Fatalf("no specs match %s (%v)", g, err)
		}
		out = append(out, files...)
	}
	return out
}

// check loads a spec and validates it against the schema: the loader's
// error, and the schema's.
func check(t *testing.T, s *jsonschema.Schema, file string) (loadErr, schemaErr error) {
	t.Helper()
	src, err := os.ReadFile(file)
	if err != nil {
		t.Fatal(err)
	}
	_, loadErr = Load(file, src)
	return loadErr, schematest.ValidateYAML(s, src)
}

// Every spec bkgen ships or runs, and every good spec of testdata, fits the
// schema, and loads.
func TestSchemaTakesGoodSpecs(t *testing.T) {
	s := compileSchema(t)
	files := specFiles(t,
		filepath.Join(repoRoot, "examples", "*", ".buildkite", "bkgen.yml"),
		filepath.Join(repoRoot, "exectest", "testdata", "scenarios", "*", ".buildkite", "bkgen.yml"),
		filepath.Join("testdata", "schema", "good", "*.yml"))
	for _, file := range files {
		t.Run(file, func(t *testing.T) {
			loadErr, schemaErr := check(t, s, file)
			if loadErr != nil {
				t.Errorf("Load refuses it:\n%v", loadErr)
			}
			if schemaErr != nil {
				t.Errorf("the schema refuses it:\n%v", schemaErr)
			}
		})
	}
}

// Every bad spec of testdata is refused by the schema and by the loader
// alike.
func TestSchemaRefusesBadSpecs(t *testing.T) {
	s := compileSchema(t)
	files := specFiles(t, filepath.Join("testdata", "schema", "bad", "*.yml"))
	if len(files) < 15 {
		t.Errorf("only %d bad specs", len(files))
	}
	for _, file := range files {
		t.Run(filepath.Base(file), func(t *testing.T) {
			loadErr, schemaErr := check(t, s, file)
			if loadErr == nil {
				t.Error("Load takes it")
			}
			if schemaErr == nil {
				t.Error("the schema takes it")
			}
			t.Logf("Load: %v\nschema: %v", loadErr, schemaErr)
		})
	}
}

// Every example names the published schema on its first line, for
// editors, and that is the file the repository publishes.
func TestExamplesNameTheSchema(t *testing.T) {
	src, err := JSONSchema()
	if err != nil {
		t.Fatal(err)
	}
	var schema struct {
		ID string `json:"$id"`
	}
	if err := json.Unmarshal(src, &schema); err != nil {
		t.Fatal(err)
	}
	const prefix = "# yaml-language-server: $schema="
	for _, file := range specFiles(t, filepath.Join(repoRoot, "examples", "*", ".buildkite", "bkgen.yml")) {
		f, err := os.Open(file)
		if err != nil {
			t.Fatal(err)
		}
		sc := bufio.NewScanner(f)
		sc.Scan()
		first := sc.Text()
		f.Close()
		url, ok := strings.CutPrefix(first, prefix)
		if !ok {
			t.Errorf("%s: the first line is %q, not %s...", file, first, prefix)
			continue
		}
		if url != schema.ID {
			t.Errorf("%s names %s, and the schema's $id is %s", file, url, schema.ID)
		}
		_, rel, ok := strings.Cut(url, "/main/")
		if !ok {
			t.Errorf("%s: %s is not a file of the main branch", file, url)
			continue
		}
		if _, err := os.Stat(filepath.Join(repoRoot, filepath.FromSlash(rel))); err != nil {
			t.Errorf("%s names %s, which the repository does not hold: %v", file, url, err)
		}
	}
}

// Every field a schema object requires is one of its properties.
func TestSchemaRequiresItsProperties(t *testing.T) {
	src, err := JSONSchema()
	if err != nil {
		t.Fatal(err)
	}
	var doc any
	if err := json.Unmarshal(src, &doc); err != nil {
		t.Fatal(err)
	}
	var walk func(v any, at string)
	walk = func(v any, at string) {
		switch v := v.(type) {
		case map[string]any:
			if props, ok := v["properties"].(map[string]any); ok {
				required, _ := v["required"].([]any)
				for _, r := range required {
					if _, ok := props[r.(string)]; !ok {
						t.Errorf("%s requires %s, which it does not have", at, r)
					}
				}
			}
			for k, c := range v {
				walk(c, at+"/"+k)
			}
		case []any:
			for _, c := range v {
				walk(c, at+"/[]")
			}
		}
	}
	walk(doc, "#")
}

// Every scan option the scanners know is declared, decoder and schema.
func TestScanOptionsDeclared(t *testing.T) {
	for _, o := range scanner.Options {
		if scanOptions[o].decode == nil || scanOptions[o].description == "" {
			t.Errorf("scan option %s has no scanOptions entry", o)
		}
	}
}

// A Go regexp goes into the schema only when ECMA-262 reads it alike.
func TestECMAPattern(t *testing.T) {
	for re, want := range map[string]bool{
		`^[a-z0-9][a-z0-9._-]*$`:             true,
		`^(?:[a-z]+/)?[\w+=,.@/-]+\.x{2,3}$`: true,
		`^[a-zA-Z0-9_\-:.,]+$`:               true, // \- in a class
		`^a\-b$`:                             false,
		`(?i)abc`:                            false,
		`(?P<name>a)`:                        false,
		`^\pL+$`:                             false,
		`^[[:alpha:]]+$`:                     false,
		`^a\z`:                               false,
		`^[^:,\x00-\x1f]*$`:                  false,
		`[]a]`:                               false,
	} {
		if _, got := ecmaPattern(regexp.MustCompile(re)); got != want {
			t.Errorf("ecmaPattern(%s) = %v, want %v", re, got, want)
		}
	}
}
