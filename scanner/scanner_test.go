package scanner_test

import (
	"slices"
	"strings"
	"testing"

	"github.com/bkgen/bkgen/provider"
	"github.com/bkgen/bkgen/scanner"
)

func given(set ...scanner.Option) func(scanner.Option) bool {
	return func(o scanner.Option) bool {
		for _, s := range set {
			if s == o {
				return true
			}
		}
		return false
	}
}

func TestDefaults(t *testing.T) {
	d := scanner.Default()
	if d.Tool.Name() != "trivy" || strings.Join(d.Severity, ",") != "HIGH,CRITICAL" || d.Fail {
		t.Errorf("default = %+v", d)
	}
	// Naming grype's level to fail on means failing on it, unless fail says not.
	s := &scanner.Settings{Tool: scanner.Grype{}, FailOn: "critical"}
	s.Tool.Defaults(s, given(scanner.FailOn))
	if !s.Fail {
		t.Errorf("grype with fail_on: %+v", s)
	}
	s = &scanner.Settings{Tool: scanner.Grype{}}
	s.Tool.Defaults(s, given())
	if s.FailOn != "high" || s.Fail {
		t.Errorf("grype alone: %+v", s)
	}
}

func TestSteps(t *testing.T) {
	target := scanner.Target{Image: "web", Repository: "web", RefQ: "r/web:bk-1", Tag: "bk-1", Registry: provider.NewConfig("r")}
	target.Registry.Set("region", "us-east-1")
	for _, tool := range scanner.All {
		s, step := defaultStep(t, tool, target)
		if step.Command == "" {
			t.Errorf("%s: no command", tool.Name())
		}
		if !s.Annotate {
			t.Errorf("%s: annotates by default", tool.Name())
		}
		for _, o := range tool.Options() {
			if !strings.Contains(strings.Join(optionNames(), " "), string(o)) {
				t.Errorf("%s takes an option %q the spec does not know", tool.Name(), o)
			}
		}
	}
}

// TestPlatforms: every platform of a multi-platform image is scanned, each
// into its own reports, all kept.
func TestPlatforms(t *testing.T) {
	target := scanner.Target{Image: "web", Repository: "web", RefQ: "r/web:bk-1", Tag: "bk-1",
		Platforms: []string{"linux/amd64", "linux/arm64/v8"}, Registry: provider.NewConfig("r")}
	for _, tool := range scanner.All {
		_, step := defaultStep(t, tool, target)
		for _, name := range []string{"web-linux-amd64", "web-linux-arm64-v8"} {
			if !strings.Contains(step.Command, name) || !slices.Contains(step.ArtifactPaths, "bkgen-scan/"+name+".txt") {
				t.Errorf("%s: %s is not scanned and kept:\n%v\n%s", tool.Name(), name, step.ArtifactPaths, step.Command)
			}
		}
		if tool.Name() != "ecr" && !strings.Contains(step.Command, "--platform linux/arm64/v8 ") {
			t.Errorf("%s: linux/arm64/v8 not asked for:\n%s", tool.Name(), step.Command)
		}
	}
}

// defaultStep is tool's step for target with its default settings.
func defaultStep(t *testing.T, tool scanner.Tool, target scanner.Target) (*scanner.Settings, *scanner.Step) {
	t.Helper()
	s := &scanner.Settings{Tool: tool}
	tool.Defaults(s, given())
	step, err := tool.Step(s, target)
	if err != nil {
		t.Fatalf("%s: %v", tool.Name(), err)
	}
	return s, step
}

func optionNames() []string {
	var out []string
	for _, o := range scanner.Options {
		out = append(out, string(o))
	}
	return out
}
