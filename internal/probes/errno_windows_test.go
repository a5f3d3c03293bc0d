//go:build windows

package probes_test

import (
	"net"
	"os"

	"golang.org/x/sys/windows"
)

func errnoErr(name string) error {
	e := map[string]error{"ECONNREFUSED": windows.WSAECONNREFUSED, "EHOSTUNREACH": windows.WSAEHOSTUNREACH,
		"ENETDOWN": windows.WSAENETDOWN, "EPERM": windows.WSAEACCES, "ETIMEDOUT": windows.WSAETIMEDOUT}[name]
	return &net.OpError{Op: "dial", Net: "tcp", Err: os.NewSyscallError("connect", e)}
}
