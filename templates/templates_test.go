package templates

import (
	"io/fs"
	"os/exec"
	"reflect"
	"strings"
	"testing"
	"text/template/parse"
)

// rendering is one template rendered with one set of data.
type rendering struct {
	data   any
	render func() (string, error)
}

func with[D any](render func(D) (string, error), data D) rendering {
	return rendering{data: data, render: func() (string, error) { return render(data) }}
}

const (
	oidcLogin = `buildkite-agent oidc request-token --audience 'https://packages.buildkite.com/acme/images' --lifetime 300 \
  | docker login 'packages.buildkite.com/acme/images' --username buildkite --password-stdin`
	ref  = `'packages.buildkite.com/acme/images/app:bk-0123456789abcdef'`
	repo = `'packages.buildkite.com/acme/images/app'`
)

// cases renders every template, each branch of it taken at least once;
// wantLines are whole lines the script must have, noLines lines it must not.
var cases = []struct {
	file, name         string
	rendering          rendering
	wantLines, noLines []string
}{
	{"build.sh.tmpl", "builder, relogin, reuse", with(Build, BuildData{
		Builder:    &Builder{Why: "Exporting a cache", Name: "bkgen-buildkit-v1", ImageQ: "moby/buildkit:v1"},
		BaseLogins: []string{"gcloud auth configure-docker 'europe-docker.pkg.dev' --quiet"},
		Login:      oidcLogin, Relogin: true, Reuse: true,
		Args:       []string{"--file 'Dockerfile'", "--build-arg 'BASE_IMAGE=base:bk-1'", "--tag " + ref, "--progress=plain", "'services/app'"},
		CacheTo:    []string{"--cache-to 'type=registry,ref=r:c,mode=max'"},
		Push:       []string{"--push"},
		ExtraTagsQ: []string{"'packages.buildkite.com/acme/images/app:latest'"},
		RefQ:       ref, MetaKeyQ: "'bkgen:image:app'", RepoQ: repo,
	}), []string{
		"# Exporting a cache needs a builder other than dockerd's own (the docker driver, with",
		"    || docker buildx create --name bkgen-buildkit-v1 --driver docker-container --driver-opt image=moby/buildkit:v1 --bootstrap >/dev/null \\",
		`  builder=(--builder bkgen-buildkit-v1)`,
		`  "${builder[@]}"`,
		"  docker buildx imagetools create --prefer-index=false --tag 'packages.buildkite.com/acme/images/app:latest' " + ref,
		"  --build-arg 'BASE_IMAGE=base:bk-1'",
		`docker buildx build "${args[@]}" --output type=cacheonly`,
		"# Log in again right before pushing: the OIDC token lives 5 minutes.",
		`docker buildx build "${args[@]}" --push --metadata-file "$metadata"`,
		`docker buildx build "${args[@]}" --cache-to 'type=registry,ref=r:c,mode=max' --output type=cacheonly`,
		`buildkite-agent meta-data set 'bkgen:image:app' ` + repo + `"@$digest"`,
	}, nil},
	{"build.sh.tmpl", "one platform of several, plugin login", with(Build, BuildData{
		Args: []string{"--platform 'linux/arm64'", "'.'"},
		Push: []string{"--output 'type=image,name=r,push-by-digest=true,name-canonical=true,push=true'"},
		RefQ: ref, MetaKeyQ: "'bkgen:image:app:arm64'", RepoQ: repo,
	}), []string{
		`docker buildx build "${args[@]}" --output 'type=image,name=r,push-by-digest=true,name-canonical=true,push=true' --metadata-file "$metadata"`,
	}, []string{
		"# Log in again right before pushing: the OIDC token lives 5 minutes.",
		"  buildkite-agent meta-data set 'bkgen:image:app:arm64' " + repo + `"@$digest"`,
		"elif too_old " + ref + "; then",
	}},
	{"build.sh.tmpl", "max_age, one platform of several", with(Build, BuildData{
		Args: []string{"--platform 'linux/arm64'", "'.'"},
		Push: []string{"--output 'type=image,name=r,push-by-digest=true,name-canonical=true,push=true'"},
		RefQ: ref, MetaKeyQ: "'bkgen:image:app:arm64'", RepoQ: repo,
		Renewable: true, MaxAgeDays: 7, CreatedFormatQ: "'{{.Image.Created.Unix}}'", PlatformDigestFormatQ: "'{{.Digest}}'", PlatformQ: "'linux/arm64'",
		RenewedKeysQ: []string{"'bkgen:renewed:base'"}, RenewedKeyQ: "'bkgen:renewed:app'", RenewedQ: "'app was rebuilt'",
	}), []string{
		"  local key keys=('bkgen:renewed:base')",
		"elif base_renewed; then",
		"  buildkite-agent meta-data set 'bkgen:renewed:app' 'app was rebuilt'",
		`  if built=$(docker buildx imagetools inspect "$1" --format '{{.Image.Created.Unix}}'); then`,
		"  elif (( age > 7 * 86400 )); then",
		"elif too_old " + ref + "; then",
		`docker buildx build "${args[@]}" "${fresh[@]}" "${nocache[@]}" --output type=cacheonly`,
		`docker buildx build "${args[@]}" "${fresh[@]}" --output 'type=image,name=r,push-by-digest=true,name-canonical=true,push=true' --metadata-file "$metadata"`,
		"  digest=$(docker buildx imagetools inspect " + ref + " --format '{{.Digest}}')",
		"    echo \"bkgen: no image for\" 'linux/arm64' \"in\" " + ref + " >&2",
		"  buildkite-agent meta-data set 'bkgen:image:app:arm64' " + repo + `"@$digest"`,
	}, nil},
	{"build.sh.tmpl", "rebuild", with(Build, BuildData{
		Args: []string{"'.'"}, Push: []string{"--push"}, Reuse: true,
		RefQ: ref, MetaKeyQ: "'bkgen:image:app'", RepoQ: repo, FreshWhyQ: "'rebuild asked for (--rebuild app)'",
	}), []string{
		`echo "--- :arrows_counterclockwise: rebuilding" ` + ref + ` "from fresh bases:" 'rebuild asked for (--rebuild app)'`,
		"fresh=(--pull)",
		"nocache=(--no-cache)",
	}, []string{
		"  echo \"--- :recycle: already in the registry:\" " + ref,
	}},
	{"manifest.sh.tmpl", "", with(Manifest, ManifestData{
		Login: oidcLogin, MetaKeysQ: []string{"'bkgen:image:app:amd64'", "'bkgen:image:app:arm64'"},
		ExtraTagsQ: []string{"'app:v1'"}, RefQ: ref, MetaKeyQ: "'bkgen:image:app'", RepoQ: repo,
	}), []string{
		"  for key in 'bkgen:image:app:amd64' 'bkgen:image:app:arm64'; do",
	}, nil},
	{"manifest.sh.tmpl", "no login, no tags", with(Manifest, ManifestData{
		MetaKeysQ: []string{"'k'"}, RefQ: ref, MetaKeyQ: "'k'", RepoQ: repo,
	}), nil, nil},
	{"build.sh.tmpl", "untrusted, may reuse a trusted build's", with(Build, BuildData{
		Args: []string{"'.'"}, Push: []string{"--push"}, Reuse: true, ExtraTagsQ: []string{"'r:untrusted-latest'"},
		RefQ: "'r:untrusted-bk-1'", MetaKeyQ: "'bkgen:image:app'", RepoQ: "'r'", TrustedRefQ: "'r:bk-1'",
	}), []string{
		"  if docker buildx imagetools inspect 'r:bk-1' >/dev/null 2>&1; then",
		"    docker buildx imagetools create --prefer-index=false --tag 'r:untrusted-bk-1' --tag 'r:untrusted-latest' 'r:bk-1'",
		`    buildkite-agent meta-data set 'bkgen:image:app' 'r'"@$digest"`,
	}, nil},
	{"build.sh.tmpl", "untrusted, one platform of several, renewable", with(Build, BuildData{
		Args: []string{"'.'"}, Push: []string{"--push"}, RefQ: "'r:untrusted-bk-1'", MetaKeyQ: "'bkgen:image:app:arm64'", RepoQ: "'r'",
		TrustedRefQ: "'r:bk-1'", Renewable: true, PlatformDigestFormatQ: "'{{.Digest}}'", PlatformQ: "'linux/arm64'",
	}), []string{
		"    digest=$(docker buildx imagetools inspect 'r:bk-1' --format '{{.Digest}}')",
	}, []string{"    docker buildx imagetools create --prefer-index=false --tag 'r:untrusted-bk-1' 'r:bk-1'"}},
	{"build.sh.tmpl", "signs, verifies before reuse", with(Build, BuildData{
		Args: []string{"'.'"}, Push: []string{"--push"}, Reuse: true, RefQ: ref, MetaKeyQ: "'k'", RepoQ: repo, Renewable: true,
		Cosign: &Cosign{
			Runner: Tool{Binary: "cosign", Var: "cosign", ImageQ: "cosign:v2", Env: []string{"COSIGN_KEY", "COSIGN_PASSWORD"}},
			Policy: "key env://COSIGN_KEY", Sign: true,
			SignArgs: []string{"--yes", "--key=env://COSIGN_KEY"}, VerifyArgs: []string{"--key=cosign.pub"},
		},
	}), []string{
		"if command -v cosign >/dev/null; then",
		`  cosign=(docker run --rm --user "$(id -u):$(id -g)" --env HOME=/tmp --env DOCKER_CONFIG="$docker_config" --env COSIGN_KEY --env COSIGN_PASSWORD`,
		`  if out=$("${cosign[@]}" verify --key=cosign.pub "$1" 2>&1 >/dev/null); then`,
		`  "${cosign[@]}" sign --yes --key=env://COSIGN_KEY "$1"`,
		"elif ! signed " + ref + "; then",
		"sign " + repo + `"@$digest"`,
	}, []string{"  token=$(buildkite-agent oidc request-token --audience sigstore)"}},
	{"build.sh.tmpl", "untrusted: verifies a trusted build's, no older than max_age", with(Build, BuildData{
		Args: []string{"'.'"}, Push: []string{"--push"}, Reuse: true, RefQ: "'r:untrusted-bk-1'", MetaKeyQ: "'k'", RepoQ: "'r'",
		TrustedRefQ: "'r:bk-1'", Renewable: true, MaxAgeDays: 3, CreatedFormatQ: "'{{.Image.Created.Unix}}'",
		Cosign: &Cosign{
			Runner: Tool{Binary: "cosign", Var: "cosign", ImageQ: "cosign:v2"}, Policy: "keyless",
			VerifyArgs: []string{"--certificate-identity-regexp='^x$'", "--certificate-oidc-issuer=https://agent.buildkite.com"},
		},
	}), []string{
		"  if docker buildx imagetools inspect 'r:bk-1' >/dev/null 2>&1 && signed 'r:bk-1' && ! too_old 'r:bk-1'; then",
		`  if out=$("${cosign[@]}" verify --certificate-identity-regexp='^x$' --certificate-oidc-issuer=https://agent.buildkite.com "$1" 2>&1 >/dev/null); then`,
	}, []string{"elif ! signed 'r:untrusted-bk-1'; then", "sign 'r'\"@$digest\""}},
	{"manifest.sh.tmpl", "signs the merged index; untrusted copies only what verifies", with(Manifest, ManifestData{
		MetaKeysQ: []string{"'k'"}, RefQ: ref, MetaKeyQ: "'k'", RepoQ: repo, Merge: true,
		Cosign: &Cosign{
			Runner: Tool{Binary: "cosign", Var: "cosign", ImageQ: "cosign:v2"}, Policy: "keyless", Sign: true, Keyless: true,
			SignArgs: []string{"--yes"},
		},
	}), []string{
		"  token=$(buildkite-agent oidc request-token --audience sigstore)",
		`  "${cosign[@]}" sign --yes --identity-token="$token" "$1"`,
		"  sign " + repo + `"@$digest"`,
	}, nil},
	{"manifest.sh.tmpl", "untrusted, signed", with(Manifest, ManifestData{
		MetaKeysQ: []string{"'k'"}, RefQ: "'r:untrusted-bk-1'", MetaKeyQ: "'k'", RepoQ: "'r'", TrustedRefQ: "'r:bk-1'",
		Cosign: &Cosign{Runner: Tool{Binary: "cosign", Var: "cosign", ImageQ: "cosign:v2"}, VerifyArgs: []string{"--key=k"}},
	}), []string{"  if docker buildx imagetools inspect 'r:bk-1' >/dev/null 2>&1 && signed 'r:bk-1'; then"}, []string{"  sign 'r'\"@$digest\""}},
	{"build.sh.tmpl", "ECR repositories created", with(Build, BuildData{
		Args: []string{"'.'"}, Push: []string{"--push"}, RefQ: ref, MetaKeyQ: "'k'", RepoQ: repo,
		Ensure: "# The repositories this push needs, created when missing (create_repositories).",
	}), []string{"# The repositories this push needs, created when missing (create_repositories)."}, nil},
	{"ensure-ecr.sh.tmpl", "", with(EnsureECR, EnsureECRData{RegionQ: "us-east-1", RepositoriesQ: []string{"app", "app-cache"}}), []string{
		"for repo in app app-cache; do",
		`    aws ecr create-repository --region us-east-1 --repository-name "$repo" >/dev/null \`,
	}, nil},
	{"ensure-gar.sh.tmpl", "", with(EnsureGAR, EnsureGARData{ProjectQ: "my-project", LocationQ: "us", RepositoryQ: "docker"}), []string{
		"ar=https://artifactregistry.googleapis.com/v1/projects/my-project/locations/us/repositories",
		`status=$(printf 'Authorization: Bearer %s\n' "$ar_token" | curl -sS -o /dev/null -w '%{http_code}' -H @- "$ar/"docker)`,
		`      --data '{"format": "DOCKER"}' "$ar?repositoryId="docker)`,
	}, nil},
	{"output.sh.tmpl", "", with(Output, OutputData{
		Login: oidcLogin, RefQ: ref, FromQ: "/app/dist", SourceQ: "/app/dist/.", PathQ: "dist", MetaKeyQ: "bkgen:output:app:builder",
	}), []string{
		"docker cp \"$cid\":/app/dist/. dist",
		"buildkite-agent meta-data set bkgen:output:app:builder " + ref,
	}, nil},
	{"manifest.sh.tmpl", "untrusted", with(Manifest, ManifestData{
		MetaKeysQ: []string{"'k'"}, RefQ: "'r:untrusted-bk-1'", MetaKeyQ: "'k'", RepoQ: "'r'", TrustedRefQ: "'r:bk-1'",
	}), []string{"    docker buildx imagetools create --tag 'r:untrusted-bk-1' 'r:bk-1'"}, nil},
	{"manifest.sh.tmpl", "merge whatever the platforms publish", with(Manifest, ManifestData{
		MetaKeysQ: []string{"'k'"}, RefQ: ref, MetaKeyQ: "'k'", RepoQ: repo, Merge: true,
		Annotations: []string{`--annotation "index:org.opencontainers.image.revision=${BUILDKITE_COMMIT}"`},
	}), []string{"merge=true", `  docker buildx imagetools create --annotation "index:org.opencontainers.image.revision=${BUILDKITE_COMMIT}" --tag ` + ref + ` "${sources[@]}"`}, []string{"merge=false"}},
	{"scan-trivy.sh.tmpl", "two platforms", with(Trivy, TrivyData{
		Scan:      scanData(true, true, report("app-linux-amd64", "linux/amd64"), report("app-linux-arm64", "linux/arm64")),
		SeverityQ: "'HIGH,CRITICAL'", DBArgs: []string{"--db-repository", "mirror.example/trivy-db:2"}, IgnoreUnfixed: true,
	}), []string{
		`"${scanner[@]}" image --skip-version-check --image-src remote --cache-dir "$cache" --db-repository mirror.example/trivy-db:2 --scanners vuln --severity 'HIGH,CRITICAL' --ignore-unfixed --platform linux/arm64 --format json --output bkgen-scan/app-linux-arm64.json ` + ref,
		"  3) report app-linux-amd64 bkgen-scan/app-linux-amd64.txt 450000 ;;",
		"  } | buildkite-agent annotate --style error --context bkgen-scan-app",
		"  exit 1",
		"  scanner=(trivy)",
		"    aquasec/trivy:0.74.0)",
	}, nil},
	{"scan-trivy.sh.tmpl", "no fail, no annotation", with(Trivy, TrivyData{
		Scan: scanData(false, false, report("app", "")), SeverityQ: "'HIGH'",
	}), []string{`"${scanner[@]}" image --skip-version-check --image-src remote --cache-dir "$cache" --scanners vuln --severity 'HIGH' --format json --output bkgen-scan/app.json ` + ref}, []string{
		"  exit 1", "  } | buildkite-agent annotate --style warning --context bkgen-scan-app", "annotation=$(mktemp)",
	}},
	{"scan-grype.sh.tmpl", "", with(Grype, GrypeData{
		Scan: scanData(true, false, report("app", "")), FailOnQ: "'high'", DBURLQ: "https://mirror.example/databases", IgnoreUnfixed: true,
	}), []string{
		`"${scanner[@]}" registry:` + ref + " --fail-on 'high' --only-fixed --output table=bkgen-scan/app.txt --output sarif=bkgen-scan/app.sarif --output json=bkgen-scan/app.json || status=$?",
		"export GRYPE_DB_CACHE_DIR=$cache GRYPE_CHECK_FOR_APP_UPDATE=false",
		"export GRYPE_DB_UPDATE_URL=https://mirror.example/databases",
		"  } | buildkite-agent annotate --style warning --context bkgen-scan-app",
	}, []string{"  exit 1"}},
	{"scan-ecr.sh.tmpl", "by tag", with(ECRScan, ECRScanData{
		Scan:    scanData(true, true, report("app", "")),
		RegionQ: "'eu-west-1'", RepositoryQ: "'app'", TagQ: "'bk-0123456789abcdef'",
		CountQueryQ: "'sum([imageScanFindings.findingSeverityCounts.HIGH || `0`])'",
		RoleARNQ:    "arn:aws:iam::123456789012:role/ci", OIDC: true,
	}), []string{
		"export AWS_ROLE_ARN=arn:aws:iam::123456789012:role/ci AWS_ROLE_SESSION_NAME=bkgen-scan AWS_WEB_IDENTITY_TOKEN_FILE",
		`scan app "$(aws ecr describe-images --region 'eu-west-1' --repository-name 'app' --image-ids imageTag='bk-0123456789abcdef' --query 'imageDetails[0].imageDigest' --output text)" 900000`,
		"      COMPLETE | ACTIVE) break ;;",
	}, nil},
	{"scan-ecr.sh.tmpl", "by platform", with(ECRScan, ECRScanData{
		Scan:    scanData(false, false, report("app-linux-amd64", "linux/amd64"), report("app-linux-arm64", "linux/arm64")),
		RegionQ: "'eu-west-1'", RepositoryQ: "'app'", TagQ: "'bk-0123456789abcdef'", ByPlatform: true,
		CountQueryQ: "'sum([imageScanFindings.findingSeverityCounts.HIGH || `0`])'",
		RoleARNQ:    "arn:aws:iam::123456789012:role/ci",
	}), []string{
		"export AWS_ACCESS_KEY_ID AWS_SECRET_ACCESS_KEY AWS_SESSION_TOKEN",
		"manifests=$(docker buildx imagetools inspect " + ref + ` --format '{{range .Manifest.Manifests}}{{with .Platform}}{{.OS}}/{{.Architecture}}{{with .Variant}}/{{.}}{{end}}{{end}} {{.Digest}}{{"\n"}}{{end}}')`,
		`scan app-linux-arm64 "$(awk -v p=linux/arm64 '$1 == p {print $2; exit}' <<<"$manifests")" 450000`,
	}, []string{"  exit 1"}},
	{"consumer.sh.tmpl", "heredoc", with(Consumer, ConsumerData{
		Login: oidcLogin, RefQ: ref, StepEnv: []string{"FORCE_COLOR"}, BuildkiteEnv: []string{"BUILDKITE", "CI"},
		Propagate: true, PassQ: "NPM_TOKEN | SENTRY_*", DenyQ: []string{"BUILDKITE_AGENT_ACCESS_TOKEN"},
		AWS: true, GCP: true, SSHAgent: true, EntrypointQ: "/bin/bash", ShellArgsQ: []string{"-eo", "pipefail", "-c"},
		MountCheckout: true, WorkdirQ: "/src", AgentUser: true, OptionsQ: []string{"--network=host", "--tmpfs=/tmp"},
		Command: "make test\necho \"$HOME\"", Delimiter: "BKGEN_COMMAND",
	}), []string{
		"BKGEN_COMMAND", "make test", "  --entrypoint /bin/bash \\", `  --volume "$PWD:"/src \`, "  --workdir /src \\",
		`  --user "$(id -u):$(id -g)" \`, "  --network=host \\", "  NPM_TOKEN | SENTRY_*) bkgen_allow \"$bkgen_name\" ;;",
		"  PATH | HOME | PWD | OLDPWD | SHLVL | HOSTNAME | USER | SHELL | TERM | TMPDIR | DOCKER_CONFIG | DOCKER_HOST | BUILDKITE_ENV_FILE | BUILDKITE_AGENT_ACCESS_TOKEN) return 0 ;;",
		"bkgen_pass FORCE_COLOR", "bkgen_allow BUILDKITE CI",
		"  " + ref + ` -eo pipefail -c "$(cat <<'BKGEN_COMMAND'`,
	}, nil},
	{"consumer.sh.tmpl", "one quoted word", with(Consumer, ConsumerData{
		RefQ: ref, CommandQ: `$'echo \\$HOME'`, EntrypointQ: "/bin/sh", ShellArgsQ: []string{"-e", "-c"},
	}), []string{"  " + ref + ` -e -c $'echo \\$HOME' &`}, nil},
	{"login-buildkite-oidc.sh.tmpl", "", with(BuildkiteOIDCLogin, BuildkiteOIDCLoginData{
		AudienceQ: "'https://packages.buildkite.com/acme/images'", ServerQ: "'packages.buildkite.com/acme/images'", Lifetime: 300,
	}), strings.Split(oidcLogin, "\n"), nil},
	{"login-buildkite-token.sh.tmpl", "", with(BuildkiteTokenLogin, BuildkiteTokenLoginData{
		TokenEnv: "PACKAGES_TOKEN", TokenEnvQ: "'PACKAGES_TOKEN'", ServerQ: "'packages.buildkite.com/acme/images'",
	}), nil, nil},
	{"login-gar.sh.tmpl", "gcloud or metadata", with(GARLogin, GARLoginData{HostQ: "'europe-docker.pkg.dev'"}),
		[]string{"  gcloud auth configure-docker 'europe-docker.pkg.dev' --quiet"}, nil},
	{"login-gar.sh.tmpl", "workload identity", with(GARLogin, GARLoginData{
		HostQ: "'europe-docker.pkg.dev'", AudienceQ: "//iam.googleapis.com/projects/1/locations/global/workloadIdentityPools/ci/providers/bk",
		ServiceAccountQ: "ci@p.iam.gserviceaccount.com",
	}), []string{
		`printf '%s' "$gar_token" | docker login 'europe-docker.pkg.dev' --username oauth2accesstoken --password-stdin`,
		"      https://iamcredentials.googleapis.com/v1/projects/-/serviceAccounts/ci@p.iam.gserviceaccount.com:generateAccessToken \\",
	}, []string{"  gcloud auth configure-docker 'europe-docker.pkg.dev' --quiet"}},
}

