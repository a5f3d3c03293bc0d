//go:build windows

package probes

import (
	"context"
	"errors"
	"fmt"
	"net"
	"net/netip"
	"unsafe"

	"golang.org/x/sys/windows"
)

func errorsIsUnsupported(err error) bool { return errors.Is(err, ErrUnsupported) }

var procGetBestRoute2 = windows.NewLazySystemDLL("iphlpapi.dll").NewProc("GetBestRoute2")

// osRoute asks Windows for the best route with GetBestRoute2 (iphlpapi), which returns the
// route row (interface index, next hop) and the source address the stack would choose. It is
// compiled for Windows but, unlike the Linux lookup, not exercised by the test suite, so any
// failure falls back to the UDP-connect trick.
func osRoute(ctx context.Context, dest netip.Addr) (RouteResult, error) {
	if err := ctx.Err(); err != nil {
		return RouteResult{}, err
	}
	if err := procGetBestRoute2.Find(); err != nil {
		return RouteResult{}, fmt.Errorf("%w: GetBestRoute2: %v", ErrUnsupported, err)
	}
	dst := toSockaddrInet(dest)
	var (
		row windows.MibIpForwardRow2
		src windows.RawSockaddrInet
	)
	rc, _, _ := procGetBestRoute2.Call(0, 0, 0,
		uintptr(unsafe.Pointer(&dst)), 0,
		uintptr(unsafe.Pointer(&row)), uintptr(unsafe.Pointer(&src)))
	if rc != 0 {
		if windows.Errno(rc) == windows.ERROR_NETWORK_UNREACHABLE || windows.Errno(rc) == windows.ERROR_HOST_UNREACHABLE {
			return RouteResult{}, fmt.Errorf("%w: no route to %s: add a route or check the default gateway", ErrUnreachable, dest)
		}
		return RouteResult{}, fmt.Errorf("%w: GetBestRoute2: %v", ErrUnsupported, windows.Errno(rc))
	}
	r := RouteResult{Method: "iphlpapi"}
	if ifc, err := net.InterfaceByIndex(int(row.InterfaceIndex)); err == nil {
		r.Interface = ifc.Name
	}
	if ip, ok := fromSockaddrInet(&src); ok {
		r.SourceIP = ip.String()
	}
	if gw, ok := fromSockaddrInet(&row.NextHop); ok && !gw.IsUnspecified() {
		r.Gateway = gw.String()
	}
	return r, nil
}

func toSockaddrInet(ip netip.Addr) windows.RawSockaddrInet {
	var sa windows.RawSockaddrInet
	*(*[sockaddrInetSize]byte)(unsafe.Pointer(&sa)) = sockaddrInetBytes(ip)
	return sa
}

func fromSockaddrInet(sa *windows.RawSockaddrInet) (netip.Addr, bool) {
	return addrFromSockaddrInet((*[sockaddrInetSize]byte)(unsafe.Pointer(sa)))
}
