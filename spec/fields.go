package spec

import (
	"fmt"
	"maps"
	"path"
	"regexp"
	"slices"
	"strings"

	"github.com/bkgen/bkgen/scanner"
	"github.com/bkgen/bkgen/stepvalue"
	"gopkg.in/yaml.v3"
)

// An imageField is one field an image (or the defaults) may set: how it
// decodes into an Image, how an image takes it from the defaults, and how
// the JSON Schema describes it. A field is this one row; nothing else
// lists the fields.
type imageField struct {
	name string
	// imageOnly fields name one image's own things, and cannot be defaults.
	imageOnly bool
	decode    func(d *decoder, n *yaml.Node, path string, im *Image)
	// inherit fills im's field from def's: taken whole when im does not set
	// it, merged key by key for mappings when both do.
	inherit func(im, def *Image, own bool)
	// description and shape are the field in the JSON Schema.
	description string
	shape       schema
}

// field declares an image field held at at(im), read by decode; merge, for
// mappings, lays an image's own value over the default's.
func field[T any](name string, at func(*Image) *T, decode func(*decoder, *yaml.Node, string) T, merge func(def, own T) T) imageField {
	return imageField{
		name: name,
		decode: func(d *decoder, n *yaml.Node, path string, im *Image) {
			*at(im) = decode(d, n, path)
		},
		inherit: func(im, def *Image, own bool) {
			switch {
			case !own:
				*at(im) = *at(def)
			case merge != nil:
				*at(im) = merge(*at(def), *at(im))
			}
		},
	}
}

// only marks a field as one image's own.
func (f imageField) only() imageField {
	f.imageOnly = true
	return f
}

// doc gives a field its description and the shape of its value, for the
// JSON Schema.
func (f imageField) doc(description string, shape schema) imageField {
	f.description, f.shape = description, shape
	return f
}

