//go:build linux

package probetest

import (
	"net"
	"net/netip"
	"testing"
	"time"

	"golang.org/x/sys/unix"
)

// FullBacklog returns a loopback TCP port whose accept queue is full: the kernel drops further
// SYNs silently, which is what a dropping firewall looks like to a prober (filtered/timeout).
// It listens with backlog 0 (one queued connection) and fills the queue with connections it
// never accepts.
func FullBacklog(t testing.TB) netip.AddrPort {
	t.Helper()
	fd, err := unix.Socket(unix.AF_INET, unix.SOCK_STREAM|unix.SOCK_CLOEXEC, 0)
	if err != nil {
		t.Fatalf("socket: %v", err)
	}
	t.Cleanup(func() { unix.Close(fd) })
	if err := unix.Bind(fd, &unix.SockaddrInet4{Addr: [4]byte{127, 0, 0, 1}}); err != nil {
		t.Fatalf("bind: %v", err)
	}
	if err := unix.Listen(fd, 0); err != nil {
		t.Fatalf("listen: %v", err)
	}
	sa, err := unix.Getsockname(fd)
	if err != nil {
		t.Fatalf("getsockname: %v", err)
	}
	ap := netip.AddrPortFrom(netip.AddrFrom4([4]byte{127, 0, 0, 1}), uint16(sa.(*unix.SockaddrInet4).Port))
	// Backlog 0 queues one connection (the queue is full when it holds more than the backlog).
	for range 1 {
		c, err := net.DialTimeout("tcp", ap.String(), time.Second)
		if err != nil {
			t.Fatalf("filling the backlog: %v", err)
		}
		t.Cleanup(func() { c.Close() })
	}
	return ap
}
