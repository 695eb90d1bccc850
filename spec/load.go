package spec

import (
	"bytes"
	"errors"
	"fmt"
	"io"
	"maps"
	"net/url"
	"path"
	"regexp"
	"slices"
	"sort"
	"strconv"
	"strings"
	"unicode"

	"github.com/bkgen/bkgen/glob"
	"github.com/bkgen/bkgen/internal/pin"
	"github.com/bkgen/bkgen/internal/pipetext"
	"github.com/bkgen/bkgen/provider"
	"github.com/bkgen/bkgen/scanner"
	"github.com/bkgen/bkgen/stepvalue"
	"github.com/google/go-containerregistry/pkg/name"
	"gopkg.in/yaml.v3"
)

// Load parses and validates a spec. On any problem it returns a diag.List
// holding every problem found, each with its position in file.
func Load(file string, src []byte) (*Spec, error) {
	d := &decoder{file: file, work: maxWork}
	s := d.load(src)
	if len(d.errs) > 0 {
		return nil, d.errs.Sorted()
	}
	return s, nil
}

var (
	nameRE      = regexp.MustCompile(`^[a-z0-9][a-z0-9._-]*$`)
	envNameRE   = regexp.MustCompile(`^[A-Za-z_][A-Za-z0-9_]*$`)
	awsRegionRE = regexp.MustCompile(`^[a-z]{2}(-[a-z]+)+-[0-9]$`)
	// An OCI repository: slash-separated lowercase components.
	repositoryRE = regexp.MustCompile(`^[a-z0-9]+(?:(?:[._]|__|-+)[a-z0-9]+)*(?:/[a-z0-9]+(?:(?:[._]|__|-+)[a-z0-9]+)*)*$`)
	platformRE   = regexp.MustCompile(`^[a-z0-9]+/[a-z0-9_]+(?:/[a-z0-9]+)?$`)
	// A Docker tag, once any $VAR references are replaced by a letter.
	tagRE    = regexp.MustCompile(`^[A-Za-z0-9_][A-Za-z0-9_.-]{0,127}$`)
	tagVarRE = regexp.MustCompile(`\$(?:[A-Za-z_][A-Za-z0-9_]*|\{[A-Za-z_][A-Za-z0-9_]*\})`)
	// What buildx takes inside comma-separated --cache-to values, and
	// BuildKit as a stage name.
	bucketRE    = regexp.MustCompile(`^[a-z0-9][a-z0-9.-]{1,61}[a-z0-9]$`)
	cacheNameRE = regexp.MustCompile(`^[A-Za-z0-9][A-Za-z0-9._-]*$`)
	stageRE     = regexp.MustCompile(`^[A-Za-z][A-Za-z0-9._-]*$`)
)

// The rules of text fields, each the one statement of what its fields
// take: the loader's messages and the JSON Schema say them alike.
var (
	repositoryRule = rule{repositoryRE, "a valid repository (lowercase letters, digits, '.', '_', '-', components separated by '/')"}
	stageRule      = rule{stageRE, "a build stage name (a letter, then letters, digits, '.', '_' and '-')"}
	envVarRule     = rule{envNameRE, "an environment variable name (letters, digits and '_')"}
	// varNameRule is the names of build args and env.
	varNameRule   = rule{envNameRE, "a valid name (letters, digits and '_')"}
	platformRule  = rule{platformRE, "a platform such as linux/amd64 or linux/arm/v7"}
	bucketRule    = rule{bucketRE, "an S3 bucket name (3 to 63 lowercase letters, digits, '.' and '-')"}
	awsRegionRule = rule{awsRegionRE, "an AWS region such as us-east-1"}
	cacheNameRule = rule{cacheNameRE, "a cache name (letters, digits, '.', '_' and '-')"}
	// Image references, checked by checkRef.
	imageRefRule    = rule{text: "an image reference (REGISTRY/REPOSITORY:TAG or @sha256:DIGEST)"}
	pinnedImageRule = rule{text: imageRefRule.text + ", pinned to " + pinnedText}
)

// pinnedText says what a pinned image reference names.
const pinnedText = "a version tag or a digest (IMAGE:1.2.3 or IMAGE@sha256:...)"

// specVersion is the version of the spec's format this loader reads.
const specVersion = 1

// topFields are the spec's.
var topFields = []fieldDoc{
	{"version", "The version of the spec's format.", schema{"const": specVersion}},
	{"registries", "The registries images are pushed to, by name.",
		schema{"type": "object", "propertyNames": pattern(nameRE), "additionalProperties": ref("registry"), "minProperties": 1}},
	{"defaults", "Image fields every image takes unless it sets them itself; mappings (args, labels, agents, platform_agents) are merged key by key, the image's winning.", ref("defaults")},
	{"images", "The images to build, by name.",
		schema{"type": "object", "propertyNames": pattern(nameRE), "additionalProperties": ref("image"), "minProperties": 1}},
	{"steps", "Ordinary Buildkite steps that follow bkgen's in the pipeline: command, trigger, block, input, wait and group steps, as Buildkite has them.", list(ref("step"))},
	{"trust", "Which builds are trusted, and where the images of the others go.", object(trustFields)},
	{"signing", "Trusted builds sign every image they push with cosign, and builds verify an image's signature before they reuse it.", object(signingFields)},
}

func (d *decoder) load(src []byte) *Spec {
	var doc yaml.Node
	dec := yaml.NewDecoder(bytes.NewReader(src))
	if err := dec.Decode(&doc); err != nil {
		if errors.Is(err, io.EOF) {
			d.errorf(nil, "", "the spec is empty: it needs version, registries and images")
		} else {
			d.yamlError(err)
		}
		return nil
	}
	var extra yaml.Node
	if err := dec.Decode(&extra); err == nil {
		d.errorf(&extra, "", "the spec must be a single YAML document, found another here")
	}
	root := resolve(&doc)
	if root.Kind == yaml.DocumentNode && len(root.Content) == 1 {
		root = resolve(root.Content[0])
	}
	top, ok := d.fields(root, "spec", fieldNames(topFields))
	if !ok {
		return nil
	}
	s := &Spec{File: d.file}
	if p, ok := top["version"]; !ok {
		d.errorf(root, "", "version is required: add `version: %d`", specVersion)
	} else if v, ok := d.integer(p.value, "version", 0, 1<<30); ok {
		if v != specVersion {
			d.errorf(p.value, "version", "this bkgen reads version %d, found %d", specVersion, v)
		}
		s.Version = v
	}
	if p, ok := top["registries"]; ok {
		s.Registries = d.registries(p.value)
	} else {
		d.errorf(root, "", "registries is required: name at least one registry to push to")
	}
	var defaults *Image
	if p, ok := top["defaults"]; ok {
		defaults = &Image{}
		if !d.imageMapping(p.value, "defaults", true, defaults) {
			defaults = nil
		}
	}
	if p, ok := top["images"]; ok {
		s.Images = d.images(p.value, defaults, s.Registries)
	} else {
		d.errorf(root, "", "images is required: name at least one image to build")
	}
	s.Images = d.variants(s.Images)
	if p, ok := top["steps"]; ok {
		s.Steps = d.userSteps(p.value, "steps", false)
	}
	if p, ok := top["trust"]; ok {
		s.Trust = d.trust(p.value)
		d.checkTrust(s)
	}
	if p, ok := top["signing"]; ok {
		s.Signing = d.signing(p.value)
	}
	if len(s.Images) > 0 {
		d.checkLogins(s)
		d.checkSteps(s.Images, s.Steps)
		d.checkValueSizes(s.Images)
		s.Images = d.dependencyOrder(s.Images)
	}
	return s
}

