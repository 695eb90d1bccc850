package exectest

import (
	"context"
	"crypto/tls"
	"crypto/x509"
	"fmt"
	"net/http"
	"os"
	"time"

	"github.com/google/go-containerregistry/pkg/authn"
	"github.com/google/go-containerregistry/pkg/name"
	v1 "github.com/google/go-containerregistry/pkg/v1"
	"github.com/google/go-containerregistry/pkg/v1/empty"
	"github.com/google/go-containerregistry/pkg/v1/mutate"
	"github.com/google/go-containerregistry/pkg/v1/random"
	"github.com/google/go-containerregistry/pkg/v1/remote"
	"github.com/google/go-containerregistry/pkg/v1/types"
)

// backdate rewrites the image under ref as if it had been built at when:
// each platform's config gets that creation time (layers untouched). It is
// how the harness makes an image older than max_age without waiting days.
func (e *Env) backdate(ctx context.Context, ref string, when time.Time) error {
	return e.rewrite(ctx, ref, func(img v1.Image) (v1.Image, error) {
		return mutate.CreatedAt(img, v1.Time{Time: when})
	})
}

// moveBase moves a base image's tag to a new image: each platform's with
// one more layer, as when a base's publisher ships a fix.
func (e *Env) moveBase(ctx context.Context, ref string) error {
	return e.rewrite(ctx, ref, func(img v1.Image) (v1.Image, error) {
		mt, err := img.MediaType()
		if err != nil {
			return nil, err
		}
		layerType := types.OCILayer
		if mt == types.DockerManifestSchema2 {
			layerType = types.DockerLayer
		}
		layer, err := random.Layer(512, layerType)
		if err != nil {
			return nil, err
		}
		return mutate.AppendLayers(img, layer)
	})
}

// rewrite moves the tag ref to what change makes of its image, of each
// platform's for an index (attestation manifests are dropped).
func (e *Env) rewrite(ctx context.Context, ref string, change func(v1.Image) (v1.Image, error)) error {
	r, err := name.ParseReference(ref)
	if err != nil {
		return err
	}
	opts, err := e.remoteOptions(ctx)
	if err != nil {
		return err
	}
	desc, err := remote.Get(r, opts...)
	if err != nil {
		return fmt.Errorf("rewriting %s: %w", ref, err)
	}
	if !desc.MediaType.IsIndex() {
		img, err := desc.Image()
		if err != nil {
			return err
		}
		if img, err = change(img); err != nil {
			return err
		}
		return remote.Write(r, img, opts...)
	}
	idx, err := desc.ImageIndex()
	if err != nil {
		return err
	}
	m, err := idx.IndexManifest()
	if err != nil {
		return err
	}
	out := mutate.IndexMediaType(empty.Index, desc.MediaType)
	for _, d := range m.Manifests {
		if d.Platform == nil || d.Platform.OS == "unknown" {
			continue
		}
		img, err := idx.Image(d.Digest)
		if err != nil {
			return err
		}
		if img, err = change(img); err != nil {
			return err
		}
		out = mutate.AppendManifests(out, mutate.IndexAddendum{Add: img, Descriptor: v1.Descriptor{Platform: d.Platform}})
	}
	return remote.WriteIndex(r, out, opts...)
}

// remoteOptions reach the exec environment's registries: their CA, and the
// one login they share.
func (e *Env) remoteOptions(ctx context.Context) ([]remote.Option, error) {
	pem, err := os.ReadFile(e.CACert)
	if err != nil {
		return nil, err
	}
	pool := x509.NewCertPool()
	if !pool.AppendCertsFromPEM(pem) {
		return nil, fmt.Errorf("%s holds no certificate", e.CACert)
	}
	transport := http.DefaultTransport.(*http.Transport).Clone()
	transport.TLSClientConfig = &tls.Config{RootCAs: pool}
	return []remote.Option{
		remote.WithContext(ctx),
		remote.WithTransport(transport),
		remote.WithAuth(&authn.Basic{Username: e.RegistryUser, Password: e.RegistryPassword}),
	}, nil
}
