package provider_test

import (
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/tls"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/pem"
	"fmt"
	"math/big"
	"net"
	"net/http"
	"net/http/httptest"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/bkgen/bkgen/buildenv"
	"github.com/bkgen/bkgen/internal/fakebin"
	"github.com/bkgen/bkgen/provider"
)

// TestGARLoginExchange runs GAR's workload-identity login with bash and the
// real curl against a stand-in for Google's STS and IAM credentials APIs
// (TLS, under their own names): the job's OIDC token is exchanged for a
// federated token, that for the service account's access token, and docker
// logs in with it. No token is ever a command's argument.
func TestGARLoginExchange(t *testing.T) {
	for _, tool := range []string{"bash", "curl", "sed"} {
		if _, err := exec.LookPath(tool); err != nil {
			t.Skipf("no %s", tool)
		}
	}
	const (
		audience = "//iam.googleapis.com/projects/123/locations/global/workloadIdentityPools/ci/providers/buildkite"
		sa       = "ci@my-project.iam.gserviceaccount.com"
		oidc     = "oidc.jwt.from-buildkite"
		fed      = "federated-token-1"
		access   = "ya29.access-token-2"
	)
	var mu sync.Mutex
	var problems []string
	bad := func(format string, a ...any) {
		mu.Lock()
		defer mu.Unlock()
		problems = append(problems, fmt.Sprintf(format, a...))
	}
	srv := httptest.NewUnstartedServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		switch {
		case r.Host == "sts.googleapis.com" && r.URL.Path == "/v1/token":
			if err := r.ParseForm(); err != nil {
				bad("sts: %v", err)
			}
			want := map[string]string{
				"grant_type":           "urn:ietf:params:oauth:grant-type:token-exchange",
				"audience":             audience,
				"scope":                "https://www.googleapis.com/auth/cloud-platform",
				"requested_token_type": "urn:ietf:params:oauth:token-type:access_token",
				"subject_token_type":   "urn:ietf:params:oauth:token-type:jwt",
				"subject_token":        oidc,
			}
			for k, v := range want {
				if got := r.PostForm.Get(k); got != v {
					bad("sts: %s = %q, want %q", k, got, v)
				}
			}
			// As Google answers: indented JSON.
			fmt.Fprintf(w, "{\n  \"access_token\": %q,\n  \"issued_token_type\": \"urn:ietf:params:oauth:token-type:access_token\",\n  \"token_type\": \"Bearer\",\n  \"expires_in\": 3599\n}\n", fed)
		case r.Host == "iamcredentials.googleapis.com" && r.URL.Path == "/v1/projects/-/serviceAccounts/"+sa+":generateAccessToken":
			if got := r.Header.Get("Authorization"); got != "Bearer "+fed {
				bad("iamcredentials: Authorization %q", got)
			}
			fmt.Fprintf(w, "{\n  \"accessToken\": %q,\n  \"expireTime\": \"2026-11-25T12:00:00Z\"\n}\n", access)
		default:
			bad("unexpected %s %s%s", r.Method, r.Host, r.URL.Path)
			http.NotFound(w, r)
		}
	}))
	caPEM := serveTLS(t, srv, "sts.googleapis.com", "iamcredentials.googleapis.com")
	defer srv.Close()

	dir := t.TempDir()
	bin := filepath.Join(dir, "bin")
	if err := os.Mkdir(bin, 0o755); err != nil {
		t.Fatal(err)
	}
	ca := filepath.Join(dir, "ca.pem")
	if err := os.WriteFile(ca, caPEM, 0o644); err != nil {
		t.Fatal(err)
	}
	argv := filepath.Join(dir, "argv")
	realCurl, _ := exec.LookPath("curl")
	port := srv.Listener.Addr().(*net.TCPAddr).Port
	// Every program records its arguments; curl reaches the stand-in.
	fakebin.Write(t, filepath.Join(bin, "buildkite-agent"), fmt.Sprintf("#!/bin/sh\necho \"buildkite-agent $*\" >> %q\nprintf '%%s\\n' %q\n", argv, oidc))
	fakebin.Write(t, filepath.Join(bin, "curl"), fmt.Sprintf("#!/bin/sh\necho \"curl $*\" >> %q\nexec %q --cacert %q --connect-to ::127.0.0.1:%d \"$@\"\n", argv, realCurl, ca, port))
	fakebin.Write(t, filepath.Join(bin, "docker"), fmt.Sprintf("#!/bin/sh\necho \"docker $*\" >> %q\ncat > %q\n", argv, filepath.Join(dir, "password")))

	c := provider.NewConfig("gcp")
	for k, v := range map[string]string{"location": "us-central1", "project": "my-project", "repository": "docker",
		"workload_identity.audience": audience, "workload_identity.service_account": sa} {
		c.Set(k, v)
	}
	a, err := provider.GAR{}.Access(c, buildenv.Build{})
	if err != nil {
		t.Fatal(err)
	}
	cmd := exec.Command("bash", "-euo", "pipefail", "-c", a.Login)
	cmd.Env = append(os.Environ(), "PATH="+bin+string(os.PathListSeparator)+os.Getenv("PATH"))
	if out, err := cmd.CombinedOutput(); err != nil {
		t.Fatalf("login: %v\n%s\n%s", err, out, a.Login)
	}
	for _, p := range problems {
		t.Error(p)
	}
	if b, _ := os.ReadFile(filepath.Join(dir, "password")); string(b) != access {
		t.Errorf("docker login got password %q, want the access token %q", b, access)
	}
	calls, _ := os.ReadFile(argv)
	if !strings.Contains(string(calls), "docker login us-central1-docker.pkg.dev --username oauth2accesstoken --password-stdin") {
		t.Errorf("no docker login of the registry's host:\n%s", calls)
	}
	for _, secret := range []string{oidc, fed, access} {
		if strings.Contains(string(calls), secret) {
			t.Errorf("a token is a command's argument:\n%s", calls)
		}
	}
}

// serveTLS starts srv with a certificate for names from a CA of its own,
// and returns that CA's PEM.
func serveTLS(t *testing.T, srv *httptest.Server, names ...string) []byte {
	t.Helper()
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	caTmpl := &x509.Certificate{SerialNumber: big.NewInt(1), Subject: pkix.Name{CommonName: "test CA"},
		NotBefore: time.Now().Add(-time.Hour), NotAfter: time.Now().Add(time.Hour),
		IsCA: true, BasicConstraintsValid: true, KeyUsage: x509.KeyUsageCertSign}
	caDER, err := x509.CreateCertificate(rand.Reader, caTmpl, caTmpl, &key.PublicKey, key)
	if err != nil {
		t.Fatal(err)
	}
	caCert, _ := x509.ParseCertificate(caDER)
	leafTmpl := &x509.Certificate{SerialNumber: big.NewInt(2), Subject: pkix.Name{CommonName: names[0]}, DNSNames: names,
		NotBefore: time.Now().Add(-time.Hour), NotAfter: time.Now().Add(time.Hour),
		ExtKeyUsage: []x509.ExtKeyUsage{x509.ExtKeyUsageServerAuth}, KeyUsage: x509.KeyUsageDigitalSignature}
	leafDER, err := x509.CreateCertificate(rand.Reader, leafTmpl, caCert, &key.PublicKey, key)
	if err != nil {
		t.Fatal(err)
	}
	srv.TLS = &tls.Config{Certificates: []tls.Certificate{{Certificate: [][]byte{leafDER}, PrivateKey: key}}}
	srv.StartTLS()
	return pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: caDER})
}
