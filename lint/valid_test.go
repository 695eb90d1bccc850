package lint

import (
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/bkgen/bkgen/diag"
)

// TestValidPipelines lints the project's shared examples of valid
// pipelines: no errors. Each file is a catalogue of independent examples,
// each valid on its own but not together (several use the key "an-id",
// many depend on "depend-on-me", which none defines), so the two checks
// that span steps are left out here; TestPipeline covers them.
func TestValidPipelines(t *testing.T) {
	files, err := filepath.Glob(filepath.Join("..", "..", "shared", "buildkite", "valid-pipelines", "*.yml"))
	if err != nil || len(files) == 0 {
		t.Skip("no shared valid pipelines at ../../shared/buildkite/valid-pipelines")
	}
	for _, f := range files {
		src, err := os.ReadFile(f)
		if err != nil {
			t.Fatal(err)
		}
		for _, p := range Pipeline(f, src) {
			switch {
			case p.Severity != diag.Error:
				t.Logf("%v", p)
			case spansSteps(p.Msg):
			default:
				t.Errorf("%v", p)
			}
		}
	}
}

// spansSteps reports whether a message is about a key used twice or a
// dependency on a key no step has.
func spansSteps(msg string) bool {
	return strings.HasPrefix(msg, `key "`) && strings.Contains(msg, "is already used by") ||
		strings.HasPrefix(msg, `depends_on "`) && strings.Contains(msg, "no step has this key")
}
