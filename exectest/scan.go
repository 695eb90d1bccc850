package exectest

import (
	"cmp"
	"encoding/json"
	"os"
	"path/filepath"
	"slices"
	"strings"

	"github.com/bkgen/bkgen/internal/agentsim"
	"github.com/bkgen/bkgen/spec"
)

// What every stand-in image carries for its scans to find (see Standin),
// and the one advisory of the database setup.sh makes for trivy
// (scripts/exec-env/trivydb).
const (
	plantedPackage  = "lodash"
	plantedVersion  = "4.17.20"
	plantedVuln     = "CVE-2021-23337"
	plantedSeverity = "HIGH"
)

// scanFinds says an image's scan counts the planted vulnerability: it
// scans with trivy (the scanner this machine has) at HIGH.
func scanFinds(im *spec.Image) bool {
	return im.Scan != nil && im.Scan.Tool.Name() == "trivy" && slices.Contains(im.Scan.Severity, plantedSeverity)
}

// scanMustFail says a scan step's failure is what the spec asks for: its
// scan finds the planted vulnerability and fails on findings.
func (c *check) scanMustFail(key string) bool {
	for _, im := range c.repo.Spec.Images {
		if spec.ScanKey(im) == key {
			return scanFinds(im) && im.Scan.Fail
		}
	}
	return false
}

// trivyReport is what the checks read of trivy's JSON report.
type trivyReport struct {
	Metadata struct {
		ImageConfig struct {
			Architecture string `json:"architecture"`
		}
	}
	Results []struct {
		Vulnerabilities []struct {
			VulnerabilityID, PkgName, InstalledVersion, Severity string
		}
	}
}

// scans: every trivy scan that ran scanned each platform of its image as
// that platform, found the planted vulnerability exactly when its
// severities count it, kept its reports, annotated what it found (as an
// error when it fails the step), and failed exactly when it should. A scan
// given a database mirror started from an empty cache and filled it.
func (c *check) scans() {
	for _, im := range c.repo.Spec.Images {
		if im.Scan == nil || im.Scan.Tool.Name() != "trivy" {
			continue
		}
		key := spec.ScanKey(im)
		s := c.res.Step(key)
		if s == nil || len(s.Jobs) == 0 || (s.State != agentsim.Passed && s.State != agentsim.Failed) {
			continue
		}
		j := s.Jobs[len(s.Jobs)-1]
		finds := scanFinds(im)
		if failed, want := s.State == agentsim.Failed, finds && im.Scan.Fail; failed != want {
			c.fail("%s: failed=%t, but with severities %v and fail: %t it should be %t: %s", key, failed, im.Scan.Severity, im.Scan.Fail, want, lastLines(s.Jobs, 3))
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
			c.scanReport(key, j, name, cmp.Or(p, hostPlatform(im)), finds)
		}
		c.scanAnnotation(im, names, finds)
		if im.Scan.DBRepository != "" {
			if _, err := os.Stat(filepath.Join(c.scanCache, "trivy", "db", "trivy.db")); err != nil {
				c.fail("%s: the database did not come from the mirror into the empty cache: %v", key, err)
			}
		}
	}
}

// scanReport checks one platform's reports.
func (c *check) scanReport(key string, j *agentsim.Job, name, platform string, finds bool) {
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
	var r trivyReport
	if err := json.Unmarshal(b, &r); err != nil {
		c.fail("%s: bkgen-scan/%s.json: %v", key, name, err)
		return
	}
	if arch := platformArch(platform); r.Metadata.ImageConfig.Architecture != arch {
		c.fail("%s: bkgen-scan/%s.json scanned a %q image, not %s", key, name, r.Metadata.ImageConfig.Architecture, platform)
	}
	found := false
	for _, res := range r.Results {
		for _, v := range res.Vulnerabilities {
			if v.VulnerabilityID == plantedVuln && v.PkgName == plantedPackage && v.InstalledVersion == plantedVersion && v.Severity == plantedSeverity {
				found = true
			}
		}
	}
	if found != finds {
		c.fail("%s: bkgen-scan/%s.json: %s in %s %s found=%t, want %t", key, name, plantedVuln, plantedPackage, plantedVersion, found, finds)
	}
}

// scanAnnotation checks the annotation a scan posts when it finds something.
func (c *check) scanAnnotation(im *spec.Image, names []string, finds bool) {
	key, context := spec.ScanKey(im), "bkgen-scan-"+im.Name
	var a *agentsim.Annotation
	for i := range c.res.Annotations {
		if c.res.Annotations[i].Context == context {
			a = &c.res.Annotations[i]
		}
	}
	want := finds && im.Scan.Annotate
	switch {
	case a == nil && want:
		c.fail("%s: no annotation %s for what it found", key, context)
	case a != nil && !want:
		c.fail("%s: annotation %s, but nothing should count (finds %t, annotate %t)", key, context, finds, im.Scan.Annotate)
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
		if strings.Count(a.Body, plantedVuln) < len(names) {
			c.fail("%s: the annotation names %s fewer than %d times:\n%s", key, plantedVuln, len(names), a.Body)
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
