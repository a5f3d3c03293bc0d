package probes

import (
	"testing"
	"time"
)

// TestRTTEstimator: RFC 6298's SRTT and RTTVAR, and the wait they give within its bounds.
func TestRTTEstimator(t *testing.T) {
	const ms = time.Millisecond
	tests := []struct {
		name        string
		floor, ceil time.Duration
		rtts        []time.Duration
		wantSRTT    time.Duration
		wantVar     time.Duration
		wantTimeout time.Duration
	}{
		{name: "nothing known: the whole deadline", floor: 250 * ms, ceil: 2 * time.Second, wantTimeout: 2 * time.Second},
		// First sample: SRTT = R, RTTVAR = R/2, so SRTT + 4 RTTVAR = 3R (2.2).
		{name: "one fast answer: the floor", floor: 250 * ms, ceil: 2 * time.Second, rtts: []time.Duration{ms},
			wantSRTT: ms, wantVar: ms / 2, wantTimeout: 250 * ms},
		{name: "one slow answer: three round trips", floor: 250 * ms, ceil: 2 * time.Second, rtts: []time.Duration{400 * ms},
			wantSRTT: 400 * ms, wantVar: 200 * ms, wantTimeout: 1200 * ms},
		// Second sample 2.3: RTTVAR = 3/4*50 + 1/4*|100-200| = 62.5; SRTT = 7/8*100 + 1/8*200 = 112.5;
		// SRTT + 4 RTTVAR = 362.5, below twice the slowest (400).
		{name: "a slower second answer: twice the slowest", floor: 10 * ms, ceil: 2 * time.Second, rtts: []time.Duration{100 * ms, 200 * ms},
			wantSRTT: 112500 * time.Microsecond, wantVar: 62500 * time.Microsecond, wantTimeout: 400 * ms},
		{name: "steady answers: the smoothed figure", floor: 10 * ms, ceil: 2 * time.Second,
			rtts:     []time.Duration{100 * ms, 100 * ms, 100 * ms, 100 * ms},
			wantSRTT: 100 * ms, wantVar: 50 * ms * 27 / 64, wantTimeout: 200 * ms},
		{name: "never past the deadline", floor: 250 * ms, ceil: 900 * ms, rtts: []time.Duration{400 * ms},
			wantSRTT: 400 * ms, wantVar: 200 * ms, wantTimeout: 900 * ms},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			e := rttEstimator{floor: tt.floor, ceil: tt.ceil}
			for _, r := range tt.rtts {
				e.add(r)
			}
			if e.ready() != (len(tt.rtts) > 0) {
				t.Errorf("ready %v after %d answers", e.ready(), len(tt.rtts))
			}
			if e.srtt != tt.wantSRTT || e.rttvar != tt.wantVar {
				t.Errorf("SRTT %v RTTVAR %v, want %v %v", e.srtt, e.rttvar, tt.wantSRTT, tt.wantVar)
			}
			if got := e.timeout(); got != tt.wantTimeout {
				t.Errorf("timeout %v, want %v", got, tt.wantTimeout)
			}
		})
	}
}
