package plan

import (
	"context"
	"errors"

	"github.com/bkgen/bkgen/buildenv"
	"github.com/bkgen/bkgen/changes"
	"github.com/bkgen/bkgen/diag"
	"github.com/bkgen/bkgen/generator"
	"github.com/bkgen/bkgen/spec"
)

// Check reports what Make would refuse in a loaded spec, every path counted
// as changed: each image's context, Dockerfile and ignore file, then what
// only shows once the pipeline is made (a registry without an org, its
// size). The error is what stopped the checks, not a problem found.
//
// Check keeps every step, so a pipeline past maxJobs is a warning: an
// upload that leaves out what does not run (--skipped omit) may hold fewer.
func Check(ctx context.Context, dir string, s *spec.Spec, env buildenv.Build, maxJobs int) (diag.List, error) {
	keys, err := analyzeImages(ctx, root(dir), s)
	if err == nil {
		var res *generator.Result
		if res, err = generator.Generate(input(s, keys, changes.Result{All: true}, env, maxJobs)); err == nil {
			_, err = res.Pipeline.YAML()
		}
	}
	var problems diag.List
	if err != nil && !errors.As(err, &problems) {
		return nil, err
	}
	for i, p := range problems {
		if p.Rule == "job-limit" {
			problems[i].Severity = diag.Warning
			problems[i].Msg = "with every step kept, " + p.Msg
		}
	}
	return problems, nil
}