var imageFields = []imageField{
	field("registry", func(im *Image) *string { return &im.Registry }, (*decoder).name, nil).
		doc("The registry the image is pushed to, by its name under registries; needed when there are several.", nonBlank()),
	field("repository", func(im *Image) *string { return &im.Repository }, matching(repositoryRule), nil).only().
		doc("The image's repository in its registry; the image's name by default.", matches(repositoryRule)),
	field("context", func(im *Image) *string { return &im.Context }, (*decoder).relPath, nil).only().
		doc("The build context: a directory of the repository, relative to its root; . by default.", nonBlank()),
	field("dockerfile", func(im *Image) *string { return &im.Dockerfile }, (*decoder).relPath, nil).only().
		doc("The Dockerfile, relative to the repository's root; CONTEXT/Dockerfile by default.", nonBlank()),
	field("target", func(im *Image) *string { return &im.Target }, matching(stageRule), nil).
		doc("The stage of the Dockerfile to build; its last by default.", matches(stageRule)),
	field("args", func(im *Image) *[]KV { return &im.Args }, (*decoder).args, mergeKV).
		doc("Build args, name to value, merged over the defaults'. Values are taken as written, never expanded: they are inputs of the content tag.",
			mapOf(matches(varNameRule), scalar())),
	field("secrets", func(im *Image) *[]string { return &im.Secrets }, (*decoder).secrets, nil).
		doc("Build secrets (RUN --mount=type=secret,id=NAME), each by the name of the environment variable that holds it.", list(matches(envVarRule))),
	field("labels", func(im *Image) *[]KV { return &im.Labels }, (*decoder).labels, mergeKV).
		doc("Image labels, name to value, merged over the defaults'; taken as written, never expanded.",
			mapOf(matches(labelNameRule), scalar())),
	field("key_salt", func(im *Image) *string { return &im.KeySalt }, (*decoder).nonEmptyText, nil).
		doc("Text that goes into the content tag and nowhere else: change it to start new tags on purpose.", nonBlank()),
	field("provenance", func(im *Image) *string { return &im.Provenance }, (*decoder).provenance, nil).
		doc("The SLSA provenance attestation attached to the image: "+strings.Join(provenanceModes, " or ")+"; false (the default) for none.",
			schema{"enum": append([]any{false}, anys(provenanceModes)...)}),
	field("annotations", func(im *Image) *bool { return &im.Annotations }, (*decoder).flag, nil).
		doc("Record the build that pushed the image (commit, repository, build URL, time) as OCI annotations on what it pushes.", boolean()),
	field("network", func(im *Image) *string { return &im.Network }, (*decoder).network, nil).
		doc("The network of the build's RUN steps.", enum(buildNetworks...)),
	field("add_hosts", func(im *Image) *[]string { return &im.AddHosts }, (*decoder).buildHosts, nil).
		doc("Extra /etc/hosts entries for the build's RUN steps.", list(matches(hostRule))),
	field("ssh", func(im *Image) *[]string { return &im.SSH }, (*decoder).sshIDs, nil).
		doc("The SSH agent sockets RUN --mount=type=ssh may use, by id: "+sshIDWhy+".", oneOrMany(matches(sshIDRule))),
	field("shm_size", func(im *Image) *string { return &im.ShmSize }, matching(sizeRule), nil).
		doc("The size of /dev/shm in the build's RUN steps.", matches(sizeRule)),
	field("build_contexts", func(im *Image) *[]KV { return &im.BuildContexts }, (*decoder).buildContexts, mergeKV).
		doc("Named build contexts, name to "+dockerImageScheme+"IMAGE, pinned: a directory's files would not be in the content tag.",
			mapOf(matches(contextNameRule), schema{"type": "string", "pattern": "^" + regexp.QuoteMeta(dockerImageScheme)})),
	field("cache_from", func(im *Image) *[]string { return &im.CacheFrom }, (*decoder).cacheFrom, nil).
		doc("Registry caches to read besides bkgen's own (not to write).", oneOrMany(matches(imageRefRule))),
	field("export_env", func(im *Image) *string { return &im.ExportEnv }, matching(envVarRule), nil).only().
		doc("The variable the image's consumers find its reference in.", matches(envVarRule)),
	field("sbom", func(im *Image) *string { return &im.SBOM }, (*decoder).sbom, nil).
		doc("The SBOM attached to the image: true for BuildKit's Syft generator, pinned by bkgen, or a generator of your own; false (the default) for none.",
			anyOf(boolean(), object(sbomFields, "generator"))),
	field("max_age", func(im *Image) *int { return &im.MaxAge }, (*decoder).maxAge, nil).
		doc("How many days an image found under its content tag is reused: an older one is rebuilt from fresh bases.", integer(1, maxAgeDays)),
	imageField{name: "depends_on", imageOnly: true, decode: (*decoder).imageDependsOn}.
		doc("The images of the spec this one is built on: built first, each given to its build as the arg NAME_IMAGE, its content-tag reference (BASE_IMAGE for base).", oneOrMany(nonBlank())),
	field("platforms", func(im *Image) *[]string { return &im.Platforms }, (*decoder).platforms, nil).
		doc("The platforms to build; the agent's own by default.",
			anyOf(matches(platformRule), schema{"type": "array", "items": matches(platformRule), "minItems": 1})),
	field("multi_arch", func(im *Image) *MultiArch { return &im.MultiArch }, (*decoder).multiArch, nil).
		doc("How several platforms are built: native (a step per platform on its own agents, then merged; the default) or emulated (one step, under QEMU).",
			enum(multiArchModes...)),
	field("agents", func(im *Image) **stepvalue.Value { return &im.Agents }, (*decoder).agents, stepvalue.Merge).
		doc("The agents the image's steps run on, merged over the defaults'.", ref("agents")),
	imageField{name: "platform_agents", decode: (*decoder).platformAgents, inherit: inheritPlatformAgents}.
		doc("The agents each platform's native build runs on, by platform, merged over the defaults'.", mapOf(matches(platformRule), ref("agents"))),
	field("cache", func(im *Image) *Cache { return &im.Cache }, (*decoder).cache, nil).
		doc("Where BuildKit keeps the image's layer cache: "+strings.Join(cacheTypes, ", ")+"; registry by default.",
			anyOf(enum(cacheTypes...), object(cacheFields, "type"))),
	field("if_changed", func(im *Image) **IfChanged { return &im.IfChanged }, (*decoder).ifChanged, nil).only().
		doc("The changed paths the image's build runs for; by default its context, Dockerfile and dependencies'.", ref("ifChanged")),
	field("tags", func(im *Image) *[]Tag { return &im.Tags }, (*decoder).tags, nil).
		doc("Extra tags pushed with the content tag. A tag may name variables ($NAME, ${NAME}), which the job expands, and may use "+tagTemplateList()+".",
			oneOrMany(matches(tagRule))),
	field("scan", func(im *Image) **Scan { return &im.Scan }, (*decoder).scan, nil).
		doc("The image's vulnerability scan: true (the default, "+scanner.All[0].Name()+"), false for none, or the tool and its options.", ref("scan")),
	field("step", func(im *Image) *OwnStep { return &im.Step }, (*decoder).ownStep, nil).
		doc("What the image's own steps (builds, manifest, scan) take besides bkgen's; an image's replaces the default's whole.", stepObject(ownStepFields)),
	field("consumers", func(im *Image) *[]*Consumer { return &im.Consumers }, (*decoder).consumers, nil).only().
		doc("Steps that run inside the image, by name: the step's key is IMAGE-NAME.", mapOf(pattern(nameRE), ref("consumer"))),
	field("outputs", func(im *Image) *[]*Output { return &im.Outputs }, (*decoder).outputs, nil).only().
		doc("Files taken out of the image, or of a stage of its Dockerfile, and uploaded as the build's artifacts.", list(object(outputFields, "path"))),
}

