//go:build linux

package probes

import (
	"encoding/binary"
	"testing"

	"golang.org/x/net/bpf"
)

// TestEchoFilter runs the raw socket's kernel filter in x/net/bpf's VM over crafted packets
// (IPv4 header with ihl 5 or 6, then ICMP): ours pass, everything else is dropped.
func TestEchoFilter(t *testing.T) {
	const ours, theirs = 0xbeef, 0x1234
	vm, err := bpf.NewVM(echoFilter(ours))
	if err != nil {
		t.Fatal(err)
	}
	ip := func(ihl int, icmp []byte) []byte {
		h := make([]byte, ihl*4)
		h[0] = 0x40 | byte(ihl)
		h[9] = 1
		return append(h, icmp...)
	}
	echo := func(typ byte, id uint16) []byte {
		b := make([]byte, 16)
		b[0] = typ
		binary.BigEndian.PutUint16(b[4:], id)
		return b
	}
	quoting := func(typ, code byte, id uint16) []byte {
		b := make([]byte, 8)
		b[0], b[1] = typ, code
		return append(b, ip(5, echo(8, id))...)
	}
	for _, c := range []struct {
		name string
		pkt  []byte
		pass bool
	}{
		{"our echo reply", ip(5, echo(0, ours)), true},
		{"our echo reply, IP options", ip(6, echo(0, ours)), true},
		{"another's echo reply", ip(5, echo(0, theirs)), false},
		{"an echo request", ip(5, echo(8, ours)), false},
		{"time exceeded quoting ours", ip(5, quoting(11, 0, ours)), true},
		{"frag-needed quoting ours", ip(5, quoting(3, 4, ours)), true},
		{"admin-prohibited quoting ours", ip(5, quoting(3, 13, ours)), true},
		{"frag-needed quoting another's", ip(5, quoting(3, 4, theirs)), false},
		{"a redirect", ip(5, quoting(5, 1, ours)), false},
		{"truncated", ip(5, []byte{0}), false},
	} {
		n, err := vm.Run(c.pkt)
		if err != nil {
			t.Fatalf("%s: %v", c.name, err)
		}
		if got := n > 0; got != c.pass {
			t.Errorf("%s: passed=%v, want %v", c.name, got, c.pass)
		}
	}
}
