package probes

import (
	"context"
	"fmt"
	"net"
	"net/netip"
)

// RouteResult is the OS's choice for a destination: out of which interface, from which source
// address, through which gateway. It is the core of the dual-NIC check: a configuration
// server with two NICs must leave toward the failback network on the NIC the topology says.
type RouteResult struct {
	Interface string `json:"interface"`
	SourceIP  string `json:"source_ip"`
	// Gateway is the next hop; empty when the destination is on a directly connected network.
	Gateway string `json:"gateway,omitempty"`
	// Method says how the answer was found: "netlink" (the kernel's route lookup, like
	// `ip route get`), "iphlpapi" (Windows GetBestRoute2) or "udp-connect" (portable fallback,
	// which knows no gateway).
	Method string `json:"method"`
}

// Route asks the OS which interface, source address and gateway it would use for dest. It
// sends no packet. The error wraps ErrUnreachable when the OS has no route.
func Route(ctx context.Context, dest netip.Addr) (RouteResult, error) {
	if !dest.IsValid() {
		return RouteResult{}, fmt.Errorf("%w: no destination address", ErrInvalid)
	}
	dest = dest.Unmap()
	if r, err := osRoute(ctx, dest); err == nil || !errorsIsUnsupported(err) {
		return r, err
	}
	return udpConnectRoute(ctx, dest)
}

// udpConnectRoute is the portable fallback: connect(2) on a UDP socket makes the kernel pick a
// route and a source address without sending anything; the interface is the one that holds
// that address.
func udpConnectRoute(ctx context.Context, dest netip.Addr) (RouteResult, error) {
	var d net.Dialer
	// Port 9 (discard) is arbitrary: a UDP connect sends nothing.
	c, err := d.DialContext(ctx, "udp", netip.AddrPortFrom(dest, 9).String())
	if err != nil {
		return RouteResult{}, fmt.Errorf("%w: no route to %s: check the routing table (%v)", ErrUnreachable, dest, err)
	}
	defer c.Close()
	src := c.LocalAddr().(*net.UDPAddr).AddrPort().Addr().Unmap()
	return RouteResult{Interface: interfaceByIP(src), SourceIP: src.String(), Method: "udp-connect"}, nil
}
