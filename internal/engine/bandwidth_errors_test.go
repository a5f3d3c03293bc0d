package engine

import (
	"context"
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/netprobe/netprobe/internal/agent"
	"github.com/netprobe/netprobe/internal/bwtest"
	"github.com/netprobe/netprobe/internal/probes"
	"github.com/netprobe/netprobe/internal/result"
)

// bwAgent is one side of a bandwidth check: what its responder opening and its measuring
// return, and the deadline its measuring call was given.
type bwAgent struct {
	sleepyProber
	addr     string
	openErr  error
	status   agent.ResponderStatus // of the bandwidth port; Opened when zero
	bwErr    error
	deadline *time.Duration
}

func (p bwAgent) OpenResponders(_ context.Context, ls []agent.Listen) (agent.Responders, error) {
	if p.openErr != nil {
		return agent.Responders{}, p.openErr
	}
	r := agent.Responders{ID: "set-" + p.addr, ExpiresAt: time.Now().Add(time.Minute)}
	for _, l := range ls {
		st := agent.Opened
		if l.Proto == agent.ProtoBandwidth && p.status != 0 {
			st = p.status
		}
		r.Ports = append(r.Ports, agent.ResponderPort{Proto: l.Proto, Port: l.Port, Status: st, Ticket: "t", Detail: "detail"})
	}
	return r, nil
}

func (p bwAgent) Bandwidth(ctx context.Context, _ string, _ bwtest.Params) (bwtest.Result, error) {
	if dl, ok := ctx.Deadline(); ok && p.deadline != nil {
		*p.deadline = time.Until(dl)
	}
	if p.bwErr != nil {
		return bwtest.Result{}, p.bwErr
	}
	return bwtest.Result{Streams: 1, Window: time.Second, Bytes: 1e6, Rate: 8e6}, nil
}

func (p bwAgent) Probe(ctx context.Context, kind string, params, res any) error {
	return fmt.Errorf("%w: no latency here", probes.ErrUnsupported)
}

var (
	errGone = fmt.Errorf("%w: b:7411: connect: connection refused", agent.ErrUnreachable)
	errHung = fmt.Errorf("%w: b:7411: %w: %w", agent.ErrUnreachable, agent.ErrNoAnswer, context.DeadlineExceeded)
	// what an agent reports when its streams toward the far data port fail
	errStreamLost = fmt.Errorf("agent bandwidth probe: stream 0: connection reset by peer: %w", bwtest.ErrStream)
	errFiltered   = fmt.Errorf("agent bandwidth probe: stream 0: connect: i/o timeout: %w", probes.ErrTimeout)
	errBusy       = fmt.Errorf("agent bandwidth probe: another test held this agent for 1m30s: %w", bwtest.ErrBusy)
)

// TestBandwidthNetprobeFailuresAreErrors: a bandwidth check is a FAIL only when both
// directions failed for the network's reasons. An agent that died or hung mid-run, refused,
// was busy, or a port another netprobe run's responder holds, make it an ERROR that names the
// agent (issue 14, item 5).
func TestBandwidthNetprobeFailuresAreErrors(t *testing.T) {
	for _, tc := range []struct {
		name     string
		a, b     bwAgent
		want     result.Status
		mentions string
	}{
		{"far agent dies mid-test", bwAgent{bwErr: errStreamLost}, bwAgent{bwErr: errGone}, result.Error, "b:7411"},
		{"far agent hangs", bwAgent{}, bwAgent{openErr: errHung, bwErr: errHung}, result.Error, "b:7411"},
		{"far agent hangs after opening", bwAgent{bwErr: errFiltered}, bwAgent{bwErr: errHung}, result.Error, "b:7411"},
		{"source agent busy one way, filtered the other", bwAgent{bwErr: errBusy}, bwAgent{bwErr: errFiltered}, result.Error, "a:7411"},
		{"port held by another netprobe run both ways", bwAgent{status: agent.InUse}, bwAgent{status: agent.InUse}, result.Error, "b:7411"},
		{"filtered both ways", bwAgent{bwErr: errFiltered}, bwAgent{bwErr: errFiltered}, result.Fail, ""},
		{"held by a real service both ways", bwAgent{status: agent.Held}, bwAgent{status: agent.Held}, result.Skip, ""},
	} {
		t.Run(tc.name, func(t *testing.T) {
			tc.a.addr, tc.b.addr = "a:7411", "b:7411"
			agents := map[string]Prober{"a:7411": tc.a, "b:7411": tc.b}
			plan := []Check{{ID: "bandwidth/a/b", Kind: result.CheckBandwidth, From: "a", FromAgent: "a:7411", To: "b", ToAgent: "b:7411",
				Address: "127.0.0.2", FromAddress: "127.0.0.1", Port: 19443, Streams: 1, Duration: time.Second, Timeout: time.Second}}
			r := &Runner{Dial: func(_ context.Context, addr string) (Prober, error) { return agents[addr], nil }}
			var got *result.Result
			for e := range r.Run(context.Background(), plan) {
				if e.Result != nil {
					got = e.Result
				}
			}
			if got == nil || got.Status != tc.want {
				t.Fatalf("result %+v, want %s", got, tc.want)
			}
			t.Logf("%s: %s (hint: %s)", got.Status, got.Message, got.Hint)
			if tc.mentions != "" && !strings.Contains(got.Message, tc.mentions) {
				t.Errorf("message %q does not name agent %s", got.Message, tc.mentions)
			}
		})
	}
}

