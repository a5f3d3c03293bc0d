package probes

import (
	"net/netip"
	"testing"
	"time"
)

// TestIfaceTable: the table is read once and kept for ifaceTableTTL; an address it lacks is
// looked for again once the table is ifaceMissTTL old, never on every lookup.
func TestIfaceTable(t *testing.T) {
	a, b := netip.MustParseAddr("10.0.0.1"), netip.MustParseAddr("10.0.0.2")
	reads := 0
	tables := []map[netip.Addr]string{{a: "eth0"}, {a: "eth0", b: "eth1"}, {a: "eth9", b: "eth1"}}
	tb := ifaceTables{load: func() map[netip.Addr]string { reads++; return tables[min(reads, len(tables))-1] }}
	t0 := time.Unix(1000, 0)
	steps := []struct {
		at    time.Duration
		ip    netip.Addr
		want  string
		reads int
	}{
		{0, a, "eth0", 1},
		{100 * time.Millisecond, a, "eth0", 1},                          // kept
		{200 * time.Millisecond, b, "", 1},                              // missing, but the table is fresh
		{ifaceMissTTL, b, "eth1", 2},                                    // missing and a second old: read again
		{ifaceMissTTL + ifaceTableTTL - time.Millisecond, a, "eth0", 2}, // kept
		{2*ifaceMissTTL + ifaceTableTTL, a, "eth9", 3},                  // expired
	}
	for i, s := range steps {
		if got := tb.lookup(1, s.ip, t0.Add(s.at)); got != s.want || reads != s.reads {
			t.Errorf("step %d: lookup(%s) = %q after %d reads, want %q after %d", i, s.ip, got, reads, s.want, s.reads)
		}
	}
	// Another namespace has a table of its own.
	if got := tb.lookup(2, b, t0.Add(2*ifaceMissTTL+ifaceTableTTL)); got != "eth1" || reads != 4 {
		t.Errorf("another namespace: %q after %d reads, want eth1 after 4", got, reads)
	}
}

// TestInterfaceByIPLoopback: the real table names the loopback interface.
func TestInterfaceByIPLoopback(t *testing.T) {
	if got := readInterfaces()[netip.MustParseAddr("127.0.0.1")]; got == "" {
		t.Skip("no interface holds 127.0.0.1 here")
	}
	if interfaceByIP(netip.MustParseAddr("127.0.0.1")) == "" {
		t.Error("interfaceByIP(127.0.0.1) is empty while the table has it")
	}
}
