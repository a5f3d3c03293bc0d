package probes

import (
	"context"
	"crypto/rand"
	"encoding/binary"
	"errors"
	"fmt"
	"net"
	"net/netip"
	"time"

	"golang.org/x/net/icmp"
	"golang.org/x/net/ipv4"
)

// The ICMP echo engine shared by the icmp, path and pmtu probes: one socket, echo requests
// tagged with a random nonce, and one decoded event per answer, be it the echo reply or an ICMP
// error quoting our request (time exceeded from a router, fragmentation needed, unreachable).
// IPv4 only: the estates netprobe tests are IPv4 networks.

// echoKind says what answered an echo request.
type echoKind int

const (
	echoReply echoKind = iota + 1
	echoTimeExceeded
	echoUnreachable
	echoFragNeeded
)

var echoKindNames = [...]string{echoReply: "echo-reply", echoTimeExceeded: "time-exceeded", echoUnreachable: "unreachable", echoFragNeeded: "frag-needed"}

func (k echoKind) String() string { return enumString(echoKindNames[:], int(k), "echo kind") }

// echoEvent is one answer to one of our echo requests.
type echoEvent struct {
	Kind echoKind
	Seq  int
	From netip.Addr
	Code uint8
	// MTU is the next-hop MTU a fragmentation-needed carries (0 when the router sent none).
	MTU int
	At  time.Time
}

// echoConn is an open ICMP socket toward one destination.
type echoConn struct {
	pc     net.PacketConn
	raw    bool // raw socket (root); else an unprivileged ping socket
	dst    netip.Addr
	id     uint16
	nonce  [8]byte
	method string
	// readTS, when set, reads with the kernel's receive time (Linux ping and raw sockets).
	readTS func(buf []byte) (int, net.Addr, time.Time, error)
}

// echoHeader is the ICMP echo header length; an echo payload of Size bytes makes an IPv4
// packet of Size+28 bytes.
const echoHeader = 8

// openEcho opens an ICMP socket: an unprivileged ping socket first, a raw socket second. With
// df, packets leave with Don't Fragment set and the kernel's cached path MTU ignored, so that a
// probe of any size really goes out (where the OS allows; see openEchoSocket).
func openEcho(ctx context.Context, dst netip.Addr, df bool) (*echoConn, error) {
	if !dst.Is4() {
		return nil, fmt.Errorf("%w: ICMP probes are IPv4 only for now (%s)", ErrUnsupported, dst)
	}
	pc, raw, err := openEchoSocket(ctx, df)
	if err != nil {
		return nil, err
	}
	c := &echoConn{pc: pc, raw: raw, dst: dst, method: "ping-socket", readTS: packetTimeReader(pc)}
	if raw {
		c.method = "raw"
	}
	var idb [2]byte
	_, _ = rand.Read(idb[:])
	_, _ = rand.Read(c.nonce[:])
	c.id = binary.BigEndian.Uint16(idb[:])
	if raw {
		// A raw socket gets a copy of every ICMP packet of the host: a kernel filter keeps
		// only ours, so a hub with many probes in flight is not woken for all of theirs. A
		// failure costs only that work: parse drops what is not ours anyway.
		_ = filterEchoID(pc, c.id)
	}
	return c, nil
}

func (c *echoConn) Close() error { return c.pc.Close() }

// send writes echo request seq with a payload of size bytes (at least the 8-byte nonce plus a
// 2-byte sequence check), with ttl when ttl > 0.
func (c *echoConn) send(seq, size, ttl int) error {
	if ttl > 0 {
		if err := ipv4.NewPacketConn(c.pc).SetTTL(ttl); err != nil {
			return fmt.Errorf("set TTL %d: %w", ttl, err)
		}
	}
	if size < len(c.nonce) {
		size = len(c.nonce)
	}
	data := make([]byte, size)
	copy(data, c.nonce[:])
	m := icmp.Message{Type: ipv4.ICMPTypeEcho, Body: &icmp.Echo{ID: int(c.id), Seq: seq & 0xffff, Data: data}}
	b, err := m.Marshal(nil)
	if err != nil {
		return err
	}
	var to net.Addr = &net.UDPAddr{IP: c.dst.AsSlice()}
	if c.raw {
		to = &net.IPAddr{IP: c.dst.AsSlice()}
	}
	_, err = c.pc.WriteTo(b, to)
	return err
}

