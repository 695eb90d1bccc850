package lint

import (
	"os"
	"path/filepath"
	"testing"

	"github.com/bkgen/bkgen/diag"
)

// FuzzPipeline checks that Pipeline never panics and that every problem
// is complete, positioned at 1:1 or after, and in order.
func FuzzPipeline(f *testing.F) {
	files, _ := filepath.Glob(filepath.Join("..", "..", "shared", "buildkite", "valid-pipelines", "*.yml"))
	for _, file := range files {
		if src, err := os.ReadFile(file); err == nil {
			f.Add(src)
		}
	}
	for _, s := range []string{
		"",
		"steps:\n  - command: echo $FOO ${BAR:-x} $$BAZ\n    key: a\n    depends_on: [b, {step: c}]\n",
		"steps:\n  - group: g\n    key: g\n    steps:\n      - {command: x, key: x, depends_on: g}\n",
		"steps: &s\n  - group: g\n    steps: *s\n",
		"env:\n  TOKEN: ghp_abcdefghijklmnopqrstuvwxyz0123456789\nsteps:\n  - wait\n---\n- [\n",
		"steps:\n  - command: x\n    if_changed: {include: [\"src/[a-z]\", \"{a\"], exclude: ./x}\n",
		"steps:\n  - command: x\n    plugins: [docker#main, {ecr: {login: true}}]\n    matrix: {setup: {a: [1, 2]}, adjustments: [{with: {a: 3}}]}\n",
		"common: &c {key: k}\nsteps:\n  - {command: x, <<: *c, parallelism: 3}\n",
		"- wait\n- 5\n- foo\n- {type: x}\n",
	} {
		f.Add([]byte(s))
	}
	f.Fuzz(func(t *testing.T, src []byte) {
		ps := Pipeline("f.yml", src)
		for i, p := range ps {
			if p.File != "f.yml" || p.Msg == "" || p.Pos.Line < 1 || p.Pos.Col < 1 || (p.Severity != diag.Error && p.Severity != diag.Warning) {
				t.Fatalf("bad problem: %#v", p)
			}
			if i > 0 && (p.Pos.Line < ps[i-1].Pos.Line || p.Pos.Line == ps[i-1].Pos.Line && p.Pos.Col < ps[i-1].Pos.Col) {
				t.Fatalf("problems out of order: %v before %v", ps[i-1], p)
			}
		}
	})
}
