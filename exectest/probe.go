package exectest

import (
	"bytes"
	"fmt"
	"maps"
	"os"
	"path/filepath"
	"slices"
	"sort"
	"strings"

	"github.com/bkgen/bkgen/spec"
	"github.com/bkgen/bkgen/stepvalue"
	"gopkg.in/yaml.v3"
)

// probeDir is where, relative to the checkout, a consumer's probe writes.
const probeDir = "bkgen-exec-probes"

// Probe is what a consumer step's probe recorded.
type Probe struct {
	Key              string
	ParallelJob      string // "unset" without parallelism
	ParallelJobCount string
	Env              map[string]string // the consumer's env names, "unset" for one not set
	Marker           string            // the image's marker; "none" when there is none
	User             string            // uid:gid
	Dir              string            // the working directory
	Shell            string            // $0: the program that ran the command
	Mounts           map[string]string // mount point: filesystem type
	Hosts            map[string]string // /etc/hosts: name to address
	Dirs             map[string]bool   // the consumer's volume targets that exist
	Readable         map[string]bool   // credential files it could read: gcp-credentials, gcp-token, aws-token
	Matrix           string            // a matrix job's combination, as matrixText writes it; "" for none
}

// Variables every build of the harness has: one Buildkite gives the job
// (pipeline env, so in $BUILDKITE_ENV_FILE) and one an agent hook exports.
const (
	buildVar, buildValue = "BKGEN_EXEC_BUILD_VAR", "from the pipeline's env"
	hookVar, hookValue   = "BKGEN_EXEC_HOOK_VAR", "exported by a hook"
	// What the ecr and gcp plugins export (cloudCredentials).
	gcpCredentialsVar      = "GOOGLE_APPLICATION_CREDENTIALS"
	awsKeyVar, awsKeyValue = "AWS_ACCESS_KEY_ID", "AKIABKGENEXEC"
)

// probeCommand replaces a consumer's command: it records, in the checkout,
// that it ran and where (the marker only the image has), the consumer's
// env and its parallel index, and writes a file for each artifact path.
func probeCommand(key string, c *spec.Consumer) string {
	var b strings.Builder
	w := func(format string, a ...any) { fmt.Fprintf(&b, format+"\n", a...) }
	w("# bkgen-exec probe: records that %s ran, and where", key)
	w("mkdir -p %s", probeDir)
	w("{")
	w(`  echo "key=%s"`, key)
	w(`  echo "parallel_job=${BUILDKITE_PARALLEL_JOB-unset}"`)
	w(`  echo "parallel_job_count=${BUILDKITE_PARALLEL_JOB_COUNT-unset}"`)
	if dims := matrixDims(c); dims != nil {
		// Buildkite fills the tokens in before the job runs.
		tokens := map[string]string{}
		for _, d := range dims {
			tokens[d] = "{{matrix." + d + "}}"
			if d == "" {
				tokens[d] = "{{matrix}}"
			}
		}
		w(`  echo "matrix=%s"`, matrixText(tokens))
	}
	for _, name := range probedEnv(c) {
		w(`  echo "env %s=${%s-unset}"`, name, name)
	}
	w(`  echo "marker=$(cat %s 2>/dev/null || echo none)"`, markerPath)
	w(`  if [ -r "${%s:-/none}" ]; then echo "readable gcp-credentials"; fi`, gcpCredentialsVar)
	w(`  f=$(sed -n 's/.*"file" *: *"\([^"]*\)".*/\1/p' "${%s:-/dev/null}" 2>/dev/null || true)`, gcpCredentialsVar)
	w(`  if [ -n "$f" ] && [ -r "$f" ]; then echo "readable gcp-token"; fi`)
	w(`  if [ -r "${AWS_WEB_IDENTITY_TOKEN_FILE:-/none}" ]; then echo "readable aws-token"; fi`)
	w(`  echo "user=$(id -u):$(id -g)"`)
	w(`  echo "dir=$(pwd)"`)
	w(`  echo "shell=$0"`)
	w(`  awk '{print "mount " $2 "=" $3}' /proc/mounts`)
	w(`  awk '$1 !~ /^#/ {for (i = 2; i <= NF; i++) print "host " $i "=" $1}' /etc/hosts`)
	for _, v := range c.Container.Volumes {
		dst := strings.Split(v, ":")[1]
		w(`  if [ -d %s ]; then echo "volume %s"; fi`, dst, dst)
	}
	w(`} > %s/%s.${BUILDKITE_PARALLEL_JOB:-0}`, probeDir, key)
	for _, p := range c.ArtifactPaths {
		for _, one := range strings.Split(p, ";") {
			if one = strings.TrimSpace(one); one != "" {
				f := artifactFile(one)
				w(`mkdir -p "$(dirname "%s")" && echo probe > "%s"`, f, f)
			}
		}
	}
	w("echo \"bkgen-exec probe: %s ran in $(cat %s 2>/dev/null || echo 'no image of the harness')\"", key, markerPath)
	return b.String()
}