func imageFieldNames() []string {
	names := make([]string, len(imageFields))
	for i, f := range imageFields {
		names[i] = f.name
	}
	return names
}

// imageMapping decodes an image, or the defaults (isDefaults), field by
// field, recording in im.set where each was written.
func (d *decoder) imageMapping(n *yaml.Node, what string, isDefaults bool, im *Image) bool {
	given, ok := d.fields(n, what, imageFieldNames())
	if !ok {
		return false
	}
	im.set = map[string]*yaml.Node{}
	for _, f := range imageFields {
		p, ok := given[f.name]
		if !ok {
			continue
		}
		if isDefaults && f.imageOnly {
			d.errorf(p.key, "defaults", "%s belongs to one image and cannot be a default", f.name)
			continue
		}
		im.set[f.name] = p.value
		f.decode(d, p.value, what+"."+f.name, im)
	}
	return true
}

// inherit gives im what it leaves to the defaults.
func (im *Image) inherit(def *Image) {
	if def == nil {
		return
	}
	for _, f := range imageFields {
		n, set := def.set[f.name]
		if !set || f.inherit == nil {
			continue
		}
		_, own := im.set[f.name]
		f.inherit(im, def, own)
		if !own {
			im.set[f.name] = n
		}
	}
}

func mergeKV(def, own []KV) []KV {
	byKey := map[string]string{}
	for _, kv := range def {
		byKey[kv.Key] = kv.Value
	}
	for _, kv := range own {
		byKey[kv.Key] = kv.Value
	}
	out := make([]KV, 0, len(byKey))
	for _, k := range slices.Sorted(maps.Keys(byKey)) {
		out = append(out, KV{Key: k, Value: byKey[k]})
	}
	return out
}

func inheritPlatformAgents(im, def *Image, own bool) {
	merged := maps.Clone(def.PlatformAgents)
	keys := maps.Clone(def.platformAgentKeys)
	if own {
		maps.Copy(merged, im.PlatformAgents)
		maps.Copy(keys, im.platformAgentKeys)
	}
	im.PlatformAgents, im.platformAgentKeys = merged, keys
}

// name decodes a string that must not be blank.
func (d *decoder) name(n *yaml.Node, what string) string {
	s, _ := d.nonEmpty(n, what)
	return s
}

