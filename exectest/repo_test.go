package exectest

import (
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/bkgen/bkgen/spec"
)

var fakeEnv = &Env{
	Docker: "docker", PackagesHost: "packages.buildkite.com", HostedHost: "hosted.test", HostedRegistryURL: "hosted.test",
	RegistryUser: "u", RegistryPassword: "p", BuildkitImage: "bk", BaseImage: "packages.buildkite.com/bkgen/base/busybox-bash:abc",
}

// Every scenario's repository can be made: a stand-in Dockerfile for each
// image, a probe for each consumer, the spec otherwise as written.
func TestPrepareRepos(t *testing.T) {
	scenarios, err := Scenarios()
	if err != nil {
		t.Fatal(err)
	}
	for _, sc := range scenarios {
		t.Run(sc.Name, func(t *testing.T) {
			r, err := PrepareRepo(sc, t.TempDir(), "run1", fakeEnv)
			if err != nil {
				t.Fatal(err)
			}
			orig, err := os.ReadFile(filepath.Join(sc.Dir, specPath))
			if err != nil {
				t.Fatal(err)
			}
			s, err := spec.Load(specPath, orig)
			if err != nil {
				t.Fatal(err)
			}
			for _, im := range s.Images {
				got := r.Spec.Image(im.Name)
				if got == nil || got.Context != im.Context || got.Dockerfile != im.Dockerfile || got.Target != im.Target ||
					len(got.Tags) != len(im.Tags) || got.Cache != im.Cache || len(got.Consumers) != len(im.Consumers) {
					t.Errorf("%s: the spec with probes differs beyond the commands", im.Name)
				}
				df, err := os.ReadFile(filepath.Join(r.Dir, filepath.FromSlash(im.Dockerfile)))
				if err != nil {
					t.Fatal(err)
				}
				if !strings.Contains(string(df), "run run1") {
					t.Errorf("%s: not a stand-in:\n%s", im.Name, df)
				}
				for _, c := range got.Consumers {
					if !strings.Contains(c.Command, "bkgen-exec probe") {
						t.Errorf("%s: consumer %s runs %q", im.Name, c.Name, c.Command)
					}
				}
			}
		})
	}
}

func TestStandin(t *testing.T) {
	for _, tc := range []struct {
		name, src, target string
		deps              []string
		fromArg, entry    string
	}{
		{"app", "ARG BASE_IMAGE=x\nFROM ${BASE_IMAGE} AS build\nRUN x\nFROM build AS production\nCMD [\"node\"]\n", "production", []string{"base"}, "BASE_IMAGE", ""},
		{"api", "ARG BASE_IMAGE\nFROM golang:1.26 AS build\nCOPY . /src\nFROM ${BASE_IMAGE}\n", "", []string{"base"}, "BASE_IMAGE", ""},
		{"tool", "FROM alpine AS build\nRUN x\nFROM alpine:3.21\nCOPY --from=build /out/tool /usr/local/bin/tool\nENTRYPOINT [\"tool\"]\n", "", nil, "", `["tool"]`},
		{"web", "FROM nginx\nENTRYPOINT [\"x\"]\nFROM nginx\n", "", nil, "", ""},
		{"lone", "FROM ${OTHER_IMAGE}\n", "", nil, "", ""},
	} {
		im := &spec.Image{Name: tc.name}
		im.Target, im.DependsOn = tc.target, tc.deps
		s := NewStandin(im, tc.src, "r", "base:1")
		if s.FromArg != tc.fromArg || s.Entrypoint != tc.entry {
			t.Errorf("%s: from %q, entrypoint %q; want %q, %q", tc.name, s.FromArg, s.Entrypoint, tc.fromArg, tc.entry)
		}
	}
}

func TestShowRepo(t *testing.T) {
	name := os.Getenv("SHOW")
	if name == "" {
		t.Skip()
	}
	scs, _ := Scenarios()
	for _, sc := range scs {
		if sc.Name == name {
			r, err := PrepareRepo(sc, "/tmp/bkx-show-"+name, "run1", fakeEnv)
			if err != nil {
				t.Fatal(err)
			}
			t.Log(r.Dir)
		}
	}
}