// variants adds, after each image, one variant for each build stage its
// consumers or outputs name as their target (other than the image's own): the same
// build with that target, on the same agents, for those consumers only. It
// has no platforms (the agent's own), tags or scan; its content tag is its
// own, its registry cache under tags of its own.
func (d *decoder) variants(images []*Image) []*Image {
	names := map[string]bool{}
	for _, im := range images {
		names[im.Name] = true
	}
	var out []*Image
	for _, im := range images {
		out = append(out, im)
		byStage := map[string]*Image{}
		// stageImage is the variant that builds stage, made when a consumer
		// or an output first names it; nil for the image's own stage.
		stageImage := func(stage string, at Pos) *Image {
			if stage == "" || stage == im.Target {
				return nil
			}
			v := byStage[stage]
			if v == nil {
				v = variant(im, stage, at)
				byStage[stage] = v
				out = append(out, v)
			}
			return v
		}
		var keep []*Consumer
		for _, c := range im.Consumers {
			if v := stageImage(c.Target, c.TargetPos); v != nil {
				c.Of = im.Name
				v.Consumers = append(v.Consumers, c)
			} else {
				keep = append(keep, c)
			}
		}
		im.Consumers = keep
		var own []*Output
		for _, o := range im.Outputs {
			if v := stageImage(o.Target, o.Pos); v != nil {
				o.Of = im.Name
				v.Outputs = append(v.Outputs, o)
			} else {
				own = append(own, o)
			}
		}
		im.Outputs = own
	}
	return out
}

// variant is im's variant for another stage of its Dockerfile.
func variant(im *Image, stage string, at Pos) *Image {
	v := &Image{
		Name: im.Name + ":" + stage, Pos: at, Registry: im.Registry, Repository: im.Repository,
		Inputs: im.Inputs, Agents: im.Agents, Cache: im.Cache, IfChanged: im.IfChanged, Step: im.Step, MaxAge: im.MaxAge, Annotations: im.Annotations,
		Variant: stage, Of: im.Name, ContextPos: im.ContextPos, DockerfilePos: im.DockerfilePos, set: im.set,
	}
	v.Inputs.Target, v.Inputs.Platforms = stage, nil
	v.Args, v.Labels, v.Secrets = slices.Clone(im.Args), slices.Clone(im.Labels), slices.Clone(im.Secrets)
	v.DependsOn = slices.Clone(im.DependsOn)
	return v
}

// yamlError turns a yaml.v3 syntax error ("yaml: line 3: ...") into a
// positioned one.
func (d *decoder) yamlError(err error) {
	msg := strings.TrimPrefix(err.Error(), "yaml: ")
	line := 1
	if _, scanErr := fmt.Sscanf(msg, "line %d:", &line); scanErr == nil {
		msg = strings.TrimSpace(msg[strings.Index(msg, ":")+1:])
	}
	d.errorf(&yaml.Node{Line: line, Column: 1}, "", "invalid YAML: %s", msg)
}

func (d *decoder) registries(n *yaml.Node) []*Registry {
	ps, ok := d.mapping(n, "registries")
	if !ok {
		return nil
	}
	if len(ps) == 0 {
		d.errorf(n, "registries", "name at least one registry")
	}
	var out []*Registry
	for _, p := range ps {
		if r := d.registry(p.key, p.value); r != nil {
			out = append(out, r)
		}
	}
	sort.Slice(out, func(i, j int) bool { return out[i].Name < out[j].Name })
	return out
}

func (d *decoder) registry(key, n *yaml.Node) *Registry {
	what := "registries." + key.Value
	if !nameRE.MatchString(key.Value) {
		d.errorf(key, what, "registry names use lowercase letters, digits, '.', '_' and '-'")
	}
	r := &Registry{Name: key.Value, Pos: posOf(key), Config: provider.NewConfig(key.Value)}
	// The fields allowed depend on the provider, so read it first.
	ps, ok := d.mapping(n, what)
	if !ok {
		return nil
	}
	var providerNode *yaml.Node
	for _, p := range ps {
		if p.key.Value == "provider" {
			providerNode = p.value
		}
	}
	names := provider.Names()
	if providerNode == nil {
		d.errorf(key, what, "provider is required (%s)", strings.Join(names, ", "))
	} else if v, ok := d.oneOf(providerNode, what+".provider", names...); ok {
		r.Provider = provider.Named(v)
	}
	// Fields of some provider, for "not a field of this provider".
	var all []string
	for _, p := range provider.All {
		for _, f := range p.Fields() {
			all = append(all, f.Name)
		}
	}
	var declared []provider.Field
	if r.Provider != nil {
		declared = r.Provider.Fields()
	}
	known := []string{"provider"}
	for _, f := range declared {
		known = append(known, f.Name)
	}
	given := map[string]pair{}
	for _, p := range ps {
		switch name := p.key.Value; {
		case name == "provider":
		case contains(known, name):
			given[name] = p
		case r.Provider == nil && contains(all, name):
			// The provider is unknown: its own error says so.
		case contains(all, name):
			d.errorf(p.key, what, "%s is not a field of provider %s (it has: %s)", quoteForMessage(name), r.Provider.Name(), strings.Join(known[1:], ", "))
		default:
			d.errorf(p.key, what, "unknown field %s%s", quoteForMessage(name), didYouMean(name, known))
		}
	}
	if r.Provider == nil {
		return r
	}
	at := map[string]*yaml.Node{"": key}
	d.providerFields(declared, given, r.Config, "", what, key, r.Provider.Name(), at)
	for _, p := range r.Provider.Check(r.Config) {
		n, path := at[p.Field], what
		if p.Field != "" {
			path += "." + p.Field
		}
		d.errorf(n, path, "%s", p.Msg)
	}
	return r
}

// providerFields decodes a registry's fields as its provider declares
// them, into c under prefix, recording where each was written in at.
func (d *decoder) providerFields(fields []provider.Field, given map[string]pair, c *provider.Config, prefix, what string, parent *yaml.Node, providerName string, at map[string]*yaml.Node) {
	for _, f := range fields {
		p, ok := given[f.Name]
		name, path := prefix+f.Name, what+"."+f.Name
		if !ok {
			switch {
			case f.Required && prefix == "":
				d.errorf(parent, what, "%s is required for provider %s", f.Name, providerName)
			case f.Required:
				d.errorf(parent, what, "%s is required", f.Name)
			case f.Default != "":
				c.Set(name, f.Default)
			}
			continue
		}
		at[name] = p.value
		if f.Fields != nil {
			var subNames []string
			for _, sf := range f.Fields {
				subNames = append(subNames, sf.Name)
			}
			if sub, ok := d.fields(p.value, path, subNames); ok {
				d.providerFields(f.Fields, sub, c, name+".", path, resolve(p.value), providerName, at)
			}
			continue
		}
		var s string
		switch {
		case f.Bool:
			var b bool
			if b, ok = d.boolean(p.value, path); ok {
				c.Set(name, strconv.FormatBool(b))
			}
			continue
		case f.Enum != nil:
			s, ok = d.oneOf(p.value, path, f.Enum...)
		default:
			s, ok = d.nonEmpty(p.value, path)
		}
		if !ok || !d.pipelineText(p.value, path, s) {
			continue
		}
		if f.Pattern != nil && !(rule{f.Pattern, f.Rule}).check(d, p.value, path, s) {
			continue
		}
		c.Set(name, s)
	}
}

