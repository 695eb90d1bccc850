package main

import (
	"bytes"
	"io"
	"log"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/bkgen/bkgen/internal/pipetest"
	"github.com/google/go-containerregistry/pkg/name"
	"github.com/google/go-containerregistry/pkg/registry"
	v1 "github.com/google/go-containerregistry/pkg/v1"
	"github.com/google/go-containerregistry/pkg/v1/mutate"
	"github.com/google/go-containerregistry/pkg/v1/random"
	"github.com/google/go-containerregistry/pkg/v1/remote"
)

// TestVerifyRegistry runs bkgen generate --verify-registry against
// go-containerregistry's registry on loopback, as the hosted agents'
// registry (its URL is the one thing a spec lets point anywhere): an image
// whose content tag is there loses its build step; one whose tag is not,
// and any doubt (an error, a slow registry), keeps it.
func TestVerifyRegistry(t *testing.T) {
	dir := t.TempDir()
	write := writer(t, dir)
	write(".buildkite/bkgen.yml", `version: 1
registries:
  internal: {provider: hosted}
defaults: {scan: false}
images:
  present:
    context: present
    consumers: {test: {command: make test}}
  absent:
    context: absent
`)
	write("present/Dockerfile", "FROM scratch\nLABEL image=present\n")
	write("absent/Dockerfile", "FROM scratch\nLABEL image=absent\n")
	t.Setenv("DOCKER_CONFIG", t.TempDir()) // no credentials but ours

	host := loopbackRegistry(t)
	generate := verifyGenerate(dir)
	// Find the content tag bkgen wants, then push an image under it.
	first, _ := generate(t, host)
	pushContentTag(t, host, first, "present", nil)

	t.Run("present is reused, absent is built", func(t *testing.T) {
		out, stderr := generate(t, host)
		if !regexp.MustCompile(`(?m)^  - key: build-present\n    label: .*\n    skip: found `).MatchString(out) {
			t.Errorf("build-present is not skipped:\n%s", out)
		}
		if strings.Contains(out, "key: build-absent\n    label: ':docker: Build absent'\n    skip:") {
			t.Errorf("build-absent is skipped:\n%s", out)
		}
		if !strings.Contains(stderr, "bkgen: image present: reuse (found ") || !strings.Contains(stderr, "bkgen: image absent: build (inputs changed: every path counts as changed; not in the registry (404") {
			t.Errorf("stderr does not give the reasons:\n%s", stderr)
		}
		// The consumer still runs, on the content tag.
		if !strings.Contains(out, "  - key: present-test\n") || strings.Contains(out, "key: present-test\n    label: present test\n    depends_on: build-present\n    skip:") {
			t.Errorf("present-test does not run:\n%s", out)
		}
	})

	t.Run("errors keep the build", func(t *testing.T) {
		failing := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			http.Error(w, "boom", http.StatusInternalServerError)
		}))
		defer failing.Close()
		out, stderr := generate(t, strings.TrimPrefix(failing.URL, "http://"))
		if strings.Contains(out, "skip:") {
			t.Errorf("a step is skipped though the registry failed:\n%s", out)
		}
		if !strings.Contains(stderr, "could not check") || !strings.Contains(stderr, "keeping the build step") {
			t.Errorf("stderr does not say why:\n%s", stderr)
		}
	})

	t.Run("a slow registry keeps the build", func(t *testing.T) {
		slow := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			select {
			case <-time.After(30 * time.Second):
			case <-r.Context().Done():
			}
		}))
		defer slow.Close()
		start := time.Now()
		out, stderr := generate(t, strings.TrimPrefix(slow.URL, "http://"), "--registry-timeout", "300ms")
		if strings.Contains(out, "skip:") {
			t.Errorf("a step is skipped though the registry never answered:\n%s", out)
		}
		if !strings.Contains(stderr, "timed out") {
			t.Errorf("stderr does not say it timed out:\n%s", stderr)
		}
		if took := time.Since(start); took > 5*time.Second {
			t.Errorf("took %s", took)
		}
	})
}

// loopbackRegistry serves go-containerregistry's registry on loopback for
// the test, and returns its host:port.
func loopbackRegistry(t *testing.T) string {
	srv := httptest.NewServer(registry.New(registry.Logger(log.New(io.Discard, "", 0))))
	t.Cleanup(srv.Close)
	return strings.TrimPrefix(srv.URL, "http://")
}

