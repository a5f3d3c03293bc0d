//go:build !linux

package probes

import (
	"context"
	"net"
	"net/netip"
	"syscall"

	"github.com/google/gopacket/layers"
)

// Outside Linux there is no per-socket ICMP error queue: the probe reads the socket error
// and classifyDialErr says in Detail when that leaves the ICMP type ambiguous.
// bound is never called: without a packet capture (capture_other.go) nothing waits for it.
func dialTCP(ctx context.Context, src netip.Addr, dst netip.AddrPort, _ func(layers.IPProtocol, netip.AddrPort, netip.AddrPort)) (net.Conn, *icmpError, error) {
	var d net.Dialer
	if src.IsValid() {
		d.LocalAddr = &net.TCPAddr{IP: src.AsSlice()}
	}
	c, err := d.DialContext(ctx, "tcp", dst.String())
	return c, nil, err
}

var recvErrControl func(network, address string, c syscall.RawConn) error

func readICMPError(net.Conn) *icmpError { return nil }
