package initspec

import (
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"github.com/bkgen/bkgen/internal/gittest"
	"github.com/bkgen/bkgen/internal/schematest"
	"github.com/bkgen/bkgen/provider"
	"github.com/bkgen/bkgen/spec"
)

func TestMain(m *testing.M) { gittest.Main(m) }

// Images that name each other both ways keep one dependency, never a
// cycle; same-named directories get distinct names; a context stays the
// Dockerfile's directory when what it copies is there; a path the spec
// cannot hold is left out and said.
func TestScanGuesses(t *testing.T) {
	root := filepath.Join(t.TempDir(), "Repo Name")
	gittest.WriteFiles(t, root, map[string]string{
		"a/app/Dockerfile":     "FROM acme/b\nCOPY src /src\n",
		"a/app/src/x":          "",
		"b/Dockerfile":         "FROM registry.example.com/team/a/app:1\n",
		"c/app/Dockerfile":     "FROM scratch\n",
		"bad\nname/Dockerfile": "FROM scratch\n",
		"empty/Dockerfile":     "# no FROM\n",
	})
	r, err := Scan(Options{Root: root})
	if err != nil {
		t.Fatal(err)
	}
	got := map[string]*Image{}
	for _, im := range r.Images {
		got[im.Name] = im
	}
	if len(got) != 3 || got["app"] == nil || got["app-2"] == nil || got["b"] == nil {
		t.Fatalf("images %v, want app, app-2 and b", keys(got))
	}
	if deps := len(got["app"].DependsOn) + len(got["b"].DependsOn); deps != 1 {
		t.Errorf("app depends on %v and b on %v: want exactly one of them", got["app"].DependsOn, got["b"].DependsOn)
	}
	if got["app"].Context != "a/app" || got["app"].Dockerfile != "" {
		t.Errorf("app: context %q, dockerfile %q; want a/app and the default", got["app"].Context, got["app"].Dockerfile)
	}
	skipped := strings.Join(r.Skipped, "\n")
	if !strings.Contains(skipped, `"bad\nname/Dockerfile": its path has control characters`) || !strings.Contains(skipped, "empty/Dockerfile: it has no FROM line") {
		t.Errorf("skipped:\n%s", skipped)
	}
	if r.RepoName != "repo-name" {
		t.Errorf("repository name %q, want repo-name", r.RepoName)
	}
	src, err := r.YAML()
	if err != nil {
		t.Fatal(err)
	}
	if _, err := spec.Load("bkgen.yml", src); err != nil {
		t.Errorf("the spec does not load: %v\n%s", err, src)
	}
	// And editors take it as the schema line says.
	schema, err := spec.JSONSchema()
	if err != nil {
		t.Fatal(err)
	}
	if err := schematest.ValidateYAML(schematest.Compile(t, spec.SchemaURL, schema), src); err != nil {
		t.Errorf("the spec does not fit the schema: %v\n%s", err, src)
	}
}

// init writes every provider there is, and only those.
func TestProvidersAreAll(t *testing.T) {
	if got, want := slices.Sorted(slices.Values(Providers)), slices.Sorted(slices.Values(provider.Names())); !slices.Equal(got, want) {
		t.Errorf("init writes %v; the providers are %v", got, want)
	}
}

func keys(m map[string]*Image) []string {
	var out []string
	for k := range m {
		out = append(out, k)
	}
	return out
}
