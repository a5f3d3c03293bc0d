package engine

import (
	"context"
	"errors"
	"fmt"
	"math"
	"slices"
	"time"

	"github.com/netprobe/netprobe/internal/agent"
	"github.com/netprobe/netprobe/internal/bwtest"
	"github.com/netprobe/netprobe/internal/capacity"
	"github.com/netprobe/netprobe/internal/probes"
	"github.com/netprobe/netprobe/internal/result"
	"github.com/netprobe/netprobe/internal/topology"
)

// bandwidth measures throughput in the check's direction (From sends to To). It first has To
// serve and From connect; when that connection cannot be made (only the other direction is
// open in the firewall), From serves and To connects and receives, like iperf3 -R: the data
// still flows the way replication does.
func (st *runState) bandwidth(ctx context.Context, p Prober, c Check) result.Result {
	to := st.prober(c.ToAgent)
	if to == nil {
		err := st.dialErr(c.ToAgent)
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
	case ownFailure(ctx, err):
		// Netprobe's own failure in at least one direction: that direction is unknown, so
		// the network cannot be blamed for the test not running.
		return Errored(c, ownFailureOf(ctx, err), bandwidthHint(ctx, c, err))
	default:
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
			if k != result.MetricSamples {
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
		r.Metrics = result.Metrics{}
	}
	r.Metrics[result.MetricNAT] = true
	if r.Status == result.Pass || r.Status == result.Warn {
		r.Status = result.Fail
		r.Message += "; but " + seen + ": NAT on the path"
		r.Hint = "Failback needs private addresses end to end with no NAT: remove the source NAT for this traffic on the VPN/ExpressRoute path."
	}
}

// errPortHeld: the data port is taken on the serving side, so no bandwidth responder can
// listen there. errPortInUse: it is taken by another netprobe run's responder (agent.InUse).
var (
	errPortHeld  = errors.New("the bandwidth test needs the port free")
	errPortInUse = errors.New("another netprobe run's responder holds the port")
)

// bothWays carries the errors of both attempts: the first wraps through Unwrap, the second
// through err2Of, so a verdict can ask what happened each way.
type bothWays struct {
	first, second error
	msg           string
}

func (e *bothWays) Error() string   { return e.msg }
func (e *bothWays) Unwrap() []error { return []error{e.first, e.second} }

// ownFailure reports whether err, for a test tried both ways, holds netprobe's own failure in
// either direction: an agent gone, hung, refusing (bounds, auth) or busy, or the port held by
// another netprobe run. Only a test that failed both ways for the network's reasons (no
// connection, streams cut, time out on the data port) is a firewall FAIL: when one direction
// could not be tried, whether it would carry the test is unknown.
func ownFailure(ctx context.Context, err error) bool {
	var b *bothWays
	if errors.As(err, &b) {
		return bwOwn(ctx, b.first) || bwOwn(ctx, b.second)
	}
	return bwOwn(ctx, err)
}

// bwOwn is one attempt's failure being netprobe's own: a control failure, a bandwidth server
// that was busy or refused the test's limits or ticket, a port another netprobe run holds.
func bwOwn(ctx context.Context, err error) bool {
	return controlFailure(ctx, err) || errors.Is(err, bwtest.ErrBusy) || errors.Is(err, bwtest.ErrLimit) || errors.Is(err, errPortInUse)
}

// ownFailureOf is the part of err that is netprobe's own, for the message: the attempts that
// failed that way (each names its agent).
func ownFailureOf(ctx context.Context, err error) error {
	var b *bothWays
	if !errors.As(err, &b) {
		return err
	}
	switch own1, own2 := bwOwn(ctx, b.first), bwOwn(ctx, b.second); {
	case own1 && own2:
		return fmt.Errorf("%w; and the other way: %w", b.first, b.second)
	case own1:
		return fmt.Errorf("%w (the other way failed on the network: %v)", b.first, b.second)
	}
	return fmt.Errorf("%w (the other way failed on the network: %v)", b.second, b.first)
}

// bandwidthHint says what to do about the agent that failed.
func bandwidthHint(ctx context.Context, c Check, err error) string {
	var af *agentFailure
	if errors.As(ownFailureOf(ctx, err), &af) {
		if h := agentHint(Check{From: af.host, FromAgent: af.addr}, af.err); h != "" {
			return h
		}
		if errors.Is(af.err, errPortInUse) || errors.Is(af.err, bwtest.ErrBusy) {
			return fmt.Sprintf("Another netprobe run is measuring through %s; run this check again when it ends.", af.host)
		}
	}
	return "netprobe's own failure, not the network's: see the message for the agent that failed, then run the check again."
}

// agentFailure is an attempt's error with the agent it came from: the one whose responder
// could not be opened, or the one that measured.
type agentFailure struct {
	host, addr, what string
	err              error
}

func (e *agentFailure) Error() string {
	return fmt.Sprintf("agent %s on %s, %s: %v", e.addr, e.host, e.what, e.err)
}
func (e *agentFailure) Unwrap() error { return e.err }

// heldBothWays reports whether neither side could serve because the port was taken on both.
func heldBothWays(err error) bool {
	var b *bothWays
	return errors.As(err, &b) && errors.Is(b.first, errPortHeld) && errors.Is(b.second, errPortHeld)
}

// bwAttempt opens a bandwidth responder (and a UDP echo for latency under load) on the
// server's agent at the data port, runs the test from the client's agent, and closes them.
// Its error is an *agentFailure naming the agent it came from.
func (st *runState) bwAttempt(ctx context.Context, server Prober, serverAgent, serverHost string, client Prober, clientAgent string, dir bwtest.Direction, c Check) (bwtest.Result, *idleEcho, error) {
	serverName, clientName := c.To, c.From
	if dir == bwtest.Receive {
		serverName, clientName = c.From, c.To
	}
	echo := agent.Listen{Proto: "udp", Port: echoPort(serverAgent)}
	octx, cancel := context.WithTimeout(ctx, 10*time.Second)
	rs, err := server.OpenResponders(octx, []agent.Listen{{Proto: agent.ProtoBandwidth, Port: c.Port}, echo})
	cancel()
	if err != nil {
		return bwtest.Result{}, nil, &agentFailure{host: serverName, addr: serverAgent, what: "opening the bandwidth responder", err: err}
	}
	defer func() {
		cctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), 5*time.Second)
		_ = server.CloseResponders(cctx, rs.ID)
		cancel()
	}()
	params := bwtest.Params{Streams: c.Streams, Duration: c.Duration, Direction: dir,
		// Live rates for displays; the agent streams them as it measures.
		OnInterval: func(i int, rate capacity.BitsPerSecond) {
			st.send(Event{Interval: &Interval{ID: c.ID, N: i, Bps: float64(rate), Required: float64(c.RequiredBps)}})
		}}
	for _, pr := range rs.Ports {
		switch {
		case pr.Proto == agent.ProtoBandwidth && pr.Status == agent.InUse:
			return bwtest.Result{}, nil, &agentFailure{host: serverName, addr: serverAgent, what: "opening the bandwidth responder",
				err: fmt.Errorf("%w: port %d: %s", errPortInUse, c.Port, pr.Detail)}
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
	// The measuring agent ends its test by its own bound (warm-up + duration +
	// agent.BandwidthSlack) and answers; wait longer than that, so a stall at the far end is
	// reported by the measuring agent, not blamed on it as "no answer in time".
	bctx, cancel := context.WithTimeout(ctx, agent.BandwidthBudget(params)+agent.BandwidthSlack+bandwidthAnswerMargin)
	defer cancel()
	res, err := client.Bandwidth(bctx, joinHostPort(serverHost, c.Port), params)
	if err != nil {
		return res, idle, &agentFailure{host: clientName, addr: clientAgent, what: fmt.Sprintf("measuring toward %s", serverName), err: err}
	}
	return res, idle, nil
}

// bandwidthAnswerMargin is what the coordinator waits beyond the measuring agent's own bound
// for its answer: the control round trip of a loaded agent over a slow VPN.
const bandwidthAnswerMargin = 10 * time.Second

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
	r.Metrics = result.Metrics{
		result.MetricMbps: round2(mbps), result.MetricStreams: m.Streams, result.MetricDirection: c.From + "->" + c.To,
		result.MetricPerStream: per, result.MetricOpenedBy: openedBy,
	}
	r.Intervals = m.Intervals
	if m.Loaded != nil {
		s := m.Loaded.Stats()
		if s.Samples > 0 {
			r.Metrics[result.MetricLoadedP50MS] = result.Millis(s.P50)
			r.Metrics[result.MetricLoadedP95MS] = result.Millis(s.P95)
			r.Metrics[result.MetricLoadedP99MS] = result.Millis(s.P99)
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
			r.Metrics[result.MetricResyncHours] = round2(rs.Hours)
		}
	}
	if c.RequiredBps <= 0 {
		return r
	}
	head := capacity.Headroom(m.Rate, capacity.BitsPerSecond(c.RequiredBps))
	r.Metrics[result.MetricRequiredMbps] = round2(float64(c.RequiredBps) / 1e6)
	r.Metrics[result.MetricHeadroom] = floor2(head)
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

// bandwidthChecks plans a bandwidth flow: one test per stream count of checks.bandwidth.
func bandwidthChecks(t *topology.Topology, f topology.Flow, c Check) []Check {
	c.Kind = result.CheckBandwidth
	b := t.Checks.Bandwidth
	c.Duration = b.Duration
	c.Port = t.Settings.DataPort
	c.Proto = topology.ProtoTCP
	// The churn is judged in the replication direction only: from the process server
	// in Azure to the master target. The way back is measured and shown, not judged
	// (also when the on-premises master target is a process server too).
	// Each pair is judged against the churn of the VMs that fail back over it (a pair
	// with none is measured, not judged).
	if p, ok := pairOf(t, f.From, f.To); ok {
		c.RequiredBps = requiredBps(t, p)
		c.UsedBytes = capacity.Bytes(p.Size())
	}
	if c.ToAgent == "" && c.SkipReason == "" {
		c.SkipReason = fmt.Sprintf("no agent on %s to receive the bandwidth test (add `agent:` to hosts.%s)", f.To, f.To)
	}
	// Single- and multi-stream side by side: a single stream over a long round trip is
	// window-bound, and the difference is the advice the user needs (bandwidth.md).
	var out []Check
	for _, n := range b.Streams {
		cc := c
		cc.Streams = n
		cc.ID = fmt.Sprintf("bandwidth/%s/%s/%d", f.From, f.To, n)
		cc.AdviceOnly = n < slices.Max(b.Streams)
		out = append(out, cc)
	}
	return out
}
