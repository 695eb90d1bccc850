package spec

import (
	"fmt"
	"path"
	"regexp"
	"strings"

	"gopkg.in/yaml.v3"
)

// Container is how a consumer's container runs: what the docker plugin
// (docker#v5) offers for `docker run`, in the spec's words. The zero value
// is not the default: DefaultContainer is.
type Container struct {
	// Propagate passes, by name, every variable Buildkite gave the job (the
	// names in $BUILDKITE_ENV_FILE: pipeline, build and step env).
	Propagate bool
	// Pass names more variables from the job's environment, such as ones
	// its hooks export; a final * matches any rest of the name.
	Pass []string
	// Deny names variables never passed, with the same patterns; only the
	// step's own env is passed whatever it says.
	Deny []string
	// Credentials are the clouds whose credentials the job holds that go
	// in: "aws", "gcp". Nil: those of the image's registry.
	Credentials []string
	// User is the container's user: "" (the image's), "agent" (the job's
	// uid:gid, so files written into the checkout are the agent's), or
	// what `docker run --user` takes (name or uid, optionally :group).
	User string
	// Workdir is where the checkout is mounted and the command runs.
	Workdir       string
	MountCheckout bool
	Volumes       []string // SRC:DST[:ro|rw]; SRC absolute, ./relative to the checkout, or a volume name
	Tmpfs         []string // PATH[:OPTIONS]
	Network       string
	Privileged    bool
	ShmSize       string
	CPUs          string
	Memory        string
	GPUs          string
	AddHosts      []string // NAME:ADDRESS
	// Shell runs the command: its first word is the entrypoint, the rest
	// and the command its arguments.
	Shell    []string
	SSHAgent bool
	// JobImage runs the whole job in the image, as hosted agents do with a
	// step's image attribute, instead of docker run on the agent.
	JobImage bool
	Pos      Pos
	modeAt   *yaml.Node
}

// DefaultContainer is a consumer's container when the spec says nothing.
func DefaultContainer() Container {
	return Container{Propagate: true, Workdir: "/workdir", MountCheckout: true, Shell: []string{"/bin/sh", "-e", "-c"}}
}

var (
	envPatternRule = rule{regexp.MustCompile(`^[A-Za-z_][A-Za-z0-9_]*\*?$|^\*$`), "a variable name (letters, digits and '_'), optionally ending in *"}
	userRule       = rule{regexp.MustCompile(`^[A-Za-z0-9_][A-Za-z0-9_.-]*(:[A-Za-z0-9_][A-Za-z0-9_.-]*)?$`),
		"a user: agent (the job's own uid and gid), a name or uid, or NAME:GROUP"}
	volumeNameRE = regexp.MustCompile(`^[A-Za-z0-9][A-Za-z0-9_.-]*$`)
	networkRule  = rule{regexp.MustCompile(`^[A-Za-z0-9][A-Za-z0-9_.-]*(:[A-Za-z0-9][A-Za-z0-9_.-]*)?$`), "a network: host, none, bridge, a network's name or container:NAME"}
	sizeRE       = regexp.MustCompile(`^[0-9]+[bkmgBKMG]?$`)
	sizeRule     = rule{sizeRE, "a size such as 2g or 512m"}
	memoryRule   = rule{sizeRE, "a size such as 4g or 512m"}
	cpusRule     = rule{regexp.MustCompile(`^[0-9]+(\.[0-9]+)?$`), "a number of CPUs such as 2 or 1.5"}
	gpusRule     = rule{regexp.MustCompile(`^(all|[0-9]+|device=[A-Za-z0-9,-]+)$`), "all, a number of GPUs, or device=ID[,ID]"}
	hostRule     = rule{regexp.MustCompile(`^[A-Za-z0-9]([A-Za-z0-9.-]*[A-Za-z0-9])?:([0-9A-Fa-f.:]+|host-gateway)$`), "NAME:ADDRESS (an IP address or host-gateway)"}
	tmpfsOptsRE  = regexp.MustCompile(`^[A-Za-z0-9=,_-]+$`)
	// A container path: absolute, clean, and nothing docker's --volume
	// syntax would read as a separator.
	containerPathRule = rule{regexp.MustCompile(`^/[^:,\x00-\x1f]*$`), "a path in the container: absolute and clean, without ':' or ','"}
)

// containerModes are how a consumer's container runs: docker run on the
// agent, or the job itself in the image (jobImageMode).
var containerModes = []string{"docker", jobImageMode}

