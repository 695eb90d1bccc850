// Command trivydb builds a tiny offline stand-in for Trivy's vulnerability
// database, for bkgen's execution tests that cannot reach the internet.
//
//	trivydb -out DIR [-push REF [-insecure]]
//
// It writes DIR/trivy.db and DIR/metadata.json in the layout trivy v0.74.0
// reads from CACHE/db with --skip-db-update. The database holds two GitHub
// Security Advisory npm findings: lodash <4.17.21 (CVE-2021-23337, HIGH) and
// minimist <1.2.6 (CVE-2021-44906, CRITICAL).
//
// With -push it also packs both files into db.tar.gz and pushes it as the
// single-layer OCI artifact that trivy's --db-repository downloads, with the
// media types upstream trivy-db publishes. Credentials come from docker's
// config.json; -insecure allows a plain-HTTP registry. Everything is built from
// fixed time stamps, so the artifact digest is reproducible.
package main

import (
	"archive/tar"
	"bytes"
	"compress/gzip"
	"flag"
	"io"
	"log"
	"os"
	"path/filepath"
	"time"

	"github.com/aquasecurity/trivy-db/pkg/db"
	"github.com/aquasecurity/trivy-db/pkg/metadata"
	"github.com/aquasecurity/trivy-db/pkg/types"
	"github.com/aquasecurity/trivy-db/pkg/vulnsrc/bucket"
	"github.com/aquasecurity/trivy-db/pkg/vulnsrc/vulnerability"
	"github.com/google/go-containerregistry/pkg/authn"
	"github.com/google/go-containerregistry/pkg/name"
	"github.com/google/go-containerregistry/pkg/v1/empty"
	"github.com/google/go-containerregistry/pkg/v1/mutate"
	"github.com/google/go-containerregistry/pkg/v1/remote"
	"github.com/google/go-containerregistry/pkg/v1/tarball"
	ggcrtypes "github.com/google/go-containerregistry/pkg/v1/types"
	bolt "go.etcd.io/bbolt"
)

// Media types from trivy v0.74.0 pkg/db (the layer type it insists on) and
// trivy-db's release workflow (`oras push --artifact-type ...`). Trivy reads
// the file name from the layer's title annotation; the .tar.gz suffix makes it
// unpack the layer into CACHE/db.
const (
	layerMediaType  = "application/vnd.aquasec.trivy.db.layer.v1.tar+gzip"
	configMediaType = "application/vnd.aquasec.trivy.config.v1+json"
	layerTitle      = "db.tar.gz"
)

var (
	updatedAt  = time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)
	nextUpdate = time.Date(2100, 1, 1, 0, 0, 0, 0, time.UTC)
)

type finding struct {
	pkg, id, title, vulnerable, patched string
	severity                            types.Severity
}

var findings = []finding{
	{"lodash", "CVE-2021-23337", "Command injection in lodash", "<4.17.21", "4.17.21", types.SeverityHigh},
	{"minimist", "CVE-2021-44906", "Prototype Pollution in minimist", "<1.2.6", "1.2.6", types.SeverityCritical},
}

func main() {
	out := flag.String("out", "", "directory to write trivy.db and metadata.json to (required)")
	push := flag.String("push", "", "also push the database as an OCI artifact to this reference, e.g. registry.example/trivy-db:2")
	insecure := flag.Bool("insecure", false, "talk plain HTTP to the -push registry (tests only)")
	flag.Parse()
	if *out == "" || flag.NArg() != 0 {
		flag.Usage()
		os.Exit(2)
	}
	if err := writeDB(*out); err != nil {
		log.Fatal(err)
	}
	if *push != "" {
		if err := pushDB(*out, *push, *insecure); err != nil {
			log.Fatal(err)
		}
	}
}

