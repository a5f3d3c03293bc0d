package agent

import (
	"context"
	"net"
	"syscall"
)

// ControlMSS is the TCP maximum segment size of the control channel, both ends. A VPN that
// eats large packets without "fragmentation needed" (an MTU black hole, the very fault
// netprobe looks for) would otherwise stall the TLS handshake to every agent behind it, and
// the run would report errors instead of the black hole. 1200 bytes of payload fit any tunnel
// whose MTU is at least IPv6's minimum of 1280.
const ControlMSS = 1200

// ListenControl opens the agent's control listener with the control channel's MSS.
func ListenControl(ctx context.Context, address string) (net.Listener, error) {
	lc := net.ListenConfig{Control: func(network, address string, c syscall.RawConn) error { return clampMSS(c) }}
	return lc.Listen(ctx, "tcp", address)
}

// controlDialer dials the control channel with the same MSS.
func controlDialer() *net.Dialer {
	return &net.Dialer{Control: func(network, address string, c syscall.RawConn) error { return clampMSS(c) }}
}
