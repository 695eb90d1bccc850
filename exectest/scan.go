package exectest

import (
	"cmp"
	"encoding/json"
	"os"
	"path/filepath"
	"slices"
	"strings"

	"github.com/bkgen/bkgen/internal/agentsim"
	"github.com/bkgen/bkgen/scanner"
	"github.com/bkgen/bkgen/spec"
)

// What every stand-in image carries for its scans to find (see Standin).
const (
	plantedPackage = "lodash"
	plantedVersion = "4.17.20"
)

// planted is what each scanner reports of the planted package with the
// databases setup.sh makes (scripts/exec-env/trivydb, grypedb): trivy names
// the CVE, grype the GitHub advisory; both say it is high.
var planted = map[string]finding{
	"trivy": {ID: "CVE-2021-23337", Package: plantedPackage, Version: plantedVersion, Severity: "HIGH"},
	"grype": {ID: "GHSA-35jh-r3h4-6jhm", Package: plantedPackage, Version: plantedVersion, Severity: "High"},
}

// scanCounts says an image's scan counts the planted vulnerability: it runs
// a scanner this machine has, and high is among the severities it counts
// (trivy's severity list, grype's fail_on and above).
func scanCounts(im *spec.Image) bool {
	if im.Scan == nil {
		return false
	}
	switch im.Scan.Tool.Name() {
	case "trivy":
		return slices.Contains(im.Scan.Severity, "HIGH")
	case "grype":
		return slices.Index(scanner.FailOnLevels, im.Scan.FailOn) <= slices.Index(scanner.FailOnLevels, "high")
	}
	return false
}

// scanReports says the planted vulnerability is in the scan's JSON report:
// trivy reports only the severities asked for, grype reports every match
// and applies fail_on to its exit status alone.
func scanReports(im *spec.Image) bool {
	return im.Scan.Tool.Name() == "grype" || scanCounts(im)
}

// scanMustFail says a scan step's failure is what the spec asks for: its
// scan counts the planted vulnerability and fails on findings.
func (c *check) scanMustFail(key string) bool {
	for _, im := range c.repo.Spec.Images {
		if spec.ScanKey(im) == key {
			return scanCounts(im) && im.Scan.Fail
		}
	}
	return false
}

// finding is one vulnerability a report lists.
type finding struct{ ID, Package, Version, Severity string }

// report is what the checks read of a scanner's JSON report: the
// architecture it scanned and what it found.
type report struct {
	Arch     string
	Findings []finding
}

// readReport reads trivy's or grype's JSON report.
func readReport(tool string, b []byte) (report, error) {
	var r report
	switch tool {
	case "trivy":
		var t struct {
			Metadata struct{ ImageConfig struct{ Architecture string } }
			Results  []struct {
				Vulnerabilities []struct{ VulnerabilityID, PkgName, InstalledVersion, Severity string }
			}
		}
		if err := json.Unmarshal(b, &t); err != nil {
			return r, err
		}
		r.Arch = t.Metadata.ImageConfig.Architecture
		for _, res := range t.Results {
			for _, v := range res.Vulnerabilities {
				r.Findings = append(r.Findings, finding{v.VulnerabilityID, v.PkgName, v.InstalledVersion, v.Severity})
			}
		}
	case "grype":
		var g struct {
			Source struct {
				Target struct{ Architecture string }
			}
			Matches []struct {
				Vulnerability struct{ ID, Severity string }
				Artifact      struct{ Name, Version string }
			}
		}
		if err := json.Unmarshal(b, &g); err != nil {
			return r, err
		}
		r.Arch = g.Source.Target.Architecture
		for _, m := range g.Matches {
			r.Findings = append(r.Findings, finding{m.Vulnerability.ID, m.Artifact.Name, m.Artifact.Version, m.Vulnerability.Severity})
		}
	}
	return r, nil
}

