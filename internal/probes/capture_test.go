package probes

import (
	"net"
	"net/netip"
	"testing"

	"github.com/google/gopacket"
	"github.com/google/gopacket/layers"
)

// Packets of a flow and of its neighbours, built with gopacket, for the capture's filter
// (capture_linux_test.go) and for belongs.

var (
	testLocal  = netip.MustParseAddrPort("10.10.0.8:41234")
	testRemote = netip.MustParseAddrPort("10.20.1.4:443")
	testFlow   = flowTuple{proto: layers.IPProtocolTCP, local: testLocal, remote: testRemote}
)

// tcpPacket is an IPv4 (or IPv6) TCP packet from src to dst with the given flags and TTL.
func tcpPacket(t testing.TB, src, dst netip.AddrPort, ttl uint8, syn, ack, rst bool) []byte {
	t.Helper()
	tcp := &layers.TCP{SrcPort: layers.TCPPort(src.Port()), DstPort: layers.TCPPort(dst.Port()), SYN: syn, ACK: ack, RST: rst, Window: 64240, Seq: 1000}
	return serialize(t, src.Addr(), dst.Addr(), ttl, layers.IPProtocolTCP, tcp)
}

func udpPacket(t testing.TB, src, dst netip.AddrPort, ttl uint8) []byte {
	t.Helper()
	udp := &layers.UDP{SrcPort: layers.UDPPort(src.Port()), DstPort: layers.UDPPort(dst.Port())}
	return serialize(t, src.Addr(), dst.Addr(), ttl, layers.IPProtocolUDP, udp, gopacket.Payload("netprobe"))
}

// icmpError is an ICMP error from router to the quoted packet's source, quoting it (IPv4
// header and its first 8 bytes, as RFC 792 asks).
func icmpErrorPacket(t testing.TB, router netip.Addr, quoted []byte, typ, code uint8, ttl uint8) []byte {
	t.Helper()
	q, _ := decodeIP(quoted)
	n := min(len(quoted), 28)
	if q.v6 {
		n = min(len(quoted), 48)
		m := &layers.ICMPv6{TypeCode: layers.CreateICMPv6TypeCode(typ, code)}
		return serialize(t, router, q.src, ttl, layers.IPProtocolICMPv6, m, gopacket.Payload(append(make([]byte, 4), quoted[:n]...)))
	}
	m := &layers.ICMPv4{TypeCode: layers.CreateICMPv4TypeCode(typ, code)}
	return serialize(t, router, q.src, ttl, layers.IPProtocolICMPv4, m, gopacket.Payload(quoted[:n]))
}

func serialize(t testing.TB, src, dst netip.Addr, ttl uint8, proto layers.IPProtocol, ls ...gopacket.SerializableLayer) []byte {
	t.Helper()
	var ip gopacket.NetworkLayer
	if src.Is4() {
		ip = &layers.IPv4{Version: 4, IHL: 5, TTL: ttl, Protocol: proto, SrcIP: net.IP(src.AsSlice()), DstIP: net.IP(dst.AsSlice()), Flags: layers.IPv4DontFragment, Id: 4242}
	} else {
		ip = &layers.IPv6{Version: 6, HopLimit: ttl, NextHeader: proto, SrcIP: net.IP(src.AsSlice()), DstIP: net.IP(dst.AsSlice())}
	}
	for _, l := range ls {
		switch l := l.(type) {
		case *layers.TCP:
			_ = l.SetNetworkLayerForChecksum(ip)
		case *layers.UDP:
			_ = l.SetNetworkLayerForChecksum(ip)
		case *layers.ICMPv6:
			_ = l.SetNetworkLayerForChecksum(ip)
		}
	}
	buf := gopacket.NewSerializeBuffer()
	all := append([]gopacket.SerializableLayer{ip.(gopacket.SerializableLayer)}, ls...)
	if err := gopacket.SerializeLayers(buf, gopacket.SerializeOptions{FixLengths: true, ComputeChecksums: true}, all...); err != nil {
		t.Fatal(err)
	}
	return buf.Bytes()
}

