package agentsim

import (
	"bytes"
	"errors"
	"fmt"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"time"
)

// Docker runs `docker ARGS` for a job: the real CLI, with the call and its
// output recorded in the build's state (so a test can tell which steps
// built), and with the registries' side of OIDC logins played here, since
// the registries themselves take a fixed htpasswd password (which is what
// the stand-in agent hands out as a token):
//
//   - `docker login SERVER --password-stdin` with the token the stand-in
//     agent last gave the job is refused, as the registry would, when the
//     token's audience is not https://SERVER, its lifetime is over the
//     registry's limit, or it has expired;
//   - any later command that names that registry is refused once the token
//     has expired, and a push that ends after it expired fails.
func Docker(args []string, sio Stdio) int {
	fail := func(format string, a ...any) int {
		fmt.Fprintf(sio.Err, "docker (bkgen-exec wrapper): "+format+"\n", a...)
		return 1
	}
	dir := sio.Getenv(StateEnv)
	if dir == "" {
		return fail("%s is not set: this wrapper only works inside a job the harness runs", StateEnv)
	}
	st := State{Dir: dir}
	cfg, err := st.Config()
	if err != nil {
		return fail("reading the build's config: %v", err)
	}
	dockerConfig := dockerConfigDir(args, sio)
	call := DockerCall{Job: sio.Getenv("BUILDKITE_JOB_ID"), Args: args, Start: time.Now()}
	out, err := os.Create(filepath.Join(st.Dir, "docker-output", stamp()+".log"))
	if err != nil {
		return fail("%v", err)
	}
	defer out.Close()
	call.Output = out.Name()
	stdout := io.MultiWriter(sio.Out, out)
	stderr := io.MultiWriter(sio.Err, out)
	finish := func(status int) int {
		call.End, call.Exit = time.Now(), status
		if err := st.recordDocker(call); err != nil {
			fmt.Fprintf(sio.Err, "docker (bkgen-exec wrapper): recording the call: %v\n", err)
		}
		return status
	}
	refuse := func(why string) int {
		call.Refused = why
		fmt.Fprintf(stderr, "docker (bkgen-exec wrapper): the registry refuses: %s\n", why)
		return finish(1)
	}

	a := withoutGlobalFlags(args)
	stdin := sio.In
	if len(a) > 0 && a[0] == "login" {
		swapped, why, err := st.oidcLogin(cfg, dockerConfig, call.Job, a[1:], sio.In)
		switch {
		case err != nil:
			return finish(fail("%v", err))
		case why != "":
			return refuse(why)
		}
		stdin = swapped
	} else if why := st.expiredLogin(cfg, dockerConfig, args, time.Now()); why != "" {
		return refuse(why)
	}

	cmd := exec.Command(cfg.Docker, args...)
	cmd.Stdin, cmd.Stdout, cmd.Stderr = stdin, stdout, stderr
	cmd.Env, cmd.Dir = sio.Env, sio.Dir
	status := 0
	if err := cmd.Run(); err != nil {
		var exit *exec.ExitError
		if !errors.As(err, &exit) {
			return finish(fail("running %s: %v", cfg.Docker, err))
		}
		status = exit.ExitCode()
	}
	if status == 0 && pushes(a) {
		if why := st.expiredLogin(cfg, dockerConfig, args, time.Now()); why != "" {
			return refuse("the push ended after the token expired: " + why)
		}
	}
	return finish(status)
}

// dockerConfigDir is the docker config the command uses, as the CLI finds it.
func dockerConfigDir(args []string, sio Stdio) string {
	for i := 0; i+1 < len(args) && strings.HasPrefix(args[i], "-"); i++ {
		if args[i] == "--config" {
			return args[i+1]
		}
		if v, ok := strings.CutPrefix(args[i], "--config="); ok {
			return v
		}
	}
	if d := sio.Getenv("DOCKER_CONFIG"); d != "" {
		return d
	}
	return filepath.Join(sio.Getenv("HOME"), ".docker")
}

