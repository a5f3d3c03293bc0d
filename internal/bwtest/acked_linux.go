//go:build linux

package bwtest

import (
	"net"
	"syscall"

	"golang.org/x/sys/unix"
)

// ackedBytes reads how many bytes the receiver has acknowledged on c (tcpi_bytes_acked).
// A sender that counts its writes counts what sits in its socket buffer too, which on a long
// fat path is megabytes and grows while the window opens; acknowledged bytes are what
// arrived.
func ackedBytes(c net.Conn) (int64, bool) {
	sc, ok := c.(syscall.Conn)
	if !ok {
		return 0, false
	}
	rc, err := sc.SyscallConn()
	if err != nil {
		return 0, false
	}
	var n uint64
	var ierr error
	if err := rc.Control(func(fd uintptr) {
		var info *unix.TCPInfo
		info, ierr = unix.GetsockoptTCPInfo(int(fd), unix.IPPROTO_TCP, unix.TCP_INFO)
		if ierr == nil {
			n = info.Bytes_acked
		}
	}); err != nil || ierr != nil {
		return 0, false
	}
	return int64(n), true
}
