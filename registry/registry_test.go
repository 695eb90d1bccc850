package registry_test

import (
	"context"
	"encoding/base64"
	"errors"
	"fmt"
	"io"
	"log"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/bkgen/bkgen/registry"
	"github.com/google/go-cmp/cmp"
	"github.com/google/go-containerregistry/pkg/authn"
	"github.com/google/go-containerregistry/pkg/name"
	ggcrregistry "github.com/google/go-containerregistry/pkg/registry"
	v1 "github.com/google/go-containerregistry/pkg/v1"
	"github.com/google/go-containerregistry/pkg/v1/empty"
	"github.com/google/go-containerregistry/pkg/v1/mutate"
	"github.com/google/go-containerregistry/pkg/v1/random"
	"github.com/google/go-containerregistry/pkg/v1/remote"
	"github.com/google/go-containerregistry/pkg/v1/remote/transport"
)

// testRegistry is go-containerregistry's in-memory registry. Wrappers put a
// second front door on the same storage, so tests push through the plain
// server and look up through one that misbehaves.
type testRegistry struct {
	handler http.Handler
	host    string // plain server, for pushing
}

func newTestRegistry(t *testing.T) *testRegistry {
	t.Helper()
	r := &testRegistry{handler: ggcrregistry.New(ggcrregistry.Logger(log.New(io.Discard, "", 0)))}
	r.host = r.serve(t, nil)
	return r
}

// serve starts another server on the same storage, through wrap if not nil,
// and returns its host:port.
func (r *testRegistry) serve(t *testing.T, wrap func(http.Handler) http.Handler) string {
	t.Helper()
	h := r.handler
	if wrap != nil {
		h = wrap(h)
	}
	srv := httptest.NewServer(h)
	t.Cleanup(srv.Close)
	return strings.TrimPrefix(srv.URL, "http://")
}

// push writes a random image to repo:tag and returns its manifest digest.
func (r *testRegistry) push(t *testing.T, repoTag string) string {
	t.Helper()
	img, err := random.Image(256, 1)
	if err != nil {
		t.Fatal(err)
	}
	ref, err := name.ParseReference(r.host + "/" + repoTag)
	if err != nil {
		t.Fatal(err)
	}
	if err := remote.Write(ref, img); err != nil {
		t.Fatalf("pushing %s: %v", ref, err)
	}
	digest, err := img.Digest()
	if err != nil {
		t.Fatal(err)
	}
	return digest.String()
}

// anonymous keeps tests away from the docker config of whoever runs them.
func anonymous() authn.Keychain { return authn.NewMultiKeychain() }

type keychainFunc func(authn.Resource) (authn.Authenticator, error)

func (f keychainFunc) Resolve(r authn.Resource) (authn.Authenticator, error) { return f(r) }

// summary is the part of a Result tests compare wholesale.
type summary struct {
	Ref    string
	State  registry.State
	Digest string
	Reason string
}

func summarize(results []registry.Result) []summary {
	var out []summary
	for _, r := range results {
		out = append(out, summary{r.Ref, r.State, r.Digest, r.Reason})
	}
	return out
}

func shortDigest(digest string) string { return digest[:len("sha256:")+12] + "…" }

func isManifest(r *http.Request) bool { return strings.Contains(r.URL.Path, "/manifests/") }

// beforeManifests runs first for each manifest request, and passes it on
// to the registry unless it answered it itself (false).
func beforeManifests(first func(w http.ResponseWriter, r *http.Request) (passOn bool)) func(http.Handler) http.Handler {
	return func(next http.Handler) http.Handler {
		return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			if !isManifest(r) || first(w, r) {
				next.ServeHTTP(w, r)
			}
		})
	}
}

