//go:build !linux

package lab

import (
	"os/exec"
	"syscall"
)

func setProcGroup(cmd *exec.Cmd) {}

func signalGroup(cmd *exec.Cmd, sig syscall.Signal) { _ = cmd.Process.Kill() }
