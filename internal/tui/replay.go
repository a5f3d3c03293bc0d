package tui

import (
	"context"
	"slices"
	"sync"
	"time"

	"github.com/netprobe/netprobe/internal/result"
)

// ReplaySource is a Source that replays a fixed result set, one event every Delay. It stands
// in for the engine in tests and in demos before the engine exists. It is safe for
// concurrent use.
type ReplaySource struct {
	// Results are replayed in order on a full run; a re-run replays only the asked IDs.
	Results []result.Result
	// Agents are announced first on a full run.
	Agents []AgentStatus
	// Rerun, when it holds an ID, replaces that result on re-runs: the demo's "the firewall
	// team fixed the rule" moment.
	Rerun map[string]result.Result
	// Delay is the pause before each event; 0 sends as fast as the reader takes them.
	Delay time.Duration

	mu    sync.Mutex // guards calls
	calls [][]string
}

// Calls returns a copy of the ids passed to each Run call, in order (nil for a full run).
func (s *ReplaySource) Calls() [][]string {
	s.mu.Lock()
	defer s.mu.Unlock()
	out := make([][]string, len(s.calls))
	for i, c := range s.calls {
		out[i] = slices.Clone(c)
	}
	return out
}

// Run implements Source.
func (s *ReplaySource) Run(ctx context.Context, ids []string) <-chan Event {
	s.mu.Lock()
	s.calls = append(s.calls, slices.Clone(ids))
	s.mu.Unlock()

	var rs []result.Result
	if len(ids) == 0 {
		rs = slices.Clone(s.Results)
	} else {
		for _, id := range ids {
			if r, ok := s.Rerun[id]; ok {
				rs = append(rs, r)
				continue
			}
			if i := slices.IndexFunc(s.Results, func(r result.Result) bool { return r.ID == id }); i >= 0 {
				rs = append(rs, s.Results[i])
			}
		}
	}
	var evs []Event
	if len(ids) == 0 {
		for i := range s.Agents {
			a := s.Agents[i]
			evs = append(evs, Event{Agent: &a})
		}
	}
	planned := make([]result.Result, len(rs))
	for i, r := range rs {
		planned[i] = result.Result{ID: r.ID, Check: r.Check, Rule: r.Rule, Phase: r.Phase, From: r.From, To: r.To, Target: r.Target, Proto: r.Proto, Expect: r.Expect}
	}
	evs = append(evs, Event{Planned: planned})
	for i := range rs {
		r := rs[i]
		req, _ := r.Metrics.Float(result.MetricRequiredMbps)
		for n, bps := range r.Intervals {
			evs = append(evs, Event{Interval: &BandwidthSample{ID: r.ID, Interval: n + 1, Rate: BitsPerSecond(bps), Required: BitsPerSecond(req * 1e6)}})
		}
		evs = append(evs, Event{Result: &r})
	}
	evs = append(evs, Event{Done: true})

	ch := make(chan Event)
	go func() {
		defer close(ch)
		var timer *time.Timer
		if s.Delay > 0 {
			timer = time.NewTimer(s.Delay)
			defer timer.Stop()
		}
		for _, ev := range evs {
			if timer != nil {
				timer.Reset(s.Delay)
				select {
				case <-ctx.Done():
					return
				case <-timer.C:
				}
			}
			select {
			case <-ctx.Done():
				return
			case ch <- ev:
			}
		}
	}()
	return ch
}