// writeDB writes the buckets as they look after trivy-db's build has run its
// optimize and cleanup steps (vulndb.TrivyDB.Build): data-source, the
// per-ecosystem advisory bucket, and vulnerability.
func writeDB(dir string) error {
	for _, f := range []string{db.Path(dir), metadata.Path(dir)} {
		if err := os.Remove(f); err != nil && !os.IsNotExist(err) {
			return err
		}
	}
	if err := db.Init(dir); err != nil {
		return err
	}
	defer db.Close()

	// Same data source as trivy-db's ghsa package uses for npm; the bucket is
	// "npm::GitHub Security Advisory npm".
	src := types.DataSource{
		ID:   vulnerability.GHSA,
		Name: "GitHub Security Advisory npm",
		URL:  "https://github.com/advisories?query=type%3Areviewed+ecosystem%3Anpm",
	}
	bkt, err := bucket.NewNpm(src)
	if err != nil {
		return err
	}
	var dbc db.Config
	err = dbc.BatchUpdate(func(tx *bolt.Tx) error {
		if err := dbc.PutDataSource(tx, bkt.Name(), src); err != nil {
			return err
		}
		for _, f := range findings {
			adv := types.Advisory{VulnerableVersions: []string{f.vulnerable}, PatchedVersions: []string{f.patched}}
			if err := dbc.PutAdvisory(tx, []string{bkt.Name(), f.pkg}, f.id, adv); err != nil {
				return err
			}
			vuln := types.Vulnerability{
				Title:          f.title,
				Severity:       f.severity.String(),
				VendorSeverity: types.VendorSeverity{vulnerability.GHSA: f.severity},
			}
			if err := dbc.PutVulnerability(tx, f.id, vuln); err != nil {
				return err
			}
		}
		return nil
	})
	if err != nil {
		return err
	}
	// DownloadedAt is set so that trivy, even without --skip-db-update, sees
	// a downloaded DB whose NextUpdate lies far in the future.
	return metadata.NewClient(dir).Update(metadata.Metadata{
		Version:      db.SchemaVersion,
		UpdatedAt:    updatedAt,
		NextUpdate:   nextUpdate,
		DownloadedAt: updatedAt,
	})
}

// pushDB packs trivy.db and metadata.json (as trivy-db's Makefile does) and
// pushes them as a one-layer OCI artifact.
func pushDB(dir, refStr string, insecure bool) error {
	var opts []name.Option
	if insecure {
		opts = append(opts, name.Insecure)
	}
	ref, err := name.ParseReference(refStr, opts...)
	if err != nil {
		return err
	}
	blob, err := tarGz(dir, "trivy.db", "metadata.json")
	if err != nil {
		return err
	}
	layer, err := tarball.LayerFromOpener(func() (io.ReadCloser, error) {
		return io.NopCloser(bytes.NewReader(blob)), nil
	}, tarball.WithMediaType(layerMediaType))
	if err != nil {
		return err
	}
	img := mutate.MediaType(empty.Image, ggcrtypes.OCIManifestSchema1)
	img = mutate.ConfigMediaType(img, configMediaType)
	img, err = mutate.Append(img, mutate.Addendum{
		Layer:       layer,
		MediaType:   layerMediaType,
		Annotations: map[string]string{"org.opencontainers.image.title": layerTitle},
	})
	if err != nil {
		return err
	}
	if err := remote.Write(ref, img, remote.WithAuthFromKeychain(authn.DefaultKeychain)); err != nil {
		return err
	}
	digest, err := img.Digest()
	if err != nil {
		return err
	}
	log.Printf("pushed %s@%s", ref, digest)
	return nil
}

// tarGz returns a gzip-compressed tar of the named files in dir, with fixed
// owners, modes and time stamps.
func tarGz(dir string, files ...string) ([]byte, error) {
	var buf bytes.Buffer
	gz := gzip.NewWriter(&buf)
	tw := tar.NewWriter(gz)
	for _, f := range files {
		data, err := os.ReadFile(filepath.Join(dir, f))
		if err != nil {
			return nil, err
		}
		hdr := &tar.Header{Name: f, Mode: 0o644, Size: int64(len(data)), ModTime: updatedAt, Typeflag: tar.TypeReg}
		if err := tw.WriteHeader(hdr); err != nil {
			return nil, err
		}
		if _, err := tw.Write(data); err != nil {
			return nil, err
		}
	}
	if err := tw.Close(); err != nil {
		return nil, err
	}
	if err := gz.Close(); err != nil {
		return nil, err
	}
	return buf.Bytes(), nil
}