// TestTemplates renders every template file with its typed data and checks
// the script is bash, has the lines it should, and that the data has no
// field its template ignores.
func TestTemplates(t *testing.T) {
	if _, err := exec.LookPath("bash"); err != nil {
		t.Skip("no bash to check the scripts with")
	}
	rendered := map[string]bool{}
	for _, tc := range cases {
		rendered[tc.file] = true
		name := strings.TrimSuffix(tc.file, ".sh.tmpl")
		if tc.name != "" {
			name += "/" + tc.name
		}
		t.Run(name, func(t *testing.T) {
			script, err := tc.rendering.render()
			if err != nil {
				t.Fatal(err)
			}
			if out, err := exec.Command("bash", "-n", "-c", script).CombinedOutput(); err != nil {
				t.Errorf("bash -n: %v\n%s\n%s", err, out, script)
			}
			lines := map[string]bool{}
			for _, l := range strings.Split(script, "\n") {
				lines[l] = true
			}
			for _, l := range tc.wantLines {
				if !lines[l] {
					t.Errorf("no line %q in:\n%s", l, script)
				}
			}
			for _, l := range tc.noLines {
				if lines[l] {
					t.Errorf("line %q should not be in:\n%s", l, script)
				}
			}
			used := map[string]bool{}
			fieldsUsed(set.Lookup(tc.file).Tree.Root, used)
			data := reflect.TypeOf(tc.rendering.data)
			for i := range data.NumField() {
				if f := data.Field(i).Name; !used[f] {
					t.Errorf("%s has field %s, which %s never uses", data.Name(), f, tc.file)
				}
			}
		})
	}
	names, err := fs.Glob(files, "*.sh.tmpl")
	if err != nil {
		t.Fatal(err)
	}
	for _, name := range names {
		if !rendered[name] && !onlyDefines(set.Lookup(name).Tree.Root) {
			t.Errorf("%s has no case here: give it a data type and a renderer, and render it in this test", name)
		}
	}
}

