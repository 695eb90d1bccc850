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
	"strings"

	"github.com/bkgen/bkgen/internal/named"
	"github.com/bkgen/bkgen/internal/pipetext"
	"github.com/bkgen/bkgen/provider"
	"github.com/bkgen/bkgen/templates"
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
	// Annotate posts what counts as a build annotation (default true).
	Annotate Option = "annotate"
	// Image is the scanner's image, run when the agent has no binary of it
	// on PATH (default the pinned DefaultImage).
	Image Option = "image"
	// DBRepository is where trivy fetches its vulnerability database: an
	// OCI repository, a mirror of the default.
	DBRepository Option = "db_repository"
	// JavaDBRepository is the same for trivy's Java index database.
	JavaDBRepository Option = "java_db_repository"
	// DBURL is where grype lists its databases: a mirror of the default.
	DBURL Option = "db_url"
)

// Options lists every option, in the order the spec documents them.
var Options = []Option{Severity, Fail, FailOn, IgnoreUnfixed, Annotate, Image, DBRepository, JavaDBRepository, DBURL}

var (
	// Severities are trivy's and ECR's, lowest first.
	Severities = []string{"UNKNOWN", "LOW", "MEDIUM", "HIGH", "CRITICAL"}
	// FailOnLevels are grype's, lowest first.
	FailOnLevels = []string{"negligible", "low", "medium", "high", "critical"}
)

// Settings are an image's scan, as the spec sets it.
type Settings struct {
	Tool             Tool
	Severity         []string // severities that count, in Severities' order
	FailOn           string   // the lowest that counts, one of FailOnLevels
	Fail             bool
	IgnoreUnfixed    bool
	Annotate         bool
	Image            string // the scanner's image; the tool's pinned default when not given
	DBRepository     string // "" for the tool's default
	JavaDBRepository string
	DBURL            string
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
	Platforms  []string
	Login      string // shell lines that log in, "" for none
	Registry   *provider.Config
}

// Step is what a scan step runs, and what it keeps.
type Step struct {
	Command       string
	ArtifactPaths []string
}

// annotationLimit is how much of the reports an annotation quotes in all:
// Buildkite takes up to 1 MiB.
const annotationLimit = 900_000

// reports names one report per platform scanned (one for an image built
// without platforms), each with its files under bkgen-scan/, and the files
// the step keeps: every report, in each form.
func reports(t Target) (rs []templates.ScanReport, artifacts []string) {
	platforms := t.Platforms
	if len(platforms) == 0 {
		platforms = []string{""}
	}
	for _, p := range platforms {
		name := t.Image
		if p != "" {
			name += "-" + strings.ReplaceAll(p, "/", "-")
		}
		r := templates.ScanReport{NameQ: quote(name), Limit: annotationLimit / len(platforms)}
		if p != "" {
			r.PlatformQ = quote(p)
		}
		base := "bkgen-scan/" + name
		r.JSONQ, r.SARIFQ, r.TableQ = quote(base+".json"), quote(base+".sarif"), quote(base+".txt")
		rs = append(rs, r)
		artifacts = append(artifacts, base+".json", base+".sarif", base+".txt")
	}
	return rs, artifacts
}

// runner is how a step runs a pulling scanner.
func runner(s *Settings, name, defaultImage string, env ...string) templates.Tool {
	image := s.Image
	if image == "" {
		image = defaultImage
	}
	return templates.Tool{Binary: name, Var: "scanner", ImageQ: quote(image), Env: env, Cache: true}
}

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
