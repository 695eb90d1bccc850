// Package scanner holds bkgen's vulnerability scanners, one file each:
// which scan fields a tool takes and their defaults (the spec loader
// checks a spec against them and names them in its messages), and the
// step that scans an image with it.
//
// Adding a scanner is a file here implementing Tool, its entry in All, its
// template, the providers whose images it reaches (Provider.Scanners), an
// example and its golden.
package scanner

import (
	"github.com/bkgen/bkgen/internal/named"
	"github.com/bkgen/bkgen/internal/pipetext"
	"github.com/bkgen/bkgen/provider"
	"github.com/bkgen/bkgen/stepvalue"
)

// A Tool is a vulnerability scanner.
type Tool interface {
	// Name is what the spec's tool field says.
	Name() string
	// Options are the scan fields the tool takes, besides tool.
	Options() []Option
	// Defaults fills what the spec left out; given names the fields it set.
	Defaults(s *Settings, given func(Option) bool)
	// Step is the scan of one image.
	Step(s *Settings, t Target) (*Step, error)
}

// All are the scanners; the first is the default.
var All = []Tool{Trivy{}, Grype{}, ECR{}}

// Named returns the scanner called name, or nil.
func Named(name string) Tool { return named.Find(All, name) }

// Names lists the scanners' names.
func Names() []string { return named.Names(All) }

// An Option is a scan field a tool may take.
type Option string

const (
	// Severity lists the severities that count (Severities, upper case).
	Severity Option = "severity"
	// FailOn is the lowest severity that counts (FailOnLevels).
	FailOn Option = "fail_on"
	// Fail fails the step when something counts.
	Fail Option = "fail"
	// IgnoreUnfixed leaves out vulnerabilities with no fix.
	IgnoreUnfixed Option = "ignore_unfixed"
)

// Options lists every option, in the order the spec documents them.
var Options = []Option{Severity, Fail, FailOn, IgnoreUnfixed}

var (
	// Severities are trivy's and ECR's, lowest first.
	Severities = []string{"UNKNOWN", "LOW", "MEDIUM", "HIGH", "CRITICAL"}
	// FailOnLevels are grype's, lowest first.
	FailOnLevels = []string{"negligible", "low", "medium", "high", "critical"}
)

// Settings are an image's scan, as the spec sets it.
type Settings struct {
	Tool          Tool
	Severity      []string // severities that count, in Severities' order
	FailOn        string   // the lowest that counts, one of FailOnLevels
	Fail          bool
	IgnoreUnfixed bool
}

// Default is the scan an image gets when the spec says nothing, or true.
func Default() *Settings {
	s := &Settings{Tool: All[0]}
	s.Tool.Defaults(s, func(Option) bool { return false })
	return s
}

// Target is what a scan step needs of the image it scans.
type Target struct {
	Image      string // the image's name in the spec
	Repository string // within the registry
	RefQ       string // repository:content-tag, quoted for the shell
	Tag        string // the content tag
	Login      string // shell lines that log in, "" for none
	Registry   *provider.Config
}

// Step is what a scan step runs, and what it keeps.
type Step struct {
	Command       string
	ArtifactPaths []string
	SoftFail      *stepvalue.Value
}

// reportBase is where a scan writes its reports, without an extension.
func reportBase(t Target) string { return "bkgen-scan/" + t.Image }

// quote makes text one shell word. What reaches here has passed the spec's
// rules, which leave no NUL, the only thing that cannot be quoted; one would
// be left in place for writing the pipeline to refuse.
func quote(s string) string {
	q, err := pipetext.ShellQuote(s)
	if err != nil {
		return s
	}
	return q
}

func highAndCritical() []string { return []string{"HIGH", "CRITICAL"} }
