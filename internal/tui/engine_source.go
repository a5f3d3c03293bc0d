package tui

import (
	"context"
	"errors"
	"sync"

	"github.com/netprobe/netprobe/internal/engine"
	"github.com/netprobe/netprobe/internal/result"
)

// EngineSource is the Source of real runs: it runs a plan with the engine's Runner and turns
// the engine's events into the TUI's. A re-run runs only the planned checks with the asked IDs,
// and the checks they are judged with (an ICMP check's 443 check: engine.Select).
type EngineSource struct {
	Runner *engine.Runner
	Plan   []engine.Check
	// Findings are results known before anything runs (readiness rules on paper); they are
	// shown with the first run and never re-run.
	Findings []result.Result

	// running serializes runs: a re-run asked for while another run streams waits for it,
	// so two runs never fight over the same agents' responders and data ports.
	running sync.Mutex
}

// ErrInterrupted is the run-level error shown when the engine reports that it stopped early.
var ErrInterrupted = errors.New("run interrupted before every check finished")

// Run implements Source.
func (s *EngineSource) Run(ctx context.Context, ids []string) <-chan Event {
	plan := s.Plan
	findings := s.Findings
	if len(ids) > 0 {
		findings = nil
		plan = engine.Select(s.Plan, ids)
	}
	out := make(chan Event)
	go func() {
		defer close(out)
		s.running.Lock()
		defer s.running.Unlock()
		in := s.Runner.Run(ctx, plan)
		// The engine's sends block until read: whatever happens here, read its stream to the
		// end so its goroutines finish.
		defer func() {
			for range in {
			}
		}()
		send := func(ev Event) bool {
			select {
			case out <- ev:
				return true
			case <-ctx.Done():
				return false
			}
		}
		if !send(Event{Planned: PlannedResults(plan)}) {
			return
		}
		for _, f := range findings {
			if !send(Event{Result: &f}) {
				return
			}
		}
		for ev := range in {
			for _, e := range fromEngine(ev) {
				if !send(e) {
					return
				}
			}
		}
	}()
	return out
}

// PlannedResults are the pending rows of a plan: what each check tests, with no status yet.
func PlannedResults(plan []engine.Check) []result.Result {
	out := make([]result.Result, len(plan))
	for i, c := range plan {
		out[i] = engine.Pending(c)
	}
	return out
}

// fromEngine maps one engine event onto the TUI's: an agent serves several hosts, so its
// state becomes one event per host.
func fromEngine(ev engine.Event) []Event {
	var out []Event
	if ev.Result != nil {
		r := *ev.Result
		out = append(out, Event{Result: &r})
	}
	if a := ev.Agent; a != nil {
		detail := ""
		if a.Err != nil {
			detail = a.Err.Error()
		}
		for _, h := range a.Hosts {
			out = append(out, Event{Agent: &AgentStatus{Host: h, Addr: a.Addr, Up: a.Up, Detail: detail}})
		}
	}
	if iv := ev.Interval; iv != nil {
		out = append(out, Event{Interval: &BandwidthSample{ID: iv.ID, Interval: iv.N, Rate: BitsPerSecond(iv.Bps), Required: BitsPerSecond(iv.Required)}})
	}
	if ev.Done {
		e := Event{Done: true}
		if ev.Interrupted {
			e.Err = ErrInterrupted
		}
		out = append(out, e)
	}
	return out
}