const jobImageMode = "job_image"

// containerFields are a consumer's container's, and environmentFields
// those of its environment.
var (
	containerFields = []fieldDoc{
		{"mode", "docker (the default): docker run on the agent; job_image (hosted registry only): the image is the job's own, through the step's image attribute, and no other field applies.",
			enum(containerModes...)},
		{"environment", "What the job's environment passes into the container.", object(environmentFields)},
		{"credentials", "The clouds whose credentials the job holds that go in: " + strings.Join(Clouds, ", ") + "; by default those of the image's registry.",
			oneOrMany(enum(Clouds...))},
		{"user", "The container's user; the image's by default.", matches(userRule)},
		{"workdir", "Where the checkout is mounted and the command runs; /workdir by default.", matches(containerPathRule)},
		{"mount_checkout", "Mount the checkout at workdir; true by default.", boolean()},
		{"volumes", "Volumes, SRC:DST or SRC:DST:ro: SRC an absolute path, ./a path in the checkout, or a volume name.", list(nonBlank())},
		{"tmpfs", "tmpfs mounts, PATH[:OPTIONS].", oneOrMany(nonBlank())},
		{"network", "The container's network, as docker run takes it.", matches(networkRule)},
		{"privileged", "Run the container privileged.", boolean()},
		{"shm_size", "The size of /dev/shm.", matches(sizeRule)},
		{"cpus", "The CPUs the container may use.", matches(cpusRule)},
		{"memory", "The memory the container may use.", matches(memoryRule)},
		{"gpus", "The GPUs the container may use.", matches(gpusRule)},
		{"add_hosts", "Extra /etc/hosts entries.", list(matches(hostRule))},
		{"shell", "The program (as the entrypoint) and arguments the command is given to; [/bin/sh, -e, -c] by default.", schema{"type": "array", "items": nonBlank(), "minItems": 1}},
		{"ssh_agent", "Mount the job's $SSH_AUTH_SOCK; the step fails if there is none.", boolean()},
	}
	environmentFields = []fieldDoc{
		{"propagate", "Pass every variable Buildkite gave the job (the names in $BUILDKITE_ENV_FILE); true by default.", boolean()},
		{"pass", "More variables from the job's environment, such as ones its hooks export.", oneOrMany(matches(envPatternRule))},
		{"deny", "Variables never passed; the step's own env always goes.", oneOrMany(matches(envPatternRule))},
	}
)

// Clouds are what `credentials` takes.
var Clouds = []string{"aws", "gcp"}

func (d *decoder) container(n *yaml.Node, what string) Container {
	c := DefaultContainer()
	c.Pos = posOf(n)
	f, ok := d.fields(n, what, fieldNames(containerFields))
	if !ok {
		return c
	}
	if p, ok := f["mode"]; ok {
		mode, _ := d.oneOf(p.value, what+".mode", containerModes...)
		c.JobImage, c.modeAt = mode == jobImageMode, p.value
		if c.JobImage {
			for name, q := range f {
				if name != "mode" {
					d.errorf(q.key, what, "%s does not apply with mode: job_image: the job itself runs in the image, with the job's environment", name)
				}
			}
			return c
		}
	}
	for name, p := range f {
		field := what + "." + name
		v := p.value
		switch name {
		case "environment":
			d.environment(v, field, &c)
		case "credentials":
			c.Credentials = []string{}
			items, _ := d.strList(v, field, true)
			for _, it := range items {
				if !contains(Clouds, it.text) {
					d.errorf(it.node, field, "%s is not one of %s%s", quoteForMessage(it.text), strings.Join(Clouds, ", "), didYouMean(it.text, Clouds))
					continue
				}
				if !contains(c.Credentials, it.text) {
					c.Credentials = append(c.Credentials, it.text)
				}
			}
		case "user":
			c.User = d.matching(v, field, userRule)
		case "workdir":
			if s, ok := d.nonEmpty(v, field); ok && d.containerPath(v, field, s) {
				c.Workdir = s
			}
		case "mount_checkout":
			c.MountCheckout, _ = d.boolean(v, field)
		case "volumes":
			c.Volumes = d.checkedList(v, field, false, func(it item) bool { return d.volume(it.node, field, it.text) })
		case "tmpfs":
			c.Tmpfs = d.checkedList(v, field, true, func(it item) bool {
				dst, opts, hasOpts := strings.Cut(it.text, ":")
				if !d.containerPath(it.node, field, dst) {
					return false
				}
				if hasOpts && !tmpfsOptsRE.MatchString(opts) {
					d.errorf(it.node, field, "%s: tmpfs options are comma-separated words such as size=64m,mode=1777", quoteForMessage(opts))
					return false
				}
				return true
			})
		case "network":
			c.Network = d.matching(v, field, networkRule)
		case "privileged":
			c.Privileged, _ = d.boolean(v, field)
		case "shm_size":
			c.ShmSize = d.matching(v, field, sizeRule)
		case "memory":
			c.Memory = d.matching(v, field, memoryRule)
		case "cpus":
			c.CPUs = d.matching(v, field, cpusRule)
		case "gpus":
			c.GPUs = d.matching(v, field, gpusRule)
		case "add_hosts":
			c.AddHosts = d.checkedList(v, field, false, func(it item) bool { return hostRule.check(d, it.node, field, it.text) })
		case "shell":
			c.Shell = d.shell(v, field)
		case "ssh_agent":
			c.SSHAgent, _ = d.boolean(v, field)
		}
	}
	return c
}

