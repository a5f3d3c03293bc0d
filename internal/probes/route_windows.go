//go:build windows

package probes

import (
	"context"
	"errors"
	"fmt"
	"net/netip"
)

func errorsIsUnsupported(err error) bool { return errors.Is(err, ErrUnsupported) }

// osRoute: GetBestRoute2 (iphlpapi) is not wired yet; Route falls back to the UDP-connect
// trick, which finds the interface and source address but not the gateway.
func osRoute(context.Context, netip.Addr) (RouteResult, error) {
	return RouteResult{}, fmt.Errorf("%w: no native route lookup on this OS", ErrUnsupported)
}
