package scanner

import (
	"strings"

	"github.com/bkgen/bkgen/templates"
)

// ECR is Amazon ECR's own scanner: it scans each pushed manifest by
// digest, basic or enhanced, waits for the scan, and counts findings at the
// chosen severities. It reaches images in ECR only (provider.ECR.Scanners).
type ECR struct{}

func (ECR) Name() string { return "ecr" }

func (ECR) Options() []Option { return []Option{Severity, Fail, Annotate} }

func (ECR) Defaults(s *Settings, given func(Option) bool) {
	if !given(Severity) {
		s.Severity = highAndCritical()
	}
	defaultAnnotate(s, given)
}

func (ECR) Step(s *Settings, t Target) (*Step, error) {
	// Basic scanning counts by severity; enhanced scanning lists each
	// finding (and may count too): whichever says more.
	var counts, enhanced []string
	for _, sev := range s.Severity {
		counts = append(counts, "imageScanFindings.findingSeverityCounts."+sev+" || `0`")
		enhanced = append(enhanced, "severity=='"+sev+"'")
	}
	query := "max([sum([" + strings.Join(counts, ", ") + "]), length(imageScanFindings.enhancedFindings[?" + strings.Join(enhanced, " || ") + "] || `[]`)])"
	rs, all := reports(t)
	var keep []string
	for _, a := range all {
		if strings.HasSuffix(a, ".txt") {
			keep = append(keep, a)
		}
	}
	d := templates.ECRScanData{
		Scan:    scanData(s, t, rs, templates.Tool{}, strings.Join(s.Severity, ", ")),
		RegionQ: quote(t.Registry.Get("region")), RepositoryQ: quote(t.Repository), TagQ: quote(t.Tag),
		ByPlatform: len(t.Platforms) > 0, CountQueryQ: quote(query),
	}
	if role := t.Registry.Get("assume_role"); role != "" {
		d.RoleARNQ, d.OIDC = quote(role), t.Registry.Get("auth") == "oidc"
	}
	cmd, err := templates.ECRScan(d)
	return &Step{Command: cmd, ArtifactPaths: keep}, err
}
