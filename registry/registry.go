// Package registry checks whether container images already exist in their
// registries, so bkgen can leave out build steps for images that are there.
//
// The checks are built around one rule: only a definitive answer may skip a
// build. A manifest that answers HEAD with a digest is Present; a registry that
// says 404 for that manifest makes it Absent; everything else — auth failures,
// server errors, timeouts, DNS trouble, bad references — is Unknown, and the
// build step stays.
package registry

import (
	"context"
	"errors"
	"fmt"
	"net"
	"net/http"
	"strings"
	"sync"
	"time"

	"github.com/google/go-containerregistry/pkg/authn"
	"github.com/google/go-containerregistry/pkg/name"
	v1 "github.com/google/go-containerregistry/pkg/v1"
	"github.com/google/go-containerregistry/pkg/v1/remote"
	"github.com/google/go-containerregistry/pkg/v1/remote/transport"
)

const (
	defaultTimeout     = 10 * time.Second
	defaultConcurrency = 8
)

// State is what a lookup learned about an image. The zero value is Unknown,
// so a Result nobody filled in keeps its build step.
type State int

const (
	Unknown State = iota // could not tell; keep the build step
	Present              // the registry has the manifest
	Absent               // the registry said the manifest does not exist
)

var stateNames = [...]string{Unknown: "unknown", Present: "present", Absent: "absent"}

func (s State) String() string {
	if s >= 0 && int(s) < len(stateNames) {
		return stateNames[s]
	}
	return fmt.Sprintf("State(%d)", int(s))
}

// Result is the outcome of looking up one image reference.
type Result struct {
	Ref    string
	State  State
	Digest string // manifest digest, when Present
	Err    error  // what went wrong, when Unknown
	Reason string // one human line for stderr
}

// Checker looks image references up in their registries. Its zero value is
// ready to use. A Checker caches Buildkite OIDC tokens for its lifetime, so
// use one per run and do not copy it after first use.
type Checker struct {
	Keychain  authn.Keychain // nil = authn.DefaultKeychain
	OIDCToken TokenFunc      // nil = no Buildkite OIDC; otherwise consulted after Keychain for the bases in OIDCAudiences
	// OIDCAudiences maps a repository base (packages.buildkite.com/acme/images)
	// to the audience of the OIDC token that logs in to its repositories.
	OIDCAudiences map[string]string
	Timeout       time.Duration     // per lookup; 0 = 10s
	Concurrency   int               // lookups in flight at once; 0 = 8
	Transport     http.RoundTripper // nil = remote.DefaultTransport

	tokens tokenCache
}

// Lookup checks every reference and returns one Result per reference, in the
// same order. It never fails as a whole: problems become Unknown results.
func (c *Checker) Lookup(ctx context.Context, refs []string) []Result {
	results := make([]Result, len(refs))

	// One Puller for the whole run shares each repository's ping, credentials
	// and token exchange between lookups instead of repeating them per image.
	puller, err := remote.NewPuller(c.remoteOptions()...)
	if err != nil {
		for i, ref := range refs {
			results[i] = unknown(ref, fmt.Errorf("setting up registry client: %w", err), "could not set up the registry client")
		}
		return results
	}

	jobs := make(chan int)
	var wg sync.WaitGroup
	for range min(c.concurrency(), len(refs)) {
		wg.Go(func() {
			for i := range jobs {
				results[i] = c.lookup(ctx, puller, refs[i])
			}
		})
	}
	for i := range refs {
		jobs <- i
	}
	close(jobs)
	wg.Wait()
	return results
}

func (c *Checker) remoteOptions() []remote.Option {
	keychain := c.Keychain
	if keychain == nil {
		keychain = authn.DefaultKeychain
	}
	if c.OIDCToken != nil {
		// The docker config wins: if someone logged in explicitly, use that.
		keychain = authn.NewMultiKeychain(keychain, oidcKeychain{fetch: c.OIDCToken, tokens: &c.tokens, audiences: c.OIDCAudiences})
	}
	opts := []remote.Option{
		remote.WithAuthFromKeychain(keychain),
		// Retry a flaky 5xx quickly: the default waits 1s then 3s, which
		// would eat most of a lookup's timeout.
		remote.WithRetryBackoff(remote.Backoff{Duration: 100 * time.Millisecond, Factor: 3, Jitter: 0.1, Steps: 3}),
		remote.WithUserAgent("bkgen"),
	}
	if c.Transport != nil {
		opts = append(opts, remote.WithTransport(c.Transport))
	}
	return opts
}

func (c *Checker) timeout() time.Duration {
	if c.Timeout > 0 {
		return c.Timeout
	}
	return defaultTimeout
}

func (c *Checker) concurrency() int {
	if c.Concurrency > 0 {
		return c.Concurrency
	}
	return defaultConcurrency
}