// agents accepts Buildkite's two forms: a mapping of strings, or a list of
// "key=value".
func (d *decoder) agents(n *yaml.Node, what string) *stepvalue.Value {
	v := d.value(n, what)
	if v == nil {
		return nil
	}
	switch v.Kind {
	case stepvalue.Map:
		for i, item := range v.Items {
			if item.Kind == stepvalue.Map || item.Kind == stepvalue.List {
				d.errorf(nodeAt(item.Pos), what+"."+pipetext.Display(v.Keys[i]), "expected a string, found %s", item)
				return nil
			}
		}
		return v
	case stepvalue.List:
		for _, item := range v.Items {
			if item.Kind != stepvalue.String || !strings.Contains(item.Scalar, "=") {
				d.errorf(nodeAt(item.Pos), what, "%s should be key=value", quoteForMessage(item.String()))
				return nil
			}
		}
		return v
	}
	d.errorf(n, what, "expected a mapping such as {queue: linux}, found %s", kindName(n))
	return nil
}

// nodeAt stands for a position, for errors about values already decoded.
func nodeAt(p Pos) *yaml.Node { return &yaml.Node{Line: p.Line, Column: p.Col} }

// cacheTypes are the kinds of cache, as the spec names them.
var cacheTypes = []string{string(CacheRegistry), string(CacheInline), string(CacheLocal), string(CacheS3), string(CacheNone)}

// cacheFields are a cache's, in its mapping form: its type and what that
// type takes.
var cacheFields = []fieldDoc{
	{"type", "The kind of cache.", enum(cacheTypes...)},
	{"path", "local: an absolute directory on the agent.", nonBlank()},
	{"bucket", "s3: the bucket.", matches(bucketRule)},
	{"region", "s3: the bucket's region.", matches(awsRegionRule)},
	{"name", "s3: the cache's name within the bucket; the image's name by default.", matches(cacheNameRule)},
}

func (d *decoder) cache(n *yaml.Node, what string) Cache {
	r := resolve(n)
	if r.Kind == yaml.ScalarNode {
		t, ok := d.oneOf(r, what, cacheTypes...)
		if !ok {
			return Cache{}
		}
		switch CacheType(t) {
		case CacheLocal:
			d.errorf(r, what, "local needs a path: write {type: local, path: /var/cache/buildkit}")
		case CacheS3:
			d.errorf(r, what, "s3 needs a bucket and region: write {type: s3, bucket: NAME, region: REGION}")
		}
		return Cache{Type: CacheType(t)}
	}
	f, ok := d.fields(r, what, fieldNames(cacheFields))
	if !ok {
		return Cache{}
	}
	var c Cache
	p, ok := f["type"]
	if !ok {
		d.errorf(r, what, "type is required (%s)", strings.Join(cacheTypes, ", "))
		return Cache{}
	}
	t, ok := d.oneOf(p.value, what+".type", cacheTypes...)
	if !ok {
		return Cache{}
	}
	c.Type = CacheType(t)
	allowed := map[CacheType][]string{CacheLocal: {"path"}, CacheS3: {"bucket", "region", "name"}}[c.Type]
	for name, fp := range f {
		if name == "type" {
			continue
		}
		if !contains(allowed, name) {
			d.errorf(fp.key, what, "%s is not used by cache type %s", name, c.Type)
			continue
		}
		s, ok := d.nonEmpty(fp.value, what+"."+name)
		if !ok {
			continue
		}
		switch name {
		case "path":
			if !path.IsAbs(s) {
				d.errorf(fp.value, what+".path", "expected an absolute directory on the agent, found %s", quoteForMessage(s))
			} else if strings.ContainsAny(s, ",\"") || strings.IndexFunc(s, unicode.IsControl) >= 0 {
				d.errorf(fp.value, what+".path", "cannot hold a comma, a double quote or a control character: buildx reads it inside comma-separated --cache-to values")
			}
			c.Path = s
		case "bucket":
			bucketRule.check(d, fp.value, what+".bucket", s)
			c.Bucket = s
		case "region":
			awsRegionRule.check(d, fp.value, what+".region", s)
			c.Region = s
		case "name":
			cacheNameRule.check(d, fp.value, what+".name", s)
			c.Name = s
		}
	}
	switch c.Type {
	case CacheLocal:
		if _, ok := f["path"]; !ok {
			d.errorf(r, what, "a local cache needs path, a directory on the agent")
		}
	case CacheS3:
		for _, need := range []string{"bucket", "region"} {
			if _, ok := f[need]; !ok {
				d.errorf(r, what, "an s3 cache needs %s", need)
			}
		}
	}
	return c
}

// A scanOption is how the spec takes one of scanner.Options: its decoder,
// and its description and shape in the JSON Schema.
type scanOption struct {
	decode      func(d *decoder, n *yaml.Node, what string, s *scanner.Settings)
	description string
	shape       schema
}

// flagOption is a scan option that is true or false, held at at(s).
func flagOption(at func(*scanner.Settings) *bool, description string) scanOption {
	return scanOption{
		decode: func(d *decoder, n *yaml.Node, what string, s *scanner.Settings) {
			*at(s), _ = d.boolean(n, what)
		},
		description: description,
		shape:       boolean(),
	}
}

// refOption is a scan option naming an image or repository (pinned: by a
// version tag or digest), held at at(s).
func refOption(at func(*scanner.Settings) *string, pinned bool, description string) scanOption {
	rule := imageRefRule
	if pinned {
		rule = pinnedImageRule
	}
	return scanOption{
		decode: func(d *decoder, n *yaml.Node, what string, s *scanner.Settings) {
			*at(s) = d.imageRef(n, what, pinned)
		},
		description: description,
		shape:       matches(rule),
	}
}

// scanOptions are every one of scanner.Options.
var scanOptions = map[scanner.Option]scanOption{
	scanner.Severity: {
		decode: func(d *decoder, n *yaml.Node, what string, s *scanner.Settings) {
			s.Severity = d.severities(n, what)
		},
		description: "The severities that count, from " + strings.Join(scanner.Severities, ", ") + ", in any case: a list, or one comma-separated string.",
		shape:       oneOrMany(nonBlank()),
	},
	scanner.Fail: flagOption(func(s *scanner.Settings) *bool { return &s.Fail }, "Fail the step when something counts; false by default (true when fail_on is given)."),
	scanner.FailOn: {
		decode: func(d *decoder, n *yaml.Node, what string, s *scanner.Settings) {
			s.FailOn, _ = d.oneOf(n, what, scanner.FailOnLevels...)
		},
		description: "The lowest severity that counts.",
		shape:       enum(scanner.FailOnLevels...),
	},
	scanner.IgnoreUnfixed: flagOption(func(s *scanner.Settings) *bool { return &s.IgnoreUnfixed }, "Leave out vulnerabilities with no fix."),
	scanner.Annotate:      flagOption(func(s *scanner.Settings) *bool { return &s.Annotate }, "Post what counts as a build annotation; true by default (false leaves it in the log)."),
	scanner.Image: refOption(func(s *scanner.Settings) *string { return &s.Image }, true,
		"The scanner's image, run when the agent has none on PATH; the tool's pinned image by default."),
	scanner.DBRepository: refOption(func(s *scanner.Settings) *string { return &s.DBRepository }, false,
		"The OCI repository trivy fetches its vulnerability database from: a mirror of the default."),
	scanner.JavaDBRepository: refOption(func(s *scanner.Settings) *string { return &s.JavaDBRepository }, false,
		"The OCI repository trivy fetches its Java index database from: a mirror of the default."),
	scanner.DBURL: {
		decode: func(d *decoder, n *yaml.Node, what string, s *scanner.Settings) {
			s.DBURL = d.httpURL(n, what)
		},
		description: "Where grype lists its databases: a mirror of the default.",
		shape:       matches(httpURLRule),
	},
}

