package agentsim

import (
	"cmp"
	"encoding/json"
	"fmt"
	"maps"
	"regexp"
	"slices"
	"sort"
	"strconv"
	"strings"

	pipeline "github.com/buildkite/go-pipeline"
)

// Step is a step as the runner needs it, read from the uploaded pipeline
// (after interpolation): a command step, or what stands in for another
// kind (Kind).
type Step struct {
	// Kind is "" for a command step; "wait" and "group" (a group's own
	// entry, which its steps' dependents wait on) pass once what they wait
	// for is done; "block", "input" and "trigger" cannot run here.
	Kind                string
	Key, Label, Command string
	Env                 map[string]string
	DependsOn           []Dependency
	// AllowDependencyFailure runs the step whatever its dependencies did.
	AllowDependencyFailure bool
	// Skip is why the step does not run ("" when it runs).
	Skip        string
	Parallelism int // 0: one job, with no BUILDKITE_PARALLEL_* variables
	SoftFail    SoftFail
	// ArtifactPaths are the step's artifact globs, relative to the checkout.
	ArtifactPaths []string
	// Image runs the job inside this image, as hosted agents do.
	Image            string
	Agents           map[string]string
	Plugins          []string // each plugin's source (name#version)
	TimeoutInMinutes int
	// Branches are the step's branch patterns (none: every branch).
	Branches []string
	// If is the step's condition ("" for none).
	If string
	// Matrix: one job for each combination of the step's matrix, each the
	// step with that combination interpolated, in a stable order.
	Matrix []*Step
	// Permutation is the combination a matrix job's step has, nil for
	// others.
	Permutation pipeline.MatrixPermutation
}

// BranchMatches reports whether a build of branch runs a step with these
// branch patterns, as Buildkite filters them: * matches any run of
// characters, a leading ! excludes, and a branch must match a pattern that
// includes (when there is one) and none that excludes.
func BranchMatches(branch string, patterns []string) bool {
	if len(patterns) == 0 {
		return true
	}
	included, anyInclude := false, false
	for _, p := range patterns {
		if neg, ok := strings.CutPrefix(p, "!"); ok {
			if globMatch(neg, branch) {
				return false
			}
			continue
		}
		anyInclude = true
		if globMatch(p, branch) {
			included = true
		}
	}
	return included || !anyInclude
}

// globMatch matches s against a pattern whose only special character is *.
func globMatch(pattern, s string) bool {
	parts := strings.Split(pattern, "*")
	if len(parts) == 1 {
		return pattern == s
	}
	if !strings.HasPrefix(s, parts[0]) {
		return false
	}
	s = s[len(parts[0]):]
	for _, mid := range parts[1 : len(parts)-1] {
		i := strings.Index(s, mid)
		if i < 0 {
			return false
		}
		s = s[i+len(mid):]
	}
	return strings.HasSuffix(s, parts[len(parts)-1])
}

// ifBranch evaluates the conditions the stand-in understands:
// build.branch == "X" and build.branch != "X". ok is false for others.
func ifBranch(cond, branch string) (run, ok bool) {
	m := ifBranchRE.FindStringSubmatch(strings.TrimSpace(cond))
	if m == nil {
		return false, false
	}
	return (m[2] == branch) == (m[1] == "=="), true
}

var ifBranchRE = regexp.MustCompile(`^build\.branch\s*(==|!=)\s*"([^"\\]*)"$`)

// Dependency is one entry of depends_on.
type Dependency struct {
	Key          string
	AllowFailure bool
}

// SoftFail says which failures do not fail the build.
type SoftFail struct {
	Any          bool  // soft_fail: true, or an exit_status "*"
	ExitStatuses []int // soft_fail: [{exit_status: N}, ...]
}

// Matches reports whether a job that exited with status soft-fails.
func (s SoftFail) Matches(status int) bool {
	if status == 0 {
		return false
	}
	if s.Any {
		return true
	}
	for _, x := range s.ExitStatuses {
		if x == status {
			return true
		}
	}
	return false
}

// Queue is the step's agents queue ("" when it names none).
func (s *Step) Queue() string { return s.Agents["queue"] }

// Jobs is how many jobs the step runs.
func (s *Step) Jobs() int {
	if len(s.Matrix) > 0 {
		return len(s.Matrix)
	}
	if s.Parallelism > 1 {
		return s.Parallelism
	}
	return 1
}

