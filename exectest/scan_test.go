package exectest

import (
	"slices"
	"testing"
)

// The shapes of real reports (trivy v0.74.0, grype v0.121.2), cut down to
// what the checks read.
func TestReadReport(t *testing.T) {
	for _, tc := range []struct {
		tool, json string
	}{
		{"trivy", `{"Metadata": {"ImageConfig": {"architecture": "arm64"}}, "Results": [{"Target": "app"}, {"Vulnerabilities": [
			{"VulnerabilityID": "CVE-2021-23337", "PkgName": "lodash", "InstalledVersion": "4.17.20", "Severity": "HIGH"}]}]}`},
		{"grype", `{"source": {"type": "image", "target": {"architecture": "arm64", "os": "linux"}}, "matches": [
			{"vulnerability": {"id": "GHSA-35jh-r3h4-6jhm", "severity": "High"}, "relatedVulnerabilities": [{"id": "CVE-2021-23337"}],
			 "artifact": {"name": "lodash", "version": "4.17.20", "type": "npm"}}]}`},
	} {
		r, err := readReport(tc.tool, []byte(tc.json))
		if err != nil {
			t.Fatalf("%s: %v", tc.tool, err)
		}
		if r.Arch != "arm64" || !slices.Contains(r.Findings, planted[tc.tool]) {
			t.Errorf("%s: read %+v, want arm64 with %+v", tc.tool, r, planted[tc.tool])
		}
	}
	if _, err := readReport("grype", []byte(`{"matches": {}}`)); err == nil {
		t.Error("a report of the wrong shape was read")
	}
}
