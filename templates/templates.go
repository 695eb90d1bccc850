// Package templates holds the shell text of every step bkgen emits, as
// embedded text/template files, so a reader finds each command in one place.
//
// Each template has its own data type and renderer (Build renders
// build.sh.tmpl with BuildData), so a template and the values it is given
// cannot drift apart unnoticed: the test renders every file.
//
// Templates receive values already shell-quoted by the generator (fields
// named *Q, or lists of ready words), so a template never quotes by hand.
// Every `$` in the result is escaped against upload-time interpolation by the
// generator afterwards: write shell here exactly as the job should run it.
package templates

import (
	"bytes"
	"embed"
	"fmt"
	"strings"
	"text/template"
)

//go:embed *.sh.tmpl
var files embed.FS

// parsed once: the templates are fixed at build time.
var set = template.Must(template.New("").Option("missingkey=error").ParseFS(files, "*.sh.tmpl"))

// render runs the named template with data and returns the script with
// blank lines at either end trimmed.
func render(name string, data any) (string, error) {
	var buf bytes.Buffer
	if err := set.ExecuteTemplate(&buf, name, data); err != nil {
		return "", fmt.Errorf("template %s: %w", name, err)
	}
	return strings.Trim(buf.String(), "\n"), nil
}

// BuildData is what a build step runs with: build-<image>, or
// build-<image>-<arch> for one platform of a native multi-arch build.
type BuildData struct {
	Builder    *Builder // the builder this build needs when dockerd's own cannot; nil for any
	BaseLogins []string // shell that logs in to the registries of the images it is built on, first
	Login      string   // shell lines that log in; "" when plugins do it or none is needed
	Ensure     string   // shell that creates the repositories the push needs, "" for none
	Relogin    bool     // log in again right before the push: the login expires in minutes
	Reuse      bool     // publish the digest when the content tag is already there (not one platform of several)
	Args       []string // docker buildx build's arguments, each a ready word or flag and word
	CacheTo    []string // the --cache-to arguments of a cache exported after the push
	Push       []string // the arguments that push: --push, or an image output pushed by digest (and an inline cache)
	ExtraTagsQ []string // the image's other tags
	RefQ       string   // the content-tag reference
	MetaKeyQ   string   // the meta-data key the digest is published under
	RepoQ      string   // the repository, without a tag
	// FreshWhyQ, when set, says why the image is rebuilt whatever the
	// registry holds: no lookup, and the build pulls its bases afresh and
	// runs every step again.
	FreshWhyQ string
	// Renewable: the build may rebuild an image found under its content
	// tag, for its age (MaxAgeDays), because an image it is built on was
	// rebuilt for its age in this build (RenewedKeysQ, the meta-data keys
	// those images set), or because its signature does not verify
	// (Cosign, in a trusted build). Such a rebuild pulls its bases afresh;
	// one for age or a signature also runs every step again. RenewedKeyQ,
	// when set, is the key this image sets, to RenewedQ, when it is
	// rebuilt so.
	Renewable             bool
	MaxAgeDays            int
	CreatedFormatQ        string // the imagetools format printing each platform's creation time, in Unix seconds
	RenewedKeysQ          []string
	RenewedKeyQ, RenewedQ string
	// PlatformDigestFormatQ, for one platform of several (PlatformQ) whose
	// manifest step merges every platform's published digest, is the
	// imagetools format that prints this platform's digest in the content
	// tag's index, published when the image is reused.
	PlatformDigestFormatQ, PlatformQ string
	// TrustedRefQ, in an untrusted build that may reuse them, is where a
	// trusted build pushes the same image: taken when the content tag is
	// missing.
	TrustedRefQ string
	// Cosign, when the spec signs: a trusted build signs what it pushes
	// and verifies what it reuses; an untrusted one verifies what a
	// trusted build pushed before it copies it. Nil when it does not.
	Cosign *Cosign
}