func TestLookupPresentAndAbsent(t *testing.T) {
	reg := newTestRegistry(t)
	digest := reg.push(t, "acme/app:bk-0123456789abcdef")

	present := reg.host + "/acme/app:bk-0123456789abcdef"
	otherTag := reg.host + "/acme/app:bk-fedcba9876543210"
	otherRepo := reg.host + "/acme/nope:bk-0123456789abcdef"
	byDigest := reg.host + "/acme/app@" + digest

	c := &registry.Checker{Keychain: anonymous()}
	got := summarize(c.Lookup(t.Context(), []string{present, otherTag, otherRepo, byDigest}))

	want := []summary{
		{present, registry.Present, digest, fmt.Sprintf("found %s (%s)", present, shortDigest(digest))},
		{otherTag, registry.Absent, "", "not in the registry (404 Not Found)"},
		{otherRepo, registry.Absent, "", "not in the registry (404 Not Found)"},
		{byDigest, registry.Present, digest, fmt.Sprintf("found %s (%s)", byDigest, shortDigest(digest))},
	}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("Lookup (-want +got):\n%s", diff)
	}
}

// requireBasicAuth answers 401 with a Basic challenge unless the request
// carries the credentials creds expects for its path.
func requireBasicAuth(creds func(path string) (user, pass string)) func(http.Handler) http.Handler {
	return func(next http.Handler) http.Handler {
		return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			wantUser, wantPass := creds(r.URL.Path)
			user, pass, ok := r.BasicAuth()
			if !ok || wantUser == "" || user != wantUser || pass != wantPass {
				w.Header().Set("WWW-Authenticate", `Basic realm="test"`)
				w.WriteHeader(http.StatusUnauthorized)
				return
			}
			next.ServeHTTP(w, r)
		})
	}
}

func TestLookupUnauthorized(t *testing.T) {
	reg := newTestRegistry(t)
	digest := reg.push(t, "acme/app:bk-1")
	host := reg.serve(t, requireBasicAuth(func(string) (string, string) { return "ci", "s3cret" }))
	ref := host + "/acme/app:bk-1"

	t.Run("with credentials", func(t *testing.T) {
		keychain := keychainFunc(func(r authn.Resource) (authn.Authenticator, error) {
			if r.RegistryStr() == host {
				return &authn.Basic{Username: "ci", Password: "s3cret"}, nil
			}
			return authn.Anonymous, nil
		})
		c := &registry.Checker{Keychain: keychain}
		got := c.Lookup(t.Context(), []string{ref})[0]
		if got.State != registry.Present || got.Digest != digest {
			t.Errorf("got %v %q (%v), want present %s", got.State, got.Digest, got.Err, digest)
		}
	})

	t.Run("without credentials", func(t *testing.T) {
		c := &registry.Checker{Keychain: anonymous()}
		got := c.Lookup(t.Context(), []string{ref})[0]
		if got.State != registry.Unknown {
			t.Fatalf("State = %v, want unknown", got.State)
		}
		if want := "could not check: 401 Unauthorized — keeping the build step"; got.Reason != want {
			t.Errorf("Reason = %q, want %q", got.Reason, want)
		}
		var terr *transport.Error
		if !errors.As(got.Err, &terr) || terr.StatusCode != http.StatusUnauthorized {
			t.Errorf("Err = %v, want a 401 *transport.Error", got.Err)
		}
	})
}

// TestLookupDefaultKeychain checks that a nil Keychain means the docker config.
func TestLookupDefaultKeychain(t *testing.T) {
	reg := newTestRegistry(t)
	digest := reg.push(t, "acme/app:bk-1")
	host := reg.serve(t, requireBasicAuth(func(string) (string, string) { return "ci", "s3cret" }))

	dir := t.TempDir()
	auth := base64.StdEncoding.EncodeToString([]byte("ci:s3cret"))
	config := fmt.Sprintf(`{"auths": {%q: {"auth": %q}}}`, host, auth)
	if err := os.WriteFile(filepath.Join(dir, "config.json"), []byte(config), 0o600); err != nil {
		t.Fatal(err)
	}
	t.Setenv("HOME", t.TempDir())
	t.Setenv("DOCKER_CONFIG", dir)

	c := &registry.Checker{}
	got := c.Lookup(t.Context(), []string{host + "/acme/app:bk-1"})[0]
	if got.State != registry.Present || got.Digest != digest {
		t.Errorf("got %v %q (%v), want present %s", got.State, got.Digest, got.Err, digest)
	}
}

