package lab

import (
	"os/exec"
	"syscall"
)

// setProcGroup puts the command in its own process group, so Stop reaches its children too
// (an agent's helpers, a shell pipeline).
func setProcGroup(cmd *exec.Cmd) { cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true} }

func signalGroup(cmd *exec.Cmd, sig syscall.Signal) {
	_ = syscall.Kill(-cmd.Process.Pid, sig)
}
