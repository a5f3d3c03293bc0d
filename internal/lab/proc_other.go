//go:build !linux

package lab

import (
	"os/exec"
	"syscall"
)

func setProcGroup(cmd *exec.Cmd) {}

func signalGroup(cmd *exec.Cmd, sig syscall.Signal) { _ = cmd.Process.Kill() }

// LeftoverChildren lists the processes this process started that still run; the lab runs
// processes on Linux only.
func LeftoverChildren() ([]string, error) { return nil, nil }
