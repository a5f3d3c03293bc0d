package tui

import (
	"context"
	"errors"
	"testing"

	"github.com/google/go-cmp/cmp"

	"github.com/netprobe/netprobe/internal/engine"
	"github.com/netprobe/netprobe/internal/result"
	"github.com/netprobe/netprobe/internal/topology"
)

// TestEngineSource runs a real engine Runner whose dialer refuses every agent (no packet is
// sent anywhere): the TUI gets the planned rows, the agent down for its host, and a result
// for each check; a re-run asks the engine for only the given check.
func TestEngineSource(t *testing.T) {
	refused := errors.New("connection refused")
	plan := []engine.Check{
		{ID: "port/sql01/cs01/443/tcp", Kind: result.CheckPort, Rule: "FB-VM-CS", Phase: topology.PhaseFailback, From: "sql01", To: "cs01",
			Address: "127.0.0.1", Port: 443, Proto: topology.ProtoTCP, Expect: topology.ExpectOpen, FromAgent: "127.0.0.1:1"},
		{ID: "port/vc/cs01/443/tcp", Kind: result.CheckPort, Rule: "FB-CS-VC", Phase: topology.PhaseFailback, From: "vc", To: "cs01",
			Address: "127.0.0.1", Port: 443, Proto: topology.ProtoTCP, Expect: topology.ExpectOpen, SkipReason: "no agent on vc"},
	}
	src := &EngineSource{
		Runner: &engine.Runner{Dial: func(context.Context, string) (engine.Prober, error) { return nil, refused }},
		Plan:   plan,
	}
	c := &clock{now: t0}
	m := New(t.Context(), src, Estate{}, Options{NoColor: true, Now: c.Now})
	m = drain(t, m, c, src.Run(t.Context(), nil))

	if got := len(m.matrix.rows); got != 2 {
		t.Fatalf("%d rows, want 2", got)
	}
	for _, id := range []string{plan[0].ID, plan[1].ID} {
		if !m.matrix.rows[id].done {
			t.Errorf("%s has no result", id)
		}
	}
	if st := m.matrix.rows[plan[1].ID].res.Status; st != result.Skip {
		t.Errorf("skipped check has status %v", st)
	}
	want := AgentStatus{Host: "sql01", Addr: "127.0.0.1:1", Up: false, Detail: "connection refused"}
	if d := cmp.Diff(want, m.agents["sql01"]); d != "" {
		t.Errorf("agent state (-want +got):\n%s", d)
	}

	var ids []string
	for ev := range src.Run(t.Context(), []string{plan[1].ID}) {
		if ev.Result != nil {
			ids = append(ids, ev.Result.ID)
		}
		for _, p := range ev.Planned {
			ids = append(ids, "planned "+p.ID)
		}
	}
	if d := cmp.Diff([]string{"planned " + plan[1].ID, plan[1].ID}, ids); d != "" {
		t.Errorf("re-run events (-want +got):\n%s", d)
	}
}

func TestFromEngineInterrupted(t *testing.T) {
	evs := fromEngine(engine.Event{Done: true, Interrupted: true})
	if len(evs) != 1 || !evs[0].Done || !errors.Is(evs[0].Err, ErrInterrupted) {
		t.Errorf("got %+v", evs)
	}
}
