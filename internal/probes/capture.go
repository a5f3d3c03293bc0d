package probes

import (
	"fmt"
	"net/netip"
	"time"

	"github.com/google/gopacket"
	"github.com/google/gopacket/layers"
)

// Capture is the packets of one probe's own flow as the prober's kernel saw them, both ways,
// with the ICMP errors that quote the flow: the evidence a firewall team opens in Wireshark.
// Packets start at the IP header (pcap's LINKTYPE_RAW). A capture holds nothing else: a
// kernel filter on the flow's 5-tuple chooses the packets, and each one is checked again
// here (belongs) before it is kept.
type Capture struct {
	// Flow names the 5-tuple in tcpdump's words: "tcp 10.10.0.8.41234 > 10.20.1.4.443".
	Flow    string           `json:"flow"`
	Packets []CapturedPacket `json:"packets"`
	// Dropped counts packets of the flow left out past the bounds (CaptureMaxPackets,
	// CaptureMaxBytes).
	Dropped int `json:"dropped,omitempty"`
}

// CapturedPacket is one packet of a Capture.
type CapturedPacket struct {
	// At is the kernel's time stamp of the packet.
	At time.Time `json:"at"`
	// Data is the packet from its IP header on, at most CaptureSnap bytes.
	Data []byte `json:"data"`
	// Len is the packet's length on the wire (more than len(Data) when cut at CaptureSnap).
	Len int `json:"len"`
	// Iface is the interface the packet crossed.
	Iface string `json:"iface,omitempty"`
}

// Capture bounds, so that evidence stays a few KB per check on the control channel and in
// the coordinator's memory (a thousand failing checks hold at most 4 MB of packets):
//   - CaptureSnap: 256 bytes hold every header an answer carries: an ICMP error's outer IPv4
//     or IPv6 header (20-60 / 40), its 8-byte ICMP header and the quoted IP and TCP headers
//     with options (up to 60 + 60); the payload beyond says nothing about who answered.
//   - CaptureMaxPackets: a TCP probe sends a SYN and Linux's retries (1, 3, 7, 15 s: five
//     within the agent's 30 s probe cap), a UDP probe three datagrams; each draws at most one
//     answer. 16 holds all of them with room for a stray retransmission.
//   - CaptureMaxBytes: 16 packets of 256 bytes.
const (
	CaptureSnap       = 256
	CaptureMaxPackets = 16
	CaptureMaxBytes   = CaptureMaxPackets * CaptureSnap
)

// flowTuple is a probe's 5-tuple. Local's address may be unspecified when the kernel chooses
// it at connect; the bound local port alone then stands for it (no other socket of the host
// can hold that port for the same protocol).
type flowTuple struct {
	proto         layers.IPProtocol // TCP or UDP
	local, remote netip.AddrPort
}

func (f flowTuple) String() string {
	name := "tcp"
	if f.proto == layers.IPProtocolUDP {
		name = "udp"
	}
	return fmt.Sprintf("%s %s.%d > %s.%d", name, f.local.Addr(), f.local.Port(), f.remote.Addr(), f.remote.Port())
}

// localMatches: a packet's local address is the flow's (any, when the flow's is unspecified).
func (f flowTuple) localMatches(a netip.Addr) bool {
	return !f.local.Addr().IsValid() || f.local.Addr().IsUnspecified() || a.Unmap() == f.local.Addr().Unmap()
}

// ports reads the source and destination ports at the start of a TCP or UDP header, which
// an ICMP error quotes even when it quotes only 8 bytes of it.
func ports(b []byte) (src, dst uint16, ok bool) {
	if len(b) < 4 {
		return 0, 0, false
	}
	return uint16(b[0])<<8 | uint16(b[1]), uint16(b[2])<<8 | uint16(b[3]), true
}

// ipHeader is the part of an IPv4 or IPv6 header a capture reads.
type ipHeader struct {
	v6       bool
	src, dst netip.Addr
	proto    layers.IPProtocol
	ttl      uint8
	id       uint16 // IPv4 only
	frag     bool   // a fragment after the first: no transport header
	payload  []byte
}