// lookup HEADs one manifest. It returns when the timeout expires even if the
// registry client does not: credential helpers run by the docker keychain
// take no context, and one stuck helper must not hang pipeline generation.
func (c *Checker) lookup(ctx context.Context, puller *remote.Puller, ref string) Result {
	parsed, err := parseRef(ref)
	if err != nil {
		return unknown(ref, fmt.Errorf("parsing image reference %q: %w", ref, err), "invalid image reference: "+err.Error())
	}

	timeout := c.timeout()
	lookupCtx, cancel := context.WithTimeout(ctx, timeout)
	defer cancel()

	type headResult struct {
		desc *v1.Descriptor
		err  error
	}
	done := make(chan headResult, 1) // buffered: an abandoned Head must not block forever
	go func() {
		desc, err := puller.Head(lookupCtx, parsed)
		done <- headResult{desc, err}
	}()

	var head headResult
	select {
	case head = <-done:
	case <-lookupCtx.Done():
		head.err = lookupCtx.Err()
	}

	switch {
	case head.err == nil:
		digest := head.desc.Digest.String()
		return Result{Ref: ref, State: Present, Digest: digest, Reason: fmt.Sprintf("found %s (%s)", ref, shortDigest(digest))}
	case ctx.Err() != nil:
		return unknown(ref, fmt.Errorf("looking up %s: %w", ref, ctx.Err()), "cancelled")
	case lookupCtx.Err() != nil:
		err := fmt.Errorf("looking up %s: timed out after %s: %w", ref, timeout, head.err)
		return unknown(ref, err, "timed out after "+timeout.String())
	}

	err = fmt.Errorf("looking up %s: %w", ref, head.err)
	var terr *transport.Error
	if errors.As(head.err, &terr) {
		if manifestNotFound(terr) {
			return Result{Ref: ref, State: Absent, Reason: fmt.Sprintf("not in the registry (%s)", status(terr))}
		}
		return unknown(ref, err, status(terr))
	}
	var dnsErr *net.DNSError
	if errors.As(head.err, &dnsErr) {
		return unknown(ref, err, dnsErr.Error())
	}
	return unknown(ref, err, head.err.Error())
}

// parseRef parses strictly: without an explicit registry and tag, "app" would
// be checked as docker.io/library/app:latest, which is a guess. Parsing as the
// kind of reference s looks like gives a specific error, where
// name.ParseReference only says "could not parse reference".
func parseRef(s string) (name.Reference, error) {
	switch {
	case s == "":
		return nil, errors.New("empty reference")
	case strings.Contains(s, "@"):
		return name.NewDigest(s, name.StrictValidation)
	case !strings.Contains(s[strings.LastIndexByte(s, '/')+1:], ":"):
		return nil, errors.New("no tag, and :latest would be a guess")
	default:
		return name.NewTag(s, name.StrictValidation)
	}
}

func unknown(ref string, err error, why string) Result {
	return Result{Ref: ref, State: Unknown, Err: err, Reason: "could not check: " + why + " — keeping the build step"}
}

// manifestNotFound reports whether the registry definitively said the
// manifest does not exist. A 404 from anywhere else (say, the /v2/ ping of a
// host that is not a registry) or with an unrelated error code does not count.
func manifestNotFound(e *transport.Error) bool {
	if e.StatusCode != http.StatusNotFound || e.Request == nil || !strings.Contains(e.Request.URL.Path, "/manifests/") {
		return false
	}
	// HEAD responses have no body, so usually there are no codes to check.
	for _, d := range e.Errors {
		if d.Code != transport.ManifestUnknownErrorCode && d.Code != transport.NameUnknownErrorCode {
			return false
		}
	}
	return true
}

// status renders a registry error briefly: "401 Unauthorized", or the
// registry's own code when it sent one, as in "404 MANIFEST_UNKNOWN".
func status(e *transport.Error) string {
	if len(e.Errors) > 0 {
		return fmt.Sprintf("%d %s", e.StatusCode, e.Errors[0].Code)
	}
	return fmt.Sprintf("%d %s", e.StatusCode, http.StatusText(e.StatusCode))
}

// shortDigest keeps enough of a digest to recognise it on a terminal.
func shortDigest(digest string) string {
	algo, hex, ok := strings.Cut(digest, ":")
	if !ok || len(hex) <= 12 {
		return digest
	}
	return algo + ":" + hex[:12] + "…"
}

// Built returns when the image under ref was built: the creation time in
// its config, the oldest of its platforms' for an index (attestation
// manifests aside). An image without one is an error: its age is unknown.
func (c *Checker) Built(ctx context.Context, ref string) (time.Time, error) {
	parsed, err := parseRef(ref)
	if err != nil {
		return time.Time{}, err
	}
	ctx, cancel := context.WithTimeout(ctx, c.timeout())
	defer cancel()
	opts := append(c.remoteOptions(), remote.WithContext(ctx))
	desc, err := remote.Get(parsed, opts...)
	if err != nil {
		return time.Time{}, err
	}
	var images []v1.Image
	if desc.MediaType.IsIndex() {
		idx, err := desc.ImageIndex()
		if err != nil {
			return time.Time{}, err
		}
		m, err := idx.IndexManifest()
		if err != nil {
			return time.Time{}, err
		}
		for _, d := range m.Manifests {
			if d.Platform == nil || d.Platform.OS == "unknown" || !d.MediaType.IsImage() {
				continue
			}
			im, err := idx.Image(d.Digest)
			if err != nil {
				return time.Time{}, err
			}
			images = append(images, im)
		}
	} else {
		im, err := desc.Image()
		if err != nil {
			return time.Time{}, err
		}
		images = append(images, im)
	}
	var oldest time.Time
	for _, im := range images {
		cfg, err := im.ConfigFile()
		if err != nil {
			return time.Time{}, err
		}
		created := cfg.Created.Time
		if created.IsZero() {
			return time.Time{}, fmt.Errorf("%s has no creation time", ref)
		}
		if oldest.IsZero() || created.Before(oldest) {
			oldest = created
		}
	}
	if oldest.IsZero() {
		return time.Time{}, fmt.Errorf("%s holds no image", ref)
	}
	return oldest, nil
}
