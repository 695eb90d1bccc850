package exectest

import (
	"regexp"

	"github.com/bkgen/bkgen/internal/agentsim"
)

// What this machine cannot have: a step that needs one of these is not
// executable (and neither is any step after it), reported with the reason,
// never as a pass. Steps with plugins are not executable either (agentsim
// runs no plugins).
var unavailable = []struct {
	re  *regexp.Regexp
	why string
}{
	{regexp.MustCompile(`--(java-)?db-repository '?(mirror\.gcr\.io|ghcr\.io|public\.ecr\.aws|docker\.io)/`), "fetches trivy's database from a mirror on the internet"},
	{regexp.MustCompile(`\baws ecr\b`), "asks Amazon ECR (aws ecr), which needs AWS"},
	{regexp.MustCompile(`type=s3\b`), "uses an S3 build cache, which needs an S3 bucket"},
	{regexp.MustCompile(`(?m)^\s*gcloud\s`), "runs gcloud, which needs Google Cloud"},
	{regexp.MustCompile(`\b[0-9]{12}\.dkr\.ecr\.[a-z0-9-]+\.amazonaws\.com\b`), "uses Amazon ECR, which this machine does not serve"},
	{regexp.MustCompile(`\b[a-z0-9-]+-docker\.pkg\.dev\b`), "uses Google Artifact Registry, which this machine does not serve"},
}

// notExecutable says why a step cannot run on this machine, or "".
func notExecutable(s *agentsim.Step) string {
	for _, u := range unavailable {
		if u.re.MatchString(s.Command) || u.re.MatchString(s.Image) {
			return u.why
		}
	}
	return ""
}
