package engine

import (
	"context"
	"fmt"
	"time"

	"github.com/netprobe/netprobe/internal/agent"
	"github.com/netprobe/netprobe/internal/probes"
	"github.com/netprobe/netprobe/internal/result"
	"github.com/netprobe/netprobe/internal/topology"
)

// latency runs a UDP echo latency probe to the destination agent's echo responder.
func (st *runState) latency(ctx context.Context, p Prober, c Check) result.Result {
	if err := st.dialErr(c.ToAgent); err != nil {
		return Errored(c, fmt.Errorf("the agent on %s (%s) did not answer, so it cannot echo: %w", c.To, c.ToAgent, err), agentHint(Check{From: c.To, FromAgent: c.ToAgent}, err))
	}
	if st.responder(c.ToAgent, agent.Listen{Proto: "udp", Port: echoPort(c.ToAgent)}) != agent.Opened {
		return Errored(c, fmt.Errorf("the agent on %s did not open its UDP echo on port %d", c.To, echoPort(c.ToAgent)),
			fmt.Sprintf("Check that udp/%d is free on %s (the agent's echo uses its control port number over UDP).", echoPort(c.ToAgent), c.To))
	}
	req := probes.LatencyRequest{
		Address:  joinHostPort(c.Address, echoPort(c.ToAgent)),
		Samples:  c.Samples,
		Interval: c.Interval,
		Timeout:  c.Timeout,
	}
	if st.r.BindSource {
		req.Source = hostOnly(c.FromAddress)
	}
	budget := time.Duration(max(c.Samples, 1))*c.Interval + c.Timeout
	var m probes.LatencyResult
	start := time.Now()
	if err := st.callProbe(ctx, p, c.FromAgent, agent.KindLatency, budget, req, &m); err != nil {
		return Errored(c, err, agentHint(c, err))
	}
	if m.Received < m.Sent {
		// Lost samples count against the path only if the echo listened all along.
		if err := st.responderListened(ctx, c.To, c.ToAgent, agent.Listen{Proto: "udp", Port: echoPort(c.ToAgent)}, start, time.Now()); err != nil {
			return Errored(c, err, responderHint(c))
		}
	}
	r := JudgeLatency(c, m.Stats())
	if seen := natSeen(m); seen != "" {
		markNAT(&r, seen)
	}
	return r
}

// JudgeLatency compares latency figures with the thresholds of checks.latency.
func JudgeLatency(c Check, s probes.LatencyStats) result.Result {
	r := base(c)
	r.Metrics = s.Metrics("")
	switch {
	case s.Samples == 0:
		r.Status = result.Fail
		r.Message = fmt.Sprintf("%s -> %s: no echo came back (%d%% loss)", c.From, c.To, int(s.Loss*100))
		r.Hint = fmt.Sprintf("Allow udp %s -> %s:%d (the agent's echo) or check the path.", c.FromAddress, c.Address, echoPort(c.ToAgent))
		return r
	case c.FailP95 > 0 && s.P95 > c.FailP95:
		r.Status = result.Fail
	case c.WarnP95 > 0 && s.P95 > c.WarnP95, s.Loss > 0:
		r.Status = result.Warn
	default:
		r.Status = result.Pass
	}
	r.Message = fmt.Sprintf("%s -> %s: p50 %s, p95 %s, jitter %s, loss %.1f%% over %d samples", c.From, c.To,
		fmtDur(s.P50), fmtDur(s.P95), fmtDur(s.Jitter), s.Loss*100, s.Samples)
	switch r.Status {
	case result.Fail:
		r.Hint = fmt.Sprintf("p95 above %s: the process server needs low latency to the protected VMs; check the VPN's load and path.", fmtDur(c.FailP95))
	case result.Warn:
		if s.Loss > 0 {
			r.Hint = "Packets are lost on the path: check the VPN tunnel's stability and MTU."
		} else {
			r.Hint = fmt.Sprintf("p95 above %s (the warning threshold of checks.latency).", fmtDur(c.WarnP95))
		}
	}
	return r
}

// latencyChecks plans a latency flow with the thresholds of checks.latency; the destination
// needs an agent to echo.
func latencyChecks(t *topology.Topology, f topology.Flow, c Check) []Check {
	c.Kind = result.CheckLatency
	c.ID = fmt.Sprintf("latency/%s/%s", f.From, f.To)
	l := t.Checks.Latency
	c.Samples, c.Interval, c.WarnP95, c.FailP95 = l.Samples, l.Interval, l.WarnP95, l.FailP95
	if c.ToAgent == "" && c.SkipReason == "" {
		c.SkipReason = fmt.Sprintf("no agent on %s to echo latency probes (add `agent:` to hosts.%s)", f.To, f.To)
	}
	return []Check{c}
}
