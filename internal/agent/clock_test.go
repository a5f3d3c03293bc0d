package agent

import (
	"context"
	"testing"
	"time"
)

// TestClockKind: the agent answers a clock request with its own clock (here 7 minutes fast),
// outside the probe-rate bound (it sends nothing).
func TestClockKind(t *testing.T) {
	skew := 7 * time.Minute
	a := startAgent(t, Config{Now: func() time.Time { return time.Now().Add(skew) }, Bounds: Bounds{ProbeRate: 1, ProbeBurst: 1}})
	c := dialAgent(t, a, ClientConfig{})
	ctx, cancel := context.WithTimeout(context.Background(), 3*time.Second)
	defer cancel()
	for i := range 3 {
		t0 := time.Now()
		var m ClockResult
		if err := c.Probe(ctx, KindClock, ClockRequest{}, &m); err != nil {
			t.Fatalf("clock request %d: %v", i+1, err)
		}
		t1 := time.Now()
		if m.Time.Before(t0.Add(skew)) || m.Time.After(t1.Add(skew)) || m.Time.Location() != time.UTC {
			t.Errorf("agent time %v, want between %v and %v in UTC", m.Time, t0.Add(skew), t1.Add(skew))
		}
	}
}
