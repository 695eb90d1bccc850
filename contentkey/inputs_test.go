package contentkey

import (
	"context"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/bkgen/bkgen/imagebuild"
	"github.com/bkgen/bkgen/internal/gittest"
)

// TestInputsAgreeWithKeys checks Analyze's input tests against its tags:
// a path is an input exactly when changing it changes the content tag.
func TestInputsAgreeWithKeys(t *testing.T) {
	root := t.TempDir()
	files := map[string]string{
		"app/Dockerfile":                     "FROM alpine\n",
		"app/.dockerignore":                  "docs/\n*.md\n!keep.md\n**/*.tmp\n",
		"app/main.go":                        "package main\n",
		"app/docs/guide.txt":                 "guide\n",
		"app/README.md":                      "readme\n",
		"app/keep.md":                        "kept\n",
		"app/src/x.tmp":                      "tmp\n",
		"app/src/y.go":                       "package src\n",
		"other/file.go":                      "package other\n",
		"shared/app.Dockerfile":              "FROM alpine\n",
		"ctx2/a.txt":                         "a\n",
		"ctx2/b.log":                         "b\n",
		"shared/app.Dockerfile.dockerignore": "*.log\n",
	}
	gittest.WriteFiles(t, root, files)
	images := []Image{
		{Name: "app", Inputs: imagebuild.Inputs{Context: "app"}},
		{Name: "two", Inputs: imagebuild.Inputs{Context: "ctx2", Dockerfile: "shared/app.Dockerfile"}},
	}
	key := func(name string) string {
		t.Helper()
		keys, err := ComputeWith(context.Background(), Options{Root: root, NoGit: true}, images)
		if err != nil {
			t.Fatal(err)
		}
		return keys[name]
	}
	analysis, err := Analyze(context.Background(), Options{Root: root, NoGit: true}, images)
	if err != nil {
		t.Fatal(err)
	}
	for _, img := range images {
		isInput := analysis.Inputs[img.Name]
		for name := range files {
			before := key(img.Name)
			p := filepath.Join(root, filepath.FromSlash(name))
			old, _ := os.ReadFile(p)
			if err := os.WriteFile(p, append(old, "changed\n"...), 0o644); err != nil {
				t.Fatal(err)
			}
			changed := key(img.Name) != before
			os.WriteFile(p, old, 0o644)
			if strings.HasSuffix(name, ".dockerignore") {
				// Whether an edit to an ignore file changes the key depends on
				// the edit; the filter counts it, to be safe.
				if !isInput(name) && (name == "app/.dockerignore" && img.Name == "app" || name == "shared/app.Dockerfile.dockerignore" && img.Name == "two") {
					t.Errorf("image %s: its ignore file %s is not an input", img.Name, name)
				}
				continue
			}
			if got := isInput(name); got != changed {
				t.Errorf("image %s, %s: the input test says %v, but editing it changes the key: %v", img.Name, name, got, changed)
			}
		}
	}
	// Paths that do not exist are judged by their names.
	isInput := analysis.Inputs[images[0].Name]
	for p, want := range map[string]bool{"app/new.go": true, "app/docs/new.go": false, "app/.git/config": false, "apple/x": false} {
		if got := isInput(p); got != want {
			t.Errorf("%s: %v, want %v", p, got, want)
		}
	}
}
