package changes

import (
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strings"
	"testing"
	"time"
)

// The fake answers like the Buildkite REST API's "list builds for a
// pipeline": GET /v2/organizations/{org}/pipelines/{pipeline}/builds, a JSON
// array of build objects, newest first.

const (
	testToken    = "bkua_test_token"
	testOrg      = "acme"
	testPipeline = "web-app"
)

// fakeBuildkite serves answer after checking that the request is the one we
// mean to send; it returns the server's base URL.
func fakeBuildkite(t *testing.T, answer func(t *testing.T, w http.ResponseWriter, r *http.Request)) string {
	t.Helper()
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		checkRequest(t, r)
		answer(t, w, r)
	}))
	t.Cleanup(srv.Close)
	return srv.URL + "/"
}

func checkRequest(t *testing.T, r *http.Request) {
	t.Helper()
	if r.Method != http.MethodGet {
		t.Errorf("method = %s, want GET", r.Method)
	}
	if want := "/v2/organizations/" + testOrg + "/pipelines/" + testPipeline + "/builds"; r.URL.Path != want {
		t.Errorf("path = %s, want %s", r.URL.Path, want)
	}
	if got := r.Header.Get("Authorization"); got != "Bearer "+testToken {
		t.Errorf("Authorization = %q, want the bearer token", got)
	}
	// The API takes both ?branch=main and ?branch[]=main (likewise state).
	q := r.URL.Query()
	for name, want := range map[string]string{"branch": "main", "state": "passed", "per_page": "1"} {
		if got := param(q, name); got != want {
			t.Errorf("query %s = %q, want %q (query %s)", name, got, want, r.URL.RawQuery)
		}
	}
}

func param(q url.Values, name string) string {
	if v, ok := q[name]; ok {
		return strings.Join(v, ",")
	}
	return strings.Join(q[name+"[]"], ",")
}

// buildJSON is a build object in the documented shape (trimmed of jobs).
func buildJSON(number int, commit, branch string) string {
	return fmt.Sprintf(`{
	"id": "f62a1b4d-10f9-4790-bc1c-e2c3a0c80983",
	"graphql_id": "QnVpbGQtLS1mNjJhMWI0ZC0xMGY5LTQ3OTAtYmMxYy1lMmMzYTBjODA5ODM=",
	"url": "https://api.buildkite.com/v2/organizations/acme/pipelines/web-app/builds/%[1]d",
	"web_url": "https://buildkite.com/acme/web-app/builds/%[1]d",
	"number": %[1]d,
	"state": "passed",
	"blocked": false,
	"cancel_reason": null,
	"message": "Bump the version",
	"commit": %[2]q,
	"branch": %[3]q,
	"tag": null,
	"env": {},
	"source": "webhook",
	"creator": {"id": "3d3c3bf0-7d58-4afe-8fe7-b3017d5504de", "name": "Keith Pitt", "email": "keith@buildkite.com", "avatar_url": "https://www.gravatar.com/avatar/e14f55d3f939977cecbf51b64ff6f861", "created_at": "2015-05-22T12:36:45.309Z"},
	"created_at": "2015-05-09T21:05:59.874Z",
	"scheduled_at": "2015-05-09T21:05:59.874Z",
	"started_at": "2015-05-09T21:05:59.874Z",
	"finished_at": "2015-05-09T21:05:59.874Z",
	"meta_data": {},
	"pull_request": {},
	"rebuilt_from": null
}`, number, commit, branch)
}

func writeBuilds(t *testing.T, w http.ResponseWriter, builds ...string) {
	t.Helper()
	body := "[" + strings.Join(builds, ",") + "]"
	if !json.Valid([]byte(body)) {
		t.Fatalf("fake answer is not JSON: %s", body)
	}
	w.Header().Set("Content-Type", "application/json; charset=utf-8")
	fmt.Fprint(w, body)
}

func newFinder(t *testing.T, baseURL string, timeout time.Duration) LastPassedFinder {
	t.Helper()
	f, err := NewBuildkiteFinder(testToken, testOrg, testPipeline, baseURL, timeout)
	if err != nil {
		t.Fatal(err)
	}
	return f
}

