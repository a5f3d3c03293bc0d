package agent

import (
	"context"
	"time"

	"github.com/netprobe/netprobe/internal/probes"
)

// KindClock asks for the agent's clock. The coordinator reads its own clock just before the
// request and just after the answer, NTP-style: the agent's reading falls between the two,
// so the skew is the agent's time minus the midpoint, give or take half the round trip
// (FB-CLOCK). It sends nothing on the network, so it does not count against the probe rate.
const KindClock = "clock"

// ClockRequest has no parameters.
type ClockRequest struct{}

// ClockResult is the agent's wall clock when it answered, in UTC.
type ClockResult struct {
	Time time.Time `json:"time"`
}

// clockKind answers clock requests from now (Config.Now, a test hook for a skewed host).
func clockKind(now func() time.Time) probeKind {
	return kind(func(context.Context, *probes.Env, ClockRequest) (ClockResult, error) {
		return ClockResult{Time: now().UTC()}, nil
	}, func(ClockRequest) []string { return nil }, func(ClockRequest) probes.Footprint { return probes.Footprint{} }) // reads the clock, sends nothing
}