// scan decodes false (no scan), true (the default scanner) or a mapping of
// the tool and the options it takes.
func (d *decoder) scan(n *yaml.Node, what string) *Scan {
	r := resolve(n)
	if r.Kind == yaml.ScalarNode && r.Tag == "!!bool" {
		on, _ := d.boolean(r, what)
		if !on {
			return nil
		}
		return &Scan{Settings: *scanner.Default(), Pos: posOf(r)}
	}
	known := []string{"tool"}
	for _, o := range scanner.Options {
		known = append(known, string(o))
	}
	f, ok := d.fields(r, what, known)
	if !ok {
		return nil
	}
	s := &Scan{Settings: scanner.Settings{Tool: scanner.All[0]}, Pos: posOf(r)}
	if p, ok := f["tool"]; ok {
		if t, ok := d.oneOf(p.value, what+".tool", scanner.Names()...); ok {
			s.Tool = scanner.Named(t)
		}
	}
	takes := s.Tool.Options()
	var taken []string
	for _, o := range takes {
		taken = append(taken, string(o))
	}
	for _, o := range scanner.Options {
		p, ok := f[string(o)]
		if !ok {
			continue
		}
		if !slices.Contains(takes, o) {
			d.errorf(p.key, what, "%s does not take %s (it takes %s)", s.Tool.Name(), o, strings.Join(taken, ", "))
			continue
		}
		scanOptions[o].decode(d, p.value, what+"."+string(o), &s.Settings)
	}
	s.Tool.Defaults(&s.Settings, func(o scanner.Option) bool { _, ok := f[string(o)]; return ok })
	return s
}

// imageRef decodes an image reference; pinned, it must name a release tag
// (not latest) or a digest, so what runs cannot change under a pipeline.
func (d *decoder) imageRef(n *yaml.Node, what string, pinned bool) string {
	s, ok := d.nonEmpty(n, what)
	if !ok {
		return ""
	}
	if !d.checkRef(n, what, s, pinned) {
		return ""
	}
	return s
}

// pinnedRef checks s, text within the value at n, is a pinned image
// reference.
func (d *decoder) pinnedRef(n *yaml.Node, what, s string) bool { return d.checkRef(n, what, s, true) }

func (d *decoder) checkRef(n *yaml.Node, what, s string, pinned bool) bool {
	ref, err := name.ParseReference(s)
	if err != nil || strings.HasPrefix(s, "-") || strings.ContainsAny(s, " \t\n") {
		d.errorf(n, what, "%s is not %s", quoteForMessage(s), imageRefRule.text)
		return false
	}
	last := s[strings.LastIndex(s, "/")+1:]
	if pinned && (!strings.Contains(last, ":") || ref.Identifier() == "latest") {
		d.errorf(n, what, "%s is not pinned: name %s, which cannot move under the pipeline", quoteForMessage(s), pinnedText)
		return false
	}
	return true
}

var httpURLRule = rule{text: "an http or https URL"}

// httpURL decodes an http or https URL.
func (d *decoder) httpURL(n *yaml.Node, what string) string {
	s, ok := d.nonEmpty(n, what)
	if !ok {
		return ""
	}
	u, err := url.Parse(s)
	if err != nil || (u.Scheme != "https" && u.Scheme != "http") || u.Host == "" || strings.ContainsAny(s, " \t\n") {
		d.errorf(n, what, "%s is not %s", quoteForMessage(s), httpURLRule.text)
		return ""
	}
	return s
}

// severities decodes a list of severities, or one comma-separated string,
// in any case; they come back upper case, each once, in the scanners' own
// order, whatever order they were written in.
func (d *decoder) severities(n *yaml.Node, what string) []string {
	items, _ := d.strList(n, what, true)
	var out []string
	for _, it := range items {
		for _, part := range strings.Split(it.text, ",") {
			v := strings.ToUpper(strings.TrimSpace(part))
			switch {
			case !contains(scanner.Severities, v):
				d.errorf(it.node, what, "%s is not one of %s", quoteForMessage(part), strings.Join(scanner.Severities, ", "))
			case !contains(out, v):
				out = append(out, v)
			}
		}
	}
	sort.Slice(out, func(i, j int) bool {
		return indexOf(scanner.Severities, out[i]) < indexOf(scanner.Severities, out[j])
	})
	return out
}

func indexOf(list []string, s string) int {
	for i, x := range list {
		if x == s {
			return i
		}
	}
	return -1
}

// ifChangedFields are if_changed's, in its mapping form.
var ifChangedFields = []fieldDoc{
	{"include", "Patterns of changed paths (the agent's glob syntax) the step runs for.", oneOrMany(nonBlank())},
	{"exclude", "Patterns of changed paths that do not count.", oneOrMany(nonBlank())},
}

// ifChanged decodes a string, a list, or {include, exclude}, and refuses any
// pattern the agent could not parse (it would warn and run the step anyway).
func (d *decoder) ifChanged(n *yaml.Node, what string) *IfChanged {
	r := resolve(n)
	ic := &IfChanged{Pos: posOf(r)}
	patterns := func(v *yaml.Node, what string) []Pattern {
		items, _ := d.strList(v, what, true)
		var out []Pattern
		for _, it := range items {
			if !d.pipelineText(it.node, what, it.text) {
				continue
			}
			g, err := glob.Compile(it.text)
			if err != nil {
				d.errorf(it.node, what, "the agent cannot parse this pattern: %v", err)
				continue
			}
			out = append(out, Pattern{Text: it.text, Pos: posOf(it.node), Glob: g})
		}
		return out
	}
	if r.Kind == yaml.MappingNode {
		f, ok := d.fields(r, what, fieldNames(ifChangedFields))
		if !ok {
			return nil
		}
		p, ok := f["include"]
		if !ok {
			d.errorf(r, what, "include is required (the agent runs a step whose if_changed has no include)")
			return nil
		}
		ic.Include = patterns(p.value, what+".include")
		if p, ok := f["exclude"]; ok {
			ic.Exclude = patterns(p.value, what+".exclude")
		}
	} else {
		ic.Include = patterns(r, what)
	}
	if len(ic.Include) == 0 {
		if resolve(r).Kind == yaml.SequenceNode {
			d.errorf(r, what, "list at least one pattern")
		}
		return nil
	}
	return ic
}

// Bounds of a step's numbers.
const (
	maxParallelism = 10000
	maxStepNumber  = 1 << 20 // timeout_in_minutes, concurrency, and priority either way
)