// StepFrom reads a command step of an uploaded pipeline.
func StepFrom(c *pipeline.CommandStep) (*Step, error) {
	if !c.Matrix.IsEmpty() {
		return matrixStep(c)
	}
	s := &Step{Key: c.Key, Label: c.Label, Command: c.Command, Env: map[string]string{}}
	for k, v := range c.Env {
		s.Env[k] = v
	}
	for _, p := range c.Plugins {
		s.Plugins = append(s.Plugins, p.Source)
	}
	rf := c.RemainingFields
	for _, d := range dependsOn(rf["depends_on"]) {
		s.DependsOn = append(s.DependsOn, Dependency{Key: d.key, AllowFailure: d.allowFailure})
	}
	s.AllowDependencyFailure = truthy(rf["allow_dependency_failure"])
	switch v := rf["branches"].(type) {
	case nil:
	case string:
		s.Branches = strings.Fields(v)
	case []any:
		for _, it := range v {
			str, ok := it.(string)
			if !ok {
				return nil, fmt.Errorf("step %q: branches holds a %T", s.Key, it)
			}
			s.Branches = append(s.Branches, strings.Fields(str)...)
		}
	default:
		return nil, fmt.Errorf("step %q: branches is a %T", s.Key, v)
	}
	if v, ok := rf["if"]; ok {
		str, _ := v.(string)
		s.If = str
	}
	switch v := rf["skip"].(type) {
	case nil:
	case bool:
		if v {
			s.Skip = "skipped"
		}
	case string:
		if b, err := strconv.ParseBool(v); err == nil {
			if b {
				s.Skip = "skipped"
			}
		} else if v != "" {
			s.Skip = v
		}
	default:
		return nil, fmt.Errorf("step %q: skip is a %T", s.Key, v)
	}
	if v, ok := rf["parallelism"]; ok {
		n, err := integer(v)
		if err != nil {
			return nil, fmt.Errorf("step %q: parallelism: %w", s.Key, err)
		}
		s.Parallelism = n
	}
	if v, ok := rf["timeout_in_minutes"]; ok {
		n, err := integer(v)
		if err != nil {
			return nil, fmt.Errorf("step %q: timeout_in_minutes: %w", s.Key, err)
		}
		s.TimeoutInMinutes = n
	}
	sf, err := softFail(rf["soft_fail"])
	if err != nil {
		return nil, fmt.Errorf("step %q: soft_fail: %w", s.Key, err)
	}
	s.SoftFail = sf
	switch v := rf["artifact_paths"].(type) {
	case nil:
	case string:
		s.ArtifactPaths = splitArtifactPaths(v)
	case []any:
		for _, x := range v {
			if str, ok := x.(string); ok {
				s.ArtifactPaths = append(s.ArtifactPaths, splitArtifactPaths(str)...)
			}
		}
	default:
		return nil, fmt.Errorf("step %q: artifact_paths is a %T", s.Key, v)
	}
	if v, ok := rf["image"].(string); ok {
		s.Image = v
	}
	s.Agents = agents(rf["agents"])
	return s, nil
}

func splitArtifactPaths(v string) []string {
	var out []string
	for _, p := range strings.Split(v, ";") {
		if p = strings.TrimSpace(p); p != "" {
			out = append(out, p)
		}
	}
	return out
}

type dep struct {
	key          string
	allowFailure bool
}

// dependsOn reads depends_on: a key, a list of keys, or a list of
// {step: KEY, allow_failure: BOOL}.
func dependsOn(v any) []dep {
	var out []dep
	switch x := v.(type) {
	case string:
		if x != "" {
			out = append(out, dep{key: x})
		}
	case []any:
		for _, e := range x {
			switch y := e.(type) {
			case string:
				out = append(out, dep{key: y})
			default:
				if m, ok := asMap(y); ok {
					k, _ := m["step"].(string)
					out = append(out, dep{key: k, allowFailure: truthy(m["allow_failure"])})
				}
			}
		}
	}
	return out
}

