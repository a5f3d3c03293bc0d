//go:build !linux

package probes

import (
	"context"
	"fmt"
	"net"
	"net/netip"
)

func socketTraceSupported() error {
	return fmt.Errorf("%w: TCP and UDP traceroute need Linux's per-socket ICMP error queue: use mode icmp", ErrUnsupported)
}

func udpTTLProbe(context.Context, netip.AddrPort, int) (*icmpError, bool) { return nil, false }

func dialTCPTTL(ctx context.Context, src netip.Addr, dst netip.AddrPort, _ int) (net.Conn, *icmpError, error) {
	return dialTCP(ctx, src, dst, nil)
}
