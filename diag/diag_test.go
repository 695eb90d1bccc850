package diag

import (
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
	at := func(file string, line, col int, sev Severity, msg string) Diagnostic {
		return Diagnostic{File: file, Pos: Pos{Line: line, Col: col}, Severity: sev, Msg: msg}
	}
	l := List{
		at("b.yml", 2, 1, Error, "x"),
		at("a.yml", 9, 1, Warning, "w"),
		at("b.yml", 1, 5, Warning, "y"),
		at("a.yml", 9, 1, Error, "e"),
		at("b.yml", 2, 1, Error, "x"),
		at("a.yml", 1, 1, Error, "first"),
	}
	want := List{
		at("b.yml", 1, 5, Warning, "y"),
		at("b.yml", 2, 1, Error, "x"),
		at("a.yml", 1, 1, Error, "first"),
		at("a.yml", 9, 1, Error, "e"),
		at("a.yml", 9, 1, Warning, "w"),
	}
	if diff := cmp.Diff(want, l.Sorted()); diff != "" {
		t.Errorf("Sorted (-want +got):\n%s", diff)
	}
	if l.Errors() != 4 || (List{}).Err() != nil || l.Err() == nil {
		t.Errorf("Errors() = %d, Err() = %v / %v", l.Errors(), (List{}).Err(), l.Err())
	}
}
