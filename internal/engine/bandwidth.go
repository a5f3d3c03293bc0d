package engine

import (
	"context"
	"errors"
	"fmt"
	"math"
	"time"

	"github.com/netprobe/netprobe/internal/agent"
	"github.com/netprobe/netprobe/internal/bwtest"
	"github.com/netprobe/netprobe/internal/capacity"
	"github.com/netprobe/netprobe/internal/probes"
	"github.com/netprobe/netprobe/internal/result"
)

// bandwidth measures throughput in the check's direction (From sends to To). It first has To
// serve and From connect; when that connection cannot be made (only the other direction is
// open in the firewall), From serves and To connects and receives, like iperf3 -R: the data
// still flows the way replication does.
func (st *runState) bandwidth(ctx context.Context, p Prober, c Check) result.Result {
	to := st.agents[c.ToAgent]
	if to == nil {
		err := st.errs[c.ToAgent]
		if err == nil {
			err = errors.New("agent not connected")
		}
		return Errored(c, fmt.Errorf("the agent on %s (%s) is needed to receive the test: %w", c.To, c.ToAgent, err), "")
	}
	res, idle, err := st.bwAttempt(ctx, to, c.ToAgent, c.Address, p, c.FromAgent, bwtest.Send, c)
	openedBy := c.From
	if err != nil && ctx.Err() == nil {
		res2, idle2, err2 := st.bwAttempt(ctx, p, c.FromAgent, hostOnly(c.FromAddress), to, c.ToAgent, bwtest.Receive, c)
		if err2 == nil {
			res, idle, err, openedBy = res2, idle2, nil, c.To
		} else {
			err = &bothWays{first: err, second: err2, msg: fmt.Sprintf("%s connecting to %s: %v; %s connecting to %s: %v", c.From, c.To, err, c.To, c.From, err2)}
		}
	}
	switch {
	case err == nil:
	case heldBothWays(err):
		return Skipped(c, fmt.Sprintf("port %d is held by a service on both %s and %s (ASR installed?), so no bandwidth responder can listen there; measure on a free port that the firewall opens too: netprobe bandwidth --port N", c.Port, c.From, c.To))
	case bothControl(ctx, err):
		return Errored(c, err, agentHint(c, err))
	}
	if err != nil {
		r := base(c)
		r.Status = result.Fail
		r.Target = joinHostPort(c.Address, c.Port)
		r.Message = fmt.Sprintf("bandwidth %s -> %s on %d/tcp could not run in either direction: %v", c.From, c.To, c.Port, err)
		r.Hint = fmt.Sprintf("Open tcp %d between %s and %s in at least one direction (the process server's data port).", c.Port, c.From, c.To)
		return r
	}
	r := JudgeBandwidth(c, res, openedBy)
	if idle != nil && idle.Samples > 0 {
		for k, v := range idle.Metrics("") {
			if k != "samples" {
				r.Metrics[k] = v
			}
		}
	}
	if idle != nil && idle.nat != "" {
		markNAT(&r, idle.nat)
	}
	return r
}

// idleEcho is the idle latency before a bandwidth test, and the NAT its echo showed.
type idleEcho struct {
	probes.LatencyStats
	nat string
}

// natSeen says what the echo showed of NAT: "" when the far agent saw the sender's own
// address, else "the destination saw the source as X, not Y". Once ASR is installed the
// services hold the ports and no responder's hello reports the source: the agents' echo still
// does (prepare-failback: no NAT on the failback path).
func natSeen(m probes.LatencyResult) string {
	if m.ObservedSource == "" || m.SourceIP == "" || hostOnly(m.ObservedSource) == m.SourceIP {
		return ""
	}
	return fmt.Sprintf("the destination saw the source as %s, not %s", hostOnly(m.ObservedSource), m.SourceIP)
}

// markNAT fails a passing result on NAT and records it.
func markNAT(r *result.Result, seen string) {
	if r.Metrics == nil {
		r.Metrics = map[string]any{}
	}
	r.Metrics["nat"] = true
	if r.Status == result.Pass || r.Status == result.Warn {
		r.Status = result.Fail
		r.Message += "; but " + seen + ": NAT on the path"
		r.Hint = "Failback needs private addresses end to end with no NAT: remove the source NAT for this traffic on the VPN/ExpressRoute path."
	}
}

