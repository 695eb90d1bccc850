package main

import (
	"strings"
	"testing"

	"github.com/bkgen/bkgen/buildenv"
)

// TestAgentInterpolates reads pipeline upload's arguments and environment
// as the agent's urfave/cli v1 and Go's flag package do.
func TestAgentInterpolates(t *testing.T) {
	for _, tc := range []struct {
		env  string // BUILDKITE_PIPELINE_NO_INTERPOLATION
		args string
		want bool // interpolates
		err  bool // the agent would refuse to run
	}{
		{"", "", true, false},
		{"", "--dry-run --replace", true, false},
		{"", "--no-interpolation", false, false},
		{"", "-no-interpolation", false, false},
		{"", "--no-interpolation=true", false, false},
		{"", "--no-interpolation=1", false, false},
		{"", "--no-interpolation=FALSE", true, false},
		{"", "--no-interpolation --no-interpolation=f", true, false},
		{"", "pipeline.yml --no-interpolation", false, false}, // flags after files are moved before them
		{"", "--format --no-interpolation", true, false},      // a flag's value
		{"", "--format=json --no-interpolation", false, false},
		{"", "--job -- --no-interpolation", false, false}, // "--" is --job's value
		{"", "-- --no-interpolation", true, false},        // a file name
		{"", "--no-interpolation=", false, true},
		{"", "--no-interpolation=yes", false, true},
		{"true", "", false, false},
		{"T", "", false, false},
		{"0", "", true, false},
		{"true", "--no-interpolation=false", true, false},
		{"yes", "--no-interpolation", false, true}, // the agent fails on the variable first
	} {
		getenv := func(k string) string {
			if k == noInterpolationEnv {
				return tc.env
			}
			return ""
		}
		got, err := agentInterpolates(strings.Fields(tc.args), getenv)
		if (err != nil) != tc.err || err == nil && got != tc.want {
			t.Errorf("%s=%q pipeline upload %s: interpolates %v, error %v; want %v, error %v", noInterpolationEnv, tc.env, tc.args, got, err, tc.want, tc.err)
		}
	}
}

// TestUploadSettings reads the flags of pipeline upload that change how
// it applies if_changed, over what the environment set.
func TestUploadSettings(t *testing.T) {
	env := buildenv.Upload{ApplyIfChanged: true, GitDiffBase: "origin/develop"}
	for _, tc := range []struct {
		args string
		want buildenv.Upload
		err  bool
	}{
		{"", env, false},
		{"--git-diff-base origin/release", buildenv.Upload{ApplyIfChanged: true, GitDiffBase: "origin/release"}, false},
		{"--git-diff-base=v1 --dry-run", buildenv.Upload{ApplyIfChanged: true, GitDiffBase: "v1"}, false},
		{"--changed-files-path changed.txt", buildenv.Upload{ApplyIfChanged: true, GitDiffBase: "origin/develop", ChangedFilesPath: "changed.txt"}, false},
		{"--apply-if-changed=false", buildenv.Upload{ApplySource: "--apply-if-changed=false", GitDiffBase: "origin/develop"}, false},
		{"-apply-if-changed=0 --apply-if-changed", env, false},
		{"--fetch-diff-base", buildenv.Upload{ApplyIfChanged: true, FetchDiffBase: true, GitDiffBase: "origin/develop"}, false},
		{"--job --git-diff-base", env, false}, // --job's value
		{"-- --git-diff-base x", env, false},  // files
		{"--apply-if-changed=maybe", env, true},
	} {
		got, err := uploadSettings(strings.Fields(tc.args), env)
		if (err != nil) != tc.err || err == nil && got != tc.want {
			t.Errorf("pipeline upload %s: %+v, error %v; want %+v, error %v", tc.args, got, err, tc.want, tc.err)
		}
	}
}