// environment decodes {propagate, pass, deny}.
func (d *decoder) environment(n *yaml.Node, what string, c *Container) {
	f, ok := d.fields(n, what, fieldNames(environmentFields))
	if !ok {
		return
	}
	if p, ok := f["propagate"]; ok {
		c.Propagate, _ = d.boolean(p.value, what+".propagate")
	}
	patterns := func(name string) []string {
		p, ok := f[name]
		if !ok {
			return nil
		}
		field := what + "." + name
		return d.checkedList(p.value, field, true, func(it item) bool {
			return envPatternRule.check(d, it.node, field, it.text)
		})
	}
	c.Pass, c.Deny = patterns("pass"), patterns("deny")
}

func (d *decoder) containerPath(n *yaml.Node, what, p string) bool {
	if !containerPathRule.re.MatchString(p) || path.Clean(p) != p && path.Clean(p)+"/" != p {
		d.errorf(n, what, "%s is not %s", quoteForMessage(p), containerPathRule.text)
		return false
	}
	return d.pipelineText(n, what, p)
}

// volume checks SRC:DST[:ro|rw].
func (d *decoder) volume(n *yaml.Node, what, v string) bool {
	parts := strings.Split(v, ":")
	if len(parts) < 2 || len(parts) > 3 {
		d.errorf(n, what, "%s is not SRC:DST or SRC:DST:ro", quoteForMessage(v))
		return false
	}
	src := parts[0]
	switch {
	case strings.HasPrefix(src, "/"):
		if !containerPathRule.re.MatchString(src) {
			d.errorf(n, what, "%s: the source path holds a character docker's --volume cannot take", quoteForMessage(v))
			return false
		}
	case strings.HasPrefix(src, "./"):
		rel := path.Clean(src)
		if rel == ".." || strings.HasPrefix(rel, "../") || strings.ContainsAny(src, ",\x00") {
			d.errorf(n, what, "%s: a relative source must stay inside the checkout", quoteForMessage(v))
			return false
		}
	case volumeNameRE.MatchString(src):
	default:
		d.errorf(n, what, "%s: the source is an absolute path, ./a path in the checkout, or a volume name", quoteForMessage(v))
		return false
	}
	if !d.containerPath(n, what, parts[1]) {
		return false
	}
	if len(parts) == 3 && parts[2] != "ro" && parts[2] != "rw" {
		d.errorf(n, what, "%s: the mode is ro or rw, not %s", quoteForMessage(v), quoteForMessage(parts[2]))
		return false
	}
	return d.pipelineText(n, what, src)
}

// shell decodes the words that run the command.
func (d *decoder) shell(n *yaml.Node, what string) []string {
	items, ok := d.strList(n, what, false)
	if !ok {
		return DefaultContainer().Shell
	}
	if len(items) == 0 {
		d.errorf(n, what, "must name a program, such as [/bin/bash, -e, -c]")
		return DefaultContainer().Shell
	}
	out := make([]string, len(items))
	for i, it := range items {
		if it.text == "" || strings.ContainsRune(it.text, 0) {
			d.errorf(it.node, fmt.Sprintf("%s[%d]", what, i), "must not be empty")
		}
		if i == 0 && (strings.HasPrefix(it.text, "-") || strings.ContainsAny(it.text, " \t\n")) {
			d.errorf(it.node, what, "%s is not a program", quoteForMessage(it.text))
		}
		d.pipelineText(it.node, what, it.text)
		out[i] = it.text
	}
	return out
}
