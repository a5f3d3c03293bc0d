package engine

import (
	"context"
	"errors"
	"strings"
	"testing"
	"time"

	"github.com/netprobe/netprobe/internal/agent"
	"github.com/netprobe/netprobe/internal/probes"
	"github.com/netprobe/netprobe/internal/result"
	"github.com/netprobe/netprobe/internal/topology"
)

// closedProber is an estate of two agents where the destination's responder opened, but the
// port probe finds it closed (a reset), and the destination reports its responder as health.
type closedProber struct {
	sleepyProber
	health agent.ResponderHealth
	err    error
	asked  *int
}

func (p closedProber) OpenResponders(_ context.Context, ls []agent.Listen) (agent.Responders, error) {
	r := agent.Responders{ID: "set1", ExpiresAt: time.Now().Add(time.Minute)}
	for _, l := range ls {
		r.Ports = append(r.Ports, agent.ResponderPort{Proto: l.Proto, Port: l.Port, Status: agent.Opened})
	}
	return r, nil
}

func (p closedProber) Probe(_ context.Context, kind string, _, res any) error {
	if pr, ok := res.(*probes.PortResult); ok {
		*pr = probes.PortResult{State: probes.Closed, Reason: probes.Reset, Detail: "connection refused"}
	}
	return nil
}

func (p closedProber) ResponderStatus(_ context.Context, ls []agent.Listen) ([]agent.ResponderHealth, error) {
	*p.asked++
	if p.err != nil {
		return nil, p.err
	}
	h := p.health
	h.Proto, h.Port = ls[0].Proto, ls[0].Port
	return []agent.ResponderHealth{h}, nil
}

// TestPortVerdictNeedsItsResponder: a port found closed where the destination agent's
// responder should answer is a firewall verdict only when that agent says the responder
// listened throughout; when it was down, came back during the check, is gone, or the agent
// cannot say, the check is an error naming the agent (issue 14, item 3: a false FAIL).
func TestPortVerdictNeedsItsResponder(t *testing.T) {
	for _, tc := range []struct {
		name   string
		health agent.ResponderHealth
		err    error
		want   result.Status
	}{
		{"listening, never down", agent.ResponderHealth{Status: agent.Opened}, nil, result.Fail},
		{"back long before the check", agent.ResponderHealth{Status: agent.Opened, Outages: 1, UpForMS: 3_600_000}, nil, result.Fail},
		{"down now", agent.ResponderHealth{Status: agent.Down, Outages: 1, Detail: "accept: too many open files"}, nil, result.Error},
		{"came back during the check", agent.ResponderHealth{Status: agent.Opened, Outages: 1, UpForMS: 0}, nil, result.Error},
		{"expired", agent.ResponderHealth{Status: agent.Gone}, nil, result.Error},
		{"agent cannot say", agent.ResponderHealth{}, errors.New("agent unreachable: b:7411: no answer in time"), result.Error},
	} {
		t.Run(tc.name, func(t *testing.T) {
			asked := 0
			fake := closedProber{health: tc.health, err: tc.err, asked: &asked}
			plan := []Check{{ID: "port/a/b/9443/tcp", Kind: result.CheckPort, From: "a", FromAgent: "a:7411", To: "b", ToAgent: "b:7411",
				Address: "127.0.0.1", Port: 9443, Proto: topology.ProtoTCP, Expect: topology.ExpectOpen, Timeout: time.Second}}
			r := &Runner{Dial: func(context.Context, string) (Prober, error) { return fake, nil }}
			var got *result.Result
			for e := range r.Run(context.Background(), plan) {
				if e.Result != nil {
					got = e.Result
				}
			}
			if got == nil || got.Status != tc.want {
				t.Fatalf("result %+v, want %s", got, tc.want)
			}
			if asked != 1 {
				t.Errorf("asked for the responder's status %d times, want once", asked)
			}
			if tc.want == result.Error && !strings.Contains(got.Message, "b:7411") {
				t.Errorf("message %q does not name the destination agent", got.Message)
			}
		})
	}
}

// TestResponderStatusShared: checks of one port that all ran before one status answer share
// it, so a thousand closed ports do not cost a thousand status calls when the responder is up.
func TestResponderStatusShared(t *testing.T) {
	now := time.Now()
	s := responderSeen{asked: now, answered: now.Add(time.Millisecond), health: agent.ResponderHealth{Status: agent.Opened}}
	if !s.listenedThrough(now.Add(-time.Second), now.Add(-time.Millisecond)) {
		t.Error("a status asked after the probe, never down: want it to cover the probe")
	}
	if s.listenedThrough(now.Add(-time.Second), now.Add(time.Millisecond)) {
		t.Error("a status asked before the probe ended must not cover it")
	}
	s.health = agent.ResponderHealth{Status: agent.Opened, Outages: 1, UpForMS: 500}
	if s.listenedThrough(now.Add(-time.Second), now.Add(-time.Millisecond)) {
		t.Error("an outage that ended 500ms before the answer overlaps a probe that started 1s before")
	}
	if !s.listenedThrough(now.Add(-100*time.Millisecond), now.Add(-time.Millisecond)) {
		t.Error("an outage that ended 500ms before the answer is before a probe that started 100ms before")
	}
}
