package exectest

import (
	"cmp"
	"encoding/json"
	"fmt"
	"regexp"
	"slices"
	"sort"
	"strings"

	"github.com/bkgen/bkgen/imagebuild"
	"github.com/bkgen/bkgen/spec"
)

// The stand-in Dockerfiles: the examples' own pull images from Docker Hub
// and install packages, which cannot work here. Each is replaced by one
// that builds from the local base image (or, where the example builds on
// another image of the spec, FROM ${NAME_IMAGE} as bkgen passes it), keeps
// the example's target stage and ENTRYPOINT, and proves where it ran: a
// marker only this image has.

// markerPath holds "image=NAME stage=STAGE platform=P arch=A run=RUN",
// written by a RUN step, so on a foreign platform it ran under emulation.
const markerPath = "/bkgen/marker"

// afterTarget is the stage after the target: built only when the spec's
// target is ignored, and then its marker says so.
const afterTarget = "bkgen-exec-after-target"

// finalStage names the image's stage when the spec names no target.
const finalStage = "bkgen-exec-final"

// stage is one FROM of a Dockerfile.
type stage struct {
	name       string // AS name, lower case; "" when unnamed
	from       string
	entrypoint string // the last ENTRYPOINT's arguments, as written
}

// dockerfile is what the stand-in keeps of an example's Dockerfile.
type dockerfile struct {
	stages []stage
	// keep: lines between "# bkgen-exec:begin" and "# bkgen-exec:end"
	// comments, which the extra scenarios use to add steps (RUN sleep 6).
	keep []string
}

func parseDockerfile(src string) dockerfile {
	var d dockerfile
	keeping := false
	// Join continuation lines first.
	src = regexp.MustCompile(`\\[ \t]*\r?\n`).ReplaceAllString(src, " ")
	for _, line := range strings.Split(src, "\n") {
		line = strings.TrimSpace(line)
		switch {
		case line == "# bkgen-exec:begin":
			keeping = true
			continue
		case line == "# bkgen-exec:end":
			keeping = false
			continue
		case keeping:
			d.keep = append(d.keep, line)
			continue
		case line == "" || strings.HasPrefix(line, "#"):
			continue
		}
		word, rest, _ := strings.Cut(line, " ")
		rest = strings.TrimSpace(rest)
		switch strings.ToUpper(word) {
		case "FROM":
			f := strings.Fields(rest)
			for len(f) > 0 && strings.HasPrefix(f[0], "--") {
				f = f[1:]
			}
			s := stage{}
			if len(f) > 0 {
				s.from = f[0]
			}
			if len(f) >= 3 && strings.EqualFold(f[1], "as") {
				s.name = strings.ToLower(f[2])
			}
			d.stages = append(d.stages, s)
		case "ENTRYPOINT":
			if n := len(d.stages); n > 0 {
				d.stages[n-1].entrypoint = rest
			}
		}
	}
	return d
}

// chain is the target stage (or the last) and the stages it builds on,
// target first.
func (d dockerfile) chain(target string) []stage {
	if len(d.stages) == 0 {
		return nil
	}
	i := len(d.stages) - 1
	if target != "" {
		i = -1
		for j, s := range d.stages {
			if s.name == strings.ToLower(target) {
				i = j
			}
		}
		if i < 0 {
			return nil
		}
	}
	var out []stage
	for seen := map[int]bool{}; i >= 0 && !seen[i]; {
		seen[i] = true
		s := d.stages[i]
		out = append(out, s)
		i = -1
		for j := range d.stages {
			if d.stages[j].name != "" && d.stages[j].name == strings.ToLower(s.from) {
				i = j
			}
		}
	}
	return out
}

var fromVar = regexp.MustCompile(`^\$\{?([A-Za-z_][A-Za-z0-9_]*)(:?[-+][^}]*)?\}?$`)

// Standin is an image's stand-in Dockerfile.
type Standin struct {
	Image      string
	Stage      string   // the stage the spec builds: its target, else finalStage
	Run        string   // in the marker: this run of the harness
	FromArg    string   // NAME_IMAGE when the example builds on another image of the spec
	Base       string   // the local base image, otherwise
	Entrypoint string   // the example's ENTRYPOINT arguments, as written
	Args       []string // the spec's build args, shown in /bkgen/args
	Secrets    []string
	Keep       []string
	Rebuild    string // a comment line that changes the content tag but no layer
	Label      string // the image's runLabel ("" for none)
}

// runLabel marks every image a run of the harness builds, so that it can
// remove them from dockerd's store.
const runLabel = "org.bkgen.exec.run"

// NewStandin reads an image's Dockerfile as the example wrote it.
func NewStandin(im *spec.Image, src, run, base string) *Standin {
	d := parseDockerfile(src)
	s := &Standin{Image: im.Name, Stage: finalStage, Run: run, Base: base, Keep: d.keep, Secrets: im.Secrets}
	if im.Target != "" {
		s.Stage = strings.ToLower(im.Target)
	}
	deps := map[string]bool{}
	for _, dep := range im.DependsOn {
		deps[imagebuild.DependencyArg(dep)] = true
	}
	specArgs := map[string]bool{}
	for _, kv := range im.Args {
		specArgs[kv.Key] = true
		s.Args = append(s.Args, kv.Key)
	}
	sort.Strings(s.Args)
	chain := d.chain(im.Target)
	for _, st := range chain {
		if s.Entrypoint == "" {
			s.Entrypoint = st.entrypoint
		}
	}
	if n := len(chain); n > 0 {
		if m := fromVar.FindStringSubmatch(chain[n-1].from); m != nil && deps[m[1]] && !specArgs[m[1]] {
			s.FromArg = m[1]
		}
	}
	return s
}

