//go:build linux

package probes

import (
	"context"
	"encoding/binary"
	"net"
	"net/netip"
	"os"
	"syscall"
	"time"

	"github.com/google/gopacket/layers"
	"golang.org/x/sys/unix"
)

// On Linux a TCP probe opens its own socket with IP_RECVERR set: the kernel then queues the
// ICMP error that killed the SYN (type, code and sender) on the socket's error queue, so an
// unprivileged probe can tell admin-prohibited from host-unreachable, which the errno alone
// (EHOSTUNREACH for both) cannot. Go's net.Dialer closes the socket on failure before the
// queue can be read, hence the hand-made connect, still driven by Go's poller.
// bound, when set, is called between bind(2) and connect(2) with the local address and port
// (the address unspecified when src is), so that a capture of the flow starts before its SYN.
func dialTCP(ctx context.Context, src netip.Addr, dst netip.AddrPort, bound func(layers.IPProtocol, netip.AddrPort, netip.AddrPort)) (net.Conn, *icmpError, error) {
	return dialTCPOpts(ctx, src, dst, 0, bound)
}

// dialTCPTTL is dialTCP with the SYN's TTL set when ttl > 0 (the TCP traceroute): a router
// where the TTL runs out answers time-exceeded, which the error queue hands back.
func dialTCPTTL(ctx context.Context, src netip.Addr, dst netip.AddrPort, ttl int) (net.Conn, *icmpError, error) {
	return dialTCPOpts(ctx, src, dst, ttl, nil)
}

func dialTCPOpts(ctx context.Context, src netip.Addr, dst netip.AddrPort, ttl int, bound func(layers.IPProtocol, netip.AddrPort, netip.AddrPort)) (net.Conn, *icmpError, error) {
	family := unix.AF_INET
	if dst.Addr().Is6() {
		family = unix.AF_INET6
	}
	fd, err := unix.Socket(family, unix.SOCK_STREAM|unix.SOCK_NONBLOCK|unix.SOCK_CLOEXEC, 0)
	if err != nil {
		return nil, nil, os.NewSyscallError("socket", err)
	}
	setRecvErr(fd, dst.Addr().Is6())
	if ttl > 0 {
		if dst.Addr().Is6() {
			_ = unix.SetsockoptInt(fd, unix.SOL_IPV6, unix.IPV6_UNICAST_HOPS, ttl)
		} else {
			_ = unix.SetsockoptInt(fd, unix.SOL_IP, unix.IP_TTL, ttl)
		}
	}
	if src.IsValid() || bound != nil {
		// Without a source, bound still needs the local port: port 0 on the unspecified
		// address makes the kernel choose one now, the address at connect.
		local := src
		if !local.IsValid() {
			local = netip.IPv4Unspecified()
			if family == unix.AF_INET6 {
				local = netip.IPv6Unspecified()
			}
		}
		if err := unix.Bind(fd, sockaddr(netip.AddrPortFrom(local, 0), family)); err != nil {
			unix.Close(fd)
			return nil, nil, os.NewSyscallError("bind", err)
		}
	}
	if bound != nil {
		sa, err := unix.Getsockname(fd)
		if err != nil {
			unix.Close(fd)
			return nil, nil, os.NewSyscallError("getsockname", err)
		}
		bound(layers.IPProtocolTCP, sockaddrAddrPort(sa), dst)
	}
	if err := unix.Connect(fd, sockaddr(dst, family)); err != nil && err != unix.EINPROGRESS {
		ie := readErrQueue(fd)
		unix.Close(fd)
		return nil, ie, os.NewSyscallError("connect", err)
	}
	f := os.NewFile(uintptr(fd), "tcp-probe")
	defer f.Close()
	if dl, ok := ctx.Deadline(); ok {
		_ = f.SetWriteDeadline(dl)
	}
	stop := context.AfterFunc(ctx, func() { _ = f.SetWriteDeadline(time.Unix(1, 0)) })
	defer stop()
	rc, err := f.SyscallConn()
	if err != nil {
		return nil, nil, err
	}
	var (
		soErr error
		ie    *icmpError
	)
	werr := rc.Write(func(fd uintptr) bool {
		pfd := []unix.PollFd{{Fd: int32(fd), Events: unix.POLLOUT}}
		if n, err := unix.Poll(pfd, 0); err != nil || n == 0 {
			return false // not connected yet: wait for the poller
		}
		v, err := unix.GetsockoptInt(int(fd), unix.SOL_SOCKET, unix.SO_ERROR)
		if err != nil {
			soErr = err
		} else if v != 0 {
			soErr = syscall.Errno(v)
			ie = readErrQueue(int(fd))
		}
		return true
	})
	if werr != nil {
		return nil, nil, werr
	}
	if soErr != nil {
		return nil, ie, &net.OpError{Op: "dial", Net: "tcp", Addr: net.TCPAddrFromAddrPort(dst), Err: os.NewSyscallError("connect", soErr)}
	}
	conn, err := net.FileConn(f)
	return conn, nil, err
}