// scans: every trivy or grype scan that ran scanned each platform of its
// image as that platform, reported the planted vulnerability as its
// scanner should, kept its reports, annotated what counts (as an error when
// it fails the step), and failed exactly when it should. A trivy scan given
// a database mirror started from an empty cache and filled it.
func (c *check) scans() {
	for _, im := range c.repo.Spec.Images {
		if im.Scan == nil {
			continue
		}
		tool := im.Scan.Tool.Name()
		if _, ok := planted[tool]; !ok {
			continue
		}
		key := spec.ScanKey(im)
		s := c.res.Step(key)
		if s == nil || len(s.Jobs) == 0 || (s.State != agentsim.Passed && s.State != agentsim.Failed) {
			continue
		}
		j := s.Jobs[len(s.Jobs)-1]
		counts := scanCounts(im)
		if failed, want := s.State == agentsim.Failed, counts && im.Scan.Fail; failed != want {
			c.fail("%s: failed=%t, but with severities %v (fail_on %q) and fail: %t it should be %t: %s", key, failed, im.Scan.Severity, im.Scan.FailOn, im.Scan.Fail, want, lastLines(s.Jobs, 3))
		}
		platforms := im.Platforms
		if len(platforms) == 0 {
			platforms = []string{""}
		}
		var names []string
		for _, p := range platforms {
			name := im.Name
			if p != "" {
				name += "-" + strings.ReplaceAll(p, "/", "-")
			}
			names = append(names, name)
			c.scanReport(key, tool, j, name, cmp.Or(p, hostPlatform(im)), scanReports(im))
		}
		c.scanAnnotation(im, names, counts)
		if tool == "trivy" && im.Scan.DBRepository != "" {
			if _, err := os.Stat(filepath.Join(c.scanCache, "trivy", "db", "trivy.db")); err != nil {
				c.fail("%s: the database did not come from the mirror into the empty cache: %v", key, err)
			}
		}
	}
}

// scanReport checks one platform's reports.
func (c *check) scanReport(key, tool string, j *agentsim.Job, name, platform string, listed bool) {
	for _, ext := range []string{".json", ".sarif", ".txt"} {
		if !slices.Contains(j.Artifacts, "bkgen-scan/"+name+ext) {
			c.fail("%s: bkgen-scan/%s%s was not uploaded (artifacts: %v, missing: %v)", key, name, ext, j.Artifacts, j.MissingArtifacts)
		}
	}
	b, err := os.ReadFile(filepath.Join(j.Checkout, "bkgen-scan", name+".json"))
	if err != nil {
		c.fail("%s: %v", key, err)
		return
	}
	r, err := readReport(tool, b)
	if err != nil {
		c.fail("%s: bkgen-scan/%s.json: %v", key, name, err)
		return
	}
	if arch := platformArch(platform); r.Arch != arch {
		c.fail("%s: bkgen-scan/%s.json scanned a %q image, not %s", key, name, r.Arch, platform)
	}
	want := planted[tool]
	if found := slices.Contains(r.Findings, want); found != listed {
		c.fail("%s: bkgen-scan/%s.json: %s in %s %s listed=%t, want %t (found %v)", key, name, want.ID, want.Package, want.Version, found, listed, r.Findings)
	}
}

// scanAnnotation checks the annotation a scan posts when it finds something.
func (c *check) scanAnnotation(im *spec.Image, names []string, counts bool) {
	key, context := spec.ScanKey(im), "bkgen-scan-"+im.Name
	var a *agentsim.Annotation
	for i := range c.res.Annotations {
		if c.res.Annotations[i].Context == context {
			a = &c.res.Annotations[i]
		}
	}
	want := counts && im.Scan.Annotate
	switch {
	case a == nil && want:
		c.fail("%s: no annotation %s for what it found", key, context)
	case a != nil && !want:
		c.fail("%s: annotation %s, but nothing should count (counts %t, annotate %t)", key, context, counts, im.Scan.Annotate)
	case a != nil:
		style := "warning"
		if im.Scan.Fail {
			style = "error"
		}
		if a.Style != style {
			c.fail("%s: annotation style %q, want %q", key, a.Style, style)
		}
		for _, n := range names {
			if !strings.Contains(a.Body, "<summary>"+n+"</summary>") {
				c.fail("%s: the annotation has no report for %s", key, n)
			}
		}
		if id := planted[im.Scan.Tool.Name()].ID; strings.Count(a.Body, id) < len(names) {
			c.fail("%s: the annotation names %s fewer than %d times:\n%s", key, id, len(names), a.Body)
		}
	}
}

// platformArch is the architecture an image config records for a platform.
func platformArch(platform string) string {
	parts := strings.Split(platform, "/")
	if len(parts) < 2 {
		return ""
	}
	return parts[1]
}
