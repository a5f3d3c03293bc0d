package engine

import (
	"context"
	"encoding/json"
	"sync"
	"testing"
	"time"

	"github.com/netprobe/netprobe/internal/agent"
	"github.com/netprobe/netprobe/internal/probes"
	"github.com/netprobe/netprobe/internal/result"
	"github.com/netprobe/netprobe/internal/topology"
)

// portRecorder is an agent that records the port requests it gets and announces features.
type portRecorder struct {
	sleepyProber
	features []string
	mu       *sync.Mutex
	reqs     *[]probes.PortRequest
}

func (p portRecorder) Info() agent.Info { return agent.Info{Features: p.features} }

func (p portRecorder) Probe(ctx context.Context, kind string, params, res any) error {
	if kind == agent.KindPort {
		b, _ := json.Marshal(params)
		var req probes.PortRequest
		_ = json.Unmarshal(b, &req)
		p.mu.Lock()
		*p.reqs = append(*p.reqs, req)
		p.mu.Unlock()
		*res.(*probes.PortResult) = probes.PortResult{State: probes.Open, Reason: probes.SynAck}
		return nil
	}
	return p.sleepyProber.Probe(ctx, kind, params, res)
}

// TestRunAsksForTheAdaptiveWait: a TCP port check asks its source agent for the adaptive
// wait, with the destination agent's port as reference, when the source agent announces it
// accepts it; never with FullWait, never to an agent that does not know the field (its
// decoder would refuse the request), never for UDP.
func TestRunAsksForTheAdaptiveWait(t *testing.T) {
	tests := []struct {
		name     string
		features []string
		fullWait bool
		proto    topology.Proto
		want     bool
	}{
		{"agent accepts it", []string{probes.FeatureAdaptiveWait}, false, topology.ProtoTCP, true},
		{"full wait asked", []string{probes.FeatureAdaptiveWait}, true, topology.ProtoTCP, false},
		{"older agent", nil, false, topology.ProtoTCP, false},
		{"udp", []string{probes.FeatureAdaptiveWait}, false, topology.ProtoUDP, false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var mu sync.Mutex
			var reqs []probes.PortRequest
			plan := []Check{{ID: "port/a/b/20004/" + name(tt.proto), Kind: result.CheckPort, From: "a", FromAgent: "a:7411", To: "b", ToAgent: "b:7411",
				Address: "127.0.0.1", Port: 20004, Proto: tt.proto, Expect: topology.ExpectOpen, Timeout: time.Second}}
			r := &Runner{FullWait: tt.fullWait, Dial: func(context.Context, string) (Prober, error) {
				return portRecorder{sleepyProber: sleepyProber{delay: time.Millisecond}, features: tt.features, mu: &mu, reqs: &reqs}, nil
			}}
			for range r.Run(context.Background(), plan) {
			}
			if len(reqs) != 1 {
				t.Fatalf("%d port requests, want 1", len(reqs))
			}
			if got := reqs[0]; got.AdaptiveWait != tt.want || (tt.want && (len(got.RefPorts) != 1 || got.RefPorts[0] != 7411)) {
				t.Errorf("adaptive wait %v with reference ports %v, want %v with [7411]", got.AdaptiveWait, got.RefPorts, tt.want)
			}
		})
	}
}
