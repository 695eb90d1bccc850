package spec

import (
	"encoding/base64"
	"errors"
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/bkgen/bkgen/diag"
	"github.com/bkgen/bkgen/stepvalue"
	"github.com/google/go-cmp/cmp"
)

// Specs written by whoever opened a pull request: each is refused at the
// position of what is wrong, or read as plain data, quickly and in bounded
// memory.

const hostileHead = `version: 1
registries:
  r: {provider: buildkite, org: acme, registry: images}
images:
  app:
`

// loadErrors loads a spec that must be refused and returns its errors.
func loadErrors(t *testing.T, src string) []string {
	t.Helper()
	_, err := Load("bkgen.yml", []byte(src))
	var errs diag.List
	if !errors.As(err, &errs) {
		t.Fatalf("Load returned %v, want a diag.List", err)
	}
	var out []string
	for _, e := range errs {
		out = append(out, e.Error())
	}
	return out
}

func TestHostileSpecs(t *testing.T) {
	secret := base64.StdEncoding.EncodeToString([]byte("${BUILDKITE_AGENT_ACCESS_TOKEN}"))
	for _, tc := range []struct {
		name string
		src  string
		want []string
	}{
		{
			name: "an escaped dollar would re-enable interpolation",
			src: hostileHead + `    consumers:
      c:
        command: make
        env: {A: 'echo \${BUILDKITE_AGENT_ACCESS_TOKEN}'}
        label: 'a\${BUILDKITE_MESSAGE}b'
`,
			want: []string{
				`bkgen.yml:9:14: images.app.consumers.c.env.A: \$ cannot reach the job as written: upload-time interpolation turns \$ into $ (write $ alone: bkgen escapes it)`,
				`bkgen.yml:10:16: images.app.consumers.c.label: \$ cannot reach the job as written: upload-time interpolation turns \$ into $ (write $ alone: bkgen escapes it)`,
			},
		},
		{
			name: "NUL",
			src:  hostileHead + "    consumers:\n      c:\n        command: make\n        env: {FOO: \"\\0BUILDKITE_AGENT_ACCESS_TOKEN\\0\"}\n",
			want: []string{`bkgen.yml:9:20: images.app.consumers.c.env.FOO: holds a NUL character, which no job can be given`},
		},
		{
			name: "tags that make the agent read something else",
			src: hostileHead + `    agents: {queue: !!binary ` + secret + `}
    consumers:
      c:
        command: !!binary ` + base64.StdEncoding.EncodeToString([]byte("curl evil")) + `
        agents: {n: !!int abc, m: !x "${X}"}
        plugins:
          - docker#v5.12.0: {image: !local "${X}", n: !!float nope}
`,
			want: []string{
				`bkgen.yml:6:21: images.app.agents.queue: the YAML tag "!!binary" is not supported here: write the value as plain text`,
				`bkgen.yml:9:18: images.app.consumers.c.command: the YAML tag "!!binary" is not supported here: write the value as plain text`,
				`bkgen.yml:10:21: images.app.consumers.c.agents.n: "abc" is not a whole number`,
				`bkgen.yml:12:37: images.app.consumers.c.plugins[0].docker#v5.12.0.image: the YAML tag "!local" is not supported here: write the value as plain text`,
			},
		},
		{
			name: "an alias bomb in a plugin's config",
			src: hostileHead + `    consumers:
      c:
        command: make
        plugins:
          - docker#v5.12.0:
              a: &a ["lol","lol","lol","lol","lol","lol","lol","lol","lol"]
              b: &b [*a,*a,*a,*a,*a,*a,*a,*a,*a]
              c: &c [*b,*b,*b,*b,*b,*b,*b,*b,*b]
              d: &d [*c,*c,*c,*c,*c,*c,*c,*c,*c]
              e: &e [*d,*d,*d,*d,*d,*d,*d,*d,*d]
              f: &f [*e,*e,*e,*e,*e,*e,*e,*e,*e]
              g: &g [*f,*f,*f,*f,*f,*f,*f,*f,*f]
              h: &h [*g,*g,*g,*g,*g,*g,*g,*g,*g]
              i: &i [*h,*h,*h,*h,*h,*h,*h,*h,*h]
`,
			want: []string{`bkgen.yml:11:70: images.app.consumers.c.plugins[0].docker#v5.12.0.f[4][7][1][2][8][8]: expands to more than 1048576 bytes of text (aliases count each time they are used)`},
		},
		{
			name: "buildx attributes and options",
			src: hostileHead + `    target: --push
    cache: {type: s3, bucket: "bkt,endpoint_url=http://attacker.invalid", region: us-east-1, name: "n,x=y"}
  b:
    context: b
    cache: {type: local, path: "/var/cache,dest=/etc"}
`,
			want: []string{
				`bkgen.yml:6:13: images.app.target: "--push" is not a build stage name (a letter, then letters, digits, '.', '_' and '-')`,
				`bkgen.yml:7:31: images.app.cache.bucket: "bkt,endpoint_url=http://attacker.invalid" is not an S3 bucket name (3 to 63 lowercase letters, digits, '.' and '-')`,
				`bkgen.yml:7:100: images.app.cache.name: "n,x=y" is not a cache name (letters, digits, '.', '_' and '-')`,
				`bkgen.yml:10:32: images.b.cache.path: cannot hold a comma, a double quote or a control character: buildx reads it inside comma-separated --cache-to values`,
			},
		},
		{
			name: "consumers that depend on themselves or each other",
			src: hostileHead + `    consumers:
      a: {command: make, depends_on: app-a}
      b: {command: make, depends_on: [app-c]}
      c: {command: make, depends_on: [app-b, "build-$X"]}
`,
			want: []string{
				`bkgen.yml:7:38: app-a.depends_on: a step cannot depend on itself`,
				`bkgen.yml:9:39: app-c.depends_on: dependency cycle: app-b -> app-c -> app-b`,
				`bkgen.yml:9:46: images.app.consumers.c.depends_on: "build-$X" is not a step key (letters, digits and _ - : . ,)`,
			},
		},
		{
			name: "step keys Buildkite refuses",
			src: `version: 1
registries:
  r: {provider: buildkite, org: acme, registry: images}
images:
  01234567-89ab-cdef-0123:
    consumers:
      456789abcdef: {command: make}
  ` + strings.Repeat("x", 95) + `:
    scan: false
`,
			want: []string{
				`bkgen.yml:5:3: images.01234567-89ab-cdef-0123: its step key "01234567-89ab-cdef-0123-456789abcdef" is shaped like a UUID, which Buildkite refuses as a key: rename the image or consumer`,
				`bkgen.yml:8:3: images.` + strings.Repeat("x", 95) + `: its step key "build-` + strings.Repeat("x", 95) + `" is longer than Buildkite's 100 characters: shorten the names`,
			},
		},
		{
			name: "a message never dumps a file or forges a line",
			src:  "\"" + strings.Repeat("-----BEGIN OPENSSH PRIVATE KEY-----\\n", 20) + "\"\n",
			want: []string{`bkgen.yml:1:1: spec: expected a mapping, found the string "-----BEGIN OPENSSH PRIVATE KEY-----\n----"...`},
		},
		{
			name: "a key with a newline and an escape",
			src:  hostileHead + "    labels: {\"a\\nbkgen.yml:1:1: forged\\e[31m=\": x}\n",
			want: []string{`bkgen.yml:6:14: images.app.labels: "a\nbkgen.yml:1:1: forged\x1b[31m=" is not a valid name (no '=' or newline)`},
		},
	} {
		t.Run(tc.name, func(t *testing.T) {
			if diff := cmp.Diff(tc.want, loadErrors(t, tc.src)); diff != "" {
				t.Errorf("errors (-want +got):\n%s", diff)
			}
		})
	}
}