// decodeIP decodes an IP header with gopacket's layers; ok is false when b is neither IPv4
// nor IPv6 or too short to say. A truncated payload (an ICMP error quotes only the start of
// the packet it refuses) is kept as far as it goes.
func decodeIP(b []byte) (ipHeader, bool) {
	if len(b) < 1 {
		return ipHeader{}, false
	}
	switch b[0] >> 4 {
	case 4:
		var ip layers.IPv4
		if err := ip.DecodeFromBytes(b, gopacket.NilDecodeFeedback); err != nil {
			return ipHeader{}, false
		}
		src, _ := netip.AddrFromSlice(ip.SrcIP)
		dst, _ := netip.AddrFromSlice(ip.DstIP)
		return ipHeader{src: src, dst: dst, proto: ip.Protocol, ttl: ip.TTL, id: ip.Id, frag: ip.FragOffset != 0, payload: ip.Payload}, true
	case 6:
		var ip layers.IPv6
		if len(b) < 40 {
			return ipHeader{}, false
		}
		if err := ip.DecodeFromBytes(b, gopacket.NilDecodeFeedback); err != nil {
			// A quoted IPv6 packet is cut short of its payload length: read the fixed header.
			src, _ := netip.AddrFromSlice(b[8:24])
			dst, _ := netip.AddrFromSlice(b[24:40])
			return ipHeader{v6: true, src: src, dst: dst, proto: layers.IPProtocol(b[6]), ttl: b[7], payload: b[40:]}, true
		}
		src, _ := netip.AddrFromSlice(ip.SrcIP)
		dst, _ := netip.AddrFromSlice(ip.DstIP)
		return ipHeader{v6: true, src: src, dst: dst, proto: ip.NextHeader, ttl: ip.HopLimit, payload: ip.Payload}, true
	}
	return ipHeader{}, false
}

// packetRole is how a packet relates to a flow.
type packetRole int

const (
	roleOut  packetRole = iota + 1 // sent by the prober
	roleIn                         // came back on the flow (SYN-ACK, RST, a datagram)
	roleICMP                       // an ICMP error quoting a packet of the flow
)

// belongs says whether a captured packet is the flow's, and how. It is the capture filter's
// rule decoded in Go, so that a packet the kernel let through by mistake is still left out.
func (f flowTuple) belongs(b []byte) (packetRole, bool) {
	ip, ok := decodeIP(b)
	if !ok {
		return 0, false
	}
	switch {
	case ip.proto == f.proto && !ip.frag:
		sp, dp, ok := ports(ip.payload)
		if !ok {
			return 0, false
		}
		if ip.dst.Unmap() == f.remote.Addr().Unmap() && f.localMatches(ip.src) && sp == f.local.Port() && dp == f.remote.Port() {
			return roleOut, true
		}
		if ip.src.Unmap() == f.remote.Addr().Unmap() && f.localMatches(ip.dst) && sp == f.remote.Port() && dp == f.local.Port() {
			return roleIn, true
		}
	case (ip.proto == layers.IPProtocolICMPv4 && !ip.v6) || (ip.proto == layers.IPProtocolICMPv6 && ip.v6):
		if _, ok := f.quotedBy(ip); ok && f.localMatches(ip.dst) {
			return roleICMP, true
		}
	}
	return 0, false
}

// icmpQuote is an ICMP error as a capture reads it.
type icmpQuote struct {
	typ, code uint8
	quoted    ipHeader // the header of our packet the error quotes
}

// quotedBy decodes an ICMP error carried by ip and reports whether it quotes a packet of the
// flow (destination unreachable, packet too big, time exceeded, parameter problem).
func (f flowTuple) quotedBy(ip ipHeader) (icmpQuote, bool) {
	if len(ip.payload) < 8 {
		return icmpQuote{}, false
	}
	var q icmpQuote
	if ip.v6 {
		var m layers.ICMPv6
		if err := m.DecodeFromBytes(ip.payload, gopacket.NilDecodeFeedback); err != nil {
			return icmpQuote{}, false
		}
		q.typ, q.code = m.TypeCode.Type(), m.TypeCode.Code()
		if q.typ < 1 || q.typ > 4 {
			return icmpQuote{}, false
		}
	} else {
		var m layers.ICMPv4
		if err := m.DecodeFromBytes(ip.payload, gopacket.NilDecodeFeedback); err != nil {
			return icmpQuote{}, false
		}
		q.typ, q.code = m.TypeCode.Type(), m.TypeCode.Code()
		if q.typ != 3 && q.typ != 11 && q.typ != 12 {
			return icmpQuote{}, false
		}
	}
	quoted, ok := decodeIP(ip.payload[8:])
	if !ok || quoted.proto != f.proto || quoted.frag || quoted.v6 != ip.v6 {
		return icmpQuote{}, false
	}
	sp, dp, ok := ports(quoted.payload)
	if !ok || quoted.dst.Unmap() != f.remote.Addr().Unmap() || !f.localMatches(quoted.src) || sp != f.local.Port() || dp != f.remote.Port() {
		return icmpQuote{}, false
	}
	q.quoted = quoted
	return q, true
}

// keep adds a packet to the capture within the bounds; false when it was left out.
func (c *Capture) keep(p CapturedPacket) bool {
	if len(p.Data) > CaptureSnap {
		p.Data = p.Data[:CaptureSnap]
	}
	size := 0
	for _, q := range c.Packets {
		size += len(q.Data)
	}
	if len(c.Packets) >= CaptureMaxPackets || size+len(p.Data) > CaptureMaxBytes {
		c.Dropped++
		return false
	}
	c.Packets = append(c.Packets, p)
	return true
}
