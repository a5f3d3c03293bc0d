package engine

import (
	"context"
	"errors"
	"fmt"

	"github.com/netprobe/netprobe/internal/agent"
	"github.com/netprobe/netprobe/internal/probes"
	"github.com/netprobe/netprobe/internal/result"
	"github.com/netprobe/netprobe/internal/topology"
)

// pmtu searches the path MTU from the source agent toward the destination, by ICMP or, when the
// agent may not send ICMP, by UDP to the destination agent's echo.
func (st *runState) pmtu(ctx context.Context, p Prober, c Check) result.Result {
	req := probes.PMTURequest{Address: c.Address, Min: c.MTUMin, Max: c.MTUMax}
	// A binary search of DF probes: about log2(max-min) rounds, each up to one timeout.
	var m probes.PMTUResult
	err := st.callProbe(ctx, p, c.FromAgent, agent.KindPMTU, 12*c.Timeout, req, &m)
	if (errors.Is(err, probes.ErrPermission) || errors.Is(err, probes.ErrUnsupported)) && st.responder(c.ToAgent, agent.Listen{Proto: "udp", Port: echoPort(c.ToAgent)}) == agent.Opened {
		// No ICMP socket for the agent (unprivileged): DF datagrams to the destination
		// agent's UDP echo measure the same path, where the agent's OS can set DF on UDP.
		req.Mode, req.Address = "udp", joinHostPort(c.Address, echoPort(c.ToAgent))
		m = probes.PMTUResult{}
		err = st.callProbe(ctx, p, c.FromAgent, agent.KindPMTU, 12*c.Timeout, req, &m)
	}
	if err != nil {
		return probeFailed(c, err)
	}
	return JudgePMTU(c, m)
}

// JudgePMTU fails on a black hole (large packets vanish silently: TCP sessions hang once they
// send full-size segments) and on a path MTU below the link's declared one.
func JudgePMTU(c Check, m probes.PMTUResult) result.Result {
	r := base(c)
	r.Target = c.Address
	r.Metrics = result.Metrics{result.MetricMTU: m.MTU, result.MetricMSS: m.MSS, result.MetricBlackhole: m.Blackhole}
	if c.ExpectedMTU > 0 {
		r.Metrics[result.MetricExpectedMTU] = c.ExpectedMTU
	}
	switch {
	case m.Blackhole:
		r.Status = result.Fail
		r.Message = fmt.Sprintf("%s -> %s: packets above %d bytes vanish without \"fragmentation needed\": an MTU black hole", c.From, c.To, m.MTU)
		r.Hint = fmt.Sprintf("Clamp TCP MSS to %d on the VPN gateway (or let ICMP type 3 code 4 through), or replication stalls on full-size segments.", m.MSS)
	case c.ExpectedMTU > 0 && m.MTU < c.ExpectedMTU:
		r.Status = result.Warn
		r.Message = fmt.Sprintf("%s -> %s: path MTU %d is below the link's declared %d", c.From, c.To, m.MTU, c.ExpectedMTU)
		r.Hint = fmt.Sprintf("Set links[].mtu to %d, or find the hop that lowers it; clamp MSS to %d.", m.MTU, m.MSS)
	default:
		r.Status = result.Pass
		how := ""
		if m.FragNeeded {
			how = fmt.Sprintf(", larger packets get \"fragmentation needed\" (next-hop MTU %d from %s)", m.NextHopMTU, m.FragFrom)
		}
		r.Message = fmt.Sprintf("%s -> %s: path MTU %d%s; MSS %d", c.From, c.To, m.MTU, how, m.MSS)
	}
	return r
}

// pmtuChecks plans a path MTU search, expecting the MTU of the link it crosses when one is
// declared.
func pmtuChecks(t *topology.Topology, f topology.Flow, c Check) []Check {
	c.Kind = result.CheckPMTU
	c.ID = fmt.Sprintf("pmtu/%s/%s", f.From, f.To)
	c.MTUMin, c.MTUMax = t.Checks.PMTU.Min, t.Checks.PMTU.Max
	if l := hostsLink(t, f.From, f.To); l != nil {
		c.ExpectedMTU = l.MTU
	}
	return []Check{c}
}
