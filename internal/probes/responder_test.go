package probes

import (
	"net/netip"
	"testing"
)

func TestHelloRoundTrip(t *testing.T) {
	for _, s := range []string{"10.10.5.10:40000", "[::1]:9443"} {
		ap := netip.MustParseAddrPort(s)
		got, rest, ok := ParseHello(EchoReply(ap, []byte("payload")))
		if !ok || got != ap || string(rest) != "payload" {
			t.Errorf("ParseHello(EchoReply(%s)) = %v %q %v", s, got, rest, ok)
		}
	}
	for _, bad := range []string{"", "NETPROBE/1 ", "NETPROBE/1 nonsense\n", "HTTP/1.1 200 OK\r\n", "NETPROBE/1 1.2.3.4:5"} {
		if _, _, ok := ParseHello([]byte(bad)); ok {
			t.Errorf("ParseHello(%q) accepted", bad)
		}
	}
}

func TestEnumText(t *testing.T) {
	for s := Open; s <= Unreachable; s++ {
		b, err := s.MarshalText()
		if err != nil {
			t.Fatal(err)
		}
		var back PortState
		if err := back.UnmarshalText(b); err != nil || back != s {
			t.Errorf("%v round trip: %v %v", s, back, err)
		}
	}
	if _, err := PortState(0).MarshalText(); err == nil {
		t.Error("unset state marshalled")
	}
	for r := SynAck; r <= UDPResponse; r++ {
		if b, err := r.MarshalText(); err != nil || len(b) == 0 {
			t.Errorf("reason %d has no name", int(r))
		}
	}
}
