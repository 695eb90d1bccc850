//go:build linux

package main

import (
	"bytes"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"
)

// These tests run the real bkgen (the test binary, as testscript puts it on
// PATH) and signal it as a shell or the agent would: SIGINT for Ctrl-C,
// SIGTERM for a cancelled job.

var interruptions = []syscall.Signal{syscall.SIGINT, syscall.SIGTERM}

// TestInterruptBeforeTheWrite signals bkgen while it waits for its changed
// files on a FIFO, before any temporary file exists: it stops, the target is
// untouched and nothing is left beside it.
func TestInterruptBeforeTheWrite(t *testing.T) {
	for _, sig := range interruptions {
		t.Run(sig.String(), func(t *testing.T) {
			dir := repoWithSpec(t, "")
			fifo := filepath.Join(dir, "changed.fifo")
			if err := syscall.Mkfifo(fifo, 0o600); err != nil {
				t.Fatal(err)
			}
			cmd := bkgen(t, "generate", "-C", dir, "-q", "--changed-files", "changed.fifo", "-o", "out.yml")
			// Opening the FIFO to write waits for bkgen to open it to read;
			// bkgen then waits for a line that never comes.
			w, err := os.OpenFile(fifo, os.O_WRONLY, 0)
			if err != nil {
				t.Fatal(err)
			}
			defer w.Close()
			cmd.Process.Signal(sig)
			err = cmd.Wait()
			checkStoppedBy(t, err, sig)
			checkOutput(t, dir, nil)
		})
	}
}

// TestInterruptDuringTheWrite stops bkgen (SIGSTOP) while its temporary file
// exists, signals it and lets it go on: it removes the temporary file and
// exits 128+signal, and the target is as it was or whole, never a part.
func TestInterruptDuringTheWrite(t *testing.T) {
	// Consumers with long commands make an output of some megabytes, which
	// takes long enough to write for the test to catch bkgen at it.
	dir := repoWithSpec(t, bigConsumers(8, 900<<10))
	whole, err := exec.Command(bkgenPath(t), "generate", "-C", dir, "--all", "-q").Output()
	if err != nil {
		t.Fatal(err)
	}
	for _, sig := range interruptions {
		t.Run(sig.String(), func(t *testing.T) {
			for attempt := 1; attempt <= 20; attempt++ {
				if interruptWhileWriting(t, dir, sig) {
					checkOutput(t, dir, whole)
					t.Logf("caught bkgen writing at attempt %d", attempt)
					return
				}
			}
			t.Fatal("bkgen never was caught while its temporary file existed")
		})
	}
}

