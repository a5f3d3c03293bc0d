//go:build !linux

package probes

import (
	"context"
	"fmt"
	"net/netip"
	"runtime"
)

// The host's own TTL is read from captured packets, which only Linux has here (flowCapture).
func echoTTL(context.Context, netip.Addr) (int, error) {
	return 0, fmt.Errorf("%w: reading an echo reply's TTL is not implemented on %s", ErrUnsupported, runtime.GOOS)
}

func synAckTTL(context.Context, netip.AddrPort) (int, error) {
	return 0, fmt.Errorf("%w: reading a SYN-ACK's TTL is not implemented on %s", ErrUnsupported, runtime.GOOS)
}