// flowCases are packets with whether they belong to testFlow.
func flowCases(t testing.TB) []struct {
	name string
	pkt  []byte
	role packetRole
} {
	other := netip.MustParseAddrPort("10.10.0.8:41235")
	otherPort := netip.MustParseAddrPort("10.20.1.4:444")
	router := netip.MustParseAddr("10.10.0.1")
	syn := tcpPacket(t, testLocal, testRemote, 64, true, false, false)
	return []struct {
		name string
		pkt  []byte
		role packetRole
	}{
		{"our SYN", syn, roleOut},
		{"the reset back", tcpPacket(t, testRemote, testLocal, 62, false, true, true), roleIn},
		{"the SYN-ACK back", tcpPacket(t, testRemote, testLocal, 62, true, true, false), roleIn},
		{"admin-prohibited quoting our SYN", icmpErrorPacket(t, router, syn, 3, 13, 64), roleICMP},
		{"time exceeded quoting our SYN", icmpErrorPacket(t, router, syn, 11, 0, 64), roleICMP},
		{"another local port", tcpPacket(t, other, testRemote, 64, true, false, false), 0},
		{"a reset to another local port", tcpPacket(t, testRemote, other, 62, false, true, true), 0},
		{"another remote port", tcpPacket(t, testLocal, otherPort, 64, true, false, false), 0},
		{"another remote host", tcpPacket(t, testLocal, netip.MustParseAddrPort("10.20.1.5:443"), 64, true, false, false), 0},
		{"another local host", tcpPacket(t, netip.MustParseAddrPort("10.10.0.9:41234"), testRemote, 64, true, false, false), 0},
		{"UDP on the same ports", udpPacket(t, testLocal, testRemote, 64), 0},
		{"admin-prohibited quoting another flow", icmpErrorPacket(t, router, tcpPacket(t, other, testRemote, 64, true, false, false), 3, 13, 64), 0},
		{"an echo reply", serialize(t, testRemote.Addr(), testLocal.Addr(), 62, layers.IPProtocolICMPv4, &layers.ICMPv4{TypeCode: layers.CreateICMPv4TypeCode(0, 0), Id: 41234}), 0},
	}
}

func TestFlowBelongs(t *testing.T) {
	for _, c := range flowCases(t) {
		t.Run(c.name, func(t *testing.T) {
			role, ok := testFlow.belongs(c.pkt)
			if ok != (c.role != 0) || role != c.role {
				t.Errorf("belongs = %v, %v; want role %v", role, ok, c.role)
			}
		})
	}
	t.Run("unspecified local address", func(t *testing.T) {
		f := testFlow
		f.local = netip.AddrPortFrom(netip.IPv4Unspecified(), testLocal.Port())
		for _, c := range flowCases(t) {
			want := c.role
			if c.name == "another local host" {
				want = roleOut // the port alone stands for the flow: the kernel holds it for us
			}
			if role, _ := f.belongs(c.pkt); role != want {
				t.Errorf("%s: role %v, want %v", c.name, role, want)
			}
		}
	})
	t.Run("IPv6", func(t *testing.T) {
		l, r := netip.MustParseAddrPort("[fd00::8]:41234"), netip.MustParseAddrPort("[fd00:1::4]:443")
		f := flowTuple{proto: layers.IPProtocolTCP, local: l, remote: r}
		syn := tcpPacket(t, l, r, 64, true, false, false)
		for _, c := range []struct {
			name string
			pkt  []byte
			want packetRole
		}{
			{"SYN", syn, roleOut},
			{"reset", tcpPacket(t, r, l, 62, false, true, true), roleIn},
			{"admin-prohibited", icmpErrorPacket(t, netip.MustParseAddr("fd00::1"), syn, 1, 1, 64), roleICMP},
			{"other port", tcpPacket(t, r, netip.AddrPortFrom(l.Addr(), 1), 62, false, true, true), 0},
		} {
			if role, _ := f.belongs(c.pkt); role != c.want {
				t.Errorf("%s: role %v, want %v", c.name, role, c.want)
			}
		}
	})
}

func TestCaptureBounds(t *testing.T) {
	var c Capture
	big := make([]byte, 1500)
	for range CaptureMaxPackets + 3 {
		c.keep(CapturedPacket{Data: big, Len: len(big)})
	}
	size := 0
	for _, p := range c.Packets {
		size += len(p.Data)
		if len(p.Data) > CaptureSnap {
			t.Fatalf("a packet of %d bytes kept, snap is %d", len(p.Data), CaptureSnap)
		}
	}
	if len(c.Packets) != CaptureMaxPackets || size > CaptureMaxBytes || c.Dropped != 3 {
		t.Errorf("kept %d packets, %d bytes, dropped %d; want %d, at most %d, 3", len(c.Packets), size, c.Dropped, CaptureMaxPackets, CaptureMaxBytes)
	}
}
