package changes

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"time"

	"github.com/bkgen/bkgen/internal/pipetext"
	"github.com/buildkite/go-buildkite/v4"
)

// LastPassedFinder asks Buildkite for the commit of the last passed build of a branch.
// It returns "" and no error when the branch has no passed build.
type LastPassedFinder interface {
	LastPassedCommit(ctx context.Context, branch string) (string, error)
}

// passedBuildFinder is what the Buildkite finder offers beyond
// LastPassedFinder: the build's number, so that people can look it up.
type passedBuildFinder interface {
	lastPassedBuild(ctx context.Context, branch string) (passedBuild, error)
}

type passedBuild struct {
	branch string
	number int // 0 when the finder did not say
	commit string
}

func (b passedBuild) String() string {
	if b.number == 0 {
		return "the last passed build of " + pipetext.Display(b.branch)
	}
	return fmt.Sprintf("build #%d", b.number)
}

// defaultAPITimeout applies when NewBuildkiteFinder is given no timeout.
const defaultAPITimeout = 10 * time.Second

// NewBuildkiteFinder uses github.com/buildkite/go-buildkite/v4 Builds.ListByPipeline
// (branch = branch, state = passed, 1 per page). baseURL "" = the public API.
// timeout bounds each question, retries included; 0 means 10 seconds.
func NewBuildkiteFinder(token, org, pipeline, baseURL string, timeout time.Duration) (LastPassedFinder, error) {
	switch {
	case token == "":
		return nil, errors.New("buildkite: an API token is needed")
	case org == "" || pipeline == "":
		return nil, errors.New("buildkite: the organization and pipeline slugs are needed")
	}
	if timeout <= 0 {
		timeout = defaultAPITimeout
	}
	opts := []buildkite.ClientOpt{
		buildkite.WithTokenAuth(token),
		buildkite.WithUserAgent("bkgen"),
		// Our own client: the library's default is http.DefaultClient, which never times out.
		buildkite.WithHTTPClient(&http.Client{Timeout: timeout}),
	}
	if baseURL != "" {
		opts = append(opts, buildkite.WithBaseURL(baseURL))
	}
	client, err := buildkite.NewClient(opts...)
	if err != nil {
		return nil, fmt.Errorf("buildkite: %w", err)
	}
	return &buildkiteFinder{client: client, org: org, pipeline: pipeline, timeout: timeout}, nil
}

type buildkiteFinder struct {
	client        *buildkite.Client
	org, pipeline string
	timeout       time.Duration
}

func (f *buildkiteFinder) LastPassedCommit(ctx context.Context, branch string) (string, error) {
	b, err := f.lastPassedBuild(ctx, branch)
	return b.commit, err
}

func (f *buildkiteFinder) lastPassedBuild(ctx context.Context, branch string) (passedBuild, error) {
	// The context bounds the library's retries on 429 as well as each request.
	ctx, cancel := context.WithTimeout(ctx, f.timeout)
	defer cancel()

	builds, _, err := f.client.Builds.ListByPipeline(ctx, f.org, f.pipeline, &buildkite.BuildsListOptions{
		Branch:          []string{branch},
		State:           []string{"passed"},
		ExcludeJobs:     true, // we only want the commit: keep the answer small
		ExcludePipeline: true,
		ListOptions:     buildkite.ListOptions{PerPage: 1},
	})
	if err != nil {
		return passedBuild{branch: branch}, f.explain(err)
	}
	if len(builds) == 0 {
		return passedBuild{branch: branch}, nil
	}
	return passedBuild{branch: branch, number: builds[0].Number, commit: builds[0].Commit}, nil
}

// apiError says what went wrong in a few words ("401 Unauthorized", "no
// answer within 10s") instead of the library's full request dump.
type apiError struct {
	msg string
	err error
}

func (e *apiError) Error() string { return e.msg }
func (e *apiError) Unwrap() error { return e.err }

func (f *buildkiteFinder) explain(err error) error {
	var resp *buildkite.ErrorResponse
	if errors.As(err, &resp) && resp.Response != nil {
		status := http.StatusText(resp.Response.StatusCode)
		msg := fmt.Sprintf("%d %s", resp.Response.StatusCode, status)
		if resp.Message != "" && resp.Message != status {
			msg += " (" + pipetext.Display(resp.Message) + ")"
		}
		return &apiError{msg: msg, err: err}
	}
	var timeout interface{ Timeout() bool }
	if errors.Is(err, context.DeadlineExceeded) || errors.As(err, &timeout) && timeout.Timeout() {
		return &apiError{msg: fmt.Sprintf("no answer within %s", f.timeout), err: err}
	}
	return err
}