// errPortHeld: the data port is taken on the serving side, so no bandwidth responder can
// listen there.
var errPortHeld = errors.New("the bandwidth test needs the port free")

// bothWays carries the errors of both attempts: the first wraps through Unwrap, the second
// through err2Of, so a verdict can ask what happened each way.
type bothWays struct {
	first, second error
	msg           string
}

func (e *bothWays) Error() string   { return e.msg }
func (e *bothWays) Unwrap() []error { return []error{e.first, e.second} }

// bothControl reports whether err is about netprobe rather than the network: for a test
// tried both ways, only when both attempts failed that way (a firewall that blocks one way
// stays a fail whatever happened the other way).
func bothControl(ctx context.Context, err error) bool {
	var b *bothWays
	if errors.As(err, &b) {
		return controlFailure(ctx, b.first) && controlFailure(ctx, b.second)
	}
	return controlFailure(ctx, err)
}

// heldBothWays reports whether neither side could serve because the port was taken on both.
func heldBothWays(err error) bool {
	var b *bothWays
	return errors.As(err, &b) && errors.Is(b.first, errPortHeld) && errors.Is(b.second, errPortHeld)
}

// bwAttempt opens a bandwidth responder (and a UDP echo for latency under load) on the
// server's agent at the data port, runs the test from the client's agent, and closes them.
func (st *runState) bwAttempt(ctx context.Context, server Prober, serverAgent, serverHost string, client Prober, clientAgent string, dir bwtest.Direction, c Check) (bwtest.Result, *idleEcho, error) {
	echo := agent.Listen{Proto: "udp", Port: echoPort(serverAgent)}
	octx, cancel := context.WithTimeout(ctx, 10*time.Second)
	rs, err := server.OpenResponders(octx, []agent.Listen{{Proto: agent.ProtoBandwidth, Port: c.Port}, echo})
	cancel()
	if err != nil {
		return bwtest.Result{}, nil, fmt.Errorf("opening the bandwidth responder: %w", err)
	}
	defer func() {
		cctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), 5*time.Second)
		_ = server.CloseResponders(cctx, rs.ID)
		cancel()
	}()
	params := bwtest.Params{Streams: c.Streams, Duration: c.Duration, Direction: dir,
		// Live rates for displays; the agent streams them as it measures.
		OnInterval: func(i int, rate capacity.BitsPerSecond) {
			st.send(Event{Interval: &Interval{ID: c.ID, N: i, Bps: float64(rate), Required: c.RequiredBps}})
		}}
	for _, pr := range rs.Ports {
		switch {
		case pr.Proto == agent.ProtoBandwidth && pr.Status != agent.Opened:
			return bwtest.Result{}, nil, fmt.Errorf("%w: port %d is %s on the server side (%s)", errPortHeld, c.Port, pr.Status, pr.Detail)
		case pr.Proto == agent.ProtoBandwidth:
			params.TestID = pr.Ticket // the responder admits only the test it issued
		case pr.Proto == "udp" && pr.Status == agent.Opened:
			params.LoadedEcho = joinHostPort(serverHost, echo.Port)
		}
	}
	// Idle latency toward the same echo first, so the loaded figures have something to be
	// compared with (latency under load, bandwidth.md).
	var idle *idleEcho
	if params.LoadedEcho != "" {
		var lr probes.LatencyResult
		req := probes.LatencyRequest{Address: params.LoadedEcho, Samples: idleSamples, Interval: idleInterval, Timeout: c.Timeout}
		if err := st.callProbe(ctx, client, clientAgent, agent.KindLatency, time.Duration(idleSamples)*idleInterval+c.Timeout, req, &lr); err == nil {
			idle = &idleEcho{LatencyStats: lr.Stats(), nat: natSeen(lr)}
		}
	}
	// Warm-up + duration + the agent's own margins; the client bounds the call by this too.
	bctx, cancel := context.WithTimeout(ctx, c.Duration+30*time.Second)
	defer cancel()
	res, err := client.Bandwidth(bctx, joinHostPort(serverHost, c.Port), params)
	return res, idle, err
}

