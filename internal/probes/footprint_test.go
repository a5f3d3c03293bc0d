package probes

import (
	"math/bits"
	"testing"
)

// TestPMTUSpent: what a finished search sent, by its probe count, is never more than its
// footprint and equals it when every reserved probe went out.
func TestPMTUSpent(t *testing.T) {
	req := PMTURequest{Address: "10.0.0.1", Min: 1200, Max: 1500}
	f := req.Footprint()
	all := (2+bits.Len(uint(1500-1200)))*pmtuTries + refTries // every probe the search reserves
	if got := req.Spent(PMTUResult{Probes: all}); got != f {
		t.Errorf("Spent(every probe) = %+v, want the footprint %+v", got, f)
	}
	if got := req.Spent(PMTUResult{Probes: 5}); got.Bytes >= f.Bytes || got.Packets >= f.Packets {
		t.Errorf("Spent(5 probes) = %+v, want fewer packets and bytes than %+v", got, f)
	}
}
