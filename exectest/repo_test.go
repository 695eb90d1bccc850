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
	CosignPub: "../examples/multiarch-native/.buildkite/cosign.pub",
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
			r, err := PrepareRepo(sc, t.TempDir(), RepoOptions{Run: "run1", Label: "l1"}, fakeEnv)
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
				if !strings.Contains(string(df), "run run1") || !strings.Contains(string(df), "LABEL "+runLabel+"=l1") {
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

// A row is FAIL on any failure, NOT EXECUTABLE when nothing but the upload
// could run, and PASS otherwise, its not-executable steps listed.
func TestRowSettle(t *testing.T) {
	for _, tc := range []struct {
		row  Row
		want string
	}{
		{Row{Ran: 3, Failures: []string{"x"}}, Fail},
		{Row{Ran: 1, NotExecutable: []string{"build-api: plugin ecr#v2.11.0: no AWS", "scan-api: depends on build-api, which cannot run here"}}, NotExecutable},
		{Row{Reason: "no image can be changed"}, NotExecutable},
		{Row{Ran: 4, NotExecutable: []string{"scan-web: scans with trivy"}}, Pass},
	} {
		tc.row.settle()
		if tc.row.Result != tc.want {
			t.Errorf("%+v: %s, want %s", tc.row, tc.row.Result, tc.want)
		}
	}
	r := Row{Ran: 1, NotExecutable: []string{"build-api: plugin ecr#v2.11.0: no AWS", "scan-api: depends on build-api, which cannot run here"}}
	r.settle()
	if r.Reason != "every step: plugin ecr#v2.11.0: no AWS" {
		t.Errorf("reason %q", r.Reason)
	}
}

// The probe's record reads back; a consumer with no record never ran.
func TestProbeRecord(t *testing.T) {
	dir := t.TempDir()
	if p, err := readProbe(dir, "app-unit", 0); p != nil || err != nil {
		t.Fatalf("no record: %v, %v", p, err)
	}
	os.MkdirAll(filepath.Join(dir, probeDir), 0o755)
	rec := "key=app-unit\nparallel_job=2\nparallel_job_count=4\nenv FORCE_COLOR=0\nmarker=image=app stage=production platform=linux/amd64 arch=x86_64 run=r\n"
	os.WriteFile(filepath.Join(dir, probeDir, "app-unit.2"), []byte(rec), 0o644)
	p, err := readProbe(dir, "app-unit", 2)
	if err != nil || p == nil || p.ParallelJob != "2" || p.ParallelJobCount != "4" || p.Env["FORCE_COLOR"] != "0" ||
		p.Marker != "image=app stage=production platform=linux/amd64 arch=x86_64 run=r" {
		t.Errorf("%+v, %v", p, err)
	}
	if got := artifactFile("coverage/**/*.xml"); got != "coverage/probe/probe-${BUILDKITE_PARALLEL_JOB:-0}.xml" {
		t.Errorf("artifact file %q", got)
	}
}

func TestSameUnderTop(t *testing.T) {
	if !sameUnderTop([]string{"a", "b", "c"}, []string{"a", "b", "d"}) || sameUnderTop([]string{"a", "b", "c"}, []string{"a", "x", "c"}) || sameUnderTop([]string{"a"}, []string{"a"}) {
		t.Error("sameUnderTop")
	}
}