// TestPassThroughIsPlain checks values the agent would read differently
// from how they look are rebuilt as what they look like.
func TestPassThroughIsPlain(t *testing.T) {
	s := mustLoad(t, hostileHead+`    agents: {n: 0x10, f: 1e3, b: yes, "<<": x, t: 2001-12-14, o: 0o17}
    consumers:
      c:
        command: make
        plugins:
          - docker#v5.12.0: &cfg {image: x, <<: {merged: true}}
          - artifacts#v1.9.4: *cfg
        soft_fail: [{exit_status: 0x2}]
`)
	im := s.Image("app")
	got := map[string]string{}
	for i, k := range im.Agents.Keys {
		got[k] = fmt.Sprintf("%d:%s", im.Agents.Items[i].Kind, im.Agents.Items[i].Scalar)
	}
	want := map[string]string{
		"n": fmt.Sprintf("%d:16", stepvalue.Int), "f": fmt.Sprintf("%d:1000", stepvalue.Float), "b": fmt.Sprintf("%d:yes", stepvalue.String),
		"<<": fmt.Sprintf("%d:x", stepvalue.String), "t": fmt.Sprintf("%d:2001-12-14", stepvalue.String), "o": fmt.Sprintf("%d:15", stepvalue.Int),
	}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("agents (-want +got):\n%s", diff)
	}
	c := im.Consumers[0]
	if len(c.Plugins) != 2 || c.Plugins[1].Config.Get("merged") == nil || c.Plugins[1].Config.Get("merged").Scalar != "true" {
		t.Errorf("plugins = %+v", c.Plugins)
	}
	if got := c.SoftFail.Items[0].Get("exit_status"); got.Kind != stepvalue.Int || got.Scalar != "2" {
		t.Errorf("soft_fail exit_status = %+v", got)
	}
}

// TestHugeSpecsAreQuick checks specs that stand for billions of values are
// refused in moments: merge keys nested through aliases, and a default
// repeated into hundreds of steps.
func TestHugeSpecsAreQuick(t *testing.T) {
	var merges strings.Builder
	merges.WriteString("x0: &x0 {a: 1}\n")
	for i := 1; i < 12; i++ {
		fmt.Fprintf(&merges, "x%d: &x%d {<<: [", i, i)
		for j := 0; j < 20; j++ {
			if j > 0 {
				merges.WriteString(", ")
			}
			fmt.Fprintf(&merges, "*x%d", i-1)
		}
		merges.WriteString("]}\n")
	}
	var defaults strings.Builder
	defaults.WriteString("version: 1\nregistries:\n  r: {provider: buildkite, org: acme, registry: images}\ndefaults:\n  agents:\n")
	for i := range 2000 {
		fmt.Fprintf(&defaults, "    k%d: v\n", i)
	}
	defaults.WriteString("images:\n")
	for i := range 100 {
		fmt.Fprintf(&defaults, "  i%d: {context: c%d}\n", i, i)
	}
	for name, src := range map[string]string{
		"merge keys": "version: 1\nregistries:\n  r: {provider: buildkite, org: acme, registry: images}\n" + merges.String() + "images:\n  app: {agents: *x11}\n",
		"defaults":   defaults.String(),
	} {
		t.Run(name, func(t *testing.T) {
			start := time.Now()
			errs := loadErrors(t, src)
			if len(errs) == 0 || !strings.Contains(strings.Join(errs, "\n"), "more than") {
				t.Errorf("errors = %q", errs)
			}
			if d := time.Since(start); d > 10*time.Second {
				t.Errorf("took %v", d)
			}
		})
	}
}
