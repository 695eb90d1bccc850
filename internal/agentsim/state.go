package agentsim

import (
	"crypto/rand"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"sort"
	"strings"
	"time"
)

// StateEnv names the build's state directory in a job's environment: the
// stand-in agent and the docker wrapper find everything there.
const StateEnv = "BKGEN_AGENTSIM_STATE"

// State is one build's directory, shared by its jobs as the Buildkite API
// is: meta-data, OIDC tokens, annotations, artifacts, uploaded pipelines and
// the record of every docker command. Every record is a file of its own,
// written whole and renamed into place, so jobs running at once need no lock.
type State struct{ Dir string }

// Config is what the stand-ins need to know that a job must not: written by
// the runner when the build starts.
type Config struct {
	// Docker is the real docker CLI the wrapper runs.
	Docker string `json:"docker"`
	// RegistryPassword is what the registries really accept (they use
	// htpasswd): the stand-in agent hands it out as every OIDC token.
	RegistryPassword string `json:"registry_password"`
	// OIDCHosts are the registries whose logins take OIDC tokens and check
	// their audience and lifetime.
	OIDCHosts []string `json:"oidc_hosts"`
	// MaxTokenLifetime is the longest lifetime, in seconds, those registries
	// accept (0: any).
	MaxTokenLifetime int `json:"max_token_lifetime"`
	// TimeScale runs token clocks this many times faster than the wall
	// clock (0 or 1: real time), so a test can outlive a 300 s token.
	TimeScale float64 `json:"time_scale"`
	// MaxJobs is the most jobs one upload may hold, as an organization's
	// limit (0: Buildkite's default, 500).
	MaxJobs int `json:"max_jobs"`
}

// Token is an OIDC token the stand-in issued.
type Token struct {
	Token    string    `json:"token"`
	Audience string    `json:"audience"`
	Lifetime int       `json:"lifetime"` // seconds, as asked for (0: not given)
	Issued   time.Time `json:"issued"`
	Job      string    `json:"job"`
}

// Annotation is one `buildkite-agent annotate`.
type Annotation struct {
	Context string `json:"context"`
	Style   string `json:"style"`
	Append  bool   `json:"append"`
	Body    string `json:"body"`
	Job     string `json:"job"`
}

// Artifact is one file `buildkite-agent artifact upload` took.
type Artifact struct {
	Path string `json:"path"` // relative to the job's checkout
	Job  string `json:"job"`
}

// DockerCall is one docker command a job ran through the wrapper.
type DockerCall struct {
	Job    string    `json:"job"`
	Args   []string  `json:"args"`
	Start  time.Time `json:"start"`
	End    time.Time `json:"end"`
	Exit   int       `json:"exit"`
	Output string    `json:"output"` // file holding what it printed
	// Refused is set when the simulated registry refused the command's
	// credentials (an expired or wrong token).
	Refused string `json:"refused,omitempty"`
}

// Builds reports whether the call is a `docker buildx build` (or `docker build`).
func (c DockerCall) Builds() bool {
	a := withoutGlobalFlags(c.Args)
	return len(a) >= 1 && a[0] == "build" || len(a) >= 2 && a[0] == "buildx" && (a[1] == "build" || a[1] == "b")
}

// withoutGlobalFlags drops docker's own leading options (--config DIR, -D, ...).
func withoutGlobalFlags(args []string) []string {
	for i := 0; i < len(args); i++ {
		a := args[i]
		if !strings.HasPrefix(a, "-") {
			return args[i:]
		}
		switch a {
		case "--config", "-c", "--context", "-H", "--host", "-l", "--log-level", "--tlscacert", "--tlscert", "--tlskey":
			i++
		}
	}
	return nil
}

func (s State) path(parts ...string) string {
	return filepath.Join(append([]string{s.Dir}, parts...)...)
}

// Init makes the directory and writes the config.
func (s State) Init(c Config) error {
	for _, d := range []string{"meta-data", "tokens", "logins", "annotations", "artifacts", "uploads", "docker", "docker-output"} {
		if err := os.MkdirAll(s.path(d), 0o755); err != nil {
			return err
		}
	}
	return writeJSON(s.path("config.json"), c)
}

