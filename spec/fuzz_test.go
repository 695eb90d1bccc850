package spec

import (
	"errors"
	"os"
	"path/filepath"
	"testing"

	"github.com/bkgen/bkgen/diag"
)

// FuzzLoad checks that any input either loads into a complete spec or is
// refused with positioned errors, and never panics.
func FuzzLoad(f *testing.F) {
	specs, _ := filepath.Glob("../examples/*/.buildkite/bkgen.yml")
	for _, p := range specs {
		src, err := os.ReadFile(p)
		if err != nil {
			f.Fatal(err)
		}
		f.Add(src)
	}
	f.Add([]byte(minimal))
	f.Add([]byte("version: 1\nregistries: {a: {provider: ecr, account_id: '123456789012', region: us-east-1}}\nimages: {x: {depends_on: [x]}}\n"))
	f.Add([]byte("a: &x {b: *x}\n"))
	f.Add([]byte("version: 1\nimages: {<<: {a: {}}}\n"))
	f.Fuzz(func(t *testing.T, src []byte) {
		s, err := Load("fuzz.yml", src)
		if err == nil {
			if s == nil || len(s.Images) == 0 || len(s.Registries) == 0 {
				t.Fatalf("loaded an incomplete spec: %+v", s)
			}
			for _, im := range s.Images {
				if s.Registry(im.Registry) == nil {
					t.Fatalf("image %s has unknown registry %q", im.Name, im.Registry)
				}
			}
			return
		}
		var errs diag.List
		if !errors.As(err, &errs) || len(errs) == 0 {
			t.Fatalf("error is not a positioned diag.List: %v", err)
		}
		for _, e := range errs {
			if e.File != "fuzz.yml" || e.Pos.Line < 1 || e.Pos.Col < 1 || e.Msg == "" {
				t.Fatalf("badly positioned error: %#v", e)
			}
		}
	})
}
