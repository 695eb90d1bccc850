package exectest

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/bkgen/bkgen/templates"
)

// TestConsumerCancel cancels a consumer job as the agent does (SIGTERM to
// the job's process group) while its container ignores SIGTERM, and
// checks the job takes its container with it. It needs what TestExecution
// needs.
func TestConsumerCancel(t *testing.T) {
	env := execEnv(t)
	dir := t.TempDir()
	config := filepath.Join(dir, "docker-config")
	if err := writeDockerAuth(config, env, env.PackagesHost); err != nil {
		t.Fatal(err)
	}
	bin := filepath.Join(dir, "bin")
	if err := os.MkdirAll(bin, 0o755); err != nil {
		t.Fatal(err)
	}
	// The script mounts the agent binary into the container: any file will do.
	if err := os.WriteFile(filepath.Join(bin, "buildkite-agent"), []byte("#!/bin/sh\nexit 0\n"), 0o755); err != nil {
		t.Fatal(err)
	}
	script, err := templates.Consumer(templates.ConsumerData{
		RefQ: env.BaseImage, BuildkiteEnv: []string{"BUILDKITE_JOB_ID"}, Propagate: true,
		EntrypointQ: "/bin/sh", ShellArgsQ: []string{"-e", "-c"}, MountCheckout: true, WorkdirQ: "/workdir",
		CommandQ: `'trap "" TERM; echo started; while :; do sleep 1; done'`,
	})
	if err != nil {
		t.Fatal(err)
	}
	jobID := fmt.Sprintf("cancel-%d", time.Now().UnixNano())
	ctx, cancel := context.WithTimeout(context.Background(), 3*time.Minute)
	defer cancel()
	docker := func(args ...string) string {
		out, _ := exec.CommandContext(ctx, env.Docker, args...).Output()
		return strings.TrimSpace(string(out))
	}
	defer docker("rm", "--force", "bkgen-"+jobID)
	label := "label=com.buildkite.job-id=" + jobID

	var out syncBuffer
	cmd := exec.Command("/bin/bash", "-e", "-c", script)
	cmd.Dir = dir
	cmd.Env = []string{"PATH=" + bin + ":" + os.Getenv("PATH"), "HOME=" + dir, "DOCKER_CONFIG=" + config, "BUILDKITE_JOB_ID=" + jobID}
	cmd.Stdout, cmd.Stderr = &out, &out
	cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true}
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	done := make(chan error, 1)
	go func() { done <- cmd.Wait() }()

	for docker("ps", "--quiet", "--filter", label) == "" || !strings.Contains(out.String(), "started") {
		select {
		case err := <-done:
			t.Fatalf("the job ended (%v) before its container ran:\n%s", err, out.String())
		case <-ctx.Done():
			t.Fatalf("the container did not start:\n%s", out.String())
		case <-time.After(200 * time.Millisecond):
		}
	}
	// The agent cancels a job with SIGTERM to its process group.
	if err := syscall.Kill(-cmd.Process.Pid, syscall.SIGTERM); err != nil {
		t.Fatal(err)
	}
	select {
	case err := <-done:
		var exit *exec.ExitError
		if !errors.As(err, &exit) || exit.ExitCode() != 143 {
			t.Errorf("the cancelled job ended with %v, want exit status 143", err)
		}
	case <-time.After(30 * time.Second):
		syscall.Kill(-cmd.Process.Pid, syscall.SIGKILL)
		t.Fatalf("the job did not end within 30 s of SIGTERM:\n%s", out.String())
	}
	if left := docker("ps", "--all", "--quiet", "--filter", label); left != "" {
		t.Errorf("the cancelled job left its container %s behind:\n%s", left, out.String())
	}
}

// syncBuffer is a buffer a running command writes while the test reads it.
type syncBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (s *syncBuffer) Write(p []byte) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.Write(p)
}

func (s *syncBuffer) String() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.String()
}
