package diag

import (
	"fmt"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"
)

func TestFormats(t *testing.T) {
	d := Diagnostic{File: "bkgen.yml", Pos: Pos{Line: 3, Col: 7}, Severity: Error, Rule: "spec", Path: "images.app.context", Msg: "app does not exist"}
	if got, want := d.Error(), "bkgen.yml:3:7: images.app.context: app does not exist"; got != want {
		t.Errorf("Error() = %q, want %q", got, want)
	}
	if got, want := d.String(), "bkgen.yml:3:7: error: images.app.context: app does not exist [spec]"; got != want {
		t.Errorf("String() = %q, want %q", got, want)
	}
	d.Path, d.Rule, d.Severity = "", "", Warning
	if got, want := d.String(), "bkgen.yml:3:7: warning: app does not exist"; got != want {
		t.Errorf("String() = %q, want %q", got, want)
	}
}

// TestSorted checks problems come by position, files in the order they
// first appear, errors first at one position, and repeats once.
func TestSorted(t *testing.T) {
	// Each problem as FILE LINE COL SEVERITY MSG.
	list := func(lines string) List {
		var l List
		for _, line := range strings.Split(strings.TrimSpace(lines), "\n") {
			var d Diagnostic
			var sev string
			fmt.Sscan(line, &d.File, &d.Pos.Line, &d.Pos.Col, &sev, &d.Msg)
			if sev == "error" {
				d.Severity = Error
			}
			l = append(l, d)
		}
		return l
	}
	l := list(`
b.yml 2 1 error x
a.yml 9 1 warning w
b.yml 1 5 warning y
a.yml 9 1 error e
b.yml 2 1 error x
a.yml 1 1 error first`)
	want := list(`
b.yml 1 5 warning y
b.yml 2 1 error x
a.yml 1 1 error first
a.yml 9 1 error e
a.yml 9 1 warning w`)
	if diff := cmp.Diff(want, l.Sorted()); diff != "" {
		t.Errorf("Sorted (-want +got):\n%s", diff)
	}
	if l.Errors() != 4 || (List{}).Err() != nil || l.Err() == nil {
		t.Errorf("Errors() = %d, Err() = %v / %v", l.Errors(), (List{}).Err(), l.Err())
	}
}
