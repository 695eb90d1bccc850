package spec

import (
	"testing"

	"github.com/google/go-cmp/cmp"
)

func TestSteps(t *testing.T) {
	s := mustLoad(t, `version: 1
registries:
  packages: {provider: buildkite, org: acme, registry: images}
images:
  tool:
    platforms: [linux/amd64, linux/arm64]
    consumers:
      smoke: {command: tool --version, parallelism: 3}
  web:
    scan: false
`)
	tool, web := s.Image("tool"), s.Image("web")
	smoke := tool.Consumers[0]
	for _, tc := range []struct {
		im   *Image
		want []StepRef
	}{
		{tool, []StepRef{
			{Kind: BuildStep, Key: "build-tool-amd64", Platform: "linux/amd64", Parallelism: 1, Pos: tool.Pos},
			{Kind: BuildStep, Key: "build-tool-arm64", Platform: "linux/arm64", Parallelism: 1, Pos: tool.Pos},
			{Kind: ManifestStep, Key: "manifest-tool", Parallelism: 1, Pos: tool.Pos},
			{Kind: ScanStep, Key: "scan-tool", Parallelism: 1, Pos: tool.Scan.Pos},
			{Kind: ConsumerStep, Key: "tool-smoke", Consumer: smoke, Parallelism: 3, Pos: smoke.Pos},
		}},
		{web, []StepRef{{Kind: BuildStep, Key: "build-web", Parallelism: 1, Pos: web.Pos}}},
	} {
		// A consumer step carries the spec's own consumer, not a copy.
		same := cmp.Comparer(func(a, b *Consumer) bool { return a == b })
		if diff := cmp.Diff(tc.want, Steps(tc.im), same); diff != "" {
			t.Errorf("%s: steps (-want +got):\n%s", tc.im.Name, diff)
		}
	}
}
