package probes

import (
	"net/netip"
	"strings"
	"testing"

	"github.com/google/gopacket/layers"
)

// TestJudgeAnswer: who sent a reset or an ICMP error, from its TTL, the host's own answers
// and the traceroute. The path is the failback lab's: 10.10.0.1, 172.31.255.2, then the host
// 10.20.1.4, whose Linux stack answers with TTL 62 (64 less two routers).
func TestJudgeAnswer(t *testing.T) {
	a := netip.MustParseAddr
	host := a("10.20.1.4")
	path := []netip.Addr{a("10.10.0.1"), a("172.31.255.2"), host}
	synack := hostTTL{ttl: 62, from: "syn-ack from port 7411", proto: layers.IPProtocolTCP}
	echo := hostTTL{ttl: 62, from: "echo-reply", proto: layers.IPProtocolICMPv4}
	reset := func(ttl int) answerFacts {
		return answerFacts{kind: answerReset, dst: host, sender: host, ttl: ttl, proto: layers.IPProtocolTCP,
			hosts: []hostTTL{echo, synack}, path: path, reached: true}
	}
	icmpFrom := func(from netip.Addr, ttl int) answerFacts {
		f := reset(ttl)
		f.kind, f.sender, f.proto, f.icmpType, f.code = answerICMP, from, layers.IPProtocolICMPv4, 3, 13
		return f
	}
	with := func(f answerFacts, change func(*answerFacts)) answerFacts { change(&f); return f }
	cases := []struct {
		name   string
		facts  answerFacts
		from   AnswerFrom
		hops   int
		device string
		detail string
	}{
		{"the first router forges the reset", reset(64), AnswerDevice, 1, "10.10.0.1", "sent by 10.10.0.1, 2 hop(s) before the host (TTL 64 where the host's own answers arrive with 62"},
		{"the second router forges it", reset(63), AnswerDevice, 2, "172.31.255.2", "1 hop(s) before the host"},
		{"the host resets", reset(62), AnswerHost, 3, "", "sent by the host itself"},
		{"a Windows host behind a Linux firewall", with(reset(64), func(f *answerFacts) {
			f.hosts = []hostTTL{{ttl: 126, from: "syn-ack from port 7411", proto: layers.IPProtocolTCP}}
		}), AnswerDevice, 1, "10.10.0.1", "TTL 64 where the host's own answers arrive with 126"},
		{"a Windows host resets", with(reset(126), func(f *answerFacts) {
			f.hosts = []hostTTL{{ttl: 126, from: "syn-ack from port 7411", proto: layers.IPProtocolTCP}}
		}), AnswerHost, 3, "", "sent by the host itself"},
		{"no answer of the host to compare with", with(reset(64), func(f *answerFacts) { f.hosts, f.why = nil, "echo blocked" }),
			AnswerUnknown, 0, "", "no answer of the host itself to compare its TTL with (echo blocked)"},
		{"the host's answers come from the reset's distance, no traceroute", with(reset(62), func(f *answerFacts) { f.path, f.reached = nil, false }),
			AnswerUnknown, 0, "", "no traceroute reached the host"},
		{"a device forges, no traceroute: not named", with(reset(64), func(f *answerFacts) { f.path, f.reached = nil, false }),
			AnswerDevice, 1, "", "not named"},
		{"a silent hop at the device's distance", with(reset(64), func(f *answerFacts) { f.path = []netip.Addr{{}, path[1], host} }),
			AnswerDevice, 1, "", "that hop did not answer the traceroute"},
		// A device that rewrites TTLs (sets 64 on everything it forwards) and forges resets:
		// its reset and the host's answers look alike, but the traceroute counts 3 hops.
		{"TTLs rewritten on the way back", with(reset(64), func(f *answerFacts) {
			f.hosts = []hostTTL{{ttl: 64, from: "syn-ack from port 7411", proto: layers.IPProtocolTCP}}
		}), AnswerUnknown, 0, "", "the traceroute reached it at hop 3"},
		{"the host's answers disagree", with(reset(64), func(f *answerFacts) {
			f.hosts = []hostTTL{echo, {ttl: 64, from: "syn-ack from port 7411", proto: layers.IPProtocolTCP}}
		}), AnswerUnknown, 0, "", "disagree"},
		{"the reset crossed more routers than the host's answers", reset(61), AnswerUnknown, 0, "", "more than the host's own answers"},
		{"the host's distance, another initial TTL", with(reset(253), func(f *answerFacts) {
			f.hosts = []hostTTL{synack}
		}), AnswerUnknown, 0, "", "cannot tell"},
		{"a TTL no usual stack starts from", reset(20), AnswerUnknown, 0, "", "fits no usual initial TTL"},
		{"admin-prohibited from the first router", icmpFrom(a("10.10.0.1"), 64), AnswerDevice, 1, "10.10.0.1", "sent by 10.10.0.1, hop 1, 2 hop(s) before the host"},
		{"admin-prohibited from a Cisco at hop 2, no echo", with(icmpFrom(a("172.31.255.2"), 254), func(f *answerFacts) { f.hosts = nil }),
			AnswerDevice, 2, "172.31.255.2", "hop 2"},
		{"admin-prohibited from the host's own firewall", icmpFrom(host, 62), AnswerHost, 3, "", "sent by the host itself"},
		{"admin-prohibited forged with the host's address", icmpFrom(host, 64), AnswerDevice, 1, "10.10.0.1", "a firewall forges it"},
		{"ICMP from an address off the path at the host's distance", icmpFrom(a("10.20.1.99"), 62), AnswerUnknown, 0, "", "another address of the host"},
		{"ICMP from an address off the path, nearer than the host", icmpFrom(a("10.99.0.1"), 63), AnswerDevice, 2, "10.99.0.1", "hop 2"},
		// Solaris starts ICMP at 255 and TCP at 64: an ICMP error from the host against its
		// SYN-ACK differs in initial TTL, not in distance.
		{"the host's ICMP starts from another TTL than its TCP", with(icmpFrom(host, 253), func(f *answerFacts) { f.hosts = []hostTTL{synack} }),
			AnswerHost, 3, "", "sent by the host itself"},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			got := judgeAnswer(c.facts)
			if got.From != c.from || got.Hops != c.hops || got.Device != c.device || !strings.Contains(got.Detail, c.detail) {
				t.Errorf("got %v hops %d device %q: %s\nwant %v hops %d device %q, detail with %q", got.From, got.Hops, got.Device, got.Detail, c.from, c.hops, c.device, c.detail)
			}
			if got.From == AnswerUnknown && !strings.Contains(got.Detail, "cannot tell") {
				t.Errorf("an unknown verdict must say it cannot tell: %s", got.Detail)
			}
		})
	}
}

func TestTTLHops(t *testing.T) {
	for _, c := range []struct {
		ttl, routers, init int
		ok                 bool
	}{
		{64, 0, 64, true}, {62, 2, 64, true}, {34, 30, 64, true}, {33, 31, 64, false},
		{128, 0, 128, true}, {126, 2, 128, true}, {97, 31, 128, false}, {65, 63, 128, false},
		{255, 0, 255, true}, {250, 5, 255, true}, {200, 55, 255, false}, {0, 0, 0, false},
	} {
		r, init, ok := ttlHops(c.ttl)
		if ok != c.ok || (ok && (r != c.routers || init != c.init)) {
			t.Errorf("ttlHops(%d) = %d, %d, %v; want %d, %d, %v", c.ttl, r, init, ok, c.routers, c.init, c.ok)
		}
	}
}