// Config reads the config the runner wrote.
func (s State) Config() (Config, error) {
	var c Config
	err := readJSON(s.path("config.json"), &c)
	return c, err
}

// SetMetaData stores a meta-data value.
func (s State) SetMetaData(key, value string) error {
	if len(key) > 100 {
		// A file name holds at most 255 bytes: the key, in hex, must fit.
		return fmt.Errorf("meta-data key %q: the stand-in takes keys of up to 100 bytes", key)
	}
	return writeFile(s.path("meta-data", hex.EncodeToString([]byte(key))), []byte(value))
}

// MetaData returns a meta-data value and whether it is set.
func (s State) MetaData(key string) (string, bool, error) {
	if len(key) > 100 {
		return "", false, nil
	}
	b, err := os.ReadFile(s.path("meta-data", hex.EncodeToString([]byte(key))))
	if errors.Is(err, fs.ErrNotExist) {
		return "", false, nil
	}
	return string(b), err == nil, err
}

// AllMetaData returns every meta-data key and value.
func (s State) AllMetaData() (map[string]string, error) {
	entries, err := os.ReadDir(s.path("meta-data"))
	if err != nil {
		return nil, err
	}
	out := map[string]string{}
	for _, e := range entries {
		k, err := hex.DecodeString(e.Name())
		if err != nil {
			continue // a temporary file
		}
		b, err := os.ReadFile(s.path("meta-data", e.Name()))
		if err != nil {
			return nil, err
		}
		out[string(k)] = string(b)
	}
	return out, nil
}

// IssueToken records a token the agent gives a job. Its text is the
// registries' password (they use htpasswd): any client can log in with it,
// and the docker wrapper checks the login against the job's latest token.
func (s State) IssueToken(audience string, lifetime int, job string) (Token, error) {
	c, err := s.Config()
	if err != nil {
		return Token{}, err
	}
	t := Token{Token: c.RegistryPassword, Audience: audience, Lifetime: lifetime, Issued: time.Now(), Job: job}
	if t.Token == "" {
		t.Token = "bkgen-exec-oidc." + randomHex(16)
	}
	return t, writeJSON(s.path("tokens", stamp()+".json"), t)
}

// latestToken is the last token a job was given before now.
func (s State) latestToken(job string) (Token, bool) {
	tokens, err := s.Tokens()
	if err != nil || job == "" {
		return Token{}, false
	}
	for i := len(tokens) - 1; i >= 0; i-- {
		if tokens[i].Job == job {
			return tokens[i], true
		}
	}
	return Token{}, false
}

// Tokens returns every issued token, oldest first.
func (s State) Tokens() ([]Token, error) {
	var out []Token
	err := readAll(s.path("tokens"), func(b []byte) error {
		var t Token
		err := json.Unmarshal(b, &t)
		out = append(out, t)
		return err
	})
	sort.Slice(out, func(i, j int) bool { return out[i].Issued.Before(out[j].Issued) })
	return out, err
}

// login is what the wrapper remembers of a `docker login` made with a
// token, per docker config and registry host.
type login struct {
	Server string `json:"server"`
	Token  Token  `json:"token"`
}

func (s State) loginPath(dockerConfig, host string) string {
	sum := sha256.Sum256([]byte(dockerConfig + "\x00" + host))
	return s.path("logins", hex.EncodeToString(sum[:]))
}

func (s State) recordLogin(dockerConfig, host string, l login) error {
	return writeJSON(s.loginPath(dockerConfig, host), l)
}

func (s State) forgetLogin(dockerConfig, host string) {
	os.Remove(s.loginPath(dockerConfig, host))
}

func (s State) lookupLogin(dockerConfig, host string) (login, bool) {
	var l login
	err := readJSON(s.loginPath(dockerConfig, host), &l)
	return l, err == nil
}

// Annotate records an annotation.
func (s State) Annotate(a Annotation) error {
	return writeJSON(s.path("annotations", stamp()+".json"), a)
}

// Annotations returns every annotation, in the order they were made.
func (s State) Annotations() ([]Annotation, error) {
	var out []Annotation
	err := readAll(s.path("annotations"), func(b []byte) error {
		var a Annotation
		err := json.Unmarshal(b, &a)
		out = append(out, a)
		return err
	})
	return out, err
}