// sharedStepFields are the command-step fields a consumer and an image's own
// steps share, decoded by stepFields.
var sharedStepFields = []fieldDoc{
	{"env", "Environment variables of the step, name to value.", mapOf(matches(varNameRule), scalar())},
	{"plugins", "Plugins the step runs (an image's own steps run them before the registry's).", ref("plugins")},
	{"timeout_in_minutes", "How long the step may run.", integer(1, maxStepNumber)},
	{"retry", "As Buildkite's retry attribute.", names(retryFields)},
	{"concurrency", "How many jobs of concurrency_group run at once.", integer(1, maxStepNumber)},
	{"concurrency_group", "The group concurrency limits.", nonBlank()},
	{"priority", "The step's priority: higher runs first.", integer(-maxStepNumber, maxStepNumber)},
}

// retryFields, softFailFields, matrixFields and adjustmentFields are those
// of Buildkite's values of the kind, which the loader checks the shape of.
var (
	retryFields      = []string{"automatic", "manual"}
	softFailFields   = []string{"exit_status"}
	matrixFields     = []string{"setup", "adjustments"}
	adjustmentFields = []string{"with", "skip", "soft_fail"}
)

// consumerFields are a consumer's.
var consumerFields = slices.Concat([]fieldDoc{
	{"label", "The step's label.", nonBlank()},
	{"command", "The command run in the image: a string, or a list of lines.", anyOf(nonBlank(), list(text()))},
	{"target", "Another stage of the image's Dockerfile to run in, built as the image's variant IMAGE:STAGE.", matches(stageRule)},
	{"parallelism", "How many jobs the step runs as.", integer(1, maxParallelism)},
	{"if_changed", "The changed paths the step runs for.", ref("ifChanged")},
	{"agents", "The agents the step runs on.", ref("agents")},
	{"artifact_paths", "What the step uploads as artifacts: a glob, or a list of them.", oneOrMany(nonBlank())},
	{"soft_fail", "Exit statuses that do not fail the build: true, false or a list of {exit_status: N}.", softFailShape},
	{"depends_on", "Step keys the step waits for besides its image's build.", oneOrMany(matches(stepKeyRule))},
	{"container", "How the step's container runs.", object(containerFields)},
}, sharedStepFields, stepAttrFields())

// ownStepFields are an image's step's.
var ownStepFields = slices.Concat(sharedStepFields, stepAttrFields("secrets", "notify", "cancel_on_build_failing"))

// softFailShape is soft_fail as the loader checks it.
var softFailShape = anyOf(boolean(), list(names(softFailFields)))

// StepAttrs are the command-step attributes a consumer passes through as
// Buildkite has them, checked for their type here and against Buildkite's
// schema by the tests; each written after the step's others, in this order.
var StepAttrs = []struct {
	Name  string
	Kinds []stepvalue.Kind // what the value may be
	Rule  string
	shape schema // in the JSON Schema, when not just Kinds
}{
	{Name: "if", Kinds: []stepvalue.Kind{stepvalue.String}, Rule: "a conditional expression such as build.branch == \"main\""},
	{Name: "branches", Kinds: []stepvalue.Kind{stepvalue.String, stepvalue.List}, Rule: "branch patterns, a string or a list"},
	{Name: "allow_dependency_failure", Kinds: []stepvalue.Kind{stepvalue.Bool}, Rule: "true or false"},
	{Name: "cancel_on_build_failing", Kinds: []stepvalue.Kind{stepvalue.Bool}, Rule: "true or false"},
	{Name: "notify", Kinds: []stepvalue.Kind{stepvalue.List}, Rule: "a list of notifications"},
	{Name: "secrets", Kinds: []stepvalue.Kind{stepvalue.List, stepvalue.Map}, Rule: "a list of Buildkite secret names, or a map of env var names to them"},
	{Name: "cache", Kinds: []stepvalue.Kind{stepvalue.String, stepvalue.List, stepvalue.Map}, Rule: "cache paths: a string, a list, or a map with paths"},
	{Name: "matrix", Kinds: []stepvalue.Kind{stepvalue.List, stepvalue.Map}, Rule: "a list of values, or {setup, adjustments}",
		shape: matrixShape()},
}

// matrixShape is a matrix as the loader checks it: a list of values, or
// setup and adjustments.
func matrixShape() schema {
	s := names(matrixFields)
	s["properties"].(schema)["adjustments"] = list(names(adjustmentFields))
	return anyOf(list(scalar()), s)
}

// stepAttrFields are the StepAttrs named, or all of them, as fields: the
// value passed through as Buildkite has it, its Rule said in words.
func stepAttrFields(only ...string) []fieldDoc {
	var out []fieldDoc
	for _, a := range StepAttrs {
		if len(only) > 0 && !slices.Contains(only, a.Name) {
			continue
		}
		shape := a.shape
		if shape == nil {
			shape = kindsShape(a.Kinds)
		}
		out = append(out, fieldDoc{a.Name, "As Buildkite has it, passed through. Must be " + a.Rule + ".", shape})
	}
	return out
}

func (d *decoder) consumers(n *yaml.Node, what string) []*Consumer {
	ps, ok := d.mapping(n, what)
	if !ok {
		return nil
	}
	var out []*Consumer
	for _, p := range ps {
		if c := d.consumer(p.key, p.value, what+"."+p.key.Value); c != nil {
			out = append(out, c)
		}
	}
	return out
}

func (d *decoder) consumer(key, n *yaml.Node, what string) *Consumer {
	if !nameRE.MatchString(key.Value) {
		d.errorf(key, what, "consumer names use lowercase letters, digits, '.', '_' and '-' (it becomes part of a step key)")
	}
	f, ok := d.fields(n, what, fieldNames(consumerFields))
	if !ok {
		return nil
	}
	c := &Consumer{Name: key.Value, Pos: posOf(key), Container: DefaultContainer()}
	if p, ok := f["command"]; ok {
		ok := true
		if r := resolve(p.value); r.Kind == yaml.SequenceNode {
			var items []item
			items, ok = d.strList(r, what+".command", false)
			lines := make([]string, len(items))
			for i, it := range items {
				lines[i] = it.text
			}
			c.Command = strings.Join(lines, "\n")
		} else {
			c.Command, ok = d.str(r, what+".command")
		}
		if ok && strings.TrimSpace(c.Command) == "" {
			d.errorf(p.value, what+".command", "must not be empty")
		}
	} else {
		d.errorf(key, what, "command is required")
	}
	c.Attrs = d.stepAttrs(f, what)
	if p, ok := f["matrix"]; ok {
		d.checkMatrix(p.value, what+".matrix")
		if _, par := f["parallelism"]; par {
			d.errorf(p.key, what, "matrix and parallelism cannot be combined: Buildkite runs a matrix's jobs once each")
		}
	}
	var own OwnStep
	d.stepFields(f, what, &own)
	c.Env, c.Plugins, c.TimeoutInMinutes, c.Retry = own.Env, own.Plugins, own.TimeoutInMinutes, own.Retry
	c.Concurrency, c.ConcurrencyGroup, c.Priority = own.Concurrency, own.ConcurrencyGroup, own.Priority
	for name, p := range f {
		field := what + "." + name
		v := p.value
		switch name {
		case "label":
			if l, ok := d.nonEmpty(v, field); ok && d.pipelineText(v, field, l) {
				c.Label = l
			}
		case "parallelism":
			c.Parallelism, _ = d.integer(v, field, 1, maxParallelism)
		case "target":
			c.Target = d.matching(v, field, stageRule)
			c.TargetPos = posOf(resolve(v))
		case "if_changed":
			c.IfChanged = d.ifChanged(v, field)
		case "container":
			c.Container = d.container(v, field)
		case "agents":
			c.Agents = d.agents(v, field)
		case "artifact_paths":
			c.ArtifactPaths = d.checkedList(v, field, true, func(it item) bool { return d.pipelineText(it.node, field, it.text) })
		case "soft_fail":
			c.SoftFail = d.softFail(v, field)
		case "depends_on":
			items, _ := d.strList(v, field, true)
			for _, it := range items {
				if !stepKeyRule.check(d, it.node, field, it.text) {
					continue
				}
				c.DependsOn = append(c.DependsOn, it.text)
				c.dependsOnAt = append(c.dependsOnAt, it.node)
			}
		}
	}
	return c
}