func softFail(v any) (SoftFail, error) {
	switch x := v.(type) {
	case nil:
		return SoftFail{}, nil
	case bool:
		return SoftFail{Any: x}, nil
	case string:
		b, err := strconv.ParseBool(x)
		return SoftFail{Any: b}, err
	case []any:
		var sf SoftFail
		for _, e := range x {
			m, ok := asMap(e)
			if !ok {
				return sf, fmt.Errorf("an entry is a %T", e)
			}
			switch st := m["exit_status"].(type) {
			case string:
				if st == "*" {
					sf.Any = true
					continue
				}
				n, err := strconv.Atoi(st)
				if err != nil {
					return sf, err
				}
				sf.ExitStatuses = append(sf.ExitStatuses, n)
			default:
				n, err := integer(st)
				if err != nil {
					return sf, err
				}
				sf.ExitStatuses = append(sf.ExitStatuses, n)
			}
		}
		return sf, nil
	}
	return SoftFail{}, fmt.Errorf("a %T", v)
}

// agents reads agents: a mapping, or a list of KEY=VALUE.
func agents(v any) map[string]string {
	out := map[string]string{}
	if m, ok := asMap(v); ok {
		for k, x := range m {
			out[k] = fmt.Sprint(x)
		}
		return out
	}
	if l, ok := v.([]any); ok {
		for _, e := range l {
			if s, ok := e.(string); ok {
				if k, val, ok := strings.Cut(s, "="); ok {
					out[k] = val
				}
			}
		}
	}
	return out
}

// asMap turns go-pipeline's ordered maps (and plain ones) into a map.
func asMap(v any) (map[string]any, bool) {
	switch m := v.(type) {
	case map[string]any:
		return m, true
	case interface{ ToMap() map[string]any }:
		return m.ToMap(), true
	}
	return nil, false
}

func truthy(v any) bool {
	switch x := v.(type) {
	case bool:
		return x
	case string:
		b, _ := strconv.ParseBool(x)
		return b
	}
	return false
}

func integer(v any) (int, error) {
	switch x := v.(type) {
	case int:
		return x, nil
	case int64:
		return int(x), nil
	case uint64:
		return int(x), nil
	case float64:
		if x != float64(int(x)) {
			return 0, fmt.Errorf("%v is not a whole number", x)
		}
		return int(x), nil
	case string:
		return strconv.Atoi(x)
	}
	return 0, fmt.Errorf("a %T", v)
}

