//go:build linux

package probes

import (
	"errors"
	"fmt"
	"net"
	"net/netip"
	"time"

	"github.com/google/gopacket/layers"
	"golang.org/x/net/bpf"
	"golang.org/x/sys/unix"
)

// A flow capture is a packet socket (AF_PACKET, SOCK_DGRAM: packets from the IP header on,
// whatever the link) on every interface, with a classic BPF program that passes only the
// flow's packets both ways and the ICMP errors quoting them. The socket is opened listening
// to no protocol, the program attached, and only then bound to IPv4 or IPv6: no packet of
// another flow is ever queued on it, not even between socket(2) and the filter. The packets
// wait in the socket's queue, stamped by the kernel as they pass, until stop reads them, so
// a capture needs no goroutine. It needs CAP_NET_RAW.

// flowCapture is an open capture of one flow.
type flowCapture struct {
	fd   int
	flow flowTuple
}

// capturePermission is what an unprivileged agent says instead of a capture.
const capturePermission = "reading the packets needs a raw socket: run the agent as root or grant it CAP_NET_RAW"

// openCapture starts capturing f. The error wraps ErrPermission without CAP_NET_RAW.
func openCapture(f flowTuple) (*flowCapture, error) {
	prog, err := flowFilter(f)
	if err != nil {
		return nil, err
	}
	fd, err := unix.Socket(unix.AF_PACKET, unix.SOCK_DGRAM|unix.SOCK_NONBLOCK|unix.SOCK_CLOEXEC, 0)
	if err != nil {
		if errors.Is(err, unix.EPERM) || errors.Is(err, unix.EACCES) {
			return nil, fmt.Errorf("%w: %s", ErrPermission, capturePermission)
		}
		return nil, fmt.Errorf("%w: packet socket: %v", ErrUnsupported, err)
	}
	raw := make([]unix.SockFilter, len(prog))
	for i, ins := range prog {
		raw[i] = unix.SockFilter{Code: ins.Op, Jt: ins.Jt, Jf: ins.Jf, K: ins.K}
	}
	fprog := unix.SockFprog{Len: uint16(len(raw)), Filter: &raw[0]}
	if err := unix.SetsockoptSockFprog(fd, unix.SOL_SOCKET, unix.SO_ATTACH_FILTER, &fprog); err != nil {
		unix.Close(fd)
		return nil, fmt.Errorf("%w: attach the capture filter: %v", ErrUnsupported, err)
	}
	_ = unix.SetsockoptInt(fd, unix.SOL_SOCKET, unix.SO_TIMESTAMPNS, 1)
	// ETH_P_ALL: a packet socket bound to one protocol sees only what arrives; the flow's
	// own packets, leaving, reach only the taps of every protocol. The filter checks the
	// protocol itself.
	if err := unix.Bind(fd, &unix.SockaddrLinklayer{Protocol: htons(unix.ETH_P_ALL)}); err != nil {
		unix.Close(fd)
		return nil, fmt.Errorf("%w: bind the packet socket: %v", ErrUnsupported, err)
	}
	return &flowCapture{fd: fd, flow: f}, nil
}

func htons(v uint16) uint16 { return v<<8 | v>>8 }

// stop reads what the capture holds and closes it.
func (c *flowCapture) stop() *Capture {
	defer unix.Close(c.fd)
	out := &Capture{Flow: c.flow.String()}
	buf := make([]byte, CaptureSnap)
	oob := make([]byte, 128)
	names := map[int]string{}
	loop := map[int]bool{}
	for {
		// MSG_TRUNC: n is the packet's whole length even when buf holds only its start.
		n, oobn, _, from, err := unix.Recvmsg(c.fd, buf, oob, unix.MSG_DONTWAIT|unix.MSG_TRUNC)
		if err != nil {
			break // EAGAIN: the queue is empty
		}
		ll, _ := from.(*unix.SockaddrLinklayer)
		name := ""
		if ll != nil {
			if _, ok := names[ll.Ifindex]; !ok {
				if ifc, err := net.InterfaceByIndex(ll.Ifindex); err == nil {
					names[ll.Ifindex], loop[ll.Ifindex] = ifc.Name, ifc.Flags&net.FlagLoopback != 0
				}
			}
			name = names[ll.Ifindex]
			// Loopback shows every packet twice, leaving and arriving: keep the arrival.
			if loop[ll.Ifindex] && ll.Pkttype == unix.PACKET_OUTGOING {
				continue
			}
		}
		data := append([]byte(nil), buf[:min(n, len(buf))]...)
		if _, ok := c.flow.belongs(data); !ok {
			continue
		}
		at := rxTime(oob[:oobn])
		if at.IsZero() {
			at = time.Now()
		}
		out.keep(CapturedPacket{At: at, Data: data, Len: n, Iface: name})
	}
	return out
}

