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

	"golang.org/x/net/bpf"
	"golang.org/x/net/ipv4"
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
			// Only ping sockets queue errors (raw ones read them as packets, see
			// openEchoSocket), and the kernel gives a ping socket only its own id's.
			if ie == nil || n < echoHeader || buf[0] != 8 {
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

// filterEchoID attaches a classic BPF program to a raw ICMP socket that passes only echo
// replies with id and ICMP errors (destination unreachable, time exceeded) quoting an echo
// request with id, as ping does. Raw sockets see the IP header: X takes its length; an error
// quotes the request's 20-byte IP header (one with options is dropped: none of ours has any)
// and then its ICMP header, whose id is at offset 4.
func filterEchoID(pc net.PacketConn, id uint16) error {
	prog, err := bpf.Assemble(echoFilter(id))
	if err != nil {
		return err
	}
	return ipv4.NewPacketConn(pc).SetBPF(prog)
}

// echoFilter is filterEchoID's program.
func echoFilter(id uint16) []bpf.Instruction {
	const (
		accept  = 0x40000
		quoteID = 8 + ipv4Header + 4
	)
	return []bpf.Instruction{
		bpf.LoadMemShift{Off: 0},                                       // 0: X = IP header length
		bpf.LoadIndirect{Off: 0, Size: 1},                              // 1: A = ICMP type
		bpf.JumpIf{Cond: bpf.JumpEqual, Val: 0, SkipFalse: 2},          // 2: echo reply? else 5
		bpf.LoadIndirect{Off: 4, Size: 2},                              // 3: A = its id
		bpf.Jump{Skip: 3},                                              // 4: to 8
		bpf.JumpIf{Cond: bpf.JumpEqual, Val: 3, SkipTrue: 1},           // 5: unreachable? to 7
		bpf.JumpIf{Cond: bpf.JumpEqual, Val: 11, SkipFalse: 3},         // 6: time exceeded? else drop
		bpf.LoadIndirect{Off: quoteID, Size: 2},                        // 7: A = the quoted request's id
		bpf.JumpIf{Cond: bpf.JumpEqual, Val: uint32(id), SkipFalse: 1}, // 8: ours?
		bpf.RetConstant{Val: accept},                                   // 9
		bpf.RetConstant{Val: 0},                                        // 10: drop
	}
}