// matrixValueRE is what a matrix value may be: Buildkite puts it into the
// command, env and label as it is, so a word no shell or YAML reads twice.
var matrixValueRE = regexp.MustCompile(`^[A-Za-z0-9][A-Za-z0-9._:/@+=-]*$`)

// checkMatrix checks a matrix's shape as Buildkite takes it (a list of
// values; or setup, a list or a map of dimensions to lists, and adjustments,
// each with a value or a map of them, skip or soft_fail), and that every
// value is a plain word.
func (d *decoder) checkMatrix(n *yaml.Node, what string) {
	word := func(n *yaml.Node, at string) {
		n = resolve(n)
		if n.Kind != yaml.ScalarNode || !matrixValueRE.MatchString(n.Value) {
			d.errorf(n, at, "a matrix value is a word of letters, digits and . _ : / @ + = - (Buildkite writes it into the command as it is), not %s", kindName(n))
		}
	}
	words := func(n *yaml.Node, at string) {
		n = resolve(n)
		if n.Kind != yaml.SequenceNode || len(n.Content) == 0 {
			d.errorf(n, at, "expected a list of values, found %s", kindName(n))
			return
		}
		for _, it := range n.Content {
			word(it, at)
		}
	}
	r := resolve(n)
	if r.Kind == yaml.SequenceNode {
		words(r, what)
		return
	}
	f, ok := d.fields(r, what, matrixFields)
	if !ok {
		return
	}
	setup, ok := f["setup"]
	if !ok {
		d.errorf(r, what, "setup is required: the values (a list) or dimensions (a map of lists)")
		return
	}
	dims := map[string]bool{}
	if sr := resolve(setup.value); sr.Kind == yaml.MappingNode {
		ps, _ := d.mapping(sr, what+".setup")
		for _, p := range ps {
			if !envNameRE.MatchString(p.key.Value) {
				d.errorf(p.key, what+".setup", "%s is not a dimension name (letters, digits and '_')", quoteForMessage(p.key.Value))
			}
			dims[p.key.Value] = true
			words(p.value, what+".setup."+p.key.Value)
		}
	} else {
		words(sr, what+".setup")
	}
	adj, ok := f["adjustments"]
	if !ok {
		return
	}
	ar := resolve(adj.value)
	if ar.Kind != yaml.SequenceNode {
		d.errorf(ar, what+".adjustments", "expected a list of adjustments, found %s", kindName(ar))
		return
	}
	for i, a := range ar.Content {
		at := fmt.Sprintf("%s.adjustments[%d]", what, i)
		af, ok := d.fields(a, at, adjustmentFields)
		if !ok {
			continue
		}
		w, ok := af["with"]
		if !ok {
			d.errorf(a, at, "with is required: the combination it adjusts")
			continue
		}
		if wr := resolve(w.value); wr.Kind == yaml.MappingNode {
			ps, _ := d.mapping(wr, at+".with")
			for _, p := range ps {
				if !dims[p.key.Value] {
					d.errorf(p.key, at+".with", "%s is not a dimension of setup", quoteForMessage(p.key.Value))
				}
				word(p.value, at+".with."+p.key.Value)
			}
		} else {
			word(wr, at+".with")
		}
		if s, ok := af["skip"]; ok {
			if v := d.value(s.value, at+".skip"); v != nil && v.Kind != stepvalue.Bool && v.Kind != stepvalue.String {
				d.errorf(s.value, at+".skip", "expected true, false or a reason, found %s", kindName(resolve(s.value)))
			}
		}
		if s, ok := af["soft_fail"]; ok {
			d.softFail(s.value, at+".soft_fail")
		}
	}
}

// ownStep decodes an image's step: what the spec adds to its own steps.
func (d *decoder) ownStep(n *yaml.Node, what string) OwnStep {
	var own OwnStep
	f, ok := d.fields(n, what, fieldNames(ownStepFields))
	if !ok {
		return own
	}
	d.stepFields(f, what, &own)
	own.Attrs = d.stepAttrs(f, what)
	return own
}

// stepFields decodes the command-step fields a consumer and an image's own
// steps share.
func (d *decoder) stepFields(f map[string]pair, what string, own *OwnStep) {
	for name, p := range f {
		field := what + "." + name
		v := p.value
		switch name {
		case "env":
			own.Env, _ = d.kvMap(v, field, varNameRule.re.MatchString, varNameRule.text)
			for _, kv := range own.Env {
				d.pipelineText(v, field+"."+kv.Key, kv.Value)
			}
		case "plugins":
			own.Plugins = d.plugins(v, field)
		case "timeout_in_minutes":
			own.TimeoutInMinutes, _ = d.integer(v, field, 1, maxStepNumber)
		case "retry":
			if _, ok := d.fields(v, field, retryFields); ok {
				own.Retry = d.value(v, field)
			}
		case "concurrency":
			own.Concurrency, _ = d.integer(v, field, 1, maxStepNumber)
			if _, ok := f["concurrency_group"]; !ok {
				d.errorf(p.key, what, "concurrency needs concurrency_group, the name of the group it limits")
			}
		case "concurrency_group":
			if g, ok := d.nonEmpty(v, field); ok && d.pipelineText(v, field, g) {
				own.ConcurrencyGroup = g
			}
		case "priority":
			if v, ok := d.integer(v, field, -maxStepNumber, maxStepNumber); ok {
				own.Priority = &v
			}
		}
	}
}

// stepAttrs decodes the StepAttrs among f, each checked for its type.
func (d *decoder) stepAttrs(f map[string]pair, what string) []StepAttr {
	var out []StepAttr
	for _, a := range StepAttrs {
		p, ok := f[a.Name]
		if !ok {
			continue
		}
		v := d.value(p.value, what+"."+a.Name)
		if v == nil {
			continue
		}
		if !slices.Contains(a.Kinds, v.Kind) {
			d.errorf(p.value, what+"."+a.Name, "expected %s, found %s", a.Rule, kindName(resolve(p.value)))
			continue
		}
		if v.Kind == stepvalue.List && (a.Name == "branches" || a.Name == "secrets") && slices.ContainsFunc(v.Items, func(it *stepvalue.Value) bool { return it.Kind != stepvalue.String }) {
			d.errorf(p.value, what+"."+a.Name, "expected %s: each item a string", a.Rule)
			continue
		}
		out = append(out, StepAttr{Key: a.Name, Value: v})
	}
	return out
}