func TestLookupServerError(t *testing.T) {
	reg := newTestRegistry(t)
	reg.push(t, "acme/app:bk-1")
	host := reg.serve(t, beforeManifests(func(w http.ResponseWriter, _ *http.Request) bool {
		http.Error(w, "boom", http.StatusInternalServerError)
		return false
	}))

	c := &registry.Checker{Keychain: anonymous()}
	got := c.Lookup(t.Context(), []string{host + "/acme/app:bk-1"})[0]
	if got.State != registry.Unknown || got.Err == nil {
		t.Fatalf("got %v (err %v), want unknown with an error", got.State, got.Err)
	}
	if want := "could not check: 500 Internal Server Error — keeping the build step"; got.Reason != want {
		t.Errorf("Reason = %q, want %q", got.Reason, want)
	}
}

func TestLookupTimeout(t *testing.T) {
	reg := newTestRegistry(t)
	reg.push(t, "acme/app:bk-1")
	host := reg.serve(t, beforeManifests(func(_ http.ResponseWriter, r *http.Request) bool {
		select {
		case <-time.After(10 * time.Second):
			return true
		case <-r.Context().Done():
			return false
		}
	}))

	c := &registry.Checker{Keychain: anonymous(), Timeout: 200 * time.Millisecond}
	start := time.Now()
	got := c.Lookup(t.Context(), []string{host + "/acme/app:bk-1"})[0]
	if elapsed := time.Since(start); elapsed > 2*time.Second {
		t.Errorf("Lookup took %v with a 200ms timeout", elapsed)
	}
	if got.State != registry.Unknown {
		t.Fatalf("State = %v, want unknown", got.State)
	}
	if want := "could not check: timed out after 200ms — keeping the build step"; got.Reason != want {
		t.Errorf("Reason = %q, want %q", got.Reason, want)
	}
	if !errors.Is(got.Err, context.DeadlineExceeded) {
		t.Errorf("Err = %v, want it to wrap context.DeadlineExceeded", got.Err)
	}
}

func TestLookupCancelled(t *testing.T) {
	reg := newTestRegistry(t)
	reg.push(t, "acme/app:bk-1")
	ctx, cancel := context.WithCancel(t.Context())
	cancel()

	c := &registry.Checker{Keychain: anonymous()}
	got := c.Lookup(ctx, []string{reg.host + "/acme/app:bk-1"})[0]
	if want := "could not check: cancelled — keeping the build step"; got.State != registry.Unknown || got.Reason != want {
		t.Errorf("got %v %q, want unknown %q", got.State, got.Reason, want)
	}
	if !errors.Is(got.Err, context.Canceled) {
		t.Errorf("Err = %v, want it to wrap context.Canceled", got.Err)
	}
}

func TestLookupInvalidReference(t *testing.T) {
	for _, ref := range []string{
		"",
		"not a reference",
		"app:bk-1",                    // no registry: would silently mean docker.io
		"ghcr.io/acme/app",            // no tag: would silently mean :latest
		"ghcr.io/acme/App:bk-1",       // upper case repository
		"ghcr.io/acme/app@sha256:abc", // truncated digest
	} {
		t.Run(ref, func(t *testing.T) {
			c := &registry.Checker{Keychain: anonymous()}
			got := c.Lookup(t.Context(), []string{ref})[0]
			if got.State != registry.Unknown || got.Err == nil || got.Ref != ref {
				t.Fatalf("got %+v, want unknown with an error for %q", got, ref)
			}
			if !strings.HasPrefix(got.Reason, "could not check: invalid image reference: ") ||
				!strings.HasSuffix(got.Reason, " — keeping the build step") {
				t.Errorf("Reason = %q", got.Reason)
			}
			t.Log(got.Reason)
		})
	}
}