// interruptWhileWriting runs bkgen generate -o out.yml and signals it while
// it writes; false when bkgen finished before it could be stopped there.
func interruptWhileWriting(t *testing.T, dir string, sig syscall.Signal) bool {
	t.Helper()
	if err := os.WriteFile(filepath.Join(dir, "out.yml"), []byte("old\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	cmd := bkgen(t, "generate", "-C", dir, "--all", "-q", "-o", "out.yml")
	exited := make(chan error, 1)
	go func() { exited <- cmd.Wait() }()
	pid := cmd.Process.Pid
	for {
		select {
		case err := <-exited:
			if err != nil {
				t.Fatalf("bkgen generate: %v", err)
			}
			return false
		default:
		}
		tmp := temporaryFiles(t, dir)
		if len(tmp) == 0 {
			continue
		}
		syscall.Kill(pid, syscall.SIGSTOP)
		waitStopped(t, pid)
		if _, err := os.Lstat(tmp[0]); err != nil {
			// Renamed between the look and the stop: try again.
			syscall.Kill(pid, syscall.SIGCONT)
			if err := <-exited; err != nil {
				t.Fatalf("bkgen generate: %v", err)
			}
			return false
		}
		// Stopped with the temporary file there: the signal lands mid-write.
		syscall.Kill(pid, sig)
		syscall.Kill(pid, syscall.SIGCONT)
		checkStoppedBy(t, <-exited, sig)
		return true
	}
}

// repoWithSpec makes a repository with one image and the given consumers,
// and an out.yml that a run must leave as it was or replace whole.
func repoWithSpec(t *testing.T, consumers string) string {
	t.Helper()
	dir := t.TempDir()
	spec := "version: 1\nregistries:\n  packages: {provider: buildkite, org: acme, registry: images}\nimages:\n  web:\n    context: web\n" + consumers
	for name, data := range map[string]string{".buildkite/bkgen.yml": spec, "web/Dockerfile": "FROM alpine:3.21\n", "out.yml": "old\n"} {
		path := filepath.Join(dir, filepath.FromSlash(name))
		if err := os.MkdirAll(filepath.Dir(path), 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(path, []byte(data), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	return dir
}

// bigConsumers is n consumers, each with a command of about size bytes.
func bigConsumers(n, size int) string {
	var b strings.Builder
	b.WriteString("    consumers:\n")
	line := "          echo " + strings.Repeat("x", 64) + "\n"
	// One command, repeated through an alias: a spec is at most 1 MiB.
	b.WriteString("      c0:\n        command: &command |\n")
	b.WriteString(strings.Repeat(line, size/len(line)))
	for i := 1; i < n; i++ {
		fmt.Fprintf(&b, "      c%d: {command: *command}\n", i)
	}
	return b.String()
}

func bkgenPath(t *testing.T) string {
	t.Helper()
	// testscript.Main puts this test binary on PATH as bkgen, running main.
	path, err := exec.LookPath("bkgen")
	if err != nil {
		t.Fatal(err)
	}
	return path
}

func bkgen(t *testing.T, args ...string) *exec.Cmd {
	t.Helper()
	cmd := exec.Command(bkgenPath(t), args...)
	var stderr bytes.Buffer
	cmd.Stderr = &stderr
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		cmd.Process.Kill()
		if t.Failed() {
			t.Logf("bkgen's stderr:\n%s", stderr.String())
		}
	})
	return cmd
}

// checkStoppedBy: bkgen exited 128+sig, or the signal killed it (which a
// shell reports the same way).
func checkStoppedBy(t *testing.T, err error, sig syscall.Signal) {
	t.Helper()
	exit, ok := err.(*exec.ExitError)
	if !ok {
		t.Fatalf("bkgen: %v, want it stopped by %v", err, sig)
	}
	ws := exit.Sys().(syscall.WaitStatus)
	if !(ws.Signaled() && ws.Signal() == sig || ws.Exited() && ws.ExitStatus() == 128+int(sig)) {
		t.Errorf("bkgen: %v, want exit status %d (128+%v)", err, 128+int(sig), sig)
	}
}

// checkOutput: no temporary file is left, and out.yml is as it was or,
// when whole is given, possibly whole.
func checkOutput(t *testing.T, dir string, whole []byte) {
	t.Helper()
	if tmp := temporaryFiles(t, dir); len(tmp) > 0 {
		t.Errorf("left behind: %q", tmp)
	}
	got, err := os.ReadFile(filepath.Join(dir, "out.yml"))
	if err != nil {
		t.Fatal(err)
	}
	if string(got) != "old\n" && (whole == nil || !bytes.Equal(got, whole)) {
		t.Errorf("out.yml is neither as it was nor whole: %d bytes, starting %q", len(got), got[:min(len(got), 40)])
	}
}

func temporaryFiles(t *testing.T, dir string) []string {
	t.Helper()
	tmp, err := filepath.Glob(filepath.Join(dir, ".out.yml.tmp*"))
	if err != nil {
		t.Fatal(err)
	}
	return tmp
}

// waitStopped waits until every thread of the process has stopped.
func waitStopped(t *testing.T, pid int) {
	t.Helper()
	deadline := time.Now().Add(10 * time.Second)
	for time.Now().Before(deadline) {
		stats, _ := filepath.Glob(fmt.Sprintf("/proc/%d/task/*/stat", pid))
		stopped := len(stats) > 0
		for _, s := range stats {
			data, err := os.ReadFile(s)
			// The state follows the command name, which is in parentheses.
			i := bytes.LastIndexByte(data, ')')
			if err != nil || i < 0 || i+2 >= len(data) || (data[i+2] != 'T' && data[i+2] != 't') {
				stopped = false
				break
			}
		}
		if stopped {
			return
		}
		time.Sleep(100 * time.Microsecond)
	}
	t.Fatalf("process %d did not stop", pid)
}
