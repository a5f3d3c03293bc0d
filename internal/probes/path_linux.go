//go:build linux

package probes

import (
	"context"
	"net"
	"net/netip"
	"syscall"
	"time"

	"golang.org/x/sys/unix"
)

func socketTraceSupported() error { return nil }

// udpTTLProbe sends one datagram with ttl and waits for an answer or an ICMP error on the
// socket's error queue.
func udpTTLProbe(ctx context.Context, dst netip.AddrPort, ttl int) (*icmpError, bool) {
	d := net.Dialer{Control: func(network, address string, c syscall.RawConn) error {
		return c.Control(func(fd uintptr) {
			_ = unix.SetsockoptInt(int(fd), unix.SOL_IP, unix.IP_RECVERR, 1)
			_ = unix.SetsockoptInt(int(fd), unix.SOL_IP, unix.IP_TTL, ttl)
		})
	}}
	conn, err := d.DialContext(ctx, "udp4", dst.String())
	if err != nil {
		return nil, false
	}
	defer conn.Close()
	stop := context.AfterFunc(ctx, func() { _ = conn.SetReadDeadline(time.Unix(1, 0)) })
	defer stop()
	if dl, ok := ctx.Deadline(); ok {
		_ = conn.SetReadDeadline(dl)
	}
	if _, err := conn.Write([]byte("netprobe path")); err != nil {
		return readICMPError(conn), false
	}
	buf := make([]byte, 512)
	if _, err := conn.Read(buf); err == nil {
		return nil, true
	} else if isTimeout(err) {
		return nil, false
	}
	return readICMPError(conn), false
}
