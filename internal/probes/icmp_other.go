//go:build !windows

package probes

import (
	"context"
	"net/netip"
)

// nativeICMP: no ICMP helper API here; ICMP uses a ping or raw socket.
func nativeICMP(context.Context, *Env, ICMPRequest, netip.Addr) (ICMPResult, bool, error) {
	return ICMPResult{}, false, nil
}
