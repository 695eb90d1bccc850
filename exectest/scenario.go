package exectest

import (
	"fmt"
	"os"
	"path/filepath"
	"runtime"
	"slices"
	"sort"
	"strconv"
	"strings"

	"github.com/bkgen/bkgen/buildenv"

	"github.com/bkgen/bkgen/internal/pipetest"
)

// Scenario is one repository the harness builds: an example of examples/,
// or an extra scenario of exectest/testdata/scenarios/. Both have the same
// layout: .buildkite/bkgen.yml, and optionally an env file (the uploading
// job's BUILDKITE_* values), an args file (bkgen's flags; --all when
// absent) and, for extra scenarios, an exec file (the harness's options).
type Scenario struct {
	Name  string
	Dir   string
	Extra bool // not one of examples/
	Env   map[string]string
	Args  []string
	// TimeScale runs the registries' token clocks this much faster (exec
	// file: time_scale=N), so a build can outlive a 300 s OIDC token.
	TimeScale float64
	// MaxJobs is the organization's limit of jobs in one upload the agent
	// enforces (exec file: max_jobs=N; 0 is Buildkite's 500).
	MaxJobs int
	// Expect says what the scenario must show (exec file: expect=...), for
	// the table: the harness passes or fails it by the same checks as any.
	Expect string
	// ExtraPhases are the phases it runs besides every scenario's (exec
	// file: phases=stale,rebuild), after again.
	ExtraPhases []string
	// Rebuild is BKGEN_REBUILD in the rebuild phase (exec file: rebuild=...).
	Rebuild string
	// Skip are every scenario's phases it leaves out (exec file:
	// skip=changed,cold): those that show nothing other scenarios do not.
	Skip []string
	// Profiles, when set, are the only builder profiles it runs under
	// (exec file: profiles=container): for what no builder changes.
	Profiles []string
}

// RunsUnder reports whether the scenario runs under profile p.
func (sc *Scenario) RunsUnder(p Profile) bool {
	return len(sc.Profiles) == 0 || slices.Contains(sc.Profiles, p.Name)
}

// Phases are the phases the scenario runs, in order.
func (sc *Scenario) Phases() []string {
	var out []string
	for _, p := range phaseOrder {
		if slices.Contains(Phases, p) && !slices.Contains(sc.Skip, p) || slices.Contains(sc.ExtraPhases, p) {
			out = append(out, p)
		}
	}
	return out
}

// rebuildVar is how the rebuild phase asks for its rebuild.
func (sc *Scenario) rebuildVar() string { return buildenv.RebuildVar + "=" + sc.Rebuild }

// ModuleRoot is the module's root directory, found from this file.
func ModuleRoot() string {
	_, file, _, _ := runtime.Caller(0)
	return filepath.Join(filepath.Dir(file), "..")
}

// Scenarios lists the examples, then the extra scenarios, each sorted by name.
func Scenarios() ([]*Scenario, error) {
	var out []*Scenario
	for _, src := range []struct {
		dir   string
		extra bool
	}{
		{filepath.Join(ModuleRoot(), "examples"), false},
		{filepath.Join(ModuleRoot(), "exectest", "testdata", "scenarios"), true},
	} {
		specs, err := filepath.Glob(filepath.Join(src.dir, "*", ".buildkite", "bkgen.yml"))
		if err != nil {
			return nil, err
		}
		sort.Strings(specs)
		for _, s := range specs {
			sc, err := loadScenario(filepath.Dir(filepath.Dir(s)), src.extra)
			if err != nil {
				return nil, err
			}
			out = append(out, sc)
		}
	}
	if len(out) == 0 {
		return nil, fmt.Errorf("no examples under %s", filepath.Join(ModuleRoot(), "examples"))
	}
	return out, nil
}

func loadScenario(dir string, extra bool) (*Scenario, error) {
	sc := &Scenario{Name: filepath.Base(dir), Dir: dir, Extra: extra, Env: map[string]string{}, Args: []string{"--all"}}
	if src, err := os.ReadFile(filepath.Join(dir, "env")); err == nil {
		if sc.Env, err = pipetest.KeyValues(string(src)); err != nil {
			return nil, fmt.Errorf("%s/env: %w", dir, err)
		}
	}
	if src, err := os.ReadFile(filepath.Join(dir, "args")); err == nil {
		sc.Args = strings.Fields(string(src))
	}
	if src, err := os.ReadFile(filepath.Join(dir, "exec")); err == nil {
		opts, err := pipetest.KeyValues(string(src))
		if err != nil {
			return nil, fmt.Errorf("%s/exec: %w", dir, err)
		}
		for k, v := range opts {
			switch k {
			case "time_scale":
				if sc.TimeScale, err = strconv.ParseFloat(v, 64); err != nil {
					return nil, fmt.Errorf("%s/exec: time_scale: %w", dir, err)
				}
			case "expect":
				sc.Expect = v
			case "phases":
				for _, p := range strings.Split(v, ",") {
					if !slices.Contains(extraPhases, p) {
						return nil, fmt.Errorf("%s/exec: phases: %q is not one of %s", dir, p, strings.Join(extraPhases, ", "))
					}
					sc.ExtraPhases = append(sc.ExtraPhases, p)
				}
			case "rebuild":
				sc.Rebuild = v
			case "skip":
				for _, p := range strings.Split(v, ",") {
					if p != PhaseChanged && p != PhaseCold {
						return nil, fmt.Errorf("%s/exec: skip: %q is not a phase a scenario may leave out (%s, %s)", dir, p, PhaseChanged, PhaseCold)
					}
					sc.Skip = append(sc.Skip, p)
				}
			case "profiles":
				for _, name := range strings.Split(v, ",") {
					if !slices.ContainsFunc(Profiles, func(p Profile) bool { return p.Name == name }) {
						return nil, fmt.Errorf("%s/exec: profiles: %q is not a profile", dir, name)
					}
					sc.Profiles = append(sc.Profiles, name)
				}
			case "max_jobs":
				if sc.MaxJobs, err = strconv.Atoi(v); err != nil {
					return nil, fmt.Errorf("%s/exec: max_jobs: %w", dir, err)
				}
			default:
				return nil, fmt.Errorf("%s/exec: unknown option %q", dir, k)
			}
		}
	}
	if slices.Contains(sc.ExtraPhases, PhaseRebuild) != (sc.Rebuild != "") {
		return nil, fmt.Errorf("%s/exec: the rebuild phase and rebuild= go together", dir)
	}
	return sc, nil
}
