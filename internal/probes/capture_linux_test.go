//go:build linux

package probes

import (
	"net/netip"
	"testing"

	"github.com/google/gopacket/layers"
	"golang.org/x/net/bpf"
)

// TestFlowFilter runs the capture's BPF program in x/net/bpf's VM over the packets of a flow
// and of its neighbours: it passes the flow's own and the ICMP errors quoting them, nothing
// else, as belongs does.
func TestFlowFilter(t *testing.T) {
	run := func(t *testing.T, f flowTuple, pkt []byte) bool {
		t.Helper()
		raw, err := flowFilter(f)
		if err != nil {
			t.Fatal(err)
		}
		prog, ok := bpf.Disassemble(raw)
		if !ok {
			t.Fatal("the filter does not disassemble")
		}
		vm, err := bpf.NewVM(prog)
		if err != nil {
			t.Fatal(err)
		}
		n, err := vm.Run(pkt)
		if err != nil {
			t.Fatal(err)
		}
		return n > 0
	}
	for _, c := range flowCases(t) {
		if got := run(t, testFlow, c.pkt); got != (c.role != 0) {
			t.Errorf("%s: passed %v, want %v", c.name, got, c.role != 0)
		}
	}
	wild := testFlow
	wild.local = netip.AddrPortFrom(netip.IPv4Unspecified(), testLocal.Port())
	for _, c := range flowCases(t) {
		want := c.role != 0 || c.name == "another local host"
		if got := run(t, wild, c.pkt); got != want {
			t.Errorf("unspecified local, %s: passed %v, want %v", c.name, got, want)
		}
	}
	l, r := netip.MustParseAddrPort("[fd00::8]:41234"), netip.MustParseAddrPort("[fd00:1::4]:443")
	f6 := flowTuple{proto: layers.IPProtocolTCP, local: l, remote: r}
	syn := tcpPacket(t, l, r, 64, true, false, false)
	for _, c := range []struct {
		name string
		pkt  []byte
		want bool
	}{
		{"SYN", syn, true},
		{"reset", tcpPacket(t, r, l, 62, false, true, true), true},
		{"admin-prohibited", icmpErrorPacket(t, netip.MustParseAddr("fd00::1"), syn, 1, 1, 64), true},
		{"other local port", tcpPacket(t, r, netip.AddrPortFrom(l.Addr(), 1), 62, false, true, true), false},
		{"other host", tcpPacket(t, netip.MustParseAddrPort("[fd00:1::5]:443"), l, 62, false, true, true), false},
	} {
		if got := run(t, f6, c.pkt); got != c.want {
			t.Errorf("IPv6 %s: passed %v, want %v", c.name, got, c.want)
		}
	}
}
