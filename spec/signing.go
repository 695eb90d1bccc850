package spec

import (
	"regexp"
	"strings"
	"unicode"

	"gopkg.in/yaml.v3"
)

// Signing is the spec's `signing` section: trusted builds sign every image
// they push with cosign, and a build verifies an image's signature before
// it reuses it.
type Signing struct {
	// Key is cosign's reference to the signing key: env://NAME (the key
	// in a variable the agent's hooks or secrets set, its password in
	// COSIGN_PASSWORD), a KMS key (awskms://, gcpkms://, azurekms://,
	// hashivault://), or a key file on the agent. "" when Keyless.
	Key string
	// PublicKey verifies: env://NAME, a file (a path in the checkout,
	// say), or a KMS key; "" for a KMS Key, which verifies itself.
	PublicKey string
	// Keyless signs with a certificate Sigstore's Fulcio issues for the
	// job's Buildkite OIDC token, and verifies that the signer's
	// certificate identity matches Identity (a regular expression) and
	// its issuer is Buildkite's.
	Keyless *Keyless
	// TransparencyLog: signatures go to Sigstore's Rekor log, and
	// verifying requires them there (cosign's default). Off, nothing
	// leaves the registry: for private images with a key.
	TransparencyLog bool
	// Image is the cosign image run when the agent has no cosign on PATH.
	Image string
	Pos   Pos
}

// Keyless is keyless signing's verification policy.
type Keyless struct {
	Identity string // a regular expression the signer's certificate identity must match
}

// BuildkiteOIDCIssuer is the issuer of Buildkite's job OIDC tokens, which
// Fulcio accepts for keyless signing.
const BuildkiteOIDCIssuer = "https://agent.buildkite.com"

// DefaultCosignImage is the cosign a signing step runs when the agent has
// none on PATH.
const DefaultCosignImage = "ghcr.io/sigstore/cosign/cosign:v2.6.5"

// kmsSchemes are the key management services cosign reaches by URI.
var kmsSchemes = []string{"awskms://", "gcpkms://", "azurekms://", "hashivault://"}

// envKeyPrefix names a key held in an environment variable.
const envKeyPrefix = "env://"

// KMS reports whether ref names a key in a key management service.
func KMS(ref string) bool {
	for _, s := range kmsSchemes {
		if strings.HasPrefix(ref, s) {
			return true
		}
	}
	return false
}

// KeyEnv is the variable an env:// key reference names, or "".
func KeyEnv(ref string) string {
	if name, ok := strings.CutPrefix(ref, envKeyPrefix); ok {
		return name
	}
	return ""
}

// VerifyKey is the key that verifies: the public key, or the KMS key.
func (s *Signing) VerifyKey() string {
	if s.PublicKey != "" {
		return s.PublicKey
	}
	return s.Key
}

var schemeRE = regexp.MustCompile(`^[A-Za-z][A-Za-z0-9+.-]*://`)

// keyForms are what a key reference may be.
const keyForms = "env://NAME, a KMS key (awskms://, gcpkms://, azurekms://, hashivault://) or a file path"

// signingFields are signing's, and keylessFields those of its keyless.
var (
	signingFields = []fieldDoc{
		{"key", "The signing key, never the key itself: " + keyForms + ". Give key or keyless.", nonBlank()},
		{"public_key", "The key builds verify with: " + keyForms + "; a KMS key verifies itself. Not with keyless.", nonBlank()},
		{"keyless", "Sign with a certificate Sigstore's Fulcio issues for the job's Buildkite OIDC token, instead of a key.", object(keylessFields, "identity")},
		{"transparency_log", "Signatures go to Sigstore's Rekor log, and verifying requires them there; true by default, and with keyless.", boolean()},
		{"image", "The cosign image run when the agent has no cosign on PATH; " + DefaultCosignImage + " by default.", matches(pinnedImageRule)},
	}
	keylessFields = []fieldDoc{
		{"identity", "A regular expression the signer's certificate identity must match, so that only your pipeline's signatures verify.", nonBlank()},
	}
)

