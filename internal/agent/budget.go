package agent

import (
	"errors"
	"fmt"
	"math"
	"time"

	"github.com/netprobe/netprobe/internal/probes"
)

// What a request may make the agent send. Every number an agent takes from a request -
// durations, counts, intervals, sizes - is checked here or in Bounds.CheckBandwidth against
// the bounds, with arithmetic that cannot overflow: a probe's probes.Footprint saturates, and
// wire durations convert through ms.

// errBounds marks a request over the agent's bounds (422, CodeBounds).
var errBounds = errors.New("over this agent's bounds")

// serverGate is the gate of Server: its allowlist and its bounds.
type serverGate struct{ s *Server }

func (g serverGate) targets(ts []string) error { return g.s.checkTargets(ts) }

func (g serverGate) fits(f probes.Footprint) error { return g.s.bounds.fits(f) }

func (g serverGate) env() *probes.Env { return g.s.cfg.ProbeEnv }

// fits refuses a probe whose packets come faster than MinInterval or whose bytes are over
// ProbeBytes.
func (b Bounds) fits(f probes.Footprint) error {
	switch {
	case f.Interval < 0:
		return fmt.Errorf("%w: packets %s apart: an interval cannot be negative", errBounds, f.Interval)
	case f.Interval > 0 && f.Interval < b.MinInterval:
		return fmt.Errorf("%w: packets %s apart; this agent allows no less than %s between a probe's packets (--min-probe-interval)", errBounds, f.Interval, b.MinInterval)
	case f.Bytes > b.ProbeBytes:
		return fmt.Errorf("%w: this probe may send %d packets, %s; one probe may send at most %s (--max-probe-bytes): ask for fewer or smaller packets", errBounds, f.Packets, fmtBytes(f.Bytes), fmtBytes(b.ProbeBytes))
	}
	return nil
}

// fromMS converts a wire duration in milliseconds, saturating instead of overflowing: a request's
// int64 maximum is "as long as possible", which every caller then shortens to its bound.
func fromMS(v int64) time.Duration {
	const most = math.MaxInt64 / int64(time.Millisecond)
	switch {
	case v > most:
		return math.MaxInt64
	case v < -most:
		return math.MinInt64
	}
	return time.Duration(v) * time.Millisecond
}

// fmtBytes writes a byte count for a message: "1.0 MiB", "62.5 KiB", "512 B".
func fmtBytes(n int64) string {
	switch {
	case n >= 1<<30:
		return fmt.Sprintf("%.1f GiB", float64(n)/(1<<30))
	case n >= 1<<20:
		return fmt.Sprintf("%.1f MiB", float64(n)/(1<<20))
	case n >= 1<<10:
		return fmt.Sprintf("%.1f KiB", float64(n)/(1<<10))
	}
	return fmt.Sprintf("%d B", n)
}
