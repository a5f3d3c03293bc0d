//go:build linux

package probes

import (
	"context"
	"encoding/binary"
	"errors"
	"fmt"
	"net"
	"net/netip"
	"os"
	"syscall"

	"golang.org/x/sys/unix"
)

func errorsIsUnsupported(err error) bool { return errors.Is(err, ErrUnsupported) }

// osRoute asks the kernel with one RTM_GETROUTE request, as `ip route get DEST` does. The
// netlink socket is local and answers at once, so the context only guards the start.
func osRoute(ctx context.Context, dest netip.Addr) (RouteResult, error) {
	if err := ctx.Err(); err != nil {
		return RouteResult{}, err
	}
	fd, err := unix.Socket(unix.AF_NETLINK, unix.SOCK_RAW|unix.SOCK_CLOEXEC, unix.NETLINK_ROUTE)
	if err != nil {
		return RouteResult{}, fmt.Errorf("%w: netlink: %v", ErrUnsupported, err)
	}
	defer unix.Close(fd)
	// The kernel answers within microseconds; a receive timeout keeps a wedged netlink
	// socket from hanging the probe.
	_ = unix.SetsockoptTimeval(fd, unix.SOL_SOCKET, unix.SO_RCVTIMEO, &unix.Timeval{Sec: 1})
	if err := unix.Bind(fd, &unix.SockaddrNetlink{Family: unix.AF_NETLINK}); err != nil {
		return RouteResult{}, fmt.Errorf("%w: netlink bind: %v", ErrUnsupported, err)
	}
	family, addr := unix.AF_INET, dest.AsSlice()
	if dest.Is6() {
		family = unix.AF_INET6
	}
	req := buildRouteGet(family, addr)
	if err := unix.Sendto(fd, req, 0, &unix.SockaddrNetlink{Family: unix.AF_NETLINK}); err != nil {
		return RouteResult{}, fmt.Errorf("%w: netlink send: %v", ErrUnsupported, err)
	}
	buf := make([]byte, 8192)
	n, _, err := unix.Recvfrom(fd, buf, 0)
	if err != nil {
		return RouteResult{}, fmt.Errorf("%w: netlink receive: %v", ErrUnsupported, err)
	}
	msgs, err := syscall.ParseNetlinkMessage(buf[:n])
	if err != nil {
		return RouteResult{}, fmt.Errorf("%w: netlink parse: %v", ErrUnsupported, err)
	}
	for _, m := range msgs {
		switch m.Header.Type {
		case unix.NLMSG_ERROR:
			if len(m.Data) >= 4 {
				if code := int32(binary.NativeEndian.Uint32(m.Data)); code != 0 {
					errno := unix.Errno(-code)
					return RouteResult{}, fmt.Errorf("%w: no route to %s (%v): add a route or check the default gateway", ErrUnreachable, dest, os.NewSyscallError("RTM_GETROUTE", errno))
				}
			}
		case unix.RTM_NEWROUTE:
			return parseRoute(&m)
		}
	}
	return RouteResult{}, fmt.Errorf("%w: netlink gave no route answer", ErrUnsupported)
}

func buildRouteGet(family int, addr []byte) []byte {
	attrLen := unix.SizeofRtAttr + len(addr)
	total := unix.NLMSG_HDRLEN + unix.SizeofRtMsg + rtaAlign(attrLen)
	b := make([]byte, total)
	ne := binary.NativeEndian
	ne.PutUint32(b[0:], uint32(total))
	ne.PutUint16(b[4:], unix.RTM_GETROUTE)
	ne.PutUint16(b[6:], unix.NLM_F_REQUEST)
	ne.PutUint32(b[8:], 1) // sequence
	rt := b[unix.NLMSG_HDRLEN:]
	rt[0] = byte(family)
	rt[1] = byte(len(addr) * 8) // rtm_dst_len
	at := rt[unix.SizeofRtMsg:]
	ne.PutUint16(at[0:], uint16(attrLen))
	ne.PutUint16(at[2:], unix.RTA_DST)
	copy(at[unix.SizeofRtAttr:], addr)
	return b
}

func rtaAlign(n int) int { return (n + unix.RTA_ALIGNTO - 1) &^ (unix.RTA_ALIGNTO - 1) }

func parseRoute(m *syscall.NetlinkMessage) (RouteResult, error) {
	data := m.Data
	if len(data) < unix.SizeofRtMsg {
		return RouteResult{}, fmt.Errorf("%w: short route message", ErrUnsupported)
	}
	rtype := data[7] // rtm_type
	switch rtype {
	case unix.RTN_UNREACHABLE, unix.RTN_PROHIBIT, unix.RTN_BLACKHOLE:
		return RouteResult{}, fmt.Errorf("%w: the route table says %s for this destination", ErrUnreachable, map[byte]string{unix.RTN_UNREACHABLE: "unreachable", unix.RTN_PROHIBIT: "prohibit", unix.RTN_BLACKHOLE: "blackhole"}[rtype])
	}
	attrs, err := syscall.ParseNetlinkRouteAttr(m)
	if err != nil {
		return RouteResult{}, fmt.Errorf("%w: route attributes: %v", ErrUnsupported, err)
	}
	r := RouteResult{Method: "netlink"}
	for _, a := range attrs {
		switch a.Attr.Type {
		case unix.RTA_OIF:
			if len(a.Value) >= 4 {
				if ifc, err := net.InterfaceByIndex(int(binary.NativeEndian.Uint32(a.Value))); err == nil {
					r.Interface = ifc.Name
				}
			}
		case unix.RTA_PREFSRC:
			if ip, ok := netip.AddrFromSlice(a.Value); ok {
				r.SourceIP = ip.Unmap().String()
			}
		case unix.RTA_GATEWAY:
			if ip, ok := netip.AddrFromSlice(a.Value); ok {
				r.Gateway = ip.Unmap().String()
			}
		}
	}
	return r, nil
}