// recv returns the next answer to one of our requests, or a timeout error at deadline.
func (c *echoConn) recv(deadline time.Time) (echoEvent, error) {
	_ = c.pc.SetReadDeadline(deadline)
	buf := make([]byte, 1600)
	// Each read error consumes one socket error; a run of errors the queue cannot explain
	// means the socket itself is broken, and the loop must not spin on it.
	unexplained := 0
	for {
		var (
			n    int
			from net.Addr
			at   time.Time
			err  error
		)
		if c.readTS != nil {
			n, from, at, err = c.readTS(buf)
		} else {
			n, from, err = c.pc.ReadFrom(buf)
		}
		if err != nil {
			if isTimeout(err) || errors.Is(err, net.ErrClosed) {
				return echoEvent{}, err
			}
			// A ping socket reports ICMP errors as a read error plus the error queue.
			if ev, ok := c.readQueued(); ok {
				return ev, nil
			}
			if unexplained++; unexplained > 16 {
				return echoEvent{}, err
			}
			continue
		}
		unexplained = 0
		src := addrOfNet(from)
		if ev, ok := c.parse(buf[:n], src); ok {
			ev.At = at
			if ev.At.IsZero() {
				ev.At = time.Now()
			}
			return ev, nil
		}
	}
}

// parse decodes an ICMP message (the IP header already stripped) and keeps it when it is ours.
func (c *echoConn) parse(b []byte, from netip.Addr) (echoEvent, bool) {
	if len(b) < echoHeader {
		return echoEvent{}, false
	}
	typ, code := b[0], b[1]
	switch typ {
	case 0: // echo reply
		if from != c.dst || len(b) < echoHeader+len(c.nonce) || string(b[8:8+len(c.nonce)]) != string(c.nonce[:]) {
			return echoEvent{}, false
		}
		if c.raw && binary.BigEndian.Uint16(b[4:6]) != c.id {
			return echoEvent{}, false
		}
		return echoEvent{Kind: echoReply, Seq: int(binary.BigEndian.Uint16(b[6:8])), From: from}, true
	case 3, 11: // destination unreachable, time exceeded: they quote our IP header + 8 bytes
		seq, ok := c.quotedSeq(b[8:])
		if !ok {
			return echoEvent{}, false
		}
		ev := echoEvent{Kind: echoTimeExceeded, Seq: seq, From: from, Code: code}
		if typ == 3 {
			ev.Kind = echoUnreachable
			if code == 4 {
				ev.Kind, ev.MTU = echoFragNeeded, int(binary.BigEndian.Uint16(b[6:8]))
			}
		}
		return ev, true
	}
	return echoEvent{}, false
}

// quotedSeq reads the sequence of our echo request quoted in an ICMP error.
func (c *echoConn) quotedSeq(q []byte) (int, bool) {
	if len(q) < 20 || q[0]>>4 != 4 {
		return 0, false
	}
	ihl := int(q[0]&0x0f) * 4
	if len(q) < ihl+8 || q[9] != 1 || netip.AddrFrom4([4]byte(q[16:20])) != c.dst {
		return 0, false
	}
	e := q[ihl:]
	if e[0] != 8 || (c.raw && binary.BigEndian.Uint16(e[4:6]) != c.id) {
		return 0, false
	}
	return int(binary.BigEndian.Uint16(e[6:8])), true
}

func addrOfNet(a net.Addr) netip.Addr {
	switch v := a.(type) {
	case *net.UDPAddr:
		ip, _ := netip.AddrFromSlice(v.IP)
		return ip.Unmap()
	case *net.IPAddr:
		ip, _ := netip.AddrFromSlice(v.IP)
		return ip.Unmap()
	}
	return netip.Addr{}
}
