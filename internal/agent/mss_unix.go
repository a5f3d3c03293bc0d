//go:build linux || darwin || freebsd

package agent

import (
	"syscall"

	"golang.org/x/sys/unix"
)

func clampMSS(c syscall.RawConn) error {
	var serr error
	err := c.Control(func(fd uintptr) {
		serr = unix.SetsockoptInt(int(fd), unix.IPPROTO_TCP, unix.TCP_MAXSEG, ControlMSS)
	})
	if err != nil {
		return err
	}
	// A kernel that refuses the option still has a working socket: carry on without it.
	_ = serr
	return nil
}