// TestLookupManyImages checks order, that concurrency stays bounded, and that
// one bad image does not spoil the rest.
func TestLookupManyImages(t *testing.T) {
	reg := newTestRegistry(t)
	var inFlight, maxInFlight atomic.Int32
	host := reg.serve(t, beforeManifests(func(http.ResponseWriter, *http.Request) bool {
		n := inFlight.Add(1)
		defer inFlight.Add(-1)
		for m := maxInFlight.Load(); n > m && !maxInFlight.CompareAndSwap(m, n); m = maxInFlight.Load() {
		}
		time.Sleep(2 * time.Millisecond) // let lookups overlap
		return true
	}))

	var refs []string
	var want []registry.State
	for i := range 60 {
		tag := fmt.Sprintf("acme/app%d:bk-%d", i%5, i)
		ref, state := host+"/"+tag, registry.Absent
		switch i % 3 {
		case 0:
			reg.push(t, tag)
			state = registry.Present
		case 1:
			ref, state = "Invalid/"+tag, registry.Unknown
		}
		refs = append(refs, ref)
		want = append(want, state)
	}

	c := &registry.Checker{Keychain: anonymous(), Concurrency: 3}
	results := c.Lookup(t.Context(), refs)
	if len(results) != len(refs) {
		t.Fatalf("got %d results for %d refs", len(results), len(refs))
	}
	for i, r := range results {
		if r.Ref != refs[i] || r.State != want[i] {
			t.Errorf("result %d = %s %v (%s), want %s %v", i, r.Ref, r.State, r.Reason, refs[i], want[i])
		}
	}
	if got := maxInFlight.Load(); got > 3 {
		t.Errorf("%d manifest requests in flight at once, want at most 3", got)
	}
}

func TestStateString(t *testing.T) {
	for state, want := range map[registry.State]string{
		registry.Unknown:  "unknown",
		registry.Present:  "present",
		registry.Absent:   "absent",
		registry.State(7): "State(7)",
	} {
		if got := state.String(); got != want {
			t.Errorf("State(%d).String() = %q, want %q", int(state), got, want)
		}
	}
}

// Built reads an image's creation time from its config; of an index, the
// oldest of its platforms', an attestation manifest (platform
// unknown/unknown) aside; an image with none is an error.
func TestBuilt(t *testing.T) {
	r := newTestRegistry(t)
	at := func(days int) time.Time { return time.Date(2026, 11, 1, 12, 0, 0, 0, time.UTC).AddDate(0, 0, -days) }
	image := func(created time.Time) v1.Image {
		img, err := random.Image(64, 1)
		if err != nil {
			t.Fatal(err)
		}
		if img, err = mutate.CreatedAt(img, v1.Time{Time: created}); err != nil {
			t.Fatal(err)
		}
		return img
	}
	write := func(repoTag string, w func(name.Reference) error) string {
		ref, err := name.ParseReference(r.host + "/" + repoTag)
		if err != nil {
			t.Fatal(err)
		}
		if err := w(ref); err != nil {
			t.Fatal(err)
		}
		return ref.String()
	}
	single := write("app:single", func(ref name.Reference) error { return remote.Write(ref, image(at(3))) })
	idx := mutate.AppendManifests(empty.Index,
		mutate.IndexAddendum{Add: image(at(2)), Descriptor: v1.Descriptor{Platform: &v1.Platform{OS: "linux", Architecture: "amd64"}}},
		mutate.IndexAddendum{Add: image(at(9)), Descriptor: v1.Descriptor{Platform: &v1.Platform{OS: "linux", Architecture: "arm64"}}},
		mutate.IndexAddendum{Add: image(at(40)), Descriptor: v1.Descriptor{Platform: &v1.Platform{OS: "unknown", Architecture: "unknown"}}},
	)
	multi := write("app:multi", func(ref name.Reference) error { return remote.WriteIndex(ref, idx) })
	undated := write("app:undated", func(ref name.Reference) error { return remote.Write(ref, image(time.Time{})) })

	c := &registry.Checker{Keychain: anonymous()}
	for _, tc := range []struct {
		ref  string
		want time.Time
	}{{single, at(3)}, {multi, at(9)}} {
		got, err := c.Built(context.Background(), tc.ref)
		if err != nil || !got.Equal(tc.want) {
			t.Errorf("Built(%s) = %v, %v; want %v", tc.ref, got, err, tc.want)
		}
	}
	if got, err := c.Built(context.Background(), undated); err == nil {
		t.Errorf("Built(%s) = %v, want an error: it has no creation time", undated, got)
	}
	if got, err := c.Built(context.Background(), r.host+"/app:missing"); err == nil {
		t.Errorf("Built of a missing tag = %v, want an error", got)
	}
}