// idleSamples at idleInterval: half a second of quiet RTT samples before a bandwidth test.
const (
	idleSamples  = 20
	idleInterval = 25 * time.Millisecond
)

// JudgeBandwidth compares the measured rate with what the protected VMs' churn needs
// (bandwidth.md): headroom below 1 misses the RPO (fail), below 1.2 is tight (warn).
func JudgeBandwidth(c Check, m bwtest.Result, openedBy string) result.Result {
	r := base(c)
	r.Target = joinHostPort(c.Address, c.Port)
	mbps := float64(m.Rate) / 1e6
	per := make([]float64, len(m.PerStream))
	for i, s := range m.PerStream {
		per[i] = round2(float64(s) / 1e6)
	}
	r.Metrics = map[string]any{
		"mbps": round2(mbps), "streams": m.Streams, "direction": c.From + "->" + c.To,
		"per_stream": per, "opened_by": openedBy,
	}
	r.Intervals = m.Intervals
	if m.Loaded != nil {
		s := m.Loaded.Stats()
		if s.Samples > 0 {
			r.Metrics["loaded_p50_ms"] = ms(s.P50)
			r.Metrics["loaded_p95_ms"] = ms(s.P95)
			r.Metrics["loaded_p99_ms"] = ms(s.P99)
		}
	}
	how := ""
	if openedBy != c.From {
		how = fmt.Sprintf(" (connections opened by %s, data %s -> %s)", openedBy, c.From, c.To)
	}
	r.Message = fmt.Sprintf("%s -> %s: %.1f Mbit/s with %d stream(s)%s", c.From, c.To, mbps, m.Streams, how)
	r.Status = result.Pass
	if c.UsedBytes > 0 && m.Rate > 0 {
		rs, err := capacity.ResyncTime(capacity.Alternate, []capacity.ResyncDisk{{Used: capacity.Bytes(c.UsedBytes)}}, m.Rate)
		if err == nil {
			r.Metrics["resync_hours"] = round2(rs.Hours)
		}
	}
	if c.RequiredBps <= 0 {
		return r
	}
	head := capacity.Headroom(m.Rate, capacity.BitsPerSecond(c.RequiredBps))
	r.Metrics["required_mbps"] = round2(c.RequiredBps / 1e6)
	r.Metrics["headroom"] = floor2(head)
	r.Message += fmt.Sprintf("; the VMs' churn needs %.1f Mbit/s (headroom %.2f)", c.RequiredBps/1e6, floor2(head))
	if c.AdviceOnly {
		// ASR moves failback data with several threads (4 by default, up to 32): a single
		// stream is window-bound over a long round trip, and that is advice, not a verdict.
		r.Message += "; shown as advice: the test with the most streams is the one judged"
		return r
	}
	switch capacity.Judge(head) {
	case capacity.Short:
		r.Status = result.Fail
		r.Hint = fmt.Sprintf("The link carries less than the churn: the 15-minute RPO will be missed. Raise the VPN/ExpressRoute bandwidth above %.0f Mbit/s, or fail back fewer VMs at once.", c.RequiredBps*1.2/1e6)
	case capacity.Tight:
		r.Status = result.Warn
		r.Hint = "Less than 20 % headroom: bursts of churn or other traffic at cutover time will delay replication."
	}
	return r
}

func round2(v float64) float64 { return float64(int64(v*100+0.5)) / 100 }

// floor2 rounds down to two decimals and never above v. Headroom is published that way so the
// figure stays on the side of a threshold the verdict is on: rounded to nearest, a failing
// 0.996 would read 1.00 in the results and in Prometheus, where alerts compare it with 1.
func floor2(v float64) float64 {
	f := math.Floor(v*100) / 100
	for f > v { // v*100 itself may round up
		f -= 0.01
	}
	return f
}