func setRecvErr(fd int, v6 bool) {
	if v6 {
		_ = unix.SetsockoptInt(fd, unix.SOL_IPV6, unix.IPV6_RECVERR, 1)
		return
	}
	_ = unix.SetsockoptInt(fd, unix.SOL_IP, unix.IP_RECVERR, 1)
}

func sockaddr(ap netip.AddrPort, family int) unix.Sockaddr {
	if family == unix.AF_INET6 {
		return &unix.SockaddrInet6{Port: int(ap.Port()), Addr: ap.Addr().As16()}
	}
	return &unix.SockaddrInet4{Port: int(ap.Port()), Addr: ap.Addr().Unmap().As4()}
}

// recvErrControl sets IP_RECVERR on a UDP socket so that readICMPError can tell why a
// datagram was refused.
func recvErrControl(network, _ string, c syscall.RawConn) error {
	return c.Control(func(fd uintptr) {
		setRecvErr(int(fd), network == "udp6")
		if network == "udp" {
			// Dual-stack sockets may carry IPv4: set both, ignoring the one that does not apply.
			_ = unix.SetsockoptInt(int(fd), unix.SOL_IPV6, unix.IPV6_RECVERR, 1)
		}
	})
}

// readICMPError reads the ICMP error queued on a connected UDP socket, if any.
func readICMPError(conn net.Conn) *icmpError {
	sc, ok := conn.(syscall.Conn)
	if !ok {
		return nil
	}
	rc, err := sc.SyscallConn()
	if err != nil {
		return nil
	}
	var ie *icmpError
	_ = rc.Control(func(fd uintptr) { ie = readErrQueue(int(fd)) })
	return ie
}

// readErrQueue takes one ICMP error off the socket's error queue (MSG_ERRQUEUE); nil when the
// queue is empty or holds something else (a local error).
func readErrQueue(fd int) *icmpError {
	buf := make([]byte, 256)
	oob := make([]byte, 512)
	_, oobn, _, _, err := unix.Recvmsg(fd, buf, oob, unix.MSG_ERRQUEUE|unix.MSG_DONTWAIT)
	if err != nil {
		return nil
	}
	msgs, err := unix.ParseSocketControlMessage(oob[:oobn])
	if err != nil {
		return nil
	}
	for _, m := range msgs {
		v4 := m.Header.Level == unix.SOL_IP && m.Header.Type == unix.IP_RECVERR
		v6 := m.Header.Level == unix.SOL_IPV6 && m.Header.Type == unix.IPV6_RECVERR
		if (!v4 && !v6) || len(m.Data) < sizeofSockExtendedErr {
			continue
		}
		if ie := parseExtendedErr(m.Data); ie != nil {
			return ie
		}
	}
	return nil
}

// parseExtendedErr decodes a struct sock_extended_err followed by the offender's sockaddr.
func parseExtendedErr(b []byte) *icmpError {
	origin, typ, code := b[4], b[5], b[6]
	ie := &icmpError{Type: typ, Code: code, MTU: int(binary.NativeEndian.Uint32(b[8:12]))}
	switch origin {
	case unix.SO_EE_ORIGIN_ICMP:
	case unix.SO_EE_ORIGIN_ICMP6:
		ie.V6 = true
	default:
		return nil
	}
	off := b[sizeofSockExtendedErr:]
	if len(off) >= 2 {
		switch binary.NativeEndian.Uint16(off) {
		case unix.AF_INET:
			if len(off) >= 8 {
				ie.From = netip.AddrFrom4([4]byte(off[4:8]))
			}
		case unix.AF_INET6:
			if len(off) >= 24 {
				ie.From = netip.AddrFrom16([16]byte(off[8:24])).Unmap()
			}
		}
	}
	return ie
}

// sizeofSockExtendedErr is sizeof(struct sock_extended_err): errno u32, origin, type, code,
// pad u8, info u32, data u32 (linux/errqueue.h).
const sizeofSockExtendedErr = 16

// sockaddrAddrPort is the address and port of a unix.Sockaddr (IPv4 or IPv6).
func sockaddrAddrPort(sa unix.Sockaddr) netip.AddrPort {
	switch a := sa.(type) {
	case *unix.SockaddrInet4:
		return netip.AddrPortFrom(netip.AddrFrom4(a.Addr), uint16(a.Port))
	case *unix.SockaddrInet6:
		return netip.AddrPortFrom(netip.AddrFrom16(a.Addr).Unmap(), uint16(a.Port))
	}
	return netip.AddrPort{}
}
