package scanner_test

import (
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"

	"github.com/bkgen/bkgen/internal/fakebin"
	"github.com/bkgen/bkgen/provider"
	"github.com/bkgen/bkgen/scanner"
)

// fakeAWS plays the AWS CLI for ECR's scanner: start-image-scan is refused
// under enhanced scanning (as ECR does) and taken under basic; a scan's
// status goes PENDING, IN_PROGRESS, then COMPLETE (basic) or stays ACTIVE
// (enhanced, once it has scanned); the count is $COUNT.
const fakeAWS = `#!/bin/bash
echo "aws $*" >> "$LOG"
case "$*" in
*"ecr start-image-scan"*)
  if [[ $MODE == enhanced ]]; then echo "An error occurred (ValidationException): enhanced scanning" >&2; exit 254; fi ;;
*"ecr describe-images"*) echo sha256:single ;;
*"--query imageScanStatus.status"*)
  digest=${*##*imageDigest=}; digest=${digest%% *}
  n=$(cat "$STATE.$digest" 2>/dev/null || echo 0); echo $((n + 1)) > "$STATE.$digest"
  statuses=(PENDING IN_PROGRESS COMPLETE)
  [[ $MODE == enhanced ]] && statuses=(PENDING ACTIVE)
  ((n < ${#statuses[@]})) || n=$((${#statuses[@]} - 1))
  echo "${statuses[$n]}" ;;
*"--query imageScanFindings.findingSeverityCounts"*) echo "| CRITICAL | $COUNT |" ;;
*"--query max("*) echo "$COUNT" ;;
*"sts assume-role "*) printf 'AKIAROLE\tsecret\ttoken\n' ;;
*) echo "unexpected: aws $*" >&2; exit 2 ;;
esac
`

// TestECRScanRuns runs ECR's scan step with bash against stand-ins for the
// AWS CLI, docker and buildkite-agent: it waits for each platform's
// manifest to be scanned under basic scanning (COMPLETE) and enhanced
// (ACTIVE, start-image-scan refused), annotates and fails on findings, and
// assumes the registry's role for its own aws calls.
func TestECRScanRuns(t *testing.T) {
	if _, err := exec.LookPath("bash"); err != nil {
		t.Skip("no bash")
	}
	for _, tc := range []struct {
		name, mode, count, auth string
		platforms               []string
		fail                    bool
		wantExit                int
		wantDigests             []string
	}{
		{"basic, one platform, nothing found", "basic", "0", "instance", nil, true, 0, []string{"sha256:single"}},
		{"enhanced, two platforms, found, failing", "enhanced", "3", "oidc", []string{"linux/amd64", "linux/arm64"}, true, 1, []string{"sha256:aaa", "sha256:bbb"}},
		{"basic, found, reporting", "basic", "2", "instance", []string{"linux/arm64"}, false, 0, []string{"sha256:bbb"}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			dir := t.TempDir()
			bin := filepath.Join(dir, "bin")
			os.Mkdir(bin, 0o755)
			log := filepath.Join(dir, "log")
			fakebin.Write(t, filepath.Join(bin, "aws"), fakeAWS)
			fakebin.Write(t, filepath.Join(bin, "sleep"), "#!/bin/sh\n")
			fakebin.Write(t, filepath.Join(bin, "docker"), "#!/bin/sh\necho \"docker $*\" >> \"$LOG\"\nprintf 'linux/amd64 sha256:aaa\\nlinux/arm64 sha256:bbb\\nunknown/unknown sha256:attestation\\n'\n")
			fakebin.Write(t, filepath.Join(bin, "buildkite-agent"), "#!/bin/sh\necho \"buildkite-agent $*\" >> \"$LOG\"\ncase \"$1\" in annotate) cat > \"$LOG.annotation\" ;; oidc) echo oidc-token ;; esac\n")

			cfg := provider.NewConfig("aws")
			cfg.Set("region", "us-east-1")
			cfg.Set("assume_role", "arn:aws:iam::123456789012:role/ci")
			cfg.Set("auth", tc.auth)
			s := &scanner.Settings{Tool: scanner.ECR{}, Severity: []string{"HIGH", "CRITICAL"}, Fail: tc.fail, Annotate: true}
			step, err := scanner.ECR{}.Step(s, scanner.Target{Image: "api", Repository: "platform/api",
				RefQ: "123456789012.dkr.ecr.us-east-1.amazonaws.com/platform/api:bk-1", Tag: "bk-1", Platforms: tc.platforms, Registry: cfg})
			if err != nil {
				t.Fatal(err)
			}
			cmd := exec.Command("bash", "-c", step.Command)
			cmd.Dir = dir
			cmd.Env = append(os.Environ(), "PATH="+bin+string(os.PathListSeparator)+os.Getenv("PATH"),
				"LOG="+log, "STATE="+filepath.Join(dir, "state"), "MODE="+tc.mode, "COUNT="+tc.count)
			out, err := cmd.CombinedOutput()
			exit := 0
			if e, ok := err.(*exec.ExitError); ok {
				exit = e.ExitCode()
			} else if err != nil {
				t.Fatal(err)
			}
			calls, _ := os.ReadFile(log)
			if exit != tc.wantExit {
				t.Fatalf("exit %d, want %d\n%s\n%s", exit, tc.wantExit, out, calls)
			}
			for _, d := range tc.wantDigests {
				final := "COMPLETE"
				if tc.mode == "enhanced" {
					final = "ACTIVE"
				}
				if n := strings.Count(string(calls), "--query imageScanStatus.status"); n < 2 {
					t.Errorf("asked the status %d times: it did not wait", n)
				}
				if !strings.Contains(string(calls), "imageDigest="+d+" --no-paginate --max-results 1 --query imageScanFindings.findingSeverityCounts") {
					t.Errorf("%s was not counted after %s:\n%s", d, final, calls)
				}
			}
			if strings.Contains(string(calls), "sha256:attestation") {
				t.Errorf("scanned an attestation manifest:\n%s", calls)
			}
			annotation, _ := os.ReadFile(log + ".annotation")
			if found := tc.count != "0"; found != (len(annotation) > 0) {
				t.Errorf("findings %s, annotation:\n%s", tc.count, annotation)
			} else if found {
				for _, p := range tc.platforms {
					if !strings.Contains(string(annotation), "<summary>api-"+strings.ReplaceAll(p, "/", "-")+"</summary>") {
						t.Errorf("the annotation lacks %s:\n%s", p, annotation)
					}
				}
			}
			// Its own aws calls run as the registry's role.
			if tc.auth == "oidc" {
				if !strings.Contains(string(calls), "buildkite-agent oidc request-token --audience sts.amazonaws.com") || strings.Contains(string(calls), "sts assume-role ") {
					t.Errorf("the role was not assumed through OIDC:\n%s", calls)
				}
			} else if !strings.Contains(string(calls), "aws sts assume-role --role-arn arn:aws:iam::123456789012:role/ci") {
				t.Errorf("the role was not assumed:\n%s", calls)
			}
		})
	}
}
