package registry_test

import (
	"fmt"
	"net/http"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"github.com/bkgen/bkgen/internal/fakebin"
	"github.com/bkgen/bkgen/registry"
)

// fakeAgent writes a buildkite-agent stand-in that appends its arguments to
// a log and runs body. It returns the script's path and a reader for the log.
func fakeAgent(t *testing.T, body string) (path string, calls func() []string) {
	t.Helper()
	dir := t.TempDir()
	path = filepath.Join(dir, "buildkite-agent")
	logFile := filepath.Join(dir, "calls.log")
	script := fmt.Sprintf("#!/bin/sh\nprintf '%%s\\n' \"$*\" >> %q\n%s\n", logFile, body)
	fakebin.Write(t, path, script)
	return path, func() []string {
		data, err := os.ReadFile(logFile)
		if os.IsNotExist(err) {
			return nil
		}
		if err != nil {
			t.Fatal(err)
		}
		lines := strings.Split(strings.TrimSpace(string(data)), "\n")
		slices.Sort(lines)
		return lines
	}
}

// routeHost sends requests for one host to a local test server instead, so
// references keep their real packages.buildkite.com names all the way through
// the Checker (and its keychain) while the bytes go to loopback.
type routeHost struct {
	from, to string
}

func (rt routeHost) RoundTrip(req *http.Request) (*http.Response, error) {
	if req.URL.Host == rt.from {
		req = req.Clone(req.Context())
		req.URL.Scheme, req.URL.Host, req.Host = "http", rt.to, rt.to
	}
	return http.DefaultTransport.RoundTrip(req)
}

// fakeToken is what the fake agent prints for an audience. The registry
// wrapper below accepts nothing else.
func fakeToken(audience string) string { return "token-for-" + audience }

// requireBuildkiteOIDC accepts user buildkite with the token for the
// ORG/REGISTRY the path names, like a Buildkite Package Registry would.
func requireBuildkiteOIDC(path string) (user, pass string) {
	parts := strings.Split(strings.TrimPrefix(path, "/v2/"), "/")
	if len(parts) < 3 {
		return "", ""
	}
	return "buildkite", fakeToken("https://packages.buildkite.com/" + parts[0] + "/" + parts[1])
}

func TestLookupBuildkiteOIDC(t *testing.T) {
	reg := newTestRegistry(t)
	images := reg.push(t, "acme/images/app:bk-1")
	worker := reg.push(t, "acme/images/worker:bk-1")
	other := reg.push(t, "acme/other/app:bk-1")
	host := reg.serve(t, requireBasicAuth(requireBuildkiteOIDC))

	agent, calls := fakeAgent(t, `echo "token-for-$4"`)
	c := &registry.Checker{
		Keychain:  anonymous(),
		OIDCToken: registry.AgentOIDCToken(agent, 300),
		OIDCAudiences: map[string]string{
			"packages.buildkite.com/acme/images": "https://packages.buildkite.com/acme/images",
			"packages.buildkite.com/acme/other":  "https://packages.buildkite.com/acme/other",
		},
		Transport: routeHost{from: "packages.buildkite.com", to: host},
	}
	const bk = "packages.buildkite.com/"
	refs := []string{
		bk + "acme/images/app:bk-1",
		bk + "acme/images/worker:bk-1",
		bk + "acme/images/app:bk-2",
		bk + "acme/other/app:bk-1",
		reg.host + "/acme/images/app:bk-1", // not Buildkite: no token
	}
	results := c.Lookup(t.Context(), refs)
	results = append(results, c.Lookup(t.Context(), refs[:1])...) // a second Lookup reuses the token

	want := []struct {
		state  registry.State
		digest string
	}{
		{registry.Present, images},
		{registry.Present, worker},
		{registry.Absent, ""},
		{registry.Present, other},
		{registry.Present, images},
		{registry.Present, images},
	}
	for i, r := range results {
		if r.State != want[i].state || r.Digest != want[i].digest {
			t.Errorf("%s: got %v %q (%s), want %v %q", r.Ref, r.State, r.Digest, r.Reason, want[i].state, want[i].digest)
		}
	}

	wantCalls := []string{
		"oidc request-token --audience https://packages.buildkite.com/acme/images --lifetime 300",
		"oidc request-token --audience https://packages.buildkite.com/acme/other --lifetime 300",
	}
	if got := calls(); !slices.Equal(got, wantCalls) {
		t.Errorf("buildkite-agent calls:\n got %q\nwant %q", got, wantCalls)
	}
}