// Cosign is how a step verifies the signatures of images it reuses, and
// signs those it pushes.
type Cosign struct {
	Runner     Tool
	Policy     string   // what signs and what verifies, for people
	Sign       bool     // the step signs what it pushes (a trusted build)
	Keyless    bool     // sign with a certificate for the job's OIDC token
	SignArgs   []string // cosign sign's options, ready words
	VerifyArgs []string // cosign verify's options, ready words
}

// Builder is the docker-container builder a build creates when the one
// selected is dockerd's own, and why it needs one.
type Builder struct {
	Why    string // what the build does that dockerd's own BuildKit cannot
	Name   string // the builder's name
	ImageQ string // its BuildKit image, pinned
}

// Build renders build.sh.tmpl.
func Build(d BuildData) (string, error) { return render("build.sh.tmpl", d) }

// EnsureECRData is what creating missing ECR repositories needs.
type EnsureECRData struct {
	RegionQ       string
	RepositoriesQ []string
}

// EnsureECR renders ensure-ecr.sh.tmpl.
func EnsureECR(d EnsureECRData) (string, error) { return render("ensure-ecr.sh.tmpl", d) }

// EnsureGARData is what creating a missing Artifact Registry repository needs.
type EnsureGARData struct {
	ProjectQ, LocationQ, RepositoryQ string
}

// EnsureGAR renders ensure-gar.sh.tmpl.
func EnsureGAR(d EnsureGARData) (string, error) { return render("ensure-gar.sh.tmpl", d) }

// OutputData is what an output step runs with.
type OutputData struct {
	Login    string
	RefQ     string // the image, under its content tag
	FromQ    string // the directory in the image, for people
	SourceQ  string // what docker cp copies: that directory's contents
	PathQ    string // where in the checkout
	MetaKeyQ string // meta-data naming the image the files came from
}

// Output renders output.sh.tmpl.
func Output(d OutputData) (string, error) { return render("output.sh.tmpl", d) }

// ManifestData is what manifest-<image> runs with.
type ManifestData struct {
	Login       string
	MetaKeysQ   []string // the meta-data keys the per-platform digests are under
	ExtraTagsQ  []string
	RefQ        string
	MetaKeyQ    string // the key the merged digest is published under
	RepoQ       string
	TrustedRefQ string // as BuildData's
	// Annotations are --annotation flags for the merged index.
	Annotations []string
	Cosign      *Cosign // as BuildData's
	// Merge: every per-platform step publishes its digest, built or found
	// (a rebuild, or max_age, where one platform may be rebuilt while the
	// content tag is there), so the platforms are always merged.
	Merge bool
}

// Manifest renders manifest.sh.tmpl.
func Manifest(d ManifestData) (string, error) { return render("manifest.sh.tmpl", d) }

// ScanData is what every pulling scanner's step shares (scan-common.sh.tmpl).
type ScanData struct {
	Login    string
	Runner   Tool
	RefQ     string
	Reports  []ScanReport // one per platform scanned
	Image    string       // the image's name, for people
	Counts   string       // what counts, for people: "HIGH, CRITICAL"
	ContextQ string       // the annotation's context
	Annotate bool         // post what counts as an annotation
	Fail     bool         // something that counts fails the step
}

// Tool is how a step runs a tool the agent may not have (a scanner,
// cosign): the binary on the agent's PATH, else its image.
type Tool struct {
	Binary string   // the command's name, a plain word
	Var    string   // the shell array the command is put in
	ImageQ string   // the image, pinned
	Env    []string // variables passed to the image, by name
	Cache  bool     // mount the step's $cache directory too
}

// ScanReport is the scan of one platform and the files it writes.
type ScanReport struct {
	NameQ                 string // the image and platform, for people and file names
	PlatformQ             string // "" for an image built without platforms
	JSONQ, SARIFQ, TableQ string
	Limit                 int // bytes of the table an annotation quotes
}

// TrivyData is what scan-<image> runs with when trivy scans.
type TrivyData struct {
	Scan          ScanData
	SeverityQ     string   // comma-separated severities
	DBArgs        []string // where the databases come from, ready words
	IgnoreUnfixed bool
}