func sortedKeys[V any](m map[string]V) []string {
	keys := make([]string, 0, len(m))
	for k := range m {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	return keys
}

// matrixStep reads a matrix step: each combination of its setup that no
// adjustment skips, and each combination an adjustment adds, interpolated
// into a copy of the step as the agent does for each job.
func matrixStep(c *pipeline.CommandStep) (*Step, error) {
	var perms []pipeline.MatrixPermutation
	dims := slices.Sorted(maps.Keys(c.Matrix.Setup))
	var product func(i int, p pipeline.MatrixPermutation)
	product = func(i int, p pipeline.MatrixPermutation) {
		if i == len(dims) {
			perms = append(perms, maps.Clone(p))
			return
		}
		for _, v := range c.Matrix.Setup[dims[i]] {
			p[dims[i]] = v
			product(i+1, p)
		}
	}
	product(0, pipeline.MatrixPermutation{})
	for _, a := range c.Matrix.Adjustments {
		with := pipeline.MatrixPermutation(a.With)
		i := slices.IndexFunc(perms, func(p pipeline.MatrixPermutation) bool { return maps.Equal(p, with) })
		switch {
		case a.ShouldSkip() && i >= 0:
			perms = slices.Delete(perms, i, i+1)
		case !a.ShouldSkip() && i < 0:
			perms = append(perms, maps.Clone(with))
		}
	}
	b, err := json.Marshal(c)
	if err != nil {
		return nil, err
	}
	var out *Step
	for _, p := range perms {
		var one pipeline.CommandStep
		if err := json.Unmarshal(b, &one); err != nil {
			return nil, fmt.Errorf("step %q: %w", c.Key, err)
		}
		if err := one.InterpolateMatrixPermutation(p); err != nil {
			return nil, fmt.Errorf("step %q, matrix %v: %w", c.Key, p, err)
		}
		one.Matrix = nil
		s, err := StepFrom(&one)
		if err != nil {
			return nil, err
		}
		s.Permutation = p
		if out == nil {
			o := *s
			out = &o
		}
		out.Matrix = append(out.Matrix, s)
	}
	if out == nil {
		return nil, fmt.Errorf("step %q: its matrix leaves no job", c.Key)
	}
	out.Permutation = nil
	return out, nil
}

// notRunHere says why a step of a kind the stand-in cannot run does not.
var notRunHere = map[string]string{
	"block":   "a block step waits for a person to unblock it",
	"input":   "an input step waits for a person to fill it in",
	"trigger": "a trigger step starts another pipeline's build, which is not here",
}

// stepsFrom reads the steps of an upload: command steps, a group's steps
// (each also waiting for what the group waits for, and the group's entry
// waiting for them), and waits, blocks and inputs, which every later step
// of the upload waits for, as Buildkite orders them. n numbers the entries
// that have no key of their own.
func stepsFrom(steps pipeline.Steps, n *int) ([]*Step, error) {
	var out []*Step
	var before []Dependency // this upload's steps so far, for the next wait
	var barrier *Step
	key := func(k, kind string) string {
		if k == "" {
			*n++
			k = fmt.Sprintf("(%s %d)", cmp.Or(kind, "command"), *n)
		}
		return k
	}
	push := func(s *Step, barrierToo bool) {
		if barrier != nil && barrierToo {
			s.DependsOn = append(s.DependsOn, Dependency{Key: barrier.Key})
		}
		out = append(out, s)
		before = append(before, Dependency{Key: s.Key})
	}
	for _, ps := range steps {
		switch ps := ps.(type) {
		case *pipeline.CommandStep:
			s, err := StepFrom(ps)
			if err != nil {
				return nil, err
			}
			s.Key = key(s.Key, "")
			push(s, true)
		case *pipeline.WaitStep, *pipeline.InputStep:
			contents := map[string]any{}
			switch ps := ps.(type) {
			case *pipeline.WaitStep:
				contents = ps.Contents
			case *pipeline.InputStep:
				contents = ps.Contents
			}
			kind := "wait"
			for _, k := range []string{"block", "input"} {
				if _, ok := contents[k]; ok {
					kind = k
				}
			}
			k, _ := contents["key"].(string)
			s := &Step{Kind: kind, Key: key(k, kind), Env: map[string]string{}}
			s.DependsOn = append(slices.Clone(before), dependsOnList(contents["depends_on"])...)
			s.AllowDependencyFailure = truthy(contents["continue_on_failure"]) || truthy(contents["allow_dependency_failure"])
			out = append(out, s)
			before = append(before, Dependency{Key: s.Key})
			barrier = s
		case *pipeline.TriggerStep:
			k, _ := ps.Contents["key"].(string)
			s := &Step{Kind: "trigger", Key: key(k, "trigger"), Env: map[string]string{}, DependsOn: dependsOnList(ps.Contents["depends_on"])}
			push(s, true)
		case *pipeline.GroupStep:
			children, err := stepsFrom(ps.Steps, n)
			if err != nil {
				return nil, err
			}
			groupDeps := dependsOnList(ps.RemainingFields["depends_on"])
			if barrier != nil {
				groupDeps = append(groupDeps, Dependency{Key: barrier.Key})
			}
			group := &Step{Kind: "group", Key: key(ps.Key, "group"), Env: map[string]string{}}
			skip := ""
			switch v := ps.RemainingFields["skip"].(type) {
			case bool:
				if v {
					skip = "skipped"
				}
			case string:
				skip = v
			}
			for _, c := range children {
				c.DependsOn = append(c.DependsOn, groupDeps...)
				if skip != "" && c.Skip == "" {
					c.Skip = "its group is skipped: " + skip
				}
				group.DependsOn = append(group.DependsOn, Dependency{Key: c.Key, AllowFailure: true})
			}
			group.Skip = skip
			out = append(out, children...)
			for _, c := range children {
				before = append(before, Dependency{Key: c.Key})
			}
			out = append(out, group)
			before = append(before, Dependency{Key: group.Key})
		default:
			return nil, fmt.Errorf("a %T step", ps)
		}
	}
	return out, nil
}

func dependsOnList(v any) []Dependency {
	var out []Dependency
	for _, d := range dependsOn(v) {
		out = append(out, Dependency{Key: d.key, AllowFailure: d.allowFailure})
	}
	return out
}
