package main

import (
	"fmt"
	"runtime"
	"runtime/debug"
)

// version is set at release time with -ldflags "-X main.version=v1.2.3";
// otherwise it comes from the module's build info.
var version = ""

func versionCommand() *command {
	return &command{
		name:    "version",
		usage:   "version",
		summary: "Print bkgen's version.",
		example: "  bkgen version",
		run: func(ctx *cmdContext, _ any, _ []string) int {
			fmt.Fprintf(ctx.io.out, "bkgen %s (%s %s/%s)\n", currentVersion(), runtime.Version(), runtime.GOOS, runtime.GOARCH)
			return exitOK
		},
	}
}

func currentVersion() string {
	if version != "" {
		return version
	}
	if info, ok := debug.ReadBuildInfo(); ok && info.Main.Version != "" && info.Main.Version != "(devel)" {
		return info.Main.Version
	}
	return "dev"
}
