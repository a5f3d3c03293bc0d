package probes

import (
	"net"
	"net/netip"

	"golang.org/x/sys/unix"
)

// pktinfoUDP turns on IP_PKTINFO (IPv4 sockets) or IPV6_RECVPKTINFO (IPv6 and dual-stack
// sockets, which also report IPv4 packets, as v4-mapped addresses) so each datagram says which
// local address it was sent to, and replies can leave from that address. ok is false when the
// socket refuses the option; the caller then lets the kernel choose.
func pktinfoUDP(uc *net.UDPConn) (udpRead, udpWrite, bool) {
	la, _ := uc.LocalAddr().(*net.UDPAddr)
	if la == nil {
		return nil, nil, false
	}
	v6 := la.IP.To4() == nil // "[::]:port" is a dual-stack IPv6 socket
	raw, err := uc.SyscallConn()
	if err != nil {
		return nil, nil, false
	}
	var serr error
	err = raw.Control(func(fd uintptr) {
		if v6 {
			serr = unix.SetsockoptInt(int(fd), unix.IPPROTO_IPV6, unix.IPV6_RECVPKTINFO, 1)
		} else {
			serr = unix.SetsockoptInt(int(fd), unix.IPPROTO_IP, unix.IP_PKTINFO, 1)
		}
	})
	if err != nil || serr != nil {
		return nil, nil, false
	}
	oob := make([]byte, 256)
	read := func(buf []byte) (int, netip.AddrPort, netip.Addr, error) {
		n, oobn, _, from, err := uc.ReadMsgUDPAddrPort(buf, oob)
		if err != nil {
			return 0, netip.AddrPort{}, netip.Addr{}, err
		}
		return n, from, pktinfoDst(oob[:oobn]), nil
	}
	write := func(b []byte, to netip.AddrPort, src netip.Addr) error {
		var cm []byte
		switch {
		case !src.IsValid() || src.IsUnspecified():
		case v6:
			info := unix.Inet6Pktinfo{Addr: netip.AddrFrom16(src.As16()).As16()}
			cm = unix.PktInfo6(&info)
		case src.Unmap().Is4():
			info := unix.Inet4Pktinfo{Spec_dst: src.Unmap().As4()}
			cm = unix.PktInfo4(&info)
		}
		_, _, err := uc.WriteMsgUDPAddrPort(b, cm, to)
		return err
	}
	return read, write, true
}

// pktinfoDst reads the local destination address from a datagram's control messages; the
// zero Addr when there is none. IPv4 packets on a dual-stack socket come as v4-mapped.
func pktinfoDst(oob []byte) netip.Addr {
	msgs, err := unix.ParseSocketControlMessage(oob)
	if err != nil {
		return netip.Addr{}
	}
	for _, m := range msgs {
		switch {
		case m.Header.Level == unix.IPPROTO_IPV6 && m.Header.Type == unix.IPV6_PKTINFO && len(m.Data) >= 16:
			return netip.AddrFrom16([16]byte(m.Data[:16]))
		case m.Header.Level == unix.IPPROTO_IP && m.Header.Type == unix.IP_PKTINFO && len(m.Data) >= 12:
			// struct in_pktinfo { int ifindex; in_addr spec_dst; in_addr addr; }: addr is the
			// header's destination.
			return netip.AddrFrom4([4]byte(m.Data[8:12]))
		}
	}
	return netip.Addr{}
}