func TestBuildkiteFinder(t *testing.T) {
	t.Parallel()
	const sha = "abcd0b72a1e580e90712cdd9eb26d3fb41cd09c8"
	api := fakeBuildkite(t, func(t *testing.T, w http.ResponseWriter, r *http.Request) {
		writeBuilds(t, w, buildJSON(123, sha, "main"))
	})
	got, err := newFinder(t, api, time.Second).LastPassedCommit(context.Background(), "main")
	if err != nil || got != sha {
		t.Errorf("LastPassedCommit = %q, %v; want %q", got, err, sha)
	}

	t.Run("no passed build", func(t *testing.T) {
		api := fakeBuildkite(t, func(t *testing.T, w http.ResponseWriter, r *http.Request) { writeBuilds(t, w) })
		got, err := newFinder(t, api, time.Second).LastPassedCommit(context.Background(), "main")
		if err != nil || got != "" {
			t.Errorf("LastPassedCommit = %q, %v; want \"\", nil", got, err)
		}
	})
}

func TestNewBuildkiteFinderNeedsItsSettings(t *testing.T) {
	t.Parallel()
	for _, tc := range []struct{ token, org, pipeline, baseURL string }{
		{"", testOrg, testPipeline, ""},
		{testToken, "", testPipeline, ""},
		{testToken, testOrg, "", ""},
		{testToken, testOrg, testPipeline, "://not a url"},
	} {
		if _, err := NewBuildkiteFinder(tc.token, tc.org, tc.pipeline, tc.baseURL, 0); err == nil {
			t.Errorf("NewBuildkiteFinder(%q, %q, %q, %q): no error", tc.token, tc.org, tc.pipeline, tc.baseURL)
		}
	}
}

// Whatever goes wrong with the API, Detect falls back to HEAD's first parent
// and says why in Notes.
func TestAPIFailuresFallBackToFirstParent(t *testing.T) {
	t.Parallel()
	r := newRepo(t)
	lastPassed := r.commit("initial", "a.txt")
	r.commit("one", "b.txt")
	parent := r.commit("two", "c.txt")
	r.commit("three", "d.txt")
	r.push("main")

	status := func(code int, body string) func(*testing.T, http.ResponseWriter, *http.Request) {
		return func(t *testing.T, w http.ResponseWriter, r *http.Request) {
			w.Header().Set("Content-Type", "application/json")
			w.WriteHeader(code)
			fmt.Fprint(w, body)
		}
	}
	for _, tc := range []struct {
		name   string
		answer func(*testing.T, http.ResponseWriter, *http.Request)
		note   string
	}{
		{"401", status(http.StatusUnauthorized, `{"message":"Authentication required. Please supply a valid API Access Token: https://buildkite.com/docs/apis/rest-api#authentication"}`), "API: 401 Unauthorized"},
		{"404", status(http.StatusNotFound, `{"message":"Not Found"}`), "API: 404 Not Found"},
		{"500", status(http.StatusInternalServerError, "<html>oops</html>"), "API: 500 Internal Server Error"},
		{"timeout", func(t *testing.T, w http.ResponseWriter, r *http.Request) {
			select { // longer than the client waits, but let the server close
			case <-r.Context().Done():
			case <-time.After(10 * time.Second):
			}
			writeBuilds(t, w, buildJSON(9, lastPassed, "main"))
		}, "API: no answer within 300ms"},
		{"empty list", func(t *testing.T, w http.ResponseWriter, r *http.Request) { writeBuilds(t, w) }, "API: no passed build of main yet"},
		{"commit not a sha", func(t *testing.T, w http.ResponseWriter, r *http.Request) {
			writeBuilds(t, w, buildJSON(9, "HEAD", "main"))
		}, `build #9 names commit "HEAD"`},
	} {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			finder := newFinder(t, fakeBuildkite(t, tc.answer), 300*time.Millisecond)
			start := time.Now()
			got := detect(t, Options{Dir: r.dir, Env: env("BUILDKITE_BRANCH=main"), Builds: finder})
			checkFiles(t, got, want{Files: []string{"d.txt"}, Method: "default-branch-first-parent", Base: parent})
			hasNote(t, got, tc.note)
			hasNote(t, got, "using HEAD's first parent")
			if took := time.Since(start); took > 5*time.Second {
				t.Errorf("took %s despite a 300ms API timeout", took)
			}
		})
	}
}