// fieldsUsed adds the name of every field a template node refers to.
func fieldsUsed(n parse.Node, used map[string]bool) {
	switch n := n.(type) {
	case *parse.ListNode:
		if n != nil {
			for _, c := range n.Nodes {
				fieldsUsed(c, used)
			}
		}
	case *parse.ActionNode:
		fieldsUsed(n.Pipe, used)
	case *parse.IfNode:
		fieldsUsedBranch(&n.BranchNode, used)
	case *parse.RangeNode:
		fieldsUsedBranch(&n.BranchNode, used)
	case *parse.WithNode:
		fieldsUsedBranch(&n.BranchNode, used)
	case *parse.PipeNode:
		if n != nil {
			for _, c := range n.Cmds {
				for _, a := range c.Args {
					fieldsUsed(a, used)
				}
			}
		}
	case *parse.TemplateNode:
		fieldsUsed(n.Pipe, used)
	case *parse.FieldNode:
		for _, f := range n.Ident {
			used[f] = true
		}
	case *parse.VariableNode: // $.Field
		for _, f := range n.Ident[1:] {
			used[f] = true
		}
	}
}

// onlyDefines says a file renders nothing of its own: it defines templates
// the others use, and their cases render them.
func onlyDefines(root *parse.ListNode) bool {
	for _, n := range root.Nodes {
		if _, ok := n.(*parse.CommentNode); ok {
			continue
		}
		if t, ok := n.(*parse.TextNode); ok && strings.TrimSpace(string(t.Text)) == "" {
			continue
		}
		return false
	}
	return true
}

func fieldsUsedBranch(b *parse.BranchNode, used map[string]bool) {
	fieldsUsed(b.Pipe, used)
	fieldsUsed(b.List, used)
	fieldsUsed(b.ElseList, used)
}

func scanData(annotate, fail bool, reports ...ScanReport) ScanData {
	return ScanData{
		Login: oidcLogin, Runner: Tool{Binary: "trivy", Var: "scanner", ImageQ: "aquasec/trivy:0.74.0", Cache: true}, RefQ: ref, Reports: reports,
		Image: "app", Counts: "HIGH, CRITICAL", ContextQ: "bkgen-scan-app", Annotate: annotate, Fail: fail,
	}
}

func report(name, platform string) ScanReport {
	base := "bkgen-scan/" + name
	limit := 900000
	if platform != "" {
		limit /= 2
	}
	return ScanReport{NameQ: name, PlatformQ: platform, JSONQ: base + ".json", SARIFQ: base + ".sarif", TableQ: base + ".txt", Limit: limit}
}
