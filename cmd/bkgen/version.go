package main

import (
	"encoding/json"
	"flag"
	"fmt"
	"runtime"
	"runtime/debug"
	"strings"
)

// Stamped at release time (scripts/release.sh):
//
//	-ldflags "-X main.version=v1.2.3 -X main.commit=SHA -X main.date=2026-11-26T10:00:00Z"
//
// A build without them says so, and shows what Go's build info knows: the
// module version `go install ...@v1.2.3` records, or the commit a build in
// a git checkout records.
var version, commit, date string

// buildInfo is what `bkgen version` reports.
type buildInfo struct {
	Version  string `json:"version"`
	Commit   string `json:"commit,omitempty"`
	Date     string `json:"date,omitempty"`
	Modified bool   `json:"modified,omitempty"` // built from a checkout with uncommitted changes
	Go       string `json:"go"`
	Platform string `json:"platform"`
	// Stamped: a release build, its version, commit and date set by the
	// release script; otherwise Source says where Version came from.
	Stamped bool   `json:"stamped"`
	Source  string `json:"source"`
}

func currentBuild() buildInfo {
	b := buildInfo{Go: runtime.Version(), Platform: runtime.GOOS + "/" + runtime.GOARCH}
	if version != "" {
		b.Version, b.Commit, b.Date, b.Stamped, b.Source = version, commit, date, true, "release build"
		return b
	}
	b.Version, b.Source = "dev", "not a release build: no version stamped, nor a module version"
	info, ok := debug.ReadBuildInfo()
	if !ok {
		return b
	}
	if v := info.Main.Version; v != "" && v != "(devel)" {
		b.Version, b.Source = v, "not a release build: the module version Go's build info recorded (go install MODULE@VERSION, or a pseudo-version from the checkout)"
	}
	for _, s := range info.Settings {
		switch s.Key {
		case "vcs.revision":
			b.Commit = s.Value
		case "vcs.time":
			b.Date = s.Value
		case "vcs.modified":
			b.Modified = s.Value == "true"
		}
	}
	return b
}

// String is the version for people, on one line.
func (b buildInfo) String() string {
	var details []string
	if b.Commit != "" {
		c := b.Commit
		if len(c) > 12 {
			c = c[:12]
		}
		if b.Modified {
			c += ", modified"
		}
		details = append(details, "commit "+c)
	}
	if b.Date != "" {
		details = append(details, "built "+b.Date)
	}
	details = append(details, b.Go, b.Platform)
	if !b.Stamped {
		details = append(details, b.Source)
	}
	return "bkgen " + b.Version + " (" + strings.Join(details, ", ") + ")"
}

type versionFlags struct{ json bool }

func versionCommand() *command {
	return &command{
		name:    "version",
		usage:   "version [--json]",
		summary: "Print bkgen's version, commit and build date.",
		example: "  bkgen version\n  bkgen version --json",
		flags: func(fs *flag.FlagSet) any {
			f := &versionFlags{}
			fs.BoolVar(&f.json, "json", false, "print it as JSON: version, commit, date, go, platform, stamped, source")
			return f
		},
		run: func(ctx *cmdContext, v any, _ []string) int {
			b := currentBuild()
			if v.(*versionFlags).json {
				enc := json.NewEncoder(ctx.io.out)
				enc.SetIndent("", "  ")
				if err := enc.Encode(b); err != nil {
					return exitUsage
				}
				return exitOK
			}
			fmt.Fprintln(ctx.io.out, b)
			return exitOK
		},
	}
}
