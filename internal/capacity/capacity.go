// Package capacity is the arithmetic that turns a measured throughput and the protected VMs'
// churn into a verdict before cutover: required bandwidth with growth and compression, headroom,
// backlog drain time after an outage, resync time, and the per-minute churn-profile model that
// sizes a link for an RPO. It is pure: no I/O except reading a profile from an io.Reader, no
// clock. The formulas are the ones in docs/bandwidth.md; the profile model is netprobe's own, not
// Microsoft's Deployment Planner, and every report that uses it says so.
package capacity

import (
	"errors"
	"fmt"
	"math"
	"time"
)

// BitsPerSecond is a rate on the wire. Churn, required bandwidth and measured throughput all use
// it, so no formula ever mixes bytes and bits by accident.
type BitsPerSecond float64

// Mbps is the rate in megabits (10^6 bits) per second, the unit of the results' metrics.
func (b BitsPerSecond) Mbps() float64 { return float64(b) / 1e6 }

func (b BitsPerSecond) String() string {
	switch {
	case math.IsInf(float64(b), 1):
		return "unlimited"
	case b >= 1e9:
		return fmt.Sprintf("%.2f Gbit/s", float64(b)/1e9)
	case b >= 1e6:
		return fmt.Sprintf("%.2f Mbit/s", float64(b)/1e6)
	case b >= 1e3:
		return fmt.Sprintf("%.2f kbit/s", float64(b)/1e3)
	}
	return fmt.Sprintf("%.0f bit/s", float64(b))
}

// MBps converts a churn in decimal megabytes per second (10^6 bytes, the unit profiling tools
// and the topology's "MB/s" use) to bits per second.
func MBps(v float64) BitsPerSecond { return BitsPerSecond(v * 8e6) }

// Bytes is a size on disk.
type Bytes int64

// Bits is the size in bits.
func (b Bytes) Bits() float64 { return float64(b) * 8 }

// Defaults from the Deployment Planner's conventions (docs/bandwidth.md).
const (
	// DefaultGrowth is the 30 % growth allowance the Deployment Planner applies to churn.
	DefaultGrowth = 0.30
	// DefaultCompression is 1: no compression assumed unless the user says otherwise.
	DefaultCompression = 1.0
	// FailBelow and WarnBelow are the headroom thresholds: below 1 the link cannot carry the
	// churn at all; below 1.2 it carries it with less than 20 % to spare, which a busy hour or
	// a retransmit storm eats.
	FailBelow = 1.0
	WarnBelow = 1.2
)

// ErrInput is wrapped by every error about bad inputs (negative churn, compression below 1, ...).
var ErrInput = errors.New("invalid capacity input")

// Plan holds the knobs of the steady-state formula.
type Plan struct {
	// Growth is the allowance on top of today's churn, 0.30 for 30 %.
	Growth float64 `json:"growth"`
	// Compression is the ratio k: 2 means the data on the wire is half the churn. 0 means 1.
	Compression float64 `json:"compression"`
}

// DefaultPlan is 30 % growth and no compression.
func DefaultPlan() Plan { return Plan{Growth: DefaultGrowth, Compression: DefaultCompression} }

func (p Plan) check() (growth, k float64, err error) {
	k = p.Compression
	if k == 0 {
		k = 1
	}
	switch {
	case p.Growth < 0 || math.IsNaN(p.Growth) || math.IsInf(p.Growth, 0):
		return 0, 0, fmt.Errorf("%w: growth %v must be a fraction >= 0 (0.30 for 30 %%)", ErrInput, p.Growth)
	case k < 1 || math.IsNaN(k) || math.IsInf(k, 0):
		return 0, 0, fmt.Errorf("%w: compression ratio %v must be >= 1 (1 means none)", ErrInput, p.Compression)
	}
	return p.Growth, k, nil
}

// onWire is the rate that churn c needs on the wire under the plan: c*(1+g)/k.
func onWire(c BitsPerSecond, g, k float64) BitsPerSecond {
	return BitsPerSecond(float64(c) * (1 + g) / k)
}

// Required is the steady-state bandwidth that carries the given churn rates (one per disk or
// per VM, 95th percentile): sum(churn) * (1 + g) / k.
func Required(churn []BitsPerSecond, p Plan) (BitsPerSecond, error) {
	g, k, err := p.check()
	if err != nil {
		return 0, err
	}
	var sum BitsPerSecond
	for i, c := range churn {
		if c < 0 || math.IsNaN(float64(c)) || math.IsInf(float64(c), 0) {
			return 0, fmt.Errorf("%w: churn #%d is %v; churn is a rate >= 0", ErrInput, i+1, float64(c))
		}
		sum += c
	}
	return onWire(sum, g, k), nil
}

// Headroom is measured / required. With nothing required the headroom is +Inf: any link will do.
func Headroom(measured, required BitsPerSecond) float64 {
	if required <= 0 {
		return math.Inf(1)
	}
	return float64(measured) / float64(required)
}

// Verdict is what the headroom means for the RPO.
type Verdict int

const (
	// Enough: headroom >= WarnBelow.
	Enough Verdict = iota + 1
	// Tight: the link carries the churn with less than 20 % to spare.
	Tight
	// Short: the link cannot carry the churn; the RPO will be missed.
	Short
)

var verdictNames = [...]string{Enough: "enough", Tight: "tight", Short: "short"}

func (v Verdict) String() string {
	if v <= 0 || int(v) >= len(verdictNames) {
		return fmt.Sprintf("verdict(%d)", int(v))
	}
	return verdictNames[v]
}

// Judge maps headroom to a verdict: Short below FailBelow, Tight below WarnBelow. The engine maps
// these to fail / warn / pass.
func Judge(headroom float64) Verdict {
	switch {
	case headroom < FailBelow || math.IsNaN(headroom):
		return Short
	case headroom < WarnBelow:
		return Tight
	}
	return Enough
}

// Drain is how a backlog after an outage clears.
type Drain struct {
	// Backlog is what accumulated during the outage, in bits: required * outage.
	Backlog float64 `json:"backlog_bits"`
	// Time is how long the backlog takes to drain at measured - required. Meaningless when
	// Never is true.
	Time time.Duration `json:"drain_ns"`
	// Never is true when measured <= required: the churn alone fills the link, so the backlog
	// never drains (it grows, or at best stays).
	Never bool `json:"never,omitempty"`
}

// DrainTime says how long the churn accumulated during an outage of length outage takes to
// drain. The backlog accrues at the required rate (churn with growth and compression: what would
// have been sent), and drains at what the link carries beyond the ongoing churn:
// time = required * outage / (measured - required).
func DrainTime(measured, required BitsPerSecond, outage time.Duration) (Drain, error) {
	if measured < 0 || required < 0 || outage < 0 {
		return Drain{}, fmt.Errorf("%w: measured %v, required %v and outage %v must be >= 0", ErrInput, float64(measured), float64(required), outage)
	}
	d := Drain{Backlog: float64(required) * outage.Seconds()}
	if d.Backlog == 0 {
		return d, nil
	}
	if measured <= required {
		d.Never = true
		return d, nil
	}
	secs := d.Backlog / float64(measured-required)
	d.Time = seconds(secs)
	return d, nil
}

// seconds converts to a Duration, saturating instead of overflowing.
func seconds(s float64) time.Duration {
	if s >= float64(math.MaxInt64)/1e9 {
		return time.Duration(math.MaxInt64)
	}
	return time.Duration(s * float64(time.Second))
}
