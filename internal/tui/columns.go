package tui

import (
	"fmt"
	"strings"

	"charm.land/lipgloss/v2"
	"github.com/charmbracelet/x/ansi"

	"github.com/netprobe/netprobe/internal/result"
)

// columns are the widths of the matrix's columns for a given total width.
type columns struct{ mark, status, from, to, port, state, reason, rtt int }

// Host columns are as wide as the widest name shown, within these bounds, and REASON gets
// what they leave: a cut host name hides which flow a row is, a cut reason is in the detail
// pane. Only when REASON would drop below its minimum does FROM, then TO, give way, to no
// less than the fixed share they had before they were sized to their names.
const (
	hostColMin, hostColMax = 4, 16
	reasonColMin           = 8
)

// layoutColumns sizes the columns for width w and the widest FROM and TO names.
func layoutColumns(w, fromW, toW int) columns {
	c := columns{mark: 2, status: 5, port: 9, state: 13, rtt: 8}
	rest := w - (c.mark + c.status + c.port + c.state + c.rtt + 6)
	if rest < 18 {
		c.state = 9
		rest += 4
	}
	rest = max(rest, 12)
	share := min(rest*3/10, hostColMax) // what each host column got before it was sized to its names
	c.to = min(max(toW, hostColMin), hostColMax)
	c.from = min(max(fromW, hostColMin), hostColMax)
	// The message gives way to the names: REASON shrinks to its minimum before FROM does,
	// and FROM before TO, but neither below its old share.
	if over := c.from + c.to + reasonColMin - rest; over > 0 {
		c.from -= min(over, max(0, c.from-share))
	}
	if over := c.from + c.to + reasonColMin - rest; over > 0 {
		c.to -= min(over, max(0, c.to-share))
	}
	c.reason = max(0, rest-c.from-c.to)
	return c
}

func cell(s string, w int) string {
	s = ansi.Truncate(s, w, "…")
	return s + strings.Repeat(" ", max(0, w-lipgloss.Width(s)))
}

func rcell(s string, w int) string {
	s = ansi.Truncate(s, w, "…")
	return strings.Repeat(" ", max(0, w-lipgloss.Width(s))) + s
}

// portCell is "443/tcp" for port checks and the check kind otherwise.
func portCell(r result.Result) string {
	if r.Check == result.CheckPort || r.Check == "" {
		if i := strings.LastIndexByte(r.Target, ':'); i >= 0 && r.Proto != "" {
			return r.Target[i+1:] + "/" + r.Proto
		}
	}
	if r.Check == "" {
		return r.Proto
	}
	if r.Check == result.CheckBandwidth {
		// Single- and multi-stream tests of one pair differ only by their stream count,
		// the last element of the ID.
		if i := strings.LastIndexByte(r.ID, '/'); i >= 0 {
			if n := r.ID[i+1:]; n != "" && strings.Trim(n, "0123456789") == "" {
				return "bw ×" + n
			}
		}
	}
	return string(r.Check)
}

// stateCell is the port state, or the measurement that stands in for it for other kinds.
func stateCell(r result.Result) string {
	if r.State != "" {
		return r.State
	}
	switch r.Check {
	case result.CheckLatency:
		if v, ok := r.Metrics.Float(result.MetricP95MS); ok {
			return "p95 " + fmtMS(v)
		}
	case result.CheckBandwidth:
		if v, ok := r.Metrics.Float(result.MetricMbps); ok {
			return BitsPerSecond(v * 1e6).String()
		}
	case result.CheckRoute:
		// The interface and source address the OS chose: what the route check compares.
		iface, _ := r.Metrics[result.MetricInterface].(string)
		src, _ := r.Metrics[result.MetricSourceIP].(string)
		return strings.TrimSpace(iface + " " + src)
	case result.CheckPMTU:
		if v, ok := r.Metrics.Float(result.MetricMTU); ok {
			return fmt.Sprintf("mtu %.0f", v)
		}
	}
	return ""
}

// fmtMS writes milliseconds with three significant digits and their unit: "0.80 ms",
// "23.1 ms", "412 ms", "1.02 s".
func fmtMS(v float64) string {
	switch {
	case v >= 1000:
		return fmt.Sprintf("%.2f s", v/1000)
	case v >= 100:
		return fmt.Sprintf("%.0f ms", v)
	case v >= 10:
		return fmt.Sprintf("%.1f ms", v)
	}
	return fmt.Sprintf("%.2f ms", v)
}

// reasonCell is the port reason; for a route, the NIC and address the topology expects;
// for an error or a skip, why (its message without the "from -> to port: " that the row's
// other columns already say).
func reasonCell(r *row) string {
	res := r.res
	if res.Reason != "" {
		return res.Reason
	}
	if res.Check == result.CheckRoute {
		iface, _ := res.Metrics[result.MetricExpectedInterface].(string)
		src, _ := res.Metrics[result.MetricExpectedSourceIP].(string)
		if want := strings.TrimSpace(iface + " " + src); want != "" {
			return "want " + want
		}
	}
	if r.done && (res.Status == result.Error || res.Status == result.Skip) {
		msg := res.Message
		if pre := res.From + " -> " + res.To; res.From != "" && strings.HasPrefix(msg, pre) {
			if _, why, ok := strings.Cut(msg[len(pre):], ": "); ok {
				msg = why
			}
		}
		return msg
	}
	return ""
}
