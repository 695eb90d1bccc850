package plan

import (
	"context"
	"errors"
	"fmt"
	"io/fs"

	"github.com/bkgen/bkgen/contentkey"
	"github.com/bkgen/bkgen/diag"
	"github.com/bkgen/bkgen/generator"
	"github.com/bkgen/bkgen/spec"
)

// analyzeImages reads what each image of the spec is built from: its
// content tag, and which paths are its inputs. A problem with an image's
// files (a missing context, a Dockerfile that is not a regular file, a bad
// ignore file, a symlink out of the repository...) is a spec error at the
// image's context or dockerfile, every one at once. Make and Check both
// come here, so that a spec lint passes is one generate accepts.
func analyzeImages(ctx context.Context, dir string, s *spec.Spec) (*contentkey.Analysis, error) {
	a, err := contentkey.Analyze(ctx, contentkey.Options{Root: dir}, keyInputs(s))
	var problems contentkey.Problems
	if !errors.As(err, &problems) {
		if err != nil {
			return nil, fmt.Errorf("computing content tags: %w", err)
		}
		if errs := append(checkJobImages(dir, s, a.Paths), checkTargets(dir, s, a.Paths)...); len(errs) > 0 {
			return nil, errs.Sorted()
		}
		return a, nil
	}
	var errs diag.List
	for _, p := range problems {
		im := s.Image(p.Image)
		if im.Of != "" {
			continue // a variant's files are its image's, said of that image
		}
		field, pos, msg := "context", im.ContextPos, p.Msg
		switch p.Input {
		case contentkey.InputDockerfile:
			field, pos = "dockerfile", im.DockerfilePos
			if pos == im.Pos && errors.Is(p, fs.ErrNotExist) {
				msg += " (dockerfile defaults to <context>/Dockerfile)"
			}
		case contentkey.InputIgnoreFile:
			// The ignore file says what of the context is sent.
			msg = "ignore file " + msg
		}
		errs = append(errs, diag.Diagnostic{File: s.File, Pos: pos, Severity: diag.Error, Rule: "build-input", Path: "images." + im.Name + "." + field, Msg: msg})
	}
	return nil, errs.Sorted()
}

// imagePaths hands the generator where contentkey found each image's
// inputs: the generator reads no files.
func imagePaths(paths map[string]contentkey.Paths) map[string]generator.ImagePaths {
	out := make(map[string]generator.ImagePaths, len(paths))
	for name, p := range paths {
		out[name] = generator.ImagePaths{Context: p.Context, Files: p.Files}
	}
	return out
}

// keyInputs is what decides each image's bytes, for its content tag.
func keyInputs(s *spec.Spec) []contentkey.Image {
	var out []contentkey.Image
	for _, im := range s.Images {
		out = append(out, contentkey.Image{Name: im.Name, Inputs: im.Inputs})
	}
	return out
}