// plugins decodes a consumer's plugins, each a pinned source with an
// optional config: an unpinned plugin runs whatever its default branch holds
// on the day the job runs.
func (d *decoder) plugins(n *yaml.Node, what string) []Plugin {
	r := resolve(n)
	if r.Kind != yaml.SequenceNode {
		d.errorf(r, what, "expected a list of plugins, found %s", kindName(r))
		return nil
	}
	var out []Plugin
	for i, item := range r.Content {
		at := fmt.Sprintf("%s[%d]", what, i)
		item = resolve(item)
		var source, config *yaml.Node
		switch item.Kind {
		case yaml.ScalarNode:
			source = item
		case yaml.MappingNode:
			if len(item.Content) != 2 || item.Content[0].Tag == "!!merge" {
				d.errorf(item, at, "each plugin is a mapping with one key, its source")
				continue
			}
			source, config = item.Content[0], item.Content[1]
		default:
			d.errorf(item, at, "expected a plugin, found %s", kindName(item))
			continue
		}
		src, ok := d.str(source, at)
		if !ok || !d.pipelineText(source, at, src) {
			continue
		}
		if why, fix := pin.Check(src); why != "" {
			d.errorf(source, at, "plugin %s is not pinned: %s; %s", quoteForMessage(src), why, fix)
			continue
		}
		p := Plugin{Source: src, Pos: posOf(source)}
		if config != nil {
			if p.Config = d.value(config, at+"."+src); p.Config == nil {
				continue
			}
			if p.Config.Kind == stepvalue.Null {
				p.Config = nil
			}
		}
		out = append(out, p)
	}
	return out
}

func (d *decoder) softFail(n *yaml.Node, what string) *stepvalue.Value {
	r := resolve(n)
	if r.Kind == yaml.ScalarNode {
		if _, ok := d.boolean(r, what); ok {
			return d.value(r, what)
		}
		return nil
	}
	if r.Kind != yaml.SequenceNode {
		d.errorf(r, what, "expected true, false or a list of {exit_status: N}, found %s", kindName(r))
		return nil
	}
	ok := true
	for i, item := range r.Content {
		f, good := d.fields(item, fmt.Sprintf("%s[%d]", what, i), softFailFields)
		if !good {
			ok = false
			continue
		}
		p, good := f["exit_status"]
		if !good {
			d.errorf(item, fmt.Sprintf("%s[%d]", what, i), "exit_status is required")
			ok = false
			continue
		}
		if v := resolve(p.value); !(v.Kind == yaml.ScalarNode && (v.Tag == "!!int" || v.Tag == "!!str" && v.Value == "*")) {
			d.errorf(v, fmt.Sprintf("%s[%d].exit_status", what, i), "expected an exit status or \"*\", found %s", kindName(v))
			ok = false
		}
	}
	if !ok {
		return nil
	}
	return d.value(r, what)
}

func (d *decoder) images(n *yaml.Node, defaults *Image, registries []*Registry) []*Image {
	ps, ok := d.mapping(n, "images")
	if !ok {
		return nil
	}
	if len(ps) == 0 {
		d.errorf(n, "images", "name at least one image")
	}
	var names []string
	for _, p := range ps {
		names = append(names, p.key.Value)
	}
	var regNames []string
	for _, r := range registries {
		regNames = append(regNames, r.Name)
	}
	if defaults != nil && defaults.Registry != "" && !contains(regNames, defaults.Registry) {
		d.errorf(defaults.set["registry"], "defaults.registry", "no registry named %s%s", quoteForMessage(defaults.Registry), didYouMean(defaults.Registry, regNames))
	}
	var out []*Image
	for _, p := range ps {
		what := "images." + p.key.Value
		if !nameRE.MatchString(p.key.Value) {
			d.errorf(p.key, what, "image names use lowercase letters, digits, '.', '_' and '-' and start with a letter or digit")
			continue
		}
		im := &Image{Name: p.key.Value, Pos: posOf(p.key)}
		if !d.imageMapping(p.value, what, false, im) {
			continue
		}
		_, ownRegistry := im.set["registry"]
		im.inherit(defaults)
		d.image(im, what, ownRegistry, names, regNames, registries)
		out = append(out, im)
	}
	return out
}

// image applies what is left to bkgen (the default scan, cache, repository,
// context, Dockerfile and registry) and checks what needs every image and
// registry known.
func (d *decoder) image(im *Image, what string, ownRegistry bool, names, regNames []string, registries []*Registry) {
	key := nodeAt(im.Pos)
	if _, ok := im.set["scan"]; !ok {
		im.Scan = &Scan{Settings: *scanner.Default(), Pos: im.Pos}
	}
	if im.Cache.Type == "" {
		im.Cache.Type = CacheRegistry
	}
	if im.Repository == "" {
		im.Repository = im.Name
	}
	if im.Context == "" {
		im.Context = "."
	}
	if im.Dockerfile == "" {
		im.Dockerfile = path.Join(im.Context, "Dockerfile")
	}
	im.ContextPos, im.DockerfilePos = im.Pos, im.Pos
	if n := im.set["context"]; n != nil {
		im.ContextPos = posOf(n)
	}
	if n := im.set["dockerfile"]; n != nil {
		im.DockerfilePos = posOf(n)
	}
	if im.Registry == "" {
		switch len(regNames) {
		case 0:
		case 1:
			im.Registry = regNames[0]
		default:
			d.errorf(key, what, "which registry? set registry on the image or in defaults (one of: %s)", strings.Join(regNames, ", "))
		}
	} else if !contains(regNames, im.Registry) {
		if ownRegistry {
			d.errorf(im.set["registry"], what+".registry", "no registry named %s%s", quoteForMessage(im.Registry), didYouMean(im.Registry, regNames))
		}
		im.Registry = ""
	}
	var reg *Registry
	for _, r := range registries {
		if r.Name == im.Registry {
			reg = r
		}
	}
	written := im.DependsOn
	im.DependsOn = nil
	for i, dep := range written {
		at := im.dependsOnAt[i]
		switch {
		case dep == im.Name:
			d.errorf(at, what+".depends_on", "an image cannot depend on itself")
		case !contains(names, dep):
			d.errorf(at, what+".depends_on", "no image named %s%s", quoteForMessage(dep), didYouMean(dep, names))
		case contains(im.DependsOn, dep):
			d.errorf(at, what+".depends_on", "%s is listed twice", quoteForMessage(dep))
		default:
			im.DependsOn = append(im.DependsOn, dep)
		}
	}
	if im.MultiPlatform() {
		if im.MultiArch == "" {
			im.MultiArch = Native
		}
	} else {
		im.MultiArch = ""
	}
	if len(im.PlatformAgents) > 0 {
		if im.MultiArch != Native {
			d.errorf(im.set["platform_agents"], what+".platform_agents", "only used when several platforms build natively (multi_arch: native)")
		}
		for _, platform := range slices.Sorted(maps.Keys(im.PlatformAgents)) {
			if !contains(im.Platforms, platform) && im.MultiArch == Native {
				d.errorf(im.platformAgentKeys[platform], what+".platform_agents", "%s is not one of this image's platforms (%s)", quoteForMessage(platform), strings.Join(im.Platforms, ", "))
				delete(im.PlatformAgents, platform)
			}
		}
	} else {
		im.PlatformAgents = nil
	}
	if reg != nil && reg.Provider != nil && im.Scan != nil && !contains(reg.Provider.Scanners(), im.Scan.Tool.Name()) {
		d.errorf(im.set["scan"], what+".scan", "%s cannot scan this image: it goes to %s, and images in a %s registry are scanned with %s", im.Scan.Tool.Name(), reg.Name, reg.Provider.Name(), strings.Join(reg.Provider.Scanners(), " or "))
	}
	for _, c := range im.Consumers {
		if c.Container.JobImage && reg != nil && reg.Provider != nil && reg.Provider.Name() != "hosted" {
			d.errorf(c.Container.modeAt, what+".consumers."+c.Name+".container.mode", "job_image runs the job in the image, which hosted agents do with images from their own registry; this image goes to %s (%s): use mode: docker", reg.Name, reg.Provider.Name())
		}
	}
	if im.MultiArch == Native && len(im.Platforms) > 1 {
		seen := map[string]string{}
		for _, p := range im.Platforms {
			a := ArchSlug(p, im.Platforms)
			if prev, ok := seen[a]; ok {
				d.errorf(im.set["platforms"], what+".platforms", "%s and %s would both build as step build-%s-%s", prev, p, im.Name, a)
			}
			seen[a] = p
		}
	}
}

