package probes

import (
	"net"
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

// packetTimeReader is rxTimeReader for an unconnected datagram socket (the ICMP ping
// socket): each read also gives the sender. nil when pc is not a UDP-type socket or refuses.
func packetTimeReader(pc net.PacketConn) func(buf []byte) (int, net.Addr, time.Time, error) {
	uc := timestamped(pc)
	if uc == nil {
		return nil
	}
	oob := make([]byte, 128)
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
	if !ok {
		return nil
	}
	raw, err := uc.SyscallConn()
	if err != nil {
		return nil
	}
	var serr error
	if err := raw.Control(func(fd uintptr) {
		serr = unix.SetsockoptInt(int(fd), unix.SOL_SOCKET, unix.SO_TIMESTAMPNS, 1)
	}); err != nil || serr != nil {
		return nil
	}
	return uc
}
