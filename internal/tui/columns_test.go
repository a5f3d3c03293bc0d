package tui

import (
	"strings"
	"testing"

	"github.com/charmbracelet/x/ansi"

	"github.com/netprobe/netprobe/internal/result"
)

// TestColumnsSayWhatMatters renders rows of the demo estate's kinds in the matrix at the
// width it has beside the pane on a 120-column screen (66) and at 80, and reads the columns.
func TestColumnsSayWhatMatters(t *testing.T) {
	rows := map[string]result.Result{
		"skip": {ID: "icmp/app01/cs01", Check: result.CheckICMP, Rule: "FB-VM-CS", Phase: "failback", From: "app01", To: "cs01", Proto: "icmp",
			Status: result.Skip, Message: "app01 -> cs01 icmp: no agent on app01: flows from it cannot be tested (add `agent:` to hosts.app01)"},
		"error": {ID: "port/sql01/cs01/20443/tcp", Check: result.CheckPort, Rule: "FB-VM-CS", Phase: "failback", From: "sql01", To: "cs01", Target: "127.0.1.4:20443", Proto: "tcp",
			Status: result.Error, Message: "sql01 -> cs01 20443/tcp: could not test: connection refused"},
		"route": {ID: "route/cs01/ps-az", Check: result.CheckRoute, Rule: "FB-ROUTE", Phase: "failback", From: "cs01", To: "ps-az",
			Status: result.Fail, Message: "cs01 routes to ps-az (127.0.2.4) out of lo from 127.0.0.1, not from its failback NIC 127.0.3.4",
			Metrics: map[string]any{"interface": "lo", "source_ip": "127.0.0.1", "expected_interface": "failback", "expected_source_ip": "127.0.3.4"}},
		"to": {ID: "port/cs01/vcenter01/20443/tcp", Check: result.CheckPort, Rule: "FB-CS-VC", Phase: "failback", From: "cs01", To: "vcenter01", Target: "127.0.1.2:20443", Proto: "tcp",
			Status: result.Fail, State: "closed", Reason: "reset", Metrics: map[string]any{"rtt_ms": 0.04}},
		"bandwidth": {ID: "bandwidth/ps-az/mt01/4", Check: result.CheckBandwidth, Rule: "FB-BANDWIDTH", Phase: "failback", From: "ps-az", To: "mt01",
			Status: result.Pass, Metrics: map[string]any{"mbps": 34604.04}},
	}
	tests := []struct {
		row, from, to string
		state, reason string // what the cells start with
	}{
		{row: "skip", from: "app01", to: "cs01", reason: "no agent"},
		{row: "error", from: "sql01", to: "cs01", reason: "could no"},
		{row: "route", from: "cs01", to: "ps-az", state: "lo 127.0.0.1", reason: "want fai"},
		{row: "to", from: "cs01", to: "vcenter01", state: "closed", reason: "reset"},
		{row: "bandwidth", from: "ps-az", to: "mt01", state: "34.6 Gbit/s"},
	}
	for _, w := range []int{66, 80, 200} {
		m := newMatrix()
		for _, r := range rows {
			m.upsert(r, true)
		}
		m.height = 20
		m.refresh()
		c := layoutColumns(w, m.fromW, m.toW)
		lines := strings.Split(ansi.Strip(m.view(w, 20, DefaultStyles(DefaultTheme(), true))), "\n")
		for _, tc := range tests {
			var l string
			for _, cand := range lines {
				if strings.Contains(cand, rows[tc.row].Status.String()) || strings.Contains(cand, strings.ToUpper(rows[tc.row].Status.String())) {
					if f := strings.Fields(strings.TrimPrefix(cand, "›")); len(f) > 2 && f[1] == tc.from && f[2] == tc.to {
						l = cand
					}
				}
			}
			if l == "" {
				t.Errorf("%d: no row %s -> %s (a host name cut?):\n%s", w, tc.from, tc.to, strings.Join(lines, "\n"))
				continue
			}
			col := func(start, width int) string { return strings.TrimSpace(ansi.Cut(l, start, start+width)) }
			stateAt := c.mark + c.status + 1 + c.from + 1 + c.to + 1 + c.port + 1
			reasonAt := stateAt + c.state + 1
			if got := col(stateAt, c.state); !strings.HasPrefix(got, tc.state) || (tc.state == "" && got != "") {
				t.Errorf("%d: %s STATE %q, want %q", w, tc.row, got, tc.state)
			}
			if got := col(reasonAt, c.reason); !strings.HasPrefix(got, tc.reason) || (tc.reason == "" && got != "") {
				t.Errorf("%d: %s REASON %q, want it to start with %q", w, tc.row, got, tc.reason)
			}
		}
	}
}

func TestLayoutColumnsGivesHostsWidthFirst(t *testing.T) {
	for _, tc := range []struct {
		w, fromW, toW    int
		from, to, reason int
	}{
		{w: 66, fromW: 5, toW: 9, from: 5, to: 9, reason: 9},       // the matrix beside the pane at 120 columns
		{w: 80, fromW: 7, toW: 9, from: 7, to: 9, reason: 21},      // the names are short: the reason gets the rest
		{w: 160, fromW: 30, toW: 30, from: 16, to: 16, reason: 85}, // long names stop at 16
		{w: 66, fromW: 16, toW: 16, from: 6, to: 9, reason: 8},     // the reason keeps its minimum; FROM gives way first
	} {
		c := layoutColumns(tc.w, tc.fromW, tc.toW)
		if c.from != tc.from || c.to != tc.to || c.reason != tc.reason {
			t.Errorf("layoutColumns(%d, %d, %d): from %d to %d reason %d, want %d %d %d", tc.w, tc.fromW, tc.toW, c.from, c.to, c.reason, tc.from, tc.to, tc.reason)
		}
	}
}
