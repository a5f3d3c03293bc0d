package demo

import (
	"fmt"
	"net"
	"net/netip"
	"time"

	"golang.org/x/sys/unix"
)

// stuckListener plants a "filtered" port without root or a firewall: a listener with an
// accept backlog of zero that never accepts, filled by two idle connections. Linux then drops
// further SYNs to it, so a prober sees no answer at all - what a dropping firewall looks like.
func stuckListener(addr string) (func(), error) {
	ap, err := netip.ParseAddrPort(addr)
	if err != nil {
		return nil, err
	}
	fd, err := unix.Socket(unix.AF_INET, unix.SOCK_STREAM|unix.SOCK_CLOEXEC, 0)
	if err != nil {
		return nil, err
	}
	sa := &unix.SockaddrInet4{Port: int(ap.Port()), Addr: ap.Addr().As4()}
	if err := unix.Bind(fd, sa); err != nil {
		unix.Close(fd)
		return nil, fmt.Errorf("bind %s: %w", addr, err)
	}
	if err := unix.Listen(fd, 0); err != nil {
		unix.Close(fd)
		return nil, err
	}
	var fills []net.Conn
	cleanup := func() {
		for _, c := range fills {
			c.Close()
		}
		unix.Close(fd)
	}
	// Fill the accept queue; with backlog 0 it holds one connection, the second may hang in
	// SYN-SENT, which is the state we want for everyone after it, so do not wait for it long.
	// The first must get in: loopback takes it at once, but a busy machine may not run the
	// dial for a while, so it gets as long as a probe would.
	for _, wait := range []time.Duration{2 * time.Second, 300 * time.Millisecond} {
		c, err := net.DialTimeout("tcp", addr, wait)
		if err != nil {
			break
		}
		fills = append(fills, c)
	}
	if len(fills) == 0 {
		cleanup()
		return nil, fmt.Errorf("could not fill the accept queue of %s", addr)
	}
	return cleanup, nil
}
