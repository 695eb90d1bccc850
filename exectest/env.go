package exectest

import (
	"bufio"
	"context"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
)

// EnvFile is where scripts/exec-env/setup.sh says what it brought up.
const EnvFile = "/run/bkgen-exec/env.sh"

// Env is the execution environment setup.sh brought up (its BKGEN_EXEC_*
// variables).
type Env struct {
	Docker            string // the docker CLI
	PackagesHost      string // stands in for packages.buildkite.com
	HostedHost        string // the hosted agents' registry
	HostedRegistryURL string // BUILDKITE_HOSTED_REGISTRY_URL
	RegistryUser      string
	RegistryPassword  string
	BuildkitImage     string // for docker-container builders
	BuildkitdTOML     string // trusts the registries' CA
	BaseImage         string // busybox + bash, amd64 and arm64, in the packages registry
	BasePlatforms     []string
	TrivyDir          string // holds the trivy binary (scanner.TrivyImage runs the same one)
	GrypeDir          string // holds the grype binary (scanner.GrypeImage runs the same one)
	ScanCache         string // a scan cache directory holding both databases (trivy/db, grype/6)
	TrivyDBRepo       string // the same database as an OCI artifact, a --db-repository
	CACert            string // the registries' CA certificate
	CosignDir         string // holds the cosign binary (spec.DefaultCosignImage runs the same one)
	CosignKey         string // the signing key the scenarios sign with, encrypted with CosignPassword
	CosignPub         string // its public key
	CosignPassword    string
	// cosignKey and cosignPub are the keys themselves, as an agent's
	// secrets give them (env://NAME).
	cosignKey, cosignPub string
}

// ReadEnv reads setup.sh's env file: `export NAME=VALUE` lines.
func ReadEnv(path string) (*Env, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, err
	}
	defer f.Close()
	vars := map[string]string{}
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		line := strings.TrimSpace(sc.Text())
		line, ok := strings.CutPrefix(line, "export ")
		if !ok {
			continue
		}
		k, v, ok := strings.Cut(line, "=")
		if !ok {
			continue
		}
		if len(v) >= 2 && (v[0] == '"' && v[len(v)-1] == '"' || v[0] == '\'' && v[len(v)-1] == '\'') {
			v = v[1 : len(v)-1]
		}
		vars[k] = v
	}
	if err := sc.Err(); err != nil {
		return nil, err
	}
	e := &Env{
		Docker:            vars["BKGEN_EXEC_DOCKER"],
		PackagesHost:      vars["BKGEN_EXEC_PACKAGES_HOST"],
		HostedHost:        vars["BKGEN_EXEC_HOSTED_HOST"],
		HostedRegistryURL: vars["BUILDKITE_HOSTED_REGISTRY_URL"],
		RegistryUser:      vars["BKGEN_EXEC_REGISTRY_USER"],
		RegistryPassword:  vars["BKGEN_EXEC_REGISTRY_PASSWORD"],
		BuildkitImage:     vars["BKGEN_EXEC_BUILDKIT_IMAGE"],
		BuildkitdTOML:     vars["BKGEN_EXEC_BUILDKITD_TOML"],
		BaseImage:         vars["BKGEN_EXEC_BASE_IMAGE"],
		TrivyDir:          vars["BKGEN_EXEC_TRIVY_DIR"],
		GrypeDir:          vars["BKGEN_EXEC_GRYPE_DIR"],
		ScanCache:         vars["BKGEN_EXEC_SCAN_CACHE"],
		TrivyDBRepo:       vars["BKGEN_EXEC_TRIVY_DB_REPO"],
		CACert:            vars["BKGEN_EXEC_CA_CERT"],
		CosignDir:         vars["BKGEN_EXEC_COSIGN_DIR"],
		CosignKey:         vars["BKGEN_EXEC_COSIGN_KEY"],
		CosignPub:         vars["BKGEN_EXEC_COSIGN_PUB"],
		CosignPassword:    vars["BKGEN_EXEC_COSIGN_PASSWORD"],
	}
	if p := vars["BKGEN_EXEC_BASE_PLATFORMS"]; p != "" {
		e.BasePlatforms = strings.Split(p, ",")
	}
	var missing []string
	for name, v := range map[string]string{
		"BKGEN_EXEC_DOCKER": e.Docker, "BKGEN_EXEC_PACKAGES_HOST": e.PackagesHost, "BKGEN_EXEC_HOSTED_HOST": e.HostedHost,
		"BKGEN_EXEC_REGISTRY_USER": e.RegistryUser, "BKGEN_EXEC_REGISTRY_PASSWORD": e.RegistryPassword,
		"BKGEN_EXEC_BUILDKIT_IMAGE": e.BuildkitImage, "BKGEN_EXEC_BASE_IMAGE": e.BaseImage,
		"BUILDKITE_HOSTED_REGISTRY_URL": e.HostedRegistryURL, "BKGEN_EXEC_TRIVY_DIR": e.TrivyDir,
		"BKGEN_EXEC_GRYPE_DIR": e.GrypeDir, "BKGEN_EXEC_SCAN_CACHE": e.ScanCache, "BKGEN_EXEC_TRIVY_DB_REPO": e.TrivyDBRepo,
		"BKGEN_EXEC_CA_CERT": e.CACert, "BKGEN_EXEC_COSIGN_DIR": e.CosignDir, "BKGEN_EXEC_COSIGN_KEY": e.CosignKey,
		"BKGEN_EXEC_COSIGN_PUB": e.CosignPub, "BKGEN_EXEC_COSIGN_PASSWORD": e.CosignPassword,
	} {
		if v == "" {
			missing = append(missing, name)
		}
	}
	if len(missing) > 0 {
		return nil, fmt.Errorf("%s does not set %s", path, strings.Join(missing, ", "))
	}
	for _, k := range []struct{ file, dst *string }{{&e.CosignKey, &e.cosignKey}, {&e.CosignPub, &e.cosignPub}} {
		b, err := os.ReadFile(*k.file)
		if err != nil {
			return nil, fmt.Errorf("the exec scenarios' signing keys: %w", err)
		}
		*k.dst = string(b)
	}
	return e, nil
}

// HostedBaseImage is the base image's copy in the hosted registry, for
// images that live there (hosted agents log in to that registry only).
func (e *Env) HostedBaseImage() string {
	_, rest, _ := strings.Cut(e.BaseImage, "/")
	return e.HostedHost + "/" + rest
}

// cosignVerify runs cosign verify on ref with the scenarios' public key,
// logged in with the docker config in dir; no transparency log (the
// scenarios sign without one: there is no Rekor here).
func (e *Env) cosignVerify(ctx context.Context, dockerConfig, ref string) error {
	cmd := exec.CommandContext(ctx, filepath.Join(e.CosignDir, "cosign"), "verify", "--key="+e.CosignPub, "--insecure-ignore-tlog=true", ref)
	cmd.Env = append(os.Environ(), "DOCKER_CONFIG="+dockerConfig)
	out, err := cmd.CombinedOutput()
	if err != nil {
		return fmt.Errorf("cosign verify: %v: %s", err, lastLine(string(out)))
	}
	return nil
}

func lastLine(s string) string {
	lines := strings.Split(strings.TrimSpace(s), "\n")
	return lines[len(lines)-1]
}
