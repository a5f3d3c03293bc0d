//go:build !linux

package probes

import (
	"context"
	"errors"
	"fmt"
	"net"
	"net/netip"
	"os"

	"golang.org/x/net/icmp"
)

// openEchoSocket outside Linux: x/net/icmp's unprivileged socket (macOS) or a raw socket
// (Windows as administrator). Don't Fragment is not wired here, so a df request is refused.
func openEchoSocket(_ context.Context, df bool) (net.PacketConn, bool, error) {
	if df {
		return nil, false, fmt.Errorf("%w: Don't Fragment probes are implemented on Linux only", ErrUnsupported)
	}
	if c, err := icmp.ListenPacket("udp4", "0.0.0.0"); err == nil {
		return c, false, nil
	}
	c, err := icmp.ListenPacket("ip4:icmp", "0.0.0.0")
	if err == nil {
		return c, true, nil
	}
	if errors.Is(err, os.ErrPermission) {
		return nil, false, fmt.Errorf("%w: ICMP needs a raw socket here: run as administrator/root (%v)", ErrPermission, err)
	}
	return nil, false, fmt.Errorf("%w: cannot open an ICMP socket: %v", ErrPermission, err)
}

func (c *echoConn) readQueued() (echoEvent, bool) { return echoEvent{}, false }

// openUDPPMTU: Don't Fragment on UDP sockets is wired on Linux only.
func openUDPPMTU(_ context.Context, dst netip.AddrPort) (pmtuConn, error) {
	return nil, fmt.Errorf("%w: Don't Fragment probes are implemented on Linux only", ErrUnsupported)
}

// filterEchoID: kernel socket filters are attached on Linux only; parse keeps what is ours.
func filterEchoID(net.PacketConn, uint16) error { return nil }