// Trivy renders scan-trivy.sh.tmpl.
func Trivy(d TrivyData) (string, error) { return render("scan-trivy.sh.tmpl", d) }

// GrypeData is what scan-<image> runs with when grype scans.
type GrypeData struct {
	Scan          ScanData
	FailOnQ       string // the severity grype exits 2 at
	DBURLQ        string // where grype lists its databases; "" for its own
	IgnoreUnfixed bool
}

// Grype renders scan-grype.sh.tmpl.
func Grype(d GrypeData) (string, error) { return render("scan-grype.sh.tmpl", d) }

// ECRScanData is what scan-<image> runs with when ECR's scanner scans.
type ECRScanData struct {
	Scan        ScanData // its Runner unused: ECR scans in place
	RegionQ     string
	RepositoryQ string
	TagQ        string // the content tag
	ByPlatform  bool   // the tag is an index of Scan.Reports' platforms
	CountQueryQ string // a JMESPath query summing the findings at the chosen severities
	RoleARNQ    string // the role to assume for the aws commands; "" for the agent's own credentials
	OIDC        bool   // assume it with the job's Buildkite OIDC token
}

// ECRScan renders scan-ecr.sh.tmpl.
func ECRScan(d ECRScanData) (string, error) { return render("scan-ecr.sh.tmpl", d) }

// ConsumerData is what <image>-<consumer> runs with: the command either
// verbatim in a quoted heredoc (Command and Delimiter) or as one quoted
// word (CommandQ). Names and patterns are plain words the template writes
// as they are (the spec allows nothing else in them).
type ConsumerData struct {
	Login         string
	RefQ          string
	StepEnv       []string // the step's own env names: always passed
	BuildkiteEnv  []string // what Buildkite tells a job about itself, passed unless denied
	Propagate     bool     // pass every name in $BUILDKITE_ENV_FILE too
	PassQ         string   // a case pattern of more names from the job's environment; "" for none
	DenyQ         []string // case patterns never passed
	AWS, GCP      bool     // pass the job's cloud credentials
	SSHAgent      bool
	EntrypointQ   string
	ShellArgsQ    []string // the shell's words after its program, before the command
	MountCheckout bool
	WorkdirQ      string   // "" keeps the image's
	AgentUser     bool     // run as the job's uid:gid
	OptionsQ      []string // more docker run options, each one ready word
	Command       string
	Delimiter     string // a heredoc delimiter no line of Command equals
	CommandQ      string
}

// Consumer renders consumer.sh.tmpl.
func Consumer(d ConsumerData) (string, error) { return render("consumer.sh.tmpl", d) }

// BuildkiteOIDCLoginData is a login to Buildkite Packages with an OIDC token.
type BuildkiteOIDCLoginData struct {
	AudienceQ string
	ServerQ   string
	Lifetime  int // seconds
}

// BuildkiteOIDCLogin renders login-buildkite-oidc.sh.tmpl.
func BuildkiteOIDCLogin(d BuildkiteOIDCLoginData) (string, error) {
	return render("login-buildkite-oidc.sh.tmpl", d)
}

// BuildkiteTokenLoginData is a login to Buildkite Packages with a token
// from the environment.
type BuildkiteTokenLoginData struct {
	TokenEnv  string // the variable's name, for the message when it is unset
	TokenEnvQ string
	ServerQ   string
}

// BuildkiteTokenLogin renders login-buildkite-token.sh.tmpl.
func BuildkiteTokenLogin(d BuildkiteTokenLoginData) (string, error) {
	return render("login-buildkite-token.sh.tmpl", d)
}

// GARLoginData is docker's login to Google Artifact Registry: with the
// job's OIDC token exchanged for a service account's access token through
// workload identity federation, else gcloud's or the metadata server's.
type GARLoginData struct {
	HostQ           string
	AudienceQ       string // the workload identity provider; "" for none
	ServiceAccountQ string // the service account it impersonates
}

// GARLogin renders login-gar.sh.tmpl.
func GARLogin(d GARLoginData) (string, error) { return render("login-gar.sh.tmpl", d) }
