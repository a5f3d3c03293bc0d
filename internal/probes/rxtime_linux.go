package probes

import (
	"net"
	"syscall"
	"time"
	"unsafe"

	"golang.org/x/sys/unix"
)

// rxTimeReader returns a read function that also gives each datagram's kernel receive time
// (SO_TIMESTAMPNS), or nil when conn is not a UDP socket that accepts the option. The kernel
// stamps a datagram when it arrives, so an RTT taken from it leaves out the Go runtime's
// wake-up of the reading goroutine, which on a busy machine adds tens of microseconds at
// random (make bench: ping, which does the same, read 66 us where netprobe read 120-167 us).
func rxTimeReader(conn net.Conn) func(buf []byte) (int, time.Time, error) {
	uc := timestamped(conn)
	if uc == nil {
		return nil
	}
	oob := make([]byte, 128)
	return func(buf []byte) (int, time.Time, error) {
		n, oobn, _, _, err := uc.ReadMsgUDP(buf, oob)
		if err != nil {
			return n, time.Time{}, err
		}
		return n, rxTime(oob[:oobn]), nil
	}
}

// rxTime reads SCM_TIMESTAMPNS from a datagram's control messages; zero when absent.
func rxTime(oob []byte) time.Time {
	msgs, err := unix.ParseSocketControlMessage(oob)
	if err != nil {
		return time.Time{}
	}
	for _, m := range msgs {
		if m.Header.Level == unix.SOL_SOCKET && m.Header.Type == unix.SCM_TIMESTAMPNS && len(m.Data) >= int(unsafe.Sizeof(unix.Timespec{})) {
			ts := (*unix.Timespec)(unsafe.Pointer(&m.Data[0]))
			return time.Unix(int64(ts.Sec), int64(ts.Nsec))
		}
	}
	return time.Time{}
}

// packetTimeReader is rxTimeReader for an unconnected datagram socket (the ICMP ping socket)
// or a raw ICMP socket: each read also gives the sender, and a raw socket's IPv4 header is
// taken off as ReadFrom does. nil when pc is neither or refuses the option.
func packetTimeReader(pc net.PacketConn) func(buf []byte) (int, net.Addr, time.Time, error) {
	oob := make([]byte, 128)
	if ic, ok := pc.(*net.IPConn); ok && stampNS(ic) {
		return func(buf []byte) (int, net.Addr, time.Time, error) {
			n, oobn, _, from, err := ic.ReadMsgIP(buf, oob)
			if err != nil {
				return n, nil, time.Time{}, err
			}
			// ReadMsgIP, unlike ReadFrom, leaves the IPv4 header in place.
			if n >= ipv4Header && buf[0]>>4 == 4 {
				if ihl := int(buf[0]&0x0f) * 4; ihl >= ipv4Header && ihl <= n {
					n = copy(buf, buf[ihl:n])
				}
			}
			return n, from, rxTime(oob[:oobn]), nil
		}
	}
	uc := timestamped(pc)
	if uc == nil {
		return nil
	}
	return func(buf []byte) (int, net.Addr, time.Time, error) {
		n, oobn, _, from, err := uc.ReadMsgUDP(buf, oob)
		if err != nil {
			return n, nil, time.Time{}, err
		}
		return n, from, rxTime(oob[:oobn]), nil
	}
}

// timestamped turns on SO_TIMESTAMPNS on a UDP-type socket and returns it; nil when c is not
// one or refuses the option.
func timestamped(c any) *net.UDPConn {
	uc, ok := c.(*net.UDPConn)
	if !ok || !stampNS(uc) {
		return nil
	}
	return uc
}

// stampNS turns on SO_TIMESTAMPNS on c; false when refused.
func stampNS(c syscall.Conn) bool {
	raw, err := c.SyscallConn()
	if err != nil {
		return false
	}
	var serr error
	if err := raw.Control(func(fd uintptr) {
		serr = unix.SetsockoptInt(int(fd), unix.SOL_SOCKET, unix.SO_TIMESTAMPNS, 1)
	}); err != nil || serr != nil {
		return false
	}
	return true
}