func writer(t *testing.T, dir string) func(name, text string) {
	return func(name, text string) {
		p := filepath.Join(dir, name)
		if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(p, []byte(text), 0o644); err != nil {
			t.Fatal(err)
		}
	}
}

// verifyGenerate runs bkgen generate --all --verify-registry in dir, the
// hosted registry at host, and returns its stdout and stderr.
func verifyGenerate(dir string) func(t *testing.T, host string, extra ...string) (string, string) {
	return func(t *testing.T, host string, extra ...string) (string, string) {
		t.Helper()
		var out, errb bytes.Buffer
		env := map[string]string{"BUILDKITE_HOSTED_REGISTRY_URL": host}
		args := append([]string{"generate", "-C", dir, "--all", "--verify-registry"}, extra...)
		if status := run(args, &stdio{in: strings.NewReader(""), out: &out, err: &errb}, func(k string) (string, bool) { v, ok := env[k]; return v, ok }); status != exitOK {
			t.Fatalf("exit %d: %s", status, errb.String())
		}
		pipetest.Check(t, "pipeline", out.Bytes())
		return out.String(), errb.String()
	}
}

// pushContentTag pushes an image under the content tag of image in a
// generated pipeline, made by mutate if not nil.
func pushContentTag(t *testing.T, host, pipeline, image string, mutateImage func(v1.Image) (v1.Image, error)) {
	t.Helper()
	tag := regexp.MustCompile(`\$\$\{BUILDKITE_HOSTED_REGISTRY_URL\}/` + regexp.QuoteMeta(image) + `:(bk-[0-9a-f]{16})`).FindStringSubmatch(pipeline)
	if tag == nil {
		t.Fatalf("no content tag for %s in:\n%s", image, pipeline)
	}
	img, err := random.Image(256, 1)
	if err != nil {
		t.Fatal(err)
	}
	if mutateImage != nil {
		if img, err = mutateImage(img); err != nil {
			t.Fatal(err)
		}
	}
	ref, err := name.ParseReference(host + "/" + image + ":" + tag[1])
	if err != nil {
		t.Fatal(err)
	}
	if err := remote.Write(ref, img); err != nil {
		t.Fatal(err)
	}
}

// TestVerifyRegistryMaxAge: an image found under its content tag is reused
// only while it is younger than max_age; an older one, or any image a
// rebuild is asked for, keeps its build step.
func TestVerifyRegistryMaxAge(t *testing.T) {
	dir := t.TempDir()
	write := writer(t, dir)
	write(".buildkite/bkgen.yml", `version: 1
registries:
  internal: {provider: hosted}
defaults: {scan: false, max_age: 7}
images:
  young: {context: young}
  old: {context: old}
  onold: {context: onold, depends_on: [old]}
`)
	write("onold/Dockerfile", "ARG OLD_IMAGE\nFROM ${OLD_IMAGE}\n")
	write("young/Dockerfile", "FROM scratch\nLABEL image=young\n")
	write("old/Dockerfile", "FROM scratch\nLABEL image=old\n")
	t.Setenv("DOCKER_CONFIG", t.TempDir())
	host := loopbackRegistry(t)
	generate := verifyGenerate(dir)
	first, _ := generate(t, host)
	builtAgo := func(days int) func(v1.Image) (v1.Image, error) {
		return func(img v1.Image) (v1.Image, error) {
			return mutate.CreatedAt(img, v1.Time{Time: time.Now().Add(-time.Duration(days)*24*time.Hour - time.Hour)})
		}
	}
	pushContentTag(t, host, first, "young", builtAgo(2))
	pushContentTag(t, host, first, "old", builtAgo(10))
	pushContentTag(t, host, first, "onold", builtAgo(1))

	out, stderr := generate(t, host)
	if !regexp.MustCompile(`(?m)^  - key: build-young\n    label: .*\n    skip: found `).MatchString(out) {
		t.Errorf("build-young is not skipped:\n%s", out)
	}
	if strings.Contains(out, "key: build-old\n    label: ':docker: Build old'\n    skip:") {
		t.Errorf("build-old is skipped, though it is older than max_age:\n%s", out)
	}
	for _, want := range []string{
		", built 2 days ago (max_age 7 days))",
		", built 10 days ago, more than max_age (7 days) — keeping the build step, which rebuilds it from fresh bases)",
		", built 1 day ago (max_age 7 days), but it is built on old, which may be rebuilt for its age in this build — keeping the build step)",
	} {
		if !strings.Contains(stderr, want) {
			t.Errorf("stderr lacks %q:\n%s", want, stderr)
		}
	}
	// The step itself checks the age again when it runs.
	if !strings.Contains(out, "  elif (( age > 7 * 86400 )); then") {
		t.Errorf("build-old does not check the age when it runs:\n%s", out)
	}

	out, stderr = generate(t, host, "--rebuild", "young")
	if strings.Contains(out, "skip:") {
		t.Errorf("a build is skipped though --rebuild young asks for it, and old is too old:\n%s", out)
	}
	if !strings.Contains(stderr, "bkgen: image young: build (rebuilt from fresh bases, without cache, whatever the registry holds: asked for by --rebuild young)") {
		t.Errorf("stderr does not say young is rebuilt:\n%s", stderr)
	}
}