// A rule is what a string must be, in words: the loader's message for one
// that is not is `"VALUE" is not TEXT`, and the JSON Schema describes the
// field as "Must be TEXT." with re as its pattern. A rule without re is
// checked by code, and only described.
type rule struct {
	re   *regexp.Regexp
	text string
}

// check reports s, written at n, when r refuses it.
func (r rule) check(d *decoder, n *yaml.Node, what, s string) bool {
	if r.re.MatchString(s) {
		return true
	}
	d.errorf(n, what, "%s is not %s", quoteForMessage(s), r.text)
	return false
}

// matching returns a decoder of a string r accepts.
func matching(r rule) func(*decoder, *yaml.Node, string) string {
	return func(d *decoder, n *yaml.Node, what string) string { return d.matching(n, what, r) }
}

// matching decodes a string, not blank, that r accepts (reporting one it
// does not).
func (d *decoder) matching(n *yaml.Node, what string, r rule) string {
	s, ok := d.nonEmpty(n, what)
	if ok {
		r.check(d, n, what, s)
	}
	return s
}

// relPath decodes a path inside the repository, cleaned.
func (d *decoder) relPath(n *yaml.Node, what string) string {
	p, ok := d.nonEmpty(n, what)
	if !ok {
		return ""
	}
	if strings.Contains(p, `\`) {
		d.errorf(n, what, "use '/' in paths, found %s", quoteForMessage(p))
		return ""
	}
	c := path.Clean(p)
	if path.IsAbs(c) || c == ".." || strings.HasPrefix(c, "../") {
		d.errorf(n, what, "%s must be a path inside the repository, relative to its root", quoteForMessage(p))
		return ""
	}
	return c
}

func (d *decoder) args(n *yaml.Node, what string) []KV {
	kvs, _ := d.kvMap(n, what, varNameRule.re.MatchString, varNameRule.text)
	d.noVariables(n, what, "build arg", kvs)
	return kvs
}

// labelNameRule is what a label's name may be.
var labelNameRule = rule{text: "a valid name (no '=' or newline)"}

func (d *decoder) labels(n *yaml.Node, what string) []KV {
	kvs, _ := d.kvMap(n, what, func(k string) bool {
		return strings.TrimSpace(k) != "" && !strings.ContainsAny(k, "=\n")
	}, labelNameRule.text)
	d.noVariables(n, what, "label", kvs)
	return kvs
}

// variableRE finds what a shell or the agent's upload would read as a
// variable: $NAME or ${...}.
var variableRE = regexp.MustCompile(`\$(\{|[A-Za-z_])`)

// NamesVariable reports whether text names a variable ($NAME or ${...}),
// which build args and labels refuse (see noVariables).
func NamesVariable(text string) bool { return variableRE.MatchString(text) }

// noVariables refuses a build arg or label value that names a variable.
// Such text reaches the build as written, never expanded: args and labels
// are inputs of the content tag, which must not change from one build of
// the same commit to the next, so they cannot come from the environment.
func (d *decoder) noVariables(n *yaml.Node, what, kind string, kvs []KV) {
	if !slices.ContainsFunc(kvs, func(kv KV) bool { return NamesVariable(kv.Value) }) {
		return
	}
	byKey := map[string]*yaml.Node{}
	ps, _ := d.mapping(n, what) // decoded once already, without errors
	for _, p := range ps {
		byKey[p.key.Value] = p.value
	}
	for _, kv := range kvs {
		m := variableRE.FindString(kv.Value)
		if m == "" {
			continue
		}
		d.errorf(byKey[kv.Key], what+"."+kv.Key,
			"%s %s would reach the build as the literal text %s, never expanded: "+
				"%ss are part of the content tag, so they cannot change from build to build; "+
				"per-build values (a build number, a commit) belong in tags, which do expand variables",
			kind, kv.Key, quoteForMessage(m+"..."), kind)
	}
}

// nonEmptyText decodes a string that must not be blank.
func (d *decoder) nonEmptyText(n *yaml.Node, what string) string {
	s, _ := d.nonEmpty(n, what)
	return s
}

// outputFields are an output's.
var outputFields = []fieldDoc{
	{"target", "The stage of the Dockerfile the files come from; the image's own by default.", matches(stageRule)},
	{"from", "The directory in the image whose contents are taken; / by default.", matches(imageDirRule)},
	{"path", "The directory in the checkout they go to, relative to its root: they are uploaded as PATH/**/*.", nonBlank()},
}

// imageDirRule is what an output's from must be.
var imageDirRule = rule{text: "a clean absolute path in the image, such as /app/dist"}

// outputs decodes the files to take out of the image (or a stage of its
// Dockerfile) as artifacts.
func (d *decoder) outputs(n *yaml.Node, what string) []*Output {
	r := resolve(n)
	if r == nil || r.Kind != yaml.SequenceNode {
		d.errorf(n, what, "expected a list of {target, from, path}, found %s", kindName(n))
		return nil
	}
	var out []*Output
	seen := map[string]bool{}
	for i, item := range r.Content {
		at := fmt.Sprintf("%s[%d]", what, i)
		f, ok := d.fields(item, at, fieldNames(outputFields))
		if !ok {
			continue
		}
		o := &Output{Pos: posOf(item), From: "/"}
		if p, ok := f["target"]; ok {
			o.Target = d.matching(p.value, at+".target", stageRule)
		}
		if p, ok := f["from"]; ok {
			if s, ok := d.nonEmpty(p.value, at+".from"); ok {
				if !strings.HasPrefix(s, "/") || path.Clean(s) != s || strings.ContainsAny(s, "\n\x00") {
					d.errorf(p.value, at+".from", "%s is not %s", quoteForMessage(s), imageDirRule.text)
				} else {
					o.From = s
				}
			}
		}
		if p, ok := f["path"]; ok {
			o.Path = d.relPath(p.value, at+".path")
			if o.Path == "." {
				d.errorf(p.value, at+".path", "name a directory of its own for the files: they are uploaded as PATH/**/*")
				o.Path = ""
			}
		} else {
			d.errorf(item, at, "path is required: the directory in the checkout the files go to")
		}
		if seen[o.Target] {
			d.errorf(item, at, "a second output of the same stage: list each stage once")
			continue
		}
		seen[o.Target] = true
		if o.Path != "" {
			out = append(out, o)
		}
	}
	return out
}

// flag decodes true or false.
func (d *decoder) flag(n *yaml.Node, what string) bool {
	b, _ := d.boolean(n, what)
	return b
}

// buildNetworks are the build's RUN networks. (host needs a builder
// started with the network.host entitlement, which bkgen's own is not.)
var buildNetworks = []string{"default", "none"}

// network decodes the build's RUN network.
func (d *decoder) network(n *yaml.Node, what string) string {
	s, _ := d.oneOf(n, what, buildNetworks...)
	return s
}

// buildHosts decodes extra /etc/hosts entries for RUN steps, NAME:ADDRESS
// as a consumer's container takes them.
func (d *decoder) buildHosts(n *yaml.Node, what string) []string {
	return d.checkedList(n, what, false, func(it item) bool { return hostRule.check(d, it.node, what, it.text) })
}

var sshIDRule = rule{regexp.MustCompile(`^[A-Za-z0-9][A-Za-z0-9_.-]*$`), "an SSH id (default, or letters, digits, '.', '_' and '-')"}

// sshIDWhy says why an SSH id is not a path.
const sshIDWhy = "the build is given the agent's ssh-agent socket under that id"

// sshIDs decodes the SSH agent sockets RUN --mount=type=ssh may use: ids
// of the agent's $SSH_AUTH_SOCK (default), never paths on the agent.
func (d *decoder) sshIDs(n *yaml.Node, what string) []string {
	return d.checkedList(n, what, true, func(it item) bool {
		if !sshIDRule.re.MatchString(it.text) {
			d.errorf(it.node, what, "%s is not %s: %s", quoteForMessage(it.text), sshIDRule.text, sshIDWhy)
			return false
		}
		return true
	})
}

var contextNameRule = rule{stageRE, "a valid name (a letter, then letters, digits, '.', '_' and '-')"}

// dockerImageScheme starts a named build context that is an image.
const dockerImageScheme = "docker-image://"

// buildContexts decodes named build contexts. Only images can be named,
// pinned: a local directory's files would not be in the content tag.
func (d *decoder) buildContexts(n *yaml.Node, what string) []KV {
	kvs, _ := d.kvMap(n, what, contextNameRule.re.MatchString, contextNameRule.text)
	var out []KV
	for _, kv := range kvs {
		ref, ok := strings.CutPrefix(kv.Value, dockerImageScheme)
		if !ok {
			d.errorf(n, what+"."+kv.Key, "%s is not %sIMAGE: only images can be named build contexts here (a directory's files would not be in the content tag)", quoteForMessage(kv.Value), dockerImageScheme)
			continue
		}
		if d.pinnedRef(n, what+"."+kv.Key, ref) {
			out = append(out, kv)
		}
	}
	return out
}

// cacheFrom decodes extra registry caches to read (not write): image
// references, which move by nature.
func (d *decoder) cacheFrom(n *yaml.Node, what string) []string {
	return d.checkedList(n, what, true, func(it item) bool {
		return d.imageRef(it.node, what, false) != ""
	})
}

// DefaultSBOMGenerator is the SBOM generator `sbom: true` names: BuildKit's
// own, Syft, pinned (BuildKit would take stable-1, which moves).
const DefaultSBOMGenerator = "docker.io/docker/buildkit-syft-scanner:1.12.0@sha256:ae4f3b554449e7e25548e7d8ccc029d17357348e30c6e3df01b92bc93654d6a9"

// provenanceModes are the SLSA provenance attestations an image may have.
var provenanceModes = []string{"min", "max"}

// provenance decodes false or a provenance mode: the SLSA provenance
// attestation attached to the image, none by default.
func (d *decoder) provenance(n *yaml.Node, what string) string {
	if r := resolve(n); r != nil && r.Kind == yaml.ScalarNode && r.Tag == "!!bool" {
		if b, ok := d.boolean(n, what); ok && b {
			d.errorf(n, what, "say %s: the provenance to attach (or false for none)", strings.Join(provenanceModes, " or "))
		}
		return ""
	}
	s, _ := d.oneOf(n, what, provenanceModes...)
	return s
}

// sbomFields are sbom's, in its mapping form.
var sbomFields = []fieldDoc{
	{"generator", "The SBOM generator's image, pinned.", matches(pinnedImageRule)},
}

// sbom decodes true, false or {generator: IMAGE}: the SBOM generator whose
// scan is attached to the image, "" for none.
func (d *decoder) sbom(n *yaml.Node, what string) string {
	r := resolve(n)
	if r != nil && r.Kind == yaml.MappingNode {
		f, ok := d.fields(n, what, fieldNames(sbomFields))
		if !ok {
			return ""
		}
		g, ok := f["generator"]
		if !ok {
			d.errorf(n, what, "generator is required: the SBOM generator image, pinned (or write sbom: true for BuildKit's, pinned by bkgen)")
			return ""
		}
		return d.imageRef(g.value, what+".generator", true)
	}
	if b, ok := d.boolean(n, what); ok && b {
		return DefaultSBOMGenerator
	}
	return ""
}

// maxAgeDays is the longest max_age: ten years.
const maxAgeDays = 3650

func (d *decoder) maxAge(n *yaml.Node, what string) int {
	days, _ := d.integer(n, what, 1, maxAgeDays)
	return days
}

func (d *decoder) secrets(n *yaml.Node, what string) []string {
	items, _ := d.strList(n, what, false)
	var out []string
	for _, it := range items {
		if !envVarRule.re.MatchString(it.text) {
			d.errorf(it.node, what, "%s is not %s: a secret is passed to BuildKit by the name of the env var that holds it", quoteForMessage(it.text), envVarRule.text)
			continue
		}
		out = append(out, it.text)
	}
	return out
}

// imageDependsOn keeps the names as written; they are checked once every
// image's name is known.
func (d *decoder) imageDependsOn(n *yaml.Node, what string, im *Image) {
	items, _ := d.strList(n, what, true)
	for _, it := range items {
		im.DependsOn = append(im.DependsOn, it.text)
		im.dependsOnAt = append(im.dependsOnAt, it.node)
	}
}

func (d *decoder) platforms(n *yaml.Node, what string) []string {
	items, _ := d.strList(n, what, true)
	var out []string
	seen := map[string]bool{}
	for _, it := range items {
		switch {
		case !platformRule.check(d, it.node, what, it.text):
		case seen[it.text]:
			d.errorf(it.node, what, "%s is listed twice", quoteForMessage(it.text))
		default:
			seen[it.text] = true
			out = append(out, it.text)
		}
	}
	if len(items) == 0 && resolve(n).Kind == yaml.SequenceNode {
		d.errorf(n, what, "list at least one platform, or leave platforms out")
	}
	return out
}

// multiArchModes are the ways of building several platforms.
var multiArchModes = []string{string(Native), string(Emulated)}

func (d *decoder) multiArch(n *yaml.Node, what string) MultiArch {
	s, _ := d.oneOf(n, what, multiArchModes...)
	return MultiArch(s)
}

func (d *decoder) platformAgents(n *yaml.Node, what string, im *Image) {
	ps, ok := d.mapping(n, what)
	if !ok {
		return
	}
	im.PlatformAgents, im.platformAgentKeys = map[string]*stepvalue.Value{}, map[string]*yaml.Node{}
	for _, p := range ps {
		if !platformRule.check(d, p.key, what, p.key.Value) {
			continue
		}
		if a := d.agents(p.value, what+"."+p.key.Value); a != nil {
			im.PlatformAgents[p.key.Value] = a
			im.platformAgentKeys[p.key.Value] = p.key
		}
	}
}

// TagTemplateRE finds a tag's templates, {{NAME}}, filled in from the
// build when the pipeline is made (see generator).
var TagTemplateRE = regexp.MustCompile(`\{\{\s*([A-Za-z_]*)\s*\}\}`)

// TagTemplates are the names a tag's template may use, as docker's
// metadata-action has them: the branch, the git tag, the short commit,
// the tag's semantic version and its parts, the build number.
var TagTemplates = []string{"branch", "tag", "sha", "version", "major", "minor", "patch", "build_number"}

// tagTemplateList names the templates a tag may use.
func tagTemplateList() string { return "{{" + strings.Join(TagTemplates, "}}, {{") + "}}" }

// tagRule is what a tag must be: checked with tagRE once its templates
// and variables are replaced, so the text itself has no pattern.
var tagRule = rule{text: "a valid tag (letters, digits, '_', '.', '-', at most 128, not starting with '.' or '-'; $VAR and {{branch}} and the like allowed)"}

func (d *decoder) tags(n *yaml.Node, what string) []Tag {
	items, _ := d.strList(n, what, true)
	var out []Tag
	for _, it := range items {
		bad := false
		for _, m := range TagTemplateRE.FindAllStringSubmatch(it.text, -1) {
			if !slices.Contains(TagTemplates, m[1]) {
				d.errorf(it.node, what, "%s names no value: a tag may use %s", quoteForMessage(m[0]), tagTemplateList())
				bad = true
			}
		}
		if bad {
			continue
		}
		if !tagRE.MatchString(tagVarRE.ReplaceAllString(TagTemplateRE.ReplaceAllString(it.text, "x"), "x")) {
			d.errorf(it.node, what, "%s is not %s", quoteForMessage(it.text), tagRule.text)
			continue
		}
		if strings.HasPrefix(it.text, "bk-") {
			d.errorf(it.node, what, "tags starting with bk- are reserved for content tags")
			continue
		}
		out = append(out, Tag{Text: it.text, Pos: posOf(it.node)})
	}
	return out
}
