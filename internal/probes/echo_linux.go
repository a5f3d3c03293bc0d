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
	"time"

	"golang.org/x/sys/unix"
)

// openEchoSocket tries an unprivileged ping socket (allowed by net.ipv4.ping_group_range),
// then a raw socket (root or CAP_NET_RAW). With df it sets IP_PMTUDISC_PROBE: DF on every
// packet and the cached path MTU ignored, so probes larger than a learned MTU still leave.
// IP_RECVERR makes the ping socket report ICMP errors on its error queue. A raw socket does
// without: it reads every ICMP error as a packet and keeps those that quote its own requests,
// while with IP_RECVERR the kernel would also queue on it the errors of every other raw ICMP
// socket of the host (raw_icmp_error delivers to all unconnected ones), and a concurrent PMTU
// probe's fragmentation-needed would pass for this one's (make bench: "even a 1200-byte
// packet does not fit" with 1,000 PMTU checks from one agent).
func openEchoSocket(ctx context.Context, df bool) (net.PacketConn, bool, error) {
	setopts := func(fd int, ping bool) {
		if ping {
			_ = unix.SetsockoptInt(fd, unix.SOL_IP, unix.IP_RECVERR, 1)
		}
		if df {
			_ = unix.SetsockoptInt(fd, unix.SOL_IP, unix.IP_MTU_DISCOVER, unix.IP_PMTUDISC_PROBE)
		}
	}
	fd, err := unix.Socket(unix.AF_INET, unix.SOCK_DGRAM|unix.SOCK_NONBLOCK|unix.SOCK_CLOEXEC, unix.IPPROTO_ICMP)
	if err == nil {
		setopts(fd, true)
		if err = unix.Bind(fd, &unix.SockaddrInet4{}); err == nil {
			f := os.NewFile(uintptr(fd), "ping")
			pc, ferr := net.FilePacketConn(f)
			f.Close()
			if ferr == nil {
				return pc, false, nil
			}
			err = ferr
		} else {
			unix.Close(fd)
		}
	}
	pingErr := err
	lc := net.ListenConfig{Control: func(_, _ string, c syscall.RawConn) error {
		return c.Control(func(fd uintptr) { setopts(int(fd), false) })
	}}
	pc, err := lc.ListenPacket(ctx, "ip4:icmp", "0.0.0.0")
	if err == nil {
		return pc, true, nil
	}
	if errors.Is(err, unix.EPERM) || errors.Is(err, unix.EACCES) {
		return nil, false, fmt.Errorf("%w: ICMP needs a ping socket (sysctl net.ipv4.ping_group_range must include this user's group: %v) or a raw socket (run as root or grant CAP_NET_RAW: %v)", ErrPermission, pingErr, err)
	}
	return nil, false, fmt.Errorf("%w: cannot open an ICMP socket: %v", ErrUnsupported, err)
}

// readQueued takes one ICMP error off a ping socket's error queue and returns it as an event
// when it quotes one of our requests.
func (c *echoConn) readQueued() (echoEvent, bool) {
	sc, ok := c.pc.(syscall.Conn)
	if !ok {
		return echoEvent{}, false
	}
	rc, err := sc.SyscallConn()
	if err != nil {
		return echoEvent{}, false
	}
	var (
		ev  echoEvent
		got bool
	)
	_ = rc.Control(func(fd uintptr) {
		buf := make([]byte, 1600)
		oob := make([]byte, 512)
		n, oobn, _, from, err := unix.Recvmsg(int(fd), buf, oob, unix.MSG_ERRQUEUE|unix.MSG_DONTWAIT)
		if err != nil {
			return
		}
		// The error's address is the destination of the request it quotes: only ours count.
		if sa, ok := from.(*unix.SockaddrInet4); ok && netip.AddrFrom4(sa.Addr) != c.dst {
			return
		}
		msgs, err := unix.ParseSocketControlMessage(oob[:oobn])
		if err != nil {
			return
		}
		for _, m := range msgs {
			if m.Header.Level != unix.SOL_IP || m.Header.Type != unix.IP_RECVERR || len(m.Data) < sizeofSockExtendedErr {
				continue
			}
			ie := parseExtendedErr(m.Data)
			// The queued payload is our own echo request: its sequence is at bytes 6-7.
			if ie == nil || n < echoHeader || buf[0] != 8 || (c.raw && binary.BigEndian.Uint16(buf[4:6]) != c.id) {
				continue
			}
			ev = echoEvent{Seq: int(binary.BigEndian.Uint16(buf[6:8])), From: ie.From, Code: ie.Code, At: time.Now()}
			switch {
			case ie.Type == 11:
				ev.Kind = echoTimeExceeded
			case ie.Type == 3 && ie.Code == 4:
				ev.Kind, ev.MTU = echoFragNeeded, int(binary.NativeEndian.Uint32(m.Data[8:12]))
			default:
				ev.Kind = echoUnreachable
			}
			got = true
			return
		}
	})
	return ev, got
}

// openUDPPMTU opens a connected UDP socket sending with DF and the cached path MTU ignored
// (IP_PMTUDISC_PROBE), with ICMP errors on its error queue (IP_RECVERR). No privilege needed.
func openUDPPMTU(ctx context.Context, dst netip.AddrPort) (pmtuConn, error) {
	if !dst.Addr().Is4() {
		return nil, fmt.Errorf("%w: path MTU probes are IPv4 only for now (%s)", ErrUnsupported, dst)
	}
	d := net.Dialer{Control: func(_, _ string, c syscall.RawConn) error {
		return c.Control(func(fd uintptr) {
			_ = unix.SetsockoptInt(int(fd), unix.SOL_IP, unix.IP_RECVERR, 1)
			_ = unix.SetsockoptInt(int(fd), unix.SOL_IP, unix.IP_MTU_DISCOVER, unix.IP_PMTUDISC_PROBE)
		})
	}}
	conn, err := d.DialContext(ctx, "udp4", dst.String())
	if err != nil {
		return nil, fmt.Errorf("%w: UDP socket to %s: %v", ErrUnreachable, dst, err)
	}
	return newUDPPMTUConn(conn), nil
}
