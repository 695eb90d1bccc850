package scanner

import (
	"strings"

	"github.com/bkgen/bkgen/templates"
)

// ECR is Amazon ECR's own scanner: it scans the pushed image by digest,
// waits for the scan, and counts findings at the chosen severities. It
// reaches images in ECR only (provider.ECR.Scanners).
type ECR struct{}

func (ECR) Name() string { return "ecr" }

func (ECR) Options() []Option { return []Option{Severity, Fail} }

func (ECR) Defaults(s *Settings, given func(Option) bool) {
	if !given(Severity) {
		s.Severity = highAndCritical()
	}
}

func (ECR) Step(s *Settings, t Target) (*Step, error) {
	var counts []string
	for _, sev := range s.Severity {
		counts = append(counts, "imageScanFindings.findingSeverityCounts."+sev+" || `0`")
	}
	cmd, err := templates.ECRScan(templates.ECRScanData{
		Login: t.Login, RegionQ: quote(t.Registry.Get("region")), RepositoryQ: quote(t.Repository), TagQ: quote(t.Tag),
		CountQueryQ: quote("sum([" + strings.Join(counts, ", ") + "])"), Severities: strings.Join(s.Severity, ", "), Fail: s.Fail,
	})
	return &Step{Command: cmd}, err
}