func (d *decoder) signing(n *yaml.Node) *Signing {
	f, ok := d.fields(n, "signing", fieldNames(signingFields))
	if !ok {
		return nil
	}
	s := &Signing{Pos: posOf(n), TransparencyLog: true, Image: DefaultCosignImage}
	key, hasKey := f["key"]
	keyless, hasKeyless := f["keyless"]
	switch {
	case hasKey && hasKeyless:
		d.errorf(keyless.key, "signing", "give key or keyless, not both")
	case hasKey:
		s.Key = d.keyRef(key.value, "signing.key")
	case hasKeyless:
		if kf, ok := d.fields(keyless.value, "signing.keyless", fieldNames(keylessFields)); ok {
			s.Keyless = &Keyless{}
			if id, ok := kf["identity"]; !ok {
				d.errorf(keyless.value, "signing.keyless", "identity is required: a regular expression the signing job's certificate identity must match, so that only your pipeline's signatures verify")
			} else if re, ok := d.nonEmpty(id.value, "signing.keyless.identity"); ok && d.pipelineText(id.value, "signing.keyless.identity", re) {
				if strings.ContainsFunc(re, unicode.IsControl) {
					d.errorf(id.value, "signing.keyless.identity", "holds a control character, which no certificate identity has")
				} else if _, err := regexp.Compile(re); err != nil {
					d.errorf(id.value, "signing.keyless.identity", "%s is not a regular expression: %s", quoteForMessage(re), strings.TrimPrefix(err.Error(), "error parsing regexp: "))
				} else {
					s.Keyless.Identity = re
				}
			}
		}
	default:
		d.errorf(n, "signing", "give key (a cosign key reference) or keyless")
	}
	if p, ok := f["public_key"]; ok {
		if hasKeyless {
			d.errorf(p.key, "signing.public_key", "keyless signing verifies with the signer's certificate, not a public key")
		} else {
			s.PublicKey = d.keyRef(p.value, "signing.public_key")
		}
	} else if hasKey && s.Key != "" && !KMS(s.Key) {
		d.errorf(key.key, "signing", "public_key is required with this key: the key builds verify signatures with (a file in the repository, or env://NAME); only a KMS key verifies itself")
	}
	if p, ok := f["transparency_log"]; ok {
		if b, ok := d.boolean(p.value, "signing.transparency_log"); ok {
			s.TransparencyLog = b
			if !b && hasKeyless {
				d.errorf(p.value, "signing.transparency_log", "keyless signatures are verified through the transparency log: it cannot be off")
			}
		}
	}
	if p, ok := f["image"]; ok {
		s.Image = d.imageRef(p.value, "signing.image", true)
	}
	return s
}

// keyRef decodes a cosign key reference: env://NAME, a KMS URI, or a file.
func (d *decoder) keyRef(n *yaml.Node, what string) string {
	s, ok := d.nonEmpty(n, what)
	if !ok || !d.pipelineText(n, what, s) {
		return ""
	}
	switch {
	case strings.HasPrefix(s, envKeyPrefix):
		if !envNameRE.MatchString(KeyEnv(s)) {
			d.errorf(n, what, "%s does not name an environment variable (letters, digits and '_'): the key itself never goes in the spec", quoteForMessage(s))
			return ""
		}
	case KMS(s):
		if _, rest, _ := strings.Cut(s, "://"); rest == "" || strings.ContainsAny(s, " \t\n") {
			d.errorf(n, what, "%s is not a KMS key URI", quoteForMessage(s))
			return ""
		}
	case schemeRE.MatchString(s):
		d.errorf(n, what, "%s is not a key cosign can use here: give %s", quoteForMessage(s), keyForms)
		return ""
	case strings.Contains(s, "-----BEGIN") || strings.ContainsAny(s, "\n\r"):
		// Not quoted: it may be the key.
		d.errorf(n, what, "this is not a key reference: give %s, never the key itself", keyForms)
		return ""
	case strings.HasPrefix(s, "-"):
		d.errorf(n, what, "%s is not a key reference: give %s", quoteForMessage(s), keyForms)
		return ""
	}
	return s
}