func TestLookupBuildkiteOIDCRejected(t *testing.T) {
	reg := newTestRegistry(t)
	reg.push(t, "acme/images/app:bk-1")
	host := reg.serve(t, requireBasicAuth(requireBuildkiteOIDC))

	const token = "not-the-right-token"
	agent, _ := fakeAgent(t, "echo "+token)
	c := &registry.Checker{
		Keychain:      anonymous(),
		OIDCToken:     registry.AgentOIDCToken(agent, 300),
		OIDCAudiences: map[string]string{"packages.buildkite.com/acme/images": "https://packages.buildkite.com/acme/images"},
		Transport:     routeHost{from: "packages.buildkite.com", to: host},
	}
	got := c.Lookup(t.Context(), []string{"packages.buildkite.com/acme/images/app:bk-1"})[0]
	if want := "could not check: 401 Unauthorized — keeping the build step"; got.State != registry.Unknown || got.Reason != want {
		t.Errorf("got %v %q, want unknown %q", got.State, got.Reason, want)
	}
	if strings.Contains(got.Reason, token) || strings.Contains(fmt.Sprint(got.Err), token) {
		t.Errorf("the token leaked into the result: %q / %v", got.Reason, got.Err)
	}
}

func TestLookupBuildkiteOIDCAgentFails(t *testing.T) {
	agent, calls := fakeAgent(t, "echo 'error: OIDC is not allowed for this pipeline' >&2\nexit 1")
	c := &registry.Checker{
		Keychain:      anonymous(),
		OIDCToken:     registry.AgentOIDCToken(agent, 300),
		OIDCAudiences: map[string]string{"packages.buildkite.com/acme/images": "https://packages.buildkite.com/acme/images"},
		// Nothing should get as far as the network.
		Transport: routeHost{from: "packages.buildkite.com", to: "127.0.0.1:1"},
	}
	results := c.Lookup(t.Context(), []string{
		"packages.buildkite.com/acme/images/app:bk-1",
		"packages.buildkite.com/acme/images/worker:bk-1",
	})
	for _, r := range results {
		if r.State != registry.Unknown || !strings.Contains(r.Reason, "OIDC is not allowed for this pipeline") {
			t.Errorf("%s: got %v %q, want unknown quoting the agent's error", r.Ref, r.State, r.Reason)
		}
	}
	if got := calls(); len(got) != 1 {
		t.Errorf("buildkite-agent ran %d times, want once for the shared audience: %q", len(got), got)
	}
}

func TestAgentOIDCToken(t *testing.T) {
	const audience = "https://packages.buildkite.com/acme/images"
	for _, tt := range []struct {
		name, script string
		want         string // token, or "" for an error
		wantErr      string // substring of the error
	}{
		{name: "token", script: "printf 'tok.en-1\\n\\n'", want: "tok.en-1"},
		{name: "no output", script: "true", wantErr: "printed no token"},
		{name: "two lines", script: "echo secret-token; echo secret-token", wantErr: "expected one token"},
		{name: "failure", script: "echo secret-token; echo 'INFO asking' >&2; echo 'fatal: no access' >&2; exit 3", wantErr: "exit status 3: fatal: no access"},
	} {
		t.Run(tt.name, func(t *testing.T) {
			agent, _ := fakeAgent(t, tt.script)
			got, err := registry.AgentOIDCToken(agent, 300)(t.Context(), audience)
			if tt.wantErr == "" {
				if err != nil || got != tt.want {
					t.Fatalf("got %q, %v; want %q", got, err, tt.want)
				}
				return
			}
			if err == nil || !strings.Contains(err.Error(), tt.wantErr) {
				t.Fatalf("got %q, %v; want an error containing %q", got, err, tt.wantErr)
			}
			if strings.Contains(err.Error(), "secret-token") {
				t.Errorf("error quotes stdout, which may hold a token: %v", err)
			}
		})
	}
}