// pushes reports whether a command pushes to a registry when it ends.
func pushes(a []string) bool {
	if len(a) == 0 {
		return false
	}
	if a[0] == "push" {
		return true
	}
	if len(a) >= 2 && a[0] == "buildx" && (a[1] == "build" || a[1] == "b") {
		for i, x := range a {
			if x == "--push" || strings.HasPrefix(x, "--push=") && x != "--push=false" {
				return true
			}
			if (x == "--output" || x == "-o") && i+1 < len(a) && strings.Contains(a[i+1], "push=true") {
				return true
			}
			if strings.HasPrefix(x, "--output=") && strings.Contains(x, "push=true") {
				return true
			}
		}
	}
	return false
}

// oidcLogin checks a `docker login` (its arguments after "login") made
// with the token the stand-in last gave the job, as a registry taking OIDC
// tokens would. It returns the stdin to give the real login, or why the
// registry refuses.
func (s State) oidcLogin(cfg Config, dockerConfig, job string, args []string, in io.Reader) (io.Reader, string, error) {
	pos, flags := parseFlags(args, []string{"password-stdin"}, "username", "u", "password", "p")
	server := "index.docker.io"
	if len(pos) > 0 {
		server = pos[0]
	}
	server = strings.TrimSuffix(strings.TrimPrefix(strings.TrimPrefix(server, "https://"), "http://"), "/")
	host, _, _ := strings.Cut(server, "/")
	if _, ok := flags["password-stdin"]; !ok {
		// A password on the command line is not a token this wrapper swaps.
		s.forgetLogin(dockerConfig, host)
		return in, "", nil
	}
	b, err := readAllFrom(in)
	if err != nil {
		return nil, "", fmt.Errorf("reading the password: %w", err)
	}
	password := strings.TrimRight(string(b), "\r\n")
	t, isToken := s.latestToken(job)
	if !isToken || t.Token != password || !contains(cfg.OIDCHosts, host) {
		// A password, or a token from elsewhere (a Packages token in an
		// environment variable): the registry checks it as it is.
		s.forgetLogin(dockerConfig, host)
		return bytes.NewReader(b), "", nil
	}
	if want := "https://" + server; t.Audience != want {
		return nil, fmt.Sprintf("login to %s with an OIDC token whose audience is %q: this registry takes only %q", server, t.Audience, want), nil
	}
	if cfg.MaxTokenLifetime > 0 && t.Lifetime > cfg.MaxTokenLifetime {
		return nil, fmt.Sprintf("login to %s with an OIDC token asked for %d s: this registry takes at most %d s", server, t.Lifetime, cfg.MaxTokenLifetime), nil
	}
	if why := cfg.expired(t, time.Now()); why != "" {
		return nil, fmt.Sprintf("login to %s: %s", server, why), nil
	}
	if err := s.recordLogin(dockerConfig, host, login{Server: server, Token: t}); err != nil {
		return nil, "", err
	}
	return bytes.NewReader(b), "", nil
}

// expiredLogin says why a command is refused: it names a registry this
// docker config logged in to with a token that has expired by now.
func (s State) expiredLogin(cfg Config, dockerConfig string, args []string, now time.Time) string {
	for _, host := range cfg.OIDCHosts {
		if !mentions(args, host) {
			continue
		}
		l, ok := s.lookupLogin(dockerConfig, host)
		if !ok {
			continue
		}
		if why := cfg.expired(l.Token, now); why != "" {
			return fmt.Sprintf("%s (logged in to %s)", why, l.Server)
		}
	}
	return ""
}

// expired says how long ago a token expired, on the scaled clock; "" while it is valid.
func (c Config) expired(t Token, now time.Time) string {
	lifetime := t.Lifetime
	if lifetime == 0 {
		lifetime = c.MaxTokenLifetime
	}
	if lifetime == 0 {
		return ""
	}
	scale := c.TimeScale
	if scale <= 0 {
		scale = 1
	}
	age := time.Duration(float64(now.Sub(t.Issued)) * scale)
	if over := age - time.Duration(lifetime)*time.Second; over > 0 {
		return fmt.Sprintf("the OIDC token (lifetime %d s) expired %.0f s ago", t.Lifetime, over.Seconds())
	}
	return ""
}

func mentions(args []string, host string) bool {
	for _, a := range args {
		if strings.Contains(a, host) {
			return true
		}
	}
	return false
}

func contains(list []string, s string) bool {
	for _, x := range list {
		if x == s {
			return true
		}
	}
	return false
}