// TestVerifyRegistryBases: with --verify-registry an image's content tag
// follows the digests of the images it is built from outside the
// repository, so a base that moves makes a new tag, and the build pulls
// its bases; a base that cannot be looked up is said, and left out.
func TestVerifyRegistryBases(t *testing.T) {
	host := loopbackRegistry(t)
	dir := t.TempDir()
	write := writer(t, dir)
	write(".buildkite/bkgen.yml", `version: 1
registries:
  internal: {provider: hosted}
defaults: {scan: false}
images:
  app:
    context: app
    args: {REGISTRY: "`+host+`"}
  missing:
    context: missing
    args: {REGISTRY: "`+host+`"}
`)
	write("app/Dockerfile", "ARG REGISTRY\nFROM ${REGISTRY}/library/base:1 AS build\nFROM scratch\nCOPY --from=build /bin /bin\n")
	write("missing/Dockerfile", "ARG REGISTRY\nFROM ${REGISTRY}/library/nothing:1\n")
	t.Setenv("DOCKER_CONFIG", t.TempDir())
	generate := verifyGenerate(dir)
	tagOf := func(pipeline string) string {
		m := regexp.MustCompile(`/app:(bk-[0-9a-f]{16})`).FindStringSubmatch(pipeline)
		if m == nil {
			t.Fatalf("no content tag for app in:\n%s", pipeline)
		}
		return m[1]
	}
	pushBase := func() {
		img, err := random.Image(128, 1)
		if err != nil {
			t.Fatal(err)
		}
		ref, err := name.ParseReference(host + "/library/base:1")
		if err != nil {
			t.Fatal(err)
		}
		if err := remote.Write(ref, img); err != nil {
			t.Fatal(err)
		}
	}

	pushBase()
	first, stderr := generate(t, host)
	if again, _ := generate(t, host); tagOf(again) != tagOf(first) {
		t.Errorf("the same base gives another tag: %s, then %s", tagOf(first), tagOf(again))
	}
	if !strings.Contains(first, "  --pull\n") {
		t.Errorf("the build does not pull the bases its tag names:\n%s", first)
	}
	if want := "bkgen: warning: image missing: could not look up its base " + host + "/library/nothing:1 (not in the registry (404"; !strings.Contains(stderr, want) {
		t.Errorf("stderr lacks %q:\n%s", want, stderr)
	}
	pushBase()
	if moved, _ := generate(t, host); tagOf(moved) == tagOf(first) {
		t.Errorf("the base moved, and app's tag stayed %s", tagOf(first))
	}

	// Without --verify-registry nothing is looked up: the tag is the
	// inputs' alone, and the build pulls nothing.
	var out, errb bytes.Buffer
	env := map[string]string{"BUILDKITE_HOSTED_REGISTRY_URL": host}
	if status := run([]string{"generate", "-C", dir, "--all", "-q"}, &stdio{in: strings.NewReader(""), out: &out, err: &errb}, func(k string) (string, bool) { v, ok := env[k]; return v, ok }); status != exitOK {
		t.Fatalf("exit %d: %s", status, errb.String())
	}
	if tagOf(out.String()) == tagOf(first) || strings.Contains(out.String(), "  --pull\n") {
		t.Errorf("without --verify-registry the tag follows the base, or the build pulls:\n%s", out.String())
	}
}