// Marker is what the image's marker says when built for platform.
func (s *Standin) Marker(platform string) string {
	return fmt.Sprintf("image=%s stage=%s platform=%s arch=%s run=%s", s.Image, s.Stage, platform, unameArch(platform), s.Run)
}

// unameArch is what `uname -m` says on a platform.
func unameArch(platform string) string {
	switch platform {
	case "linux/amd64":
		return "x86_64"
	case "linux/arm64", "linux/arm64/v8":
		return "aarch64"
	case "linux/arm/v7":
		return "armv7l"
	case "linux/386":
		return "i686"
	case "linux/ppc64le":
		return "ppc64le"
	case "linux/s390x":
		return "s390x"
	case "linux/riscv64":
		return "riscv64"
	}
	return "?"
}

var simpleProgram = regexp.MustCompile(`^[A-Za-z0-9._/+-]+$`)

// Text is the Dockerfile.
func (s *Standin) Text() string { return sharedText([]*Standin{s}) }

// sharedText is one Dockerfile for the stand-ins of images that share it
// (an image and its variants), each building its own stage: the stages of
// a target first, each with the stage built only if that target is
// ignored, and the one built without a target last.
func sharedText(ss []*Standin) string {
	var b strings.Builder
	w := func(format string, a ...any) { fmt.Fprintf(&b, format+"\n", a...) }
	w("# A stand-in for the example's Dockerfile, written by the bkgen execution")
	w("# harness (exectest): it builds on this machine and proves where it ran.")
	w("# run %s", ss[0].Run)
	args := map[string]bool{}
	for _, s := range ss {
		if s.Rebuild != "" {
			w("# %s", s.Rebuild)
			break
		}
	}
	for _, s := range ss {
		if s.FromArg != "" && !args[s.FromArg] {
			args[s.FromArg] = true
			w("ARG %s", s.FromArg)
		}
	}
	ordered := slices.Clone(ss)
	slices.SortStableFunc(ordered, func(a, b *Standin) int {
		return cmp.Compare(boolInt(a.Stage == finalStage), boolInt(b.Stage == finalStage))
	})
	for i, s := range ordered {
		if i > 0 {
			w("")
		}
		s.stage(w)
	}
	return b.String()
}

func boolInt(b bool) int {
	if b {
		return 1
	}
	return 0
}

// stage writes the stand-in's stage, and the one built only if its target
// is ignored.
func (s *Standin) stage(w func(format string, a ...any)) {
	if s.FromArg != "" {
		w("FROM ${%s} AS %s", s.FromArg, s.Stage)
	} else {
		w("FROM %s AS %s", s.Base, s.Stage)
	}
	w("ARG TARGETPLATFORM")
	for _, a := range s.Args {
		w("ARG %s", a)
	}
	argsOut := ": > /bkgen/args"
	if len(s.Args) > 0 {
		var vals []string
		for _, a := range s.Args {
			vals = append(vals, fmt.Sprintf(`"%s=${%s}"`, a, a))
		}
		argsOut = "printf '%s\\n' " + strings.Join(vals, " ") + " > /bkgen/args"
	}
	w(`RUN mkdir -p /bkgen && echo "image=%s stage=%s platform=${TARGETPLATFORM} arch=$(uname -m) run=%s" > %s && cat %s >> /bkgen/lineage && %s`,
		s.Image, s.Stage, s.Run, markerPath, markerPath, argsOut)
	// What the scans find: a package the scanners' database lists as vulnerable.
	w(`RUN mkdir -p /bkgen/node_modules/%s && printf '{"name":"%s","version":"%s"}\n' > /bkgen/node_modules/%s/package.json`,
		plantedPackage, plantedPackage, plantedVersion, plantedPackage)
	for _, sec := range s.Secrets {
		// The secret reaches the build: a RUN step can read it.
		w("RUN --mount=type=secret,id=%s test -s /run/secrets/%s", sec, sec)
	}
	for _, k := range s.Keep {
		w("%s", k)
	}
	if prog := entrypointProgram(s.Entrypoint); prog != "" && simpleProgram.MatchString(prog) {
		// The example's entrypoint program, where the base image lacks it.
		path, test := "/usr/local/bin/"+prog, "command -v "+prog+" >/dev/null 2>&1"
		if strings.HasPrefix(prog, "/") {
			path, test = prog, "test -x "+prog
		}
		dir := path[:strings.LastIndex(path, "/")+1]
		w(`RUN %s || { mkdir -p %s && printf '%%s\n' '#!/bin/sh' 'echo "stand-in for the example entrypoint %s, arguments: $*"' > %s && chmod 755 %s; }`,
			test, dir, prog, path, path)
	}
	w("COPY . /bkgen/context/%s", strings.ReplaceAll(s.Image, ":", "-"))
	if s.Entrypoint != "" {
		w("ENTRYPOINT %s", s.Entrypoint)
	}
	if s.Label != "" {
		w("LABEL %s=%s", runLabel, s.Label)
	}
	if s.Stage != finalStage {
		after := afterTarget + "-" + strings.ToLower(s.Stage)
		w("")
		w("# Built only if the spec's target is ignored.")
		w("FROM %s AS %s", s.Stage, after)
		w(`RUN echo "image=%s stage=%s run=%s" > %s`, s.Image, after, s.Run, markerPath)
	}
}

// entrypointProgram is the program an ENTRYPOINT runs: the first element
// of its exec form, or the first word of its shell form.
func entrypointProgram(ep string) string {
	if ep == "" {
		return ""
	}
	if strings.HasPrefix(ep, "[") {
		var argv []string
		if json.Unmarshal([]byte(ep), &argv) == nil && len(argv) > 0 {
			return argv[0]
		}
		return ""
	}
	f := strings.Fields(ep)
	if len(f) == 0 {
		return ""
	}
	return f[0]
}