// TestBandwidthCallOutlastsTheAgentsOwnBound: the measuring agent bounds its test by warm-up
// + duration + agent.BandwidthSlack; the coordinator's call must wait longer, so that a test
// stalled by the far agent ends with the measuring agent's own answer and not with the
// coordinator blaming the healthy measuring agent for "no answer in time" (issue 14, item 5).
func TestBandwidthCallOutlastsTheAgentsOwnBound(t *testing.T) {
	var got time.Duration
	a := bwAgent{addr: "a:7411", deadline: &got}
	agents := map[string]Prober{"a:7411": a, "b:7411": bwAgent{addr: "b:7411"}}
	plan := []Check{{ID: "bandwidth/a/b", Kind: result.CheckBandwidth, From: "a", FromAgent: "a:7411", To: "b", ToAgent: "b:7411",
		Address: "127.0.0.2", FromAddress: "127.0.0.1", Port: 19443, Streams: 1, Duration: 10 * time.Second, Timeout: time.Second}}
	r := &Runner{Dial: func(_ context.Context, addr string) (Prober, error) { return agents[addr], nil }}
	for range r.Run(context.Background(), plan) {
	}
	agentOwn := bwtest.DefaultWarmUp + 10*time.Second + agent.BandwidthSlack
	if got < agentOwn+time.Second {
		t.Errorf("the measuring call got %v; the agent's own bound is %v: the coordinator would give up first", got.Round(time.Millisecond), agentOwn)
	}
}

// refusingProber refuses every probe as an agent does, without naming itself.
type refusingProber struct {
	sleepyProber
	err error
}

func (p refusingProber) Probe(context.Context, string, any, any) error { return p.err }

// TestErrorsNameTheAgent: a check that could not be made says which agent failed, also when
// the agent's refusal or its probe's error does not (issue 14, item 5).
func TestErrorsNameTheAgent(t *testing.T) {
	for _, err := range []error{
		&agent.RemoteError{Status: 403, Code: agent.CodeForbidden, Message: "target 127.0.0.1 is outside this agent's --allow networks"},
		&agent.RemoteError{Status: 422, Code: agent.CodeBounds, Message: "over the bounds"},
		fmt.Errorf("agent route probe: no route: %w", probes.ErrUnsupported),
	} {
		fake := refusingProber{err: err}
		plan := []Check{{ID: "route/hub", Kind: result.CheckRoute, From: "hub", FromAgent: "hub:7411", Address: "127.0.0.1", Timeout: time.Second}}
		r := &Runner{Dial: func(context.Context, string) (Prober, error) { return fake, nil }}
		for e := range r.Run(context.Background(), plan) {
			if e.Result == nil {
				continue
			}
			if e.Result.Status != result.Error || !strings.Contains(e.Result.Message, "hub:7411") {
				t.Errorf("%v: result %s %q, want an error naming hub:7411", err, e.Result.Status, e.Result.Message)
			}
		}
	}
}
