package generator

import (
	"slices"
	"strings"

	"github.com/bkgen/bkgen/internal/pipetext"
	"github.com/bkgen/bkgen/spec"
	"github.com/bkgen/bkgen/templates"
)

// cosign is how an image's build or manifest step signs and verifies
// (reusesTrusted: it may copy what a trusted build pushed), or nil when it
// has nothing to sign or verify. A trusted build signs every digest it pushes and
// verifies an image's signature before it reuses it. An untrusted build
// signs nothing (its pull request's author should not hold the key) and
// verifies what a trusted build pushed before it copies it (reuses
// trusted); with a registry of its own it reuses nothing, so needs cosign
// not at all.
func (g *gen) cosign(reusesTrusted bool) *templates.Cosign {
	s := g.in.Spec.Signing
	if s == nil || !g.trust.Trusted && !reusesTrusted {
		return nil
	}
	c := &templates.Cosign{
		Runner: templates.Tool{Binary: "cosign", Var: "cosign", ImageQ: quote(s.Image), Env: cosignEnv(s)},
		Sign:   g.trust.Trusted, Keyless: s.Keyless != nil,
		SignArgs: []string{"--yes"},
	}
	if s.Keyless != nil {
		c.Policy = "keyless: a certificate for the signing job's Buildkite OIDC token, identity matching " + pipetext.Display(s.Keyless.Identity)
		c.VerifyArgs = []string{quote("--certificate-identity-regexp=" + s.Keyless.Identity), quote("--certificate-oidc-issuer=" + spec.BuildkiteOIDCIssuer)}
		return c
	}
	c.Policy = "signed with " + pipetext.Display(s.Key) + ", verified with " + pipetext.Display(s.VerifyKey())
	c.SignArgs = append(c.SignArgs, quote("--key="+s.Key))
	c.VerifyArgs = []string{quote("--key=" + s.VerifyKey())}
	if !s.TransparencyLog {
		c.Policy += ", no transparency log"
		c.SignArgs = append(c.SignArgs, "--tlog-upload=false")
		c.VerifyArgs = append(c.VerifyArgs, "--insecure-ignore-tlog=true")
	}
	return c
}

// kmsEnv are the variables each key management service's client reads
// for its credentials and address.
var kmsEnv = []struct {
	scheme string
	names  []string
}{
	{"awskms://", []string{"AWS_ACCESS_KEY_ID", "AWS_SECRET_ACCESS_KEY", "AWS_SESSION_TOKEN", "AWS_REGION", "AWS_DEFAULT_REGION"}},
	{"azurekms://", []string{"AZURE_TENANT_ID", "AZURE_CLIENT_ID", "AZURE_CLIENT_SECRET"}},
	{"hashivault://", []string{"VAULT_ADDR", "VAULT_TOKEN"}},
}

// cosignEnv are the variables cosign's image is given, by name: the
// key's, its password, a KMS's credentials.
func cosignEnv(s *spec.Signing) []string {
	var env []string
	add := func(names ...string) {
		for _, n := range names {
			if !slices.Contains(env, n) {
				env = append(env, n)
			}
		}
	}
	for _, ref := range []string{s.Key, s.PublicKey} {
		if name := spec.KeyEnv(ref); name != "" {
			add(name)
		}
		for _, k := range kmsEnv {
			if strings.HasPrefix(ref, k.scheme) {
				add(k.names...)
			}
		}
	}
	if s.Key != "" && !spec.KMS(s.Key) {
		add("COSIGN_PASSWORD")
	}
	return env
}