// AddArtifact records an uploaded artifact.
func (s State) AddArtifact(a Artifact) error {
	return writeJSON(s.path("artifacts", stamp()+".json"), a)
}

// Artifacts returns every uploaded artifact.
func (s State) Artifacts() ([]Artifact, error) {
	var out []Artifact
	err := readAll(s.path("artifacts"), func(b []byte) error {
		var a Artifact
		err := json.Unmarshal(b, &a)
		out = append(out, a)
		return err
	})
	return out, err
}

// Upload is one accepted `pipeline upload`: the pipeline as the build
// received it (parsed and interpolated), as JSON.
type Upload struct {
	Job      string          `json:"job"`
	Pipeline json.RawMessage `json:"pipeline"`
	Name     string          `json:"-"` // the record's file name, in upload order
}

func (s State) addUpload(u Upload) error {
	return writeJSON(s.path("uploads", stamp()+".json"), u)
}

// Uploads returns every upload, oldest first.
func (s State) Uploads() ([]Upload, error) {
	entries, err := os.ReadDir(s.path("uploads"))
	if err != nil {
		return nil, err
	}
	var out []Upload
	for _, e := range entries {
		if !strings.HasSuffix(e.Name(), ".json") {
			continue
		}
		var u Upload
		if err := readJSON(s.path("uploads", e.Name()), &u); err != nil {
			return nil, err
		}
		u.Name = e.Name()
		out = append(out, u)
	}
	return out, nil
}

// recordDocker records a docker call; its name orders the calls.
func (s State) recordDocker(c DockerCall) error {
	return writeJSON(s.path("docker", stamp()+".json"), c)
}

// DockerCalls returns every docker call made through the wrapper, in the
// order they started.
func (s State) DockerCalls() ([]DockerCall, error) {
	var out []DockerCall
	err := readAll(s.path("docker"), func(b []byte) error {
		var c DockerCall
		err := json.Unmarshal(b, &c)
		out = append(out, c)
		return err
	})
	sort.SliceStable(out, func(i, j int) bool { return out[i].Start.Before(out[j].Start) })
	return out, err
}

// stamp is a file name that sorts by time and is unique across processes.
func stamp() string {
	return fmt.Sprintf("%020d-%s", time.Now().UnixNano(), randomHex(4))
}

func randomHex(n int) string {
	b := make([]byte, n)
	if _, err := rand.Read(b); err != nil {
		panic(err)
	}
	return hex.EncodeToString(b)
}

// newUUID is a random (version 4) UUID, as Buildkite's job and build IDs are.
func newUUID() string {
	b := make([]byte, 16)
	if _, err := rand.Read(b); err != nil {
		panic(err)
	}
	b[6] = b[6]&0x0f | 0x40
	b[8] = b[8]&0x3f | 0x80
	h := hex.EncodeToString(b)
	return h[:8] + "-" + h[8:12] + "-" + h[12:16] + "-" + h[16:20] + "-" + h[20:]
}

// writeFile writes data whole: to a temporary file beside path, renamed over it.
func writeFile(path string, data []byte) error {
	tmp := filepath.Join(filepath.Dir(path), ".tmp-"+randomHex(8))
	if err := os.WriteFile(tmp, data, 0o644); err != nil {
		return err
	}
	return os.Rename(tmp, path)
}

func writeJSON(path string, v any) error {
	b, err := json.MarshalIndent(v, "", "  ")
	if err != nil {
		return err
	}
	return writeFile(path, append(b, '\n'))
}

func readJSON(path string, v any) error {
	b, err := os.ReadFile(path)
	if err != nil {
		return err
	}
	return json.Unmarshal(b, v)
}

// readAll calls fn with each record in dir, in name order.
func readAll(dir string, fn func([]byte) error) error {
	entries, err := os.ReadDir(dir)
	if err != nil {
		return err
	}
	for _, e := range entries {
		if !strings.HasSuffix(e.Name(), ".json") || strings.HasPrefix(e.Name(), ".") {
			continue
		}
		b, err := os.ReadFile(filepath.Join(dir, e.Name()))
		if err != nil {
			return err
		}
		if err := fn(b); err != nil {
			return fmt.Errorf("%s: %w", e.Name(), err)
		}
	}
	return nil
}