// matrixDims are the dimensions of a consumer's matrix ("" for a list of
// values), sorted; nil without a matrix.
func matrixDims(c *spec.Consumer) []string {
	a, ok := attr(c, "matrix")
	if !ok {
		return nil
	}
	setup := a.Value
	if a.Value.Kind == stepvalue.Map {
		setup = a.Value.Get("setup")
	}
	if setup == nil || setup.Kind != stepvalue.Map {
		return []string{""}
	}
	dims := slices.Clone(setup.Keys)
	sort.Strings(dims)
	return dims
}

// matrixText writes a matrix combination as "dim=value dim=value", dims
// sorted ("=value" for a list's).
func matrixText(p map[string]string) string {
	var parts []string
	for _, d := range slices.Sorted(maps.Keys(p)) {
		parts = append(parts, d+"="+p[d])
	}
	return strings.Join(parts, " ")
}

// probedEnv is the variables a consumer's probe records: its own env and
// the harness's two.
func probedEnv(c *spec.Consumer) []string {
	names := []string{buildVar, hookVar, awsKeyVar}
	for _, kv := range c.Env {
		names = append(names, kv.Key)
	}
	return names
}

// artifactFile is a file an artifact glob matches, made for the job's
// parallel index.
func artifactFile(glob string) string {
	f := strings.ReplaceAll(glob, "**", "probe")
	f = strings.ReplaceAll(f, "*", "probe-${BUILDKITE_PARALLEL_JOB:-0}")
	return strings.ReplaceAll(f, "?", "p")
}

// readProbe reads the probe a consumer job wrote in its checkout; nil when
// there is none.
func readProbe(checkout, key string, index int) (*Probe, error) {
	b, err := os.ReadFile(filepath.Join(checkout, probeDir, fmt.Sprintf("%s.%d", key, index)))
	if os.IsNotExist(err) {
		return nil, nil
	}
	if err != nil {
		return nil, err
	}
	p := &Probe{Env: map[string]string{}, Mounts: map[string]string{}, Hosts: map[string]string{}, Dirs: map[string]bool{}, Readable: map[string]bool{}}
	for _, line := range strings.Split(string(b), "\n") {
		// "WORD NAME=VALUE" or "WORD NAME" lines for what comes many times,
		// "key=value" for the rest (whose values may hold spaces).
		word, rest, _ := strings.Cut(line, " ")
		k, v, _ := strings.Cut(rest, "=")
		switch word {
		case "env":
			p.Env[k] = v
		case "mount":
			p.Mounts[k] = v
		case "host":
			if _, seen := p.Hosts[k]; !seen {
				p.Hosts[k] = v
			}
		case "readable":
			p.Readable[rest] = true
		case "volume":
			p.Dirs[rest] = true
		}
		k, v, _ = strings.Cut(line, "=")
		switch k {
		case "key":
			p.Key = v
		case "parallel_job":
			p.ParallelJob = v
		case "parallel_job_count":
			p.ParallelJobCount = v
		case "marker":
			p.Marker = v
		case "user":
			p.User = v
		case "dir":
			p.Dir = v
		case "shell":
			p.Shell = v
		case "matrix":
			p.Matrix = v
		}
	}
	return p, nil
}

