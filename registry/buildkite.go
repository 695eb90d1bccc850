package registry

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"os/exec"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/google/go-containerregistry/pkg/authn"
)

const (
	// oidcUsername is the user name Buildkite Package Registries expect
	// alongside an OIDC token used as the password.
	oidcUsername = "buildkite"
)

// TokenFunc returns an OIDC token for the given audience. Tokens are secrets:
// implementations must not log them or put them in errors.
type TokenFunc func(ctx context.Context, audience string) (string, error)

// AgentOIDCToken returns a TokenFunc that runs
// `buildkite-agent oidc request-token --audience AUDIENCE --lifetime SECONDS`.
// agentPath is the binary to run; "" means buildkite-agent from PATH.
func AgentOIDCToken(agentPath string, lifetime int) TokenFunc {
	if agentPath == "" {
		agentPath = "buildkite-agent"
	}
	return func(ctx context.Context, audience string) (string, error) {
		cmd := exec.CommandContext(ctx, agentPath, "oidc", "request-token", "--audience", audience, "--lifetime", strconv.Itoa(lifetime))
		var stdout, stderr bytes.Buffer
		cmd.Stdout, cmd.Stderr = &stdout, &stderr
		// Don't wait forever on a grandchild that keeps the pipes open.
		cmd.WaitDelay = time.Second

		// Errors quote stderr for diagnosis but never stdout: that is the token.
		if err := cmd.Run(); err != nil {
			if msg := lastLine(stderr.String()); msg != "" {
				return "", fmt.Errorf("%s oidc request-token: %w: %s", agentPath, err, msg)
			}
			return "", fmt.Errorf("%s oidc request-token: %w", agentPath, err)
		}
		token := strings.TrimSpace(stdout.String())
		switch {
		case token == "":
			return "", fmt.Errorf("%s oidc request-token: printed no token", agentPath)
		case strings.ContainsAny(token, " \t\r\n"):
			return "", fmt.Errorf("%s oidc request-token: expected one token on stdout, got %d bytes of several words", agentPath, stdout.Len())
		}
		return token, nil
	}
}

// lastLine picks the agent's final word from its stderr, which is where
// "fatal: ..." lands after any log lines, trimmed to a reasonable length.
func lastLine(s string) string {
	s = strings.TrimSpace(s)
	s = s[strings.LastIndexByte(s, '\n')+1:]
	if len(s) > 200 {
		s = s[:200] + "…"
	}
	return s
}

// audienceFor is the OIDC audience that logs in to a repository: the
// audience of the longest base the repository lies under, which its
// registry's provider names (a Buildkite Package Registry's token is good
// for that registry alone). ok is false when no base holds it.
func audienceFor(target authn.Resource, audiences map[string]string) (audience string, ok bool) {
	repo := target.String()
	best := ""
	for base, aud := range audiences {
		if (repo == base || strings.HasPrefix(repo, base+"/")) && len(base) > len(best) {
			best, audience = base, aud
		}
	}
	return audience, best != ""
}

// oidcKeychain answers for the repositories under a base that logs in with
// a Buildkite OIDC token, with the token as the password, and stays out of
// the way (Anonymous) elsewhere.
type oidcKeychain struct {
	fetch     TokenFunc
	tokens    *tokenCache
	audiences map[string]string
}

func (k oidcKeychain) Resolve(target authn.Resource) (authn.Authenticator, error) {
	return k.ResolveContext(context.Background(), target)
}

// ResolveContext lets the token request share the lookup's timeout.
func (k oidcKeychain) ResolveContext(ctx context.Context, target authn.Resource) (authn.Authenticator, error) {
	audience, ok := audienceFor(target, k.audiences)
	if !ok {
		return authn.Anonymous, nil
	}
	token, err := k.tokens.get(ctx, k.fetch, audience)
	if err != nil {
		return nil, fmt.Errorf("requesting a Buildkite OIDC token for %s: %w", audience, err)
	}
	return &authn.Basic{Username: oidcUsername, Password: token}, nil
}

// tokenCache requests one token per audience per run, however many images
// and concurrent lookups share that audience. Failures are cached too, so a
// broken agent is asked once rather than once per image.
type tokenCache struct {
	mu      sync.Mutex
	entries map[string]*tokenEntry
}

type tokenEntry struct {
	mu    sync.Mutex // held while fetching, so concurrent callers wait for one request
	done  bool
	token string
	err   error
}

func (c *tokenCache) get(ctx context.Context, fetch TokenFunc, audience string) (string, error) {
	c.mu.Lock()
	if c.entries == nil {
		c.entries = make(map[string]*tokenEntry)
	}
	e := c.entries[audience]
	if e == nil {
		e = &tokenEntry{}
		c.entries[audience] = e
	}
	c.mu.Unlock()

	e.mu.Lock()
	defer e.mu.Unlock()
	if e.done {
		return e.token, e.err
	}
	token, err := fetch(ctx, audience)
	if err == nil && token == "" {
		err = errors.New("got an empty token")
	}
	// A request cut short by this caller's own deadline says nothing about
	// the agent, so leave it for the next caller to try again.
	e.done = err == nil || ctx.Err() == nil
	e.token, e.err = token, err
	return token, err
}
