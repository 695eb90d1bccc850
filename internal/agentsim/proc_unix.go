//go:build unix

package agentsim

import (
	"os/exec"
	"syscall"
)

// killGroup makes cancelling cmd kill everything it started: the job's
// shell runs in its own process group.
func killGroup(cmd *exec.Cmd) {
	cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true}
	cmd.Cancel = func() error { return syscall.Kill(-cmd.Process.Pid, syscall.SIGKILL) }
}
