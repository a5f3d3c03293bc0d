//go:build !windows

package probes_test

import (
	"net"
	"os"
	"syscall"
)

func errnoErr(name string) error {
	e := map[string]syscall.Errno{"ECONNREFUSED": syscall.ECONNREFUSED, "EHOSTUNREACH": syscall.EHOSTUNREACH,
		"ENETDOWN": syscall.ENETDOWN, "EPERM": syscall.EPERM, "ETIMEDOUT": syscall.ETIMEDOUT}[name]
	return &net.OpError{Op: "dial", Net: "tcp", Err: os.NewSyscallError("connect", e)}
}
