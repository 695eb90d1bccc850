package agentsim

import (
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
)

// Install builds the stand-ins into dir, as buildkite-agent and docker
// (one static binary: it also runs inside images, mounted there by the
// consumer steps), and bkgen when withBkgen is set. It builds from this
// module's source, wherever the caller runs.
func Install(dir string, withBkgen bool) error {
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return err
	}
	_, file, _, _ := runtime.Caller(0)
	root := filepath.Join(filepath.Dir(file), "..", "..")
	build := func(out, pkg string) error {
		cmd := exec.Command("go", "build", "-o", out, pkg)
		cmd.Dir = root
		cmd.Env = append(os.Environ(), "CGO_ENABLED=0")
		if b, err := cmd.CombinedOutput(); err != nil {
			return fmt.Errorf("go build %s: %v\n%s", pkg, err, b)
		}
		return nil
	}
	agent := filepath.Join(dir, "buildkite-agent")
	if err := build(agent, "./internal/agentsim/cmd/standin"); err != nil {
		return err
	}
	docker := filepath.Join(dir, "docker")
	os.Remove(docker)
	if err := os.Link(agent, docker); err != nil {
		return err
	}
	if withBkgen {
		return build(filepath.Join(dir, "bkgen"), "./cmd/bkgen")
	}
	return nil
}