// flowFilter is the capture's BPF program for f. The packet socket hands the filter the
// packet from its IP header on. Besides the flow both ways it passes the ICMP errors that
// quote a packet of the flow; an IPv4 error is read only when its own header has no options
// (no router adds any to the errors it sends), so the quote sits at a fixed offset.
func flowFilter(f flowTuple) ([]bpf.RawInstruction, error) {
	var p bpfAsm
	// The IP version: the socket hears every protocol (ARP too), and reads on only what
	// starts like the flow's IP header.
	p.add(bpf.LoadAbsolute{Off: 0, Size: 1})
	p.add(bpf.ALUOpConstant{Op: bpf.ALUOpAnd, Val: 0xf0})
	if f.remote.Addr().Is4() || f.remote.Addr().Is4In6() {
		p.jeq(0x40, "", "drop")
		filterIPv4(&p, f)
	} else {
		p.jeq(0x60, "", "drop")
		filterIPv6(&p, f)
	}
	p.label("accept")
	p.add(bpf.RetConstant{Val: 0x40000}) // the whole packet: stop reads only CaptureSnap of it
	p.label("drop")
	p.add(bpf.RetConstant{Val: 0})
	return p.assemble()
}

func filterIPv4(p *bpfAsm, f flowTuple) {
	rem, loc := f.remote.Addr().Unmap().As4(), f.local.Addr().Unmap()
	withLocal := loc.IsValid() && !loc.IsUnspecified()
	word := func(b [4]byte) uint32 { return uint32(b[0])<<24 | uint32(b[1])<<16 | uint32(b[2])<<8 | uint32(b[3]) }
	R := word(rem)
	var L uint32
	if withLocal {
		L = word(loc.As4())
	}
	lp, rp := uint32(f.local.Port()), uint32(f.remote.Port())
	const (
		offProto, offFrag, offSrc, offDst = 9, 6, 12, 16
		icmpAt                            = 20         // the ICMP header, after a 20-byte IPv4 header
		quoteAt                           = icmpAt + 8 // the quoted IPv4 header
		noOptions                         = 0x45       // version 4, header length 5 words
		fragOffset                        = 0x1fff     // fragment offset bits
	)
	p.add(bpf.LoadAbsolute{Off: offProto, Size: 1})
	p.jeq(uint32(f.proto), "flow", "")
	p.jeq(uint32(layers.IPProtocolICMPv4), "icmp", "drop")

	p.label("flow")
	p.add(bpf.LoadAbsolute{Off: offFrag, Size: 2})
	p.jset(fragOffset, "drop", "")
	// oneWay accepts a packet of the flow whose remote address is at remoteOff (and local one
	// at localOff) and whose ports are first, then second; anything else goes to miss.
	oneWay := func(remoteOff, localOff, first, second uint32, miss string) {
		p.add(bpf.LoadAbsolute{Off: remoteOff, Size: 4})
		p.jeq(R, "", miss)
		if withLocal {
			p.add(bpf.LoadAbsolute{Off: localOff, Size: 4})
			p.jeq(L, "", miss)
		}
		p.add(bpf.LoadMemShift{Off: 0})
		p.add(bpf.LoadIndirect{Off: 0, Size: 2})
		p.jeq(first, "", miss)
		p.add(bpf.LoadIndirect{Off: 2, Size: 2})
		p.jeq(second, "accept", miss)
	}
	// Leaving: to the remote end, from the flow's local port to its remote port.
	oneWay(offDst, offSrc, lp, rp, "in")
	// Arriving: from the remote end, ports the other way round.
	p.label("in")
	oneWay(offSrc, offDst, rp, lp, "drop")

	// An ICMP error to us quoting a packet of the flow.
	p.label("icmp")
	if withLocal {
		p.add(bpf.LoadAbsolute{Off: offDst, Size: 4})
		p.jeq(L, "", "drop")
	}
	p.add(bpf.LoadAbsolute{Off: 0, Size: 1})
	p.jeq(noOptions, "", "drop")
	p.add(bpf.LoadAbsolute{Off: icmpAt, Size: 1})
	p.jeq(3, "quote", "")      // destination unreachable
	p.jeq(11, "quote", "")     // time exceeded
	p.jeq(12, "quote", "drop") // parameter problem
	p.label("quote")
	p.add(bpf.LoadAbsolute{Off: quoteAt + offProto, Size: 1})
	p.jeq(uint32(f.proto), "", "drop")
	if withLocal {
		p.add(bpf.LoadAbsolute{Off: quoteAt + offSrc, Size: 4})
		p.jeq(L, "", "drop")
	}
	p.add(bpf.LoadAbsolute{Off: quoteAt + offDst, Size: 4})
	p.jeq(R, "", "drop")
	p.add(bpf.LoadMemShift{Off: quoteAt})
	p.add(bpf.LoadIndirect{Off: quoteAt, Size: 2})
	p.jeq(lp, "", "drop")
	p.add(bpf.LoadIndirect{Off: quoteAt + 2, Size: 2})
	p.jeq(rp, "accept", "drop")
}

