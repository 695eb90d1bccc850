package exectest

import (
	"encoding/json"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"sort"
	"strings"
	"text/tabwriter"
	"time"
)

// The results of a scenario's phase.
const (
	Pass          = "PASS"
	Fail          = "FAIL"
	NotExecutable = "NOT EXECUTABLE"
)

// Row is one scenario, builder profile and phase.
type Row struct {
	Scenario string        `json:"scenario"`
	Profile  string        `json:"profile"`
	Phase    string        `json:"phase"`
	Result   string        `json:"result"`
	Failures []string      `json:"failures,omitempty"`
	Reason   string        `json:"reason,omitempty"` // why it is not executable
	Ran      int           `json:"steps_passed"`
	Duration time.Duration `json:"duration_ns"`
	Dir      string        `json:"dir"` // logs and state
	// NotExecutable lists the steps that cannot run here, with why.
	NotExecutable []string `json:"not_executable,omitempty"`
	Notes         []string `json:"notes,omitempty"`
	// TokenLifetimes counts the OIDC tokens the build asked for, by lifetime (s).
	TokenLifetimes map[int]int `json:"token_lifetimes,omitempty"`
}

// settle decides the row's result from what the checks found: a failure
// fails it; a phase in which nothing could run is not executable, never
// a pass.
func (r *Row) settle() {
	switch {
	case len(r.Failures) > 0:
		r.Result = Fail
	case r.Reason != "":
		r.Result = NotExecutable
	case r.Ran <= 1 && len(r.NotExecutable) > 0:
		// Only the upload ran: every other step needs what this machine lacks.
		r.Result = NotExecutable
		r.Reason = "every step: " + commonReason(r.NotExecutable)
	default:
		r.Result = Pass
	}
}

// commonReason summarises why steps cannot run: their distinct reasons,
// dependencies on other such steps left out.
func commonReason(items []string) string {
	seen := map[string]bool{}
	var out []string
	for _, it := range items {
		_, why, _ := strings.Cut(it, ": ")
		if strings.HasPrefix(why, "depends on ") || seen[why] {
			continue
		}
		seen[why] = true
		out = append(out, why)
	}
	return strings.Join(out, "; ")
}

// Detail is the row's one-line explanation.
func (r *Row) Detail() string {
	switch r.Result {
	case Fail:
		d := r.Failures[0]
		if n := len(r.Failures); n > 1 {
			d += fmt.Sprintf(" (+%d more)", n-1)
		}
		return d
	case NotExecutable:
		return r.Reason
	}
	d := fmt.Sprintf("%d steps passed", r.Ran)
	if n := len(r.NotExecutable); n > 0 {
		var keys []string
		for _, it := range r.NotExecutable {
			k, _, _ := strings.Cut(it, ": ")
			keys = append(keys, k)
		}
		d += fmt.Sprintf("; not executable here: %s", strings.Join(keys, ", "))
	}
	return d
}

// sortRows orders rows by scenario, profile and phase order.
func sortRows(rows []*Row, scenarios []*Scenario, profiles []Profile) {
	pos := func(list []string, s string) int {
		for i, x := range list {
			if x == s {
				return i
			}
		}
		return len(list)
	}
	var sn, pn []string
	for _, s := range scenarios {
		sn = append(sn, s.Name)
	}
	for _, p := range profiles {
		pn = append(pn, p.Name)
	}
	sort.SliceStable(rows, func(i, j int) bool {
		a, b := rows[i], rows[j]
		if x, y := pos(sn, a.Scenario), pos(sn, b.Scenario); x != y {
			return x < y
		}
		if x, y := pos(pn, a.Profile), pos(pn, b.Profile); x != y {
			return x < y
		}
		return pos(phaseOrder, a.Phase) < pos(phaseOrder, b.Phase)
	})
}

// WriteTable prints the scenario table: one line a scenario, profile and
// phase, then every failure in full, then the steps that cannot run here.
func WriteTable(w io.Writer, rows []*Row, total time.Duration) {
	tw := tabwriter.NewWriter(w, 0, 0, 2, ' ', 0)
	fmt.Fprintln(tw, "SCENARIO\tPROFILE\tPHASE\tRESULT\tTIME\tDETAIL")
	counts := map[string]int{}
	for _, r := range rows {
		counts[r.Result]++
		fmt.Fprintf(tw, "%s\t%s\t%s\t%s\t%.0fs\t%s\n", r.Scenario, r.Profile, r.Phase, r.Result, r.Duration.Seconds(), clip(r.Detail(), 160))
	}
	tw.Flush()
	fmt.Fprintf(w, "\n%d PASS, %d FAIL, %d NOT EXECUTABLE; wall time %s\n", counts[Pass], counts[Fail], counts[NotExecutable], total.Round(time.Second))
	lifetimes := map[int]int{}
	for _, r := range rows {
		for l, n := range r.TokenLifetimes {
			lifetimes[l] += n
		}
	}
	if len(lifetimes) > 0 {
		var parts []string
		for _, l := range sortedInts(lifetimes) {
			parts = append(parts, fmt.Sprintf("%d with --lifetime %d", lifetimes[l], l))
		}
		fmt.Fprintf(w, "OIDC tokens asked for: %s\n", strings.Join(parts, ", "))
	}

	var failed []*Row
	for _, r := range rows {
		if r.Result == Fail {
			failed = append(failed, r)
		}
	}
	if len(failed) > 0 {
		fmt.Fprintln(w, "\nFailures:")
		for _, r := range failed {
			fmt.Fprintf(w, "\n%s / %s / %s  (logs: %s)\n", r.Scenario, r.Profile, r.Phase, r.Dir)
			for _, f := range r.Failures {
				fmt.Fprintf(w, "  - %s\n", f)
			}
		}
	}

	// Not executable, once per scenario and step.
	type ne struct{ scenario, item string }
	seen := map[ne]bool{}
	var lines []string
	for _, r := range rows {
		for _, it := range r.NotExecutable {
			k := ne{r.Scenario, it}
			if !seen[k] {
				seen[k] = true
				lines = append(lines, fmt.Sprintf("  %s / %s", r.Scenario, it))
			}
		}
	}
	if len(lines) > 0 {
		fmt.Fprintln(w, "\nNot executable on this machine (never counted as passes):")
		for _, l := range lines {
			fmt.Fprintln(w, l)
		}
	}
}

// WriteResults writes the table (table.txt) and the rows (results.json) to dir.
func WriteResults(dir string, rows []*Row, total time.Duration) error {
	f, err := os.Create(filepath.Join(dir, "table.txt"))
	if err != nil {
		return err
	}
	WriteTable(f, rows, total)
	if err := f.Close(); err != nil {
		return err
	}
	b, err := json.MarshalIndent(struct {
		WallTimeSeconds float64 `json:"wall_time_seconds"`
		Rows            []*Row  `json:"rows"`
	}{total.Seconds(), rows}, "", "  ")
	if err != nil {
		return err
	}
	return os.WriteFile(filepath.Join(dir, "results.json"), append(b, '\n'), 0o644)
}

func clip(s string, n int) string {
	s = strings.ReplaceAll(s, "\n", " ")
	if len(s) <= n {
		return s
	}
	return s[:n-1] + "…"
}
