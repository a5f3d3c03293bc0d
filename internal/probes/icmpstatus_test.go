package probes

import (
	"net/netip"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
)

func TestClassifyIPStatus(t *testing.T) {
	cases := []struct {
		name   string
		status uint32
		want   ipStatusOutcome
	}{
		{"IP_SUCCESS", 0, ipStatusOutcome{Kind: echoReply}},
		{"IP_REQ_TIMED_OUT is a loss", 11010, ipStatusOutcome{Lost: true}},
		{"IP_DEST_NET_UNREACHABLE", 11002, ipStatusOutcome{Kind: echoUnreachable, Code: 0}},
		{"IP_DEST_HOST_UNREACHABLE", 11003, ipStatusOutcome{Kind: echoUnreachable, Code: 1}},
		{"IP_DEST_PROT_UNREACHABLE", 11004, ipStatusOutcome{Kind: echoUnreachable, Code: 2}},
		{"IP_DEST_PORT_UNREACHABLE", 11005, ipStatusOutcome{Kind: echoUnreachable, Code: 3}},
		{"IP_BAD_ROUTE", 11012, ipStatusOutcome{Kind: echoUnreachable, Code: 0}},
		{"IP_TTL_EXPIRED_TRANSIT", 11013, ipStatusOutcome{Kind: echoTimeExceeded}},
		{"IP_TTL_EXPIRED_REASSEM", 11014, ipStatusOutcome{Kind: echoTimeExceeded}},
		{"IP_PACKET_TOO_BIG", 11009, ipStatusOutcome{Kind: echoFragNeeded}},
		{"IP_BUF_TOO_SMALL", 11001, ipStatusOutcome{Failure: "reply buffer too small"}},
		{"IP_GENERAL_FAILURE", 11050, ipStatusOutcome{Failure: "general failure (no route, or a destination this host cannot ping)"}},
		{"unknown status", 11099, ipStatusOutcome{Failure: "IP status 11099"}},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			if d := cmp.Diff(tc.want, classifyIPStatus(tc.status)); d != "" {
				t.Errorf("classifyIPStatus(%d) (-want +got):\n%s", tc.status, d)
			}
		})
	}
}

func TestIsIPStatus(t *testing.T) {
	for code, want := range map[uint32]bool{11010: true, 11050: true, 11001: true, 11000: false, 5: false, 1231: false, 12000: false} {
		if got := isIPStatus(code); got != want {
			t.Errorf("isIPStatus(%d) = %v, want %v", code, got, want)
		}
	}
}

func TestParseEchoReply(t *testing.T) {
	// An ICMP_ECHO_REPLY as IcmpSendEcho2 writes it on little-endian Windows: a router
	// 10.0.0.1 answering TTL expired after 3 ms.
	b := []byte{10, 0, 0, 1, 0x05, 0x2b, 0, 0, 3, 0, 0, 0, 0, 0, 0, 0}
	from, status, rtt, ok := parseEchoReply(b)
	if !ok || from != netip.MustParseAddr("10.0.0.1") || status != 11013 || rtt != 3 {
		t.Errorf("parseEchoReply = %s, %d, %d, %v; want 10.0.0.1, 11013, 3, true", from, status, rtt, ok)
	}
	if _, _, _, ok := parseEchoReply(b[:11]); ok {
		t.Error("a short buffer parsed")
	}
}

func TestIPAddrValue(t *testing.T) {
	// IPAddr holds the address in network order: 10.20.1.4 is 0x0401140a as a little-endian ULONG.
	if got := ipAddrValue(netip.MustParseAddr("10.20.1.4")); got != 0x0401140a {
		t.Errorf("ipAddrValue = %#x, want 0x0401140a", got)
	}
}

func TestEchoTally(t *testing.T) {
	router := netip.MustParseAddr("10.0.0.1")
	tl := newEchoTally("10.20.1.4", "iphlpapi", 4)
	tl.res.Sent = 4
	tl.add(1, classifyIPStatus(0), netip.MustParseAddr("10.20.1.4"), 30*time.Millisecond)
	tl.add(0, classifyIPStatus(0), netip.MustParseAddr("10.20.1.4"), 10*time.Millisecond)
	tl.add(0, classifyIPStatus(0), netip.MustParseAddr("10.20.1.4"), 99*time.Millisecond) // duplicate: ignored
	tl.add(2, classifyIPStatus(11003), router, 0)
	tl.add(3, classifyIPStatus(11010), netip.Addr{}, 0)
	if tl.done != 4 {
		t.Errorf("done %d, want 4", tl.done)
	}
	res := tl.result(4)
	if res.Received != 2 || res.Loss != 0.5 || res.Min != 10*time.Millisecond || res.Max != 30*time.Millisecond || res.Avg != 20*time.Millisecond {
		t.Errorf("result %+v: want 2 replies, loss 0.5, rtt 10/20/30 ms", res)
	}
	if d := cmp.Diff([]time.Duration{10 * time.Millisecond, 30 * time.Millisecond}, res.RTTs); d != "" {
		t.Errorf("RTTs in the order sent (-want +got):\n%s", d)
	}
	if len(res.Errors) != 1 || !strings.HasPrefix(res.Errors[0], "1x ") || !strings.HasSuffix(res.Errors[0], " from 10.0.0.1") {
		t.Errorf("errors %q: want one unreachable from the router", res.Errors)
	}
	if res.Method != "iphlpapi" || res.Detail != "2/4 replies" {
		t.Errorf("method %q detail %q", res.Method, res.Detail)
	}
}

func TestSockaddrInet(t *testing.T) {
	cases := []struct {
		name   string
		ip     string
		family uint16
		at     int
	}{
		{"ipv4", "10.20.1.4", winAFInet, 4},
		{"ipv6", "fd00:1::4", winAFInet6, 8},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			ip := netip.MustParseAddr(tc.ip)
			b := sockaddrInetBytes(ip)
			if fam := uint16(b[0]) | uint16(b[1])<<8; fam != tc.family {
				t.Errorf("family %d, want %d", fam, tc.family)
			}
			if got, _ := netip.AddrFromSlice(b[tc.at : tc.at+ip.BitLen()/8]); got != ip {
				t.Errorf("address bytes at offset %d: %v", tc.at, b)
			}
			if got, ok := addrFromSockaddrInet(&b); !ok || got != ip {
				t.Errorf("round trip = %s, %v; want %s", got, ok, ip)
			}
		})
	}
	var unknown [sockaddrInetSize]byte
	unknown[0] = 10 // Linux's AF_INET6 is not Windows'
	if _, ok := addrFromSockaddrInet(&unknown); ok {
		t.Error("an unknown family converted")
	}
}
