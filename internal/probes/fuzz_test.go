package probes

import (
	"bytes"
	"net/netip"
	"testing"
)

// FuzzResponderWire: the responder wire format is read from whatever answers a probe, and a
// UDP echo answers whatever datagram arrives. Whatever the bytes: ParseHello never panics and
// what it accepts reads back the same after being written again; the echo's reply to any
// datagram is one datagram that starts with a hello naming the sender; and an ICMP message
// (from any router) never panics the echo parser.
func FuzzResponderWire(f *testing.F) {
	for _, s := range []string{
		"NETPROBE/1 10.0.0.1:4242\n", "NETPROBE/1 [fe80::1%eth0]:1\nrest", "NETPROBE/1 \n", "NETPROBE/1 10.0.0.1:4242",
		"NETPROBE-PMTU/1 abc\n" + string(bytes.Repeat([]byte("x"), 2000)), "NPL1\x00\x00\x00\x00", "",
		"\x00\x00\x00\x00\x00\x07\x00\x01netprobe", "\x03\x04\x00\x00\x05\xdc\x00\x00E\x00\x00\x1c\x00\x00\x00\x00\x40\x01\x00\x00\x0a\x00\x00\x01\x0a\x00\x00\x02\x08\x00\x00\x00\x00\x07\x00\x01",
	} {
		f.Add([]byte(s))
	}
	from := netip.MustParseAddrPort("192.0.2.7:40000")
	c := &echoConn{dst: netip.MustParseAddr("10.0.0.2"), id: 7, raw: true, nonce: [8]byte{'n', 'e', 't', 'p', 'r', 'o', 'b', 'e'}}
	f.Fuzz(func(t *testing.T, data []byte) {
		if obs, rest, ok := ParseHello(data); ok {
			again, rest2, ok2 := ParseHello(EchoReply(obs, rest))
			if !ok2 || again != obs || !bytes.Equal(rest2, rest) {
				t.Fatalf("hello %q read as %v %q, written and read again as %v %q", data, obs, rest, again, rest2)
			}
		}
		reply := echoPayload(data, from)
		if len(reply) > maxUDPPayload {
			t.Fatalf("echo reply of %d bytes, more than one datagram", len(reply))
		}
		if obs, _, ok := ParseHello(reply); !ok || obs != from {
			t.Fatalf("echo reply %.80q does not name the sender %v", reply, from)
		}
		for _, src := range []netip.Addr{c.dst, netip.MustParseAddr("10.9.9.9")} {
			if ev, ok := c.parse(data, src); ok && ev.Kind == 0 {
				t.Fatalf("an accepted ICMP message without a kind: %+v", ev)
			}
		}
	})
}