// rewriteSpec replaces every consumer's command in a spec with its probe,
// keeping everything else as written (comments included).
func rewriteSpec(src []byte, s *spec.Spec, prefix string) ([]byte, error) {
	var doc yaml.Node
	if err := yaml.Unmarshal(src, &doc); err != nil {
		return nil, err
	}
	if len(doc.Content) == 0 {
		return nil, fmt.Errorf("empty spec")
	}
	images := mapValue(doc.Content[0], "images")
	if images == nil {
		return nil, fmt.Errorf("no images")
	}
	for i := 0; i+1 < len(images.Content); i += 2 {
		im := s.Image(images.Content[i].Value)
		if im == nil {
			return nil, fmt.Errorf("image %q is not in the loaded spec", images.Content[i].Value)
		}
		if prefix != "" {
			setValue(images.Content[i+1], "repository", prefix+"/"+im.Repository)
		}
		consumers := mapValue(images.Content[i+1], "consumers")
		if consumers == nil {
			continue
		}
		for j := 0; j+1 < len(consumers.Content); j += 2 {
			name := consumers.Content[j].Value
			// The consumer, in the image or (with a target of its own) in
			// one of its variants.
			var c *spec.Consumer
			for _, o := range s.Images {
				for _, x := range o.Consumers {
					if x.Name == name && x.ListedUnder(o) == im.Name {
						c = x
					}
				}
			}
			if c == nil {
				return nil, fmt.Errorf("consumer %s.%s is not in the loaded spec", im.Name, name)
			}
			body := consumers.Content[j+1]
			for k := 0; k+1 < len(body.Content); k += 2 {
				if body.Content[k].Value == "command" {
					body.Content[k+1] = &yaml.Node{Kind: yaml.ScalarNode, Tag: "!!str", Style: yaml.LiteralStyle,
						Value: probeCommand(im.Name+"-"+c.Name, c)}
				}
			}
		}
	}
	// The spec's own command steps: their commands are the example's
	// (make docs, a deploy), which cannot run here; each says it ran.
	if steps := mapValue(doc.Content[0], "steps"); steps != nil {
		probeUserSteps(steps)
	}
	var out bytes.Buffer
	enc := yaml.NewEncoder(&out)
	enc.SetIndent(2)
	if err := enc.Encode(&doc); err != nil {
		return nil, err
	}
	return out.Bytes(), enc.Close()
}

// setValue sets key in a mapping node to a string.
func setValue(n *yaml.Node, key, value string) {
	v := &yaml.Node{Kind: yaml.ScalarNode, Tag: "!!str", Value: value}
	for i := 0; i+1 < len(n.Content); i += 2 {
		if n.Content[i].Value == key {
			n.Content[i+1] = v
			return
		}
	}
	n.Content = append(n.Content, &yaml.Node{Kind: yaml.ScalarNode, Tag: "!!str", Value: key}, v)
}

// mapValue is the value of key in a mapping node, or nil.
func mapValue(n *yaml.Node, key string) *yaml.Node {
	if n.Kind != yaml.MappingNode {
		return nil
	}
	for i := 0; i+1 < len(n.Content); i += 2 {
		if n.Content[i].Value == key {
			return n.Content[i+1]
		}
	}
	return nil
}

// probeUserSteps replaces the command of each of the spec's own command
// steps (a group's too) with one that says it ran.
func probeUserSteps(steps *yaml.Node) {
	if steps.Kind != yaml.SequenceNode {
		return
	}
	for _, st := range steps.Content {
		if st.Kind != yaml.MappingNode {
			continue
		}
		if inner := mapValue(st, "steps"); inner != nil {
			probeUserSteps(inner)
		}
		for k := 0; k+1 < len(st.Content); k += 2 {
			if name := st.Content[k].Value; name == "command" || name == "commands" {
				st.Content[k].Value = "command"
				st.Content[k+1] = &yaml.Node{Kind: yaml.ScalarNode, Tag: "!!str", Value: `echo "bkgen-exec probe: the spec's own step ran"`}
			}
		}
	}
}
