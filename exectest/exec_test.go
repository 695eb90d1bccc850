package exectest

import (
	"context"
	"os"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/bkgen/bkgen/internal/gittest"
)

func TestMain(m *testing.M) { gittest.Main(m) }

// execEnv is the execution environment a test runs things in for real,
// or skips the test: it needs BKGEN_EXEC=1 and what
// scripts/exec-env/setup.sh brings up (scripts/exec-test.sh does both).
func execEnv(t *testing.T) *Env {
	t.Helper()
	if os.Getenv("BKGEN_EXEC") == "" {
		t.Skip("this test runs builds and containers for real: set BKGEN_EXEC=1 in the environment scripts/exec-env/setup.sh brings up (scripts/exec-test.sh does both)")
	}
	env, err := ReadEnv(EnvFile)
	if err != nil {
		t.Skipf("no execution environment (%v): run scripts/exec-env/setup.sh, or scripts/exec-test.sh", err)
	}
	return env
}

// TestExecution runs every example and extra scenario for real, under
// both builder profiles, four builds each, and fails on any FAIL in the
// scenario table (not on NOT EXECUTABLE). It needs the environment of
// scripts/exec-env/setup.sh and BKGEN_EXEC=1; scripts/exec-test.sh does
// both. Narrow it with BKGEN_EXEC_SCENARIOS (a regexp) and
// BKGEN_EXEC_PROFILES (docker,container); BKGEN_EXEC_RESULTS names the
// results directory, BKGEN_EXEC_JOBS the jobs run at once (default 4), and
// BKGEN_EXEC_KEEP=1 keeps the jobs' checkouts.
func TestExecution(t *testing.T) {
	env := execEnv(t)
	start := time.Now()
	scenarios, err := Scenarios()
	if err != nil {
		t.Fatal(err)
	}
	if f := os.Getenv("BKGEN_EXEC_SCENARIOS"); f != "" {
		re, err := regexp.Compile(f)
		if err != nil {
			t.Fatalf("BKGEN_EXEC_SCENARIOS: %v", err)
		}
		var keep []*Scenario
		for _, sc := range scenarios {
			if re.MatchString(sc.Name) {
				keep = append(keep, sc)
			}
		}
		scenarios = keep
	}
	profiles := Profiles
	if f := os.Getenv("BKGEN_EXEC_PROFILES"); f != "" {
		profiles = nil
		for _, p := range Profiles {
			if strings.Contains(","+f+",", ","+p.Name+",") {
				profiles = append(profiles, p)
			}
		}
	}
	out := os.Getenv("BKGEN_EXEC_RESULTS")
	if out == "" {
		out = filepath.Join(os.TempDir(), "bkgen-exec-results", time.Now().Format("20060102-150405"))
	}
	if err := os.MkdirAll(out, 0o755); err != nil {
		t.Fatal(err)
	}
	jobs := 4
	if n, err := strconv.Atoi(os.Getenv("BKGEN_EXEC_JOBS")); err == nil && n > 0 {
		jobs = n
	}
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	h, err := NewHarness(ctx, env, out, jobs)
	if err != nil {
		t.Fatal(err)
	}
	defer h.Close()
	h.Keep = os.Getenv("BKGEN_EXEC_KEEP") != ""
	h.Logf = t.Logf
	t.Logf("run %s: %d scenarios × %d profiles × %d phases, %d jobs at once; results in %s", h.RunID, len(scenarios), len(profiles), len(Phases), jobs, out)

	var mu sync.Mutex
	var rows []*Row
	t.Run("scenarios", func(t *testing.T) {
		for _, sc := range scenarios {
			t.Run(sc.Name, func(t *testing.T) {
				t.Parallel()
				for _, p := range profiles {
					if !sc.RunsUnder(p) {
						continue
					}
					for _, r := range h.Run(ctx, sc, p) {
						if r.Result == Fail {
							t.Errorf("%s / %s / %s: FAIL\n  %s", r.Scenario, r.Profile, r.Phase, strings.Join(r.Failures, "\n  "))
						}
						mu.Lock()
						rows = append(rows, r)
						mu.Unlock()
					}
				}
			})
		}
	})
	total := time.Since(start)
	sortRows(rows, scenarios, profiles)
	var table strings.Builder
	WriteTable(&table, rows, total)
	t.Logf("scenario table (also %s):\n%s", filepath.Join(out, "table.txt"), table.String())
	if err := WriteResults(out, rows, total); err != nil {
		t.Error(err)
	}
}