// Buildkite's rules for step keys and uploads, which it would otherwise
// only apply when the pipeline is uploaded.
var (
	stepKeyRule = rule{regexp.MustCompile(`^[a-zA-Z0-9_\-:.,]+$`), "a step key (letters, digits and _ - : . ,)"}
	uuidRE      = regexp.MustCompile(`^[0-9a-fA-F]{8}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{12}$`)
)

// maxKeyLength bounds the characters of a step key.
const maxKeyLength = 100

// checkSteps refuses specs whose pipeline Buildkite would reject: two steps
// with one key (image "a" with consumer "b-c" and image "a-b" with
// consumer "c"), keys too long or shaped like a UUID, and consumers
// depending on themselves or on each other in a circle. (How many jobs an
// upload holds depends on which steps are left out: the generator counts.)
// checkLogins refuses a build that would need two logins docker cannot
// hold at once: it pushes to, or is built on images in, two Buildkite
// Packages registries. Docker keeps one login per host, and an OIDC token
// names one registry; only one token good for both (an org-wide token, the
// same token_env) can serve them.
func (d *decoder) checkLogins(s *Spec) {
	for _, im := range s.Images {
		own := s.Registry(im.Registry)
		if own == nil || own.Provider == nil || own.Provider.Name() != "buildkite" {
			continue
		}
		for _, dep := range im.DependsOn {
			base := s.Image(dep)
			if base == nil {
				continue
			}
			reg := s.Registry(base.Registry)
			if reg == nil || reg.Provider == nil || reg.Provider.Name() != "buildkite" || reg.Name == own.Name {
				continue
			}
			sameToken := own.Config.Get("auth") == "token" && reg.Config.Get("auth") == "token" &&
				own.Config.Get("token_env") == reg.Config.Get("token_env")
			if sameToken {
				continue
			}
			at := im.set["depends_on"]
			for _, n := range im.dependsOnAt {
				if n.Value == dep {
					at = n
				}
			}
			d.errorf(at, "images."+im.Name+".depends_on", "%s is built on %s, which is in Buildkite registry %s, and pushes to Buildkite registry %s: one job cannot log in to both (docker keeps one login per host, and an OIDC token names one registry). Put both images in one registry, make the base public, or give both registries auth: token with the same token_env (an organization-wide token)", im.Name, dep, reg.Name, own.Name)
		}
	}
}

func (d *decoder) checkSteps(images []*Image, steps []*UserStep) {
	owner := map[string]string{}
	graph := map[string]depNode{}
	for _, im := range images {
		at := nodeAt(im.Pos)
		for _, s := range Steps(im) {
			k := s.Key
			if prev, ok := owner[k]; ok {
				d.errorf(at, "images."+im.Name, "its step key %q is also made by %s; rename one of them", k, prev)
				continue
			}
			owner[k] = "image " + im.Name
			switch {
			case len(k) > maxKeyLength:
				d.errorf(at, "images."+im.Name, "its step key %q is longer than Buildkite's %d characters: shorten the names", k, maxKeyLength)
			case uuidRE.MatchString(k):
				d.errorf(at, "images."+im.Name, "its step key %q is shaped like a UUID, which Buildkite refuses as a key: rename the image or consumer", k)
			}
		}
		for _, c := range im.Consumers {
			graph[ConsumerKey(im, c)] = depNode{c.DependsOn, c.dependsOnAt}
		}
	}
	for _, s := range AllUserSteps(steps) {
		if s.Key == "" {
			continue
		}
		at := nodeAt(s.Pos)
		switch prev, ok := owner[s.Key]; {
		case ok:
			d.errorf(at, "steps", "key %q is also a key of %s; rename one of them", s.Key, prev)
			continue
		case len(s.Key) > maxKeyLength:
			d.errorf(at, "steps", "key %q is longer than Buildkite's %d characters", s.Key, maxKeyLength)
		case uuidRE.MatchString(s.Key):
			d.errorf(at, "steps", "key %q is shaped like a UUID, which Buildkite refuses as a key", s.Key)
		}
		owner[s.Key] = "another step"
		graph[s.Key] = depNode{s.DependsOn, s.dependsOnAt}
	}
	d.cycles(graph)
}

// depNode is a step's depends_on, and where the spec writes each.
type depNode struct {
	deps []string
	at   []*yaml.Node
}

// cycles reports steps that depend on themselves or, through depends_on the
// spec gives them (consumers' extra ones, its own steps'), on each other in
// a circle: bkgen's own steps cannot form one.
func (d *decoder) cycles(graph map[string]depNode) {
	const (
		unvisited = iota
		visiting
		done
	)
	state := map[string]int{}
	var stack []string
	var visit func(key string)
	visit = func(key string) {
		state[key] = visiting
		stack = append(stack, key)
		n := graph[key]
		for i, dep := range n.deps {
			_, ours := graph[dep]
			switch {
			case dep == key:
				d.errorf(n.at[i], key+".depends_on", "a step cannot depend on itself")
			case !ours:
			case state[dep] == visiting:
				cycle := append(append([]string{}, stack[indexOf(stack, dep):]...), dep)
				d.errorf(n.at[i], key+".depends_on", "dependency cycle: %s", strings.Join(cycle, " -> "))
			case state[dep] == unvisited:
				visit(dep)
			}
		}
		stack = stack[:len(stack)-1]
		state[key] = done
	}
	for _, key := range slices.Sorted(maps.Keys(graph)) {
		if state[key] == unvisited {
			visit(key)
		}
	}
}

// dependencyOrder sorts images so that each comes after those it depends on,
// keeping the spec's order otherwise, and reports cycles.
func (d *decoder) dependencyOrder(images []*Image) []*Image {
	byName := map[string]*Image{}
	for _, im := range images {
		byName[im.Name] = im
	}
	const (
		unvisited = iota
		visiting
		done
	)
	state := map[string]int{}
	var out []*Image
	var stack []string
	var visit func(im *Image)
	visit = func(im *Image) {
		switch state[im.Name] {
		case done:
			return
		case visiting:
			i := indexOf(stack, im.Name)
			cycle := append(append([]string{}, stack[i:]...), im.Name)
			d.errorf(&yaml.Node{Line: im.Pos.Line, Column: im.Pos.Col}, "images."+im.Name, "dependency cycle: %s", strings.Join(cycle, " -> "))
			return
		}
		state[im.Name] = visiting
		stack = append(stack, im.Name)
		for _, dep := range im.DependsOn {
			if b := byName[dep]; b != nil {
				visit(b)
			}
		}
		stack = stack[:len(stack)-1]
		state[im.Name] = done
		out = append(out, im)
	}
	for _, im := range images {
		visit(im)
	}
	return out
}
