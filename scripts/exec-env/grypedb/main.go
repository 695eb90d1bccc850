// Command grypedb builds a tiny offline stand-in for grype's vulnerability
// database (schema v6), for bkgen's execution tests that cannot reach the
// internet.
//
//	grypedb -out CACHE
//
// It writes CACHE/6/vulnerability.db, CACHE/6/import.json and
// CACHE/6/last_update_check: the layout grype v0.121.2 reads from
// GRYPE_DB_CACHE_DIR, with a fresh update check so grype does not ask the
// internet for a newer database. The database is built by grype's own
// builder (grype/db Build, as grype-db does) from vunnel-style GitHub
// Security Advisory records: lodash <4.17.21 (GHSA-35jh-r3h4-6jhm,
// CVE-2021-23337, High) and minimist <1.2.6 (GHSA-xvch-5gv4-984h,
// CVE-2021-44906, Critical), the same findings scripts/exec-env/trivydb
// gives trivy.
package main

import (
	"encoding/json"
	"flag"
	"fmt"
	"log"
	"os"
	"path/filepath"
	"time"

	"github.com/OneOfOne/xxhash"
	"github.com/spf13/afero"

	"github.com/anchore/grype/grype/db"
	"github.com/anchore/grype/grype/db/provider"
	v6 "github.com/anchore/grype/grype/db/v6"
)

type advisory struct {
	ghsa, cve, pkg, severity, vulnerable, fixed, summary string
}

var advisories = []advisory{
	{"GHSA-35jh-r3h4-6jhm", "CVE-2021-23337", "lodash", "High", "< 4.17.21", "4.17.21", "Command Injection in lodash"},
	{"GHSA-xvch-5gv4-984h", "CVE-2021-44906", "minimist", "Critical", "< 1.2.6", "1.2.6", "Prototype Pollution in minimist"},
}

// The GitHub provider's record schema, as vunnel writes it; grype's
// processor picks records by this URL's "github-security-advisory" segment.
const schemaURL = "https://raw.githubusercontent.com/anchore/vunnel/main/schema/vulnerability/github-security-advisory/schema-1.0.1.json"

func main() {
	out := flag.String("out", "", "the grype cache directory to fill (GRYPE_DB_CACHE_DIR; required)")
	flag.Parse()
	if *out == "" || flag.NArg() != 0 {
		flag.Usage()
		os.Exit(2)
	}
	if err := run(*out, time.Now().UTC().Truncate(time.Second)); err != nil {
		log.Fatal(err)
	}
}

func run(out string, built time.Time) error {
	work, err := os.MkdirTemp("", "grypedb.")
	if err != nil {
		return err
	}
	defer os.RemoveAll(work)
	state, err := writeProvider(filepath.Join(work, "github"), built)
	if err != nil {
		return err
	}
	dir := filepath.Join(out, "6")
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return err
	}
	err = db.Build(db.BuildConfig{
		SchemaVersion:   6,
		Directory:       dir,
		States:          provider.States{*state},
		Timestamp:       built,
		IncludeCPEParts: []string{"a"},
		Hydrate:         true,
		BatchSize:       100,
	})
	if err != nil {
		return fmt.Errorf("building the database: %w", err)
	}
	if _, err := v6.WriteImportMetadata(afero.NewOsFs(), dir, "bkgen exec-env grypedb"); err != nil {
		return err
	}
	return os.WriteFile(filepath.Join(dir, "last_update_check"), []byte(built.Format(time.RFC3339)), 0o644)
}

// writeProvider writes a vunnel provider workspace (results, their
// checksums listing, metadata.json) and reads it back as grype does.
func writeProvider(dir string, built time.Time) (*provider.State, error) {
	if err := os.MkdirAll(filepath.Join(dir, "results"), 0o755); err != nil {
		return nil, err
	}
	var listing []byte
	for _, a := range advisories {
		b, err := json.MarshalIndent(record(a), "", "  ")
		if err != nil {
			return nil, err
		}
		name := filepath.Join("results", a.ghsa+".json")
		if err := os.WriteFile(filepath.Join(dir, name), b, 0o644); err != nil {
			return nil, err
		}
		listing = fmt.Appendf(listing, "%s  %s\n", xxh64(b), name)
	}
	if err := os.WriteFile(filepath.Join(dir, "checksums"), listing, 0o644); err != nil {
		return nil, err
	}
	meta, err := json.MarshalIndent(map[string]any{
		"provider":             "github",
		"urls":                 []string{"https://github.com/advisories"},
		"store":                "flat-file",
		"timestamp":            built.Format(time.RFC3339),
		"version":              2,
		"distribution_version": 1,
		"processor":            "vunnel@0.54.0",
		"listing":              map[string]string{"digest": xxh64(listing), "path": "checksums", "algorithm": "xxh64"},
		"schema": map[string]string{
			"version": "1.0.3",
			"url":     "https://raw.githubusercontent.com/anchore/vunnel/main/schema/provider-workspace-state/schema-1.0.3.json",
		},
		"stale": false,
	}, "", "  ")
	if err != nil {
		return nil, err
	}
	if err := os.WriteFile(filepath.Join(dir, "metadata.json"), meta, 0o644); err != nil {
		return nil, err
	}
	return provider.ReadState(filepath.Join(dir, "metadata.json"))
}

// record is one advisory as vunnel's GitHub provider writes it.
func record(a advisory) map[string]any {
	return map[string]any{
		"schema":     schemaURL,
		"identifier": "github:npm/" + a.ghsa,
		"item": map[string]any{
			"Vulnerability": map[string]any{},
			"Advisory": map[string]any{
				"Classification": "GENERAL",
				"Severity":       a.severity,
				"FixedIn": []map[string]any{{
					"name": a.pkg, "identifier": a.fixed, "ecosystem": "npm",
					"namespace": "github:npm", "range": a.vulnerable,
				}},
				"Summary":   a.summary,
				"url":       "https://github.com/advisories/" + a.ghsa,
				"CVE":       []string{a.cve},
				"Metadata":  map[string]any{"CVE": []string{a.cve}},
				"ghsaId":    a.ghsa,
				"published": "2021-02-15T00:00:00Z",
				"updated":   "2021-02-15T00:00:00Z",
				"withdrawn": nil,
				"namespace": "github:npm",
			},
		},
	}
}

func xxh64(b []byte) string {
	h := xxhash.New64()
	h.Write(b)
	return fmt.Sprintf("%x", h.Sum(nil))
}
