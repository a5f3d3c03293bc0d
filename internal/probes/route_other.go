//go:build !linux && !windows

package probes

import (
	"context"
	"errors"
	"fmt"
	"net/netip"
)

func errorsIsUnsupported(err error) bool { return errors.Is(err, ErrUnsupported) }

// osRoute has no native lookup here: Route falls back to the UDP-connect trick.
func osRoute(context.Context, netip.Addr) (RouteResult, error) {
	return RouteResult{}, fmt.Errorf("%w: no native route lookup on this OS", ErrUnsupported)
}