// filterIPv6 reads the fixed 40-byte header: the flow's packets carry no extension header,
// and a packet that does is not passed.
func filterIPv6(p *bpfAsm, f flowTuple) {
	loc := f.local.Addr()
	withLocal := loc.IsValid() && !loc.IsUnspecified()
	lp, rp := uint32(f.local.Port()), uint32(f.remote.Port())
	const (
		offNext, offSrc, offDst = 6, 8, 24
		transportAt             = 40
		icmpAt                  = 40
		quoteAt                 = icmpAt + 8
	)
	addr := func(off uint32, a netip.Addr, miss string) {
		b := a.As16()
		for i := range 4 {
			p.add(bpf.LoadAbsolute{Off: off + uint32(4*i), Size: 4})
			p.jeq(uint32(b[4*i])<<24|uint32(b[4*i+1])<<16|uint32(b[4*i+2])<<8|uint32(b[4*i+3]), "", miss)
		}
	}
	p.add(bpf.LoadAbsolute{Off: offNext, Size: 1})
	p.jeq(uint32(f.proto), "flow", "")
	p.jeq(uint32(layers.IPProtocolICMPv6), "icmp", "drop")

	// oneWay: as in filterIPv4, over the fixed header.
	oneWay := func(remoteOff, localOff, first, second uint32, miss string) {
		addr(remoteOff, f.remote.Addr(), miss)
		if withLocal {
			addr(localOff, loc, miss)
		}
		p.add(bpf.LoadAbsolute{Off: transportAt, Size: 2})
		p.jeq(first, "", miss)
		p.add(bpf.LoadAbsolute{Off: transportAt + 2, Size: 2})
		p.jeq(second, "accept", miss)
	}
	p.label("flow")
	oneWay(offDst, offSrc, lp, rp, "in")
	p.label("in")
	oneWay(offSrc, offDst, rp, lp, "drop")

	p.label("icmp")
	if withLocal {
		addr(offDst, loc, "drop")
	}
	p.add(bpf.LoadAbsolute{Off: icmpAt, Size: 1})
	p.jeq(0, "drop", "")                                 // types 1-4 are errors
	p.add(bpf.JumpIf{Cond: bpf.JumpGreaterThan, Val: 4}) // resolved below
	p.jumpTargets("drop", "")
	p.add(bpf.LoadAbsolute{Off: quoteAt + offNext, Size: 1})
	p.jeq(uint32(f.proto), "", "drop")
	if withLocal {
		addr(quoteAt+offSrc, loc, "drop")
	}
	addr(quoteAt+offDst, f.remote.Addr(), "drop")
	p.add(bpf.LoadAbsolute{Off: quoteAt + transportAt, Size: 2})
	p.jeq(lp, "", "drop")
	p.add(bpf.LoadAbsolute{Off: quoteAt + transportAt + 2, Size: 2})
	p.jeq(rp, "accept", "drop")
}

// bpfAsm assembles a classic BPF program whose conditional jumps name labels ("" is the next
// instruction), so that a filter reads top to bottom without counting instructions.
type bpfAsm struct {
	ins    []bpf.Instruction
	labels map[string]int
	jumps  map[int][2]string // instruction index -> its true and false targets
}

func (p *bpfAsm) add(i bpf.Instruction) { p.ins = append(p.ins, i) }

func (p *bpfAsm) label(name string) {
	if p.labels == nil {
		p.labels = map[string]int{}
	}
	p.labels[name] = len(p.ins)
}

// jumpTargets names the targets of the conditional jump just added.
func (p *bpfAsm) jumpTargets(t, f string) {
	if p.jumps == nil {
		p.jumps = map[int][2]string{}
	}
	p.jumps[len(p.ins)-1] = [2]string{t, f}
}

func (p *bpfAsm) jeq(v uint32, t, f string) {
	p.add(bpf.JumpIf{Cond: bpf.JumpEqual, Val: v})
	p.jumpTargets(t, f)
}

func (p *bpfAsm) jset(v uint32, t, f string) {
	p.add(bpf.JumpIf{Cond: bpf.JumpBitsSet, Val: v})
	p.jumpTargets(t, f)
}

// assemble resolves the labels and checks the program with x/net/bpf's assembler.
func (p *bpfAsm) assemble() ([]bpf.RawInstruction, error) {
	skip := func(from int, to string) (uint8, error) {
		if to == "" {
			return 0, nil
		}
		at, ok := p.labels[to]
		d := at - from - 1
		if !ok || d < 0 || d > 255 {
			return 0, fmt.Errorf("capture filter: jump from %d to %q (at %d) out of range", from, to, at)
		}
		return uint8(d), nil
	}
	out := make([]bpf.Instruction, len(p.ins))
	copy(out, p.ins)
	for i, t := range p.jumps {
		j := out[i].(bpf.JumpIf)
		var err error
		if j.SkipTrue, err = skip(i, t[0]); err != nil {
			return nil, err
		}
		if j.SkipFalse, err = skip(i, t[1]); err != nil {
			return nil, err
		}
		out[i] = j
	}
	return bpf.Assemble(out)
}
