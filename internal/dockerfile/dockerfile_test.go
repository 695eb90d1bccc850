package dockerfile

import (
	"testing"

	"github.com/google/go-cmp/cmp"
)

func TestBases(t *testing.T) {
	const src = `# syntax=docker/dockerfile:1
# escape=\
ARG NODE=22
ARG REGISTRY
ARG TOOLS=ghcr.io/acme/tools:${NODE}
FROM --platform=$BUILDPLATFORM golang:1.26 AS build
RUN --mount=type=cache,target=/root/.cache \
    --mount=type=bind,from=ghcr.io/acme/vendor:v1,target=/vendor \
    go build ./...
RUN <<EOF
FROM evil:latest
EOF

FROM node:${NODE}-alpine AS deps
# a comment
COPY --from=build /out /out
COPY --from=docker.io/library/busybox:1.36 /bin/busybox /bin/

FROM deps AS test
COPY --from=${TOOLS} /bin/tool /bin/

from ${REGISTRY}/base:1 as unused
FROM scratch AS production
COPY --from=1 /node_modules /node_modules
COPY --from=deps /app /app
`
	f := Parse(src)
	if got := len(f.Stages); got != 5 {
		t.Fatalf("%d stages, want 5", got)
	}
	for _, tc := range []struct {
		target string
		args   map[string]string
		want   []Base
	}{
		{"", nil, []Base{
			{Ref: "golang:1.26", Line: 6},
			{Ref: "ghcr.io/acme/vendor:v1", Line: 7},
			{Ref: "node:22-alpine", Line: 14},
			{Ref: "docker.io/library/busybox:1.36", Line: 17},
		}},
		{"test", map[string]string{"NODE": "20"}, []Base{
			{Ref: "golang:1.26", Line: 6},
			{Ref: "ghcr.io/acme/vendor:v1", Line: 7},
			{Ref: "node:20-alpine", Line: 14},
			{Ref: "docker.io/library/busybox:1.36", Line: 17},
			{Ref: "ghcr.io/acme/tools:20", Line: 20},
		}},
		{"unused", nil, []Base{{Ref: "${REGISTRY}/base:1", Line: 22, Unresolved: "REGISTRY"}}},
		{"unused", map[string]string{"REGISTRY": "registry.example"}, []Base{{Ref: "registry.example/base:1", Line: 22}}},
		{"nope", nil, nil},
	} {
		if diff := cmp.Diff(tc.want, f.Bases(tc.target, tc.args)); diff != "" {
			t.Errorf("Bases(%q, %v) (-want +got):\n%s", tc.target, tc.args, diff)
		}
	}
}

func TestExpandRef(t *testing.T) {
	vars := map[string]string{"A": "a", "EMPTY": ""}
	for _, tc := range []struct{ in, want, missing string }{
		{"x:${A}", "x:a", ""},
		{"x:$A", "x:a", ""},
		{"x:${B:-b}", "x:b", ""},
		{"x:${EMPTY:-e}", "x:e", ""},
		{"x:${EMPTY-e}", "x:", ""},
		{"x:${A:+p}", "x:p", ""},
		{"x:${B:+p}", "x:", ""},
		{"x:${B}", "x:", "B"},
		{"x:1", "x:1", ""},
	} {
		got, missing := expandRef(tc.in, vars)
		if got != tc.want || missing != tc.missing {
			t.Errorf("expandRef(%q) = %q, %q; want %q, %q", tc.in, got, missing, tc.want, tc.missing)
		}
	}
}

// A backtick escape continues lines with it; a Windows line end is a line end.
func TestEscapeDirective(t *testing.T) {
	f := Parse("# escape=`\r\nFROM `\r\n  mcr.microsoft.com/windows/servercore:ltsc2022\r\n")
	if got := f.Bases("", nil); len(got) != 1 || got[0].Ref != "mcr.microsoft.com/windows/servercore:ltsc2022" {
		t.Errorf("bases = %v", got)
	}
}
