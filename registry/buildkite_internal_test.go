package registry

import (
	"context"
	"errors"
	"sync"
	"sync/atomic"
	"testing"

	"github.com/google/go-containerregistry/pkg/authn"
	"github.com/google/go-containerregistry/pkg/name"
)

func TestAudienceFor(t *testing.T) {
	audiences := map[string]string{
		"packages.buildkite.com/acme/images":      "https://packages.buildkite.com/acme/images",
		"packages.buildkite.com/acme/images/team": "team-audience",
	}
	for _, tt := range []struct {
		resource string
		want     string // "" = under no base
	}{
		{"packages.buildkite.com/acme/images/app", "https://packages.buildkite.com/acme/images"},
		{"packages.buildkite.com/acme/images/team/app", "team-audience"},
		{"packages.buildkite.com/acme/imagesx/app", ""},
		{"packages.buildkite.com/acme/images", "https://packages.buildkite.com/acme/images"},
		{"packages.buildkite.com/acme", ""},
		{"packages.buildkite.com", ""},
		{"ghcr.io/acme/images/app", ""},
		{"packages.buildkite.com.evil.example/acme/images/app", ""},
	} {
		t.Run(tt.resource, func(t *testing.T) {
			var target authn.Resource
			var err error
			if repo, rerr := name.NewRepository(tt.resource, name.StrictValidation); rerr == nil {
				target = repo
			} else {
				target, err = name.NewRegistry(tt.resource, name.StrictValidation)
			}
			if err != nil {
				t.Fatal(err)
			}
			got, ok := audienceFor(target, audiences)
			if got != tt.want || ok != (tt.want != "") {
				t.Errorf("audienceFor(%s) = %q, %v; want %q", tt.resource, got, ok, tt.want)
			}
		})
	}
}

func TestTokenCacheSharesOneRequest(t *testing.T) {
	var calls atomic.Int32
	release := make(chan struct{})
	fetch := func(ctx context.Context, audience string) (string, error) {
		calls.Add(1)
		<-release
		return "token-for-" + audience, nil
	}

	var cache tokenCache
	var wg sync.WaitGroup
	for range 10 {
		wg.Go(func() {
			if tok, err := cache.get(t.Context(), fetch, "aud"); tok != "token-for-aud" || err != nil {
				t.Errorf("get = %q, %v", tok, err)
			}
		})
	}
	close(release)
	wg.Wait()
	if n := calls.Load(); n != 1 {
		t.Errorf("fetched %d times, want 1", n)
	}
}

func TestTokenCacheFailures(t *testing.T) {
	var calls atomic.Int32
	broken := errors.New("agent says no")
	fetch := func(ctx context.Context, audience string) (string, error) {
		calls.Add(1)
		if err := ctx.Err(); err != nil {
			return "", err
		}
		return "", broken
	}
	var cache tokenCache

	// A caller whose own context ran out must not spoil the cache...
	cancelled, cancel := context.WithCancel(t.Context())
	cancel()
	if _, err := cache.get(cancelled, fetch, "aud"); !errors.Is(err, context.Canceled) {
		t.Fatalf("err = %v, want context.Canceled", err)
	}
	// ...but a real failure is remembered, so a broken agent runs once.
	for range 3 {
		if _, err := cache.get(t.Context(), fetch, "aud"); !errors.Is(err, broken) {
			t.Fatalf("err = %v, want %v", err, broken)
		}
	}
	if n := calls.Load(); n != 2 {
		t.Errorf("fetched %d times, want 2 (the cancelled try, then one real one)", n)
	}
}

func TestTokenCacheRejectsEmptyToken(t *testing.T) {
	var cache tokenCache
	empty := func(context.Context, string) (string, error) { return "", nil }
	if _, err := cache.get(t.Context(), empty, "aud"); err == nil {
		t.Error("an empty token was accepted")
	}
}
