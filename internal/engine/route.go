package engine

import (
	"context"
	"fmt"
	"net/netip"

	"github.com/netprobe/netprobe/internal/agent"
	"github.com/netprobe/netprobe/internal/probes"
	"github.com/netprobe/netprobe/internal/result"
	"github.com/netprobe/netprobe/internal/topology"
)

// route asks the source agent's OS which interface and source address it uses toward the
// destination: the dual-NIC check of the configuration server.
func (st *runState) route(ctx context.Context, p Prober, c Check) result.Result {
	var m probes.RouteResult
	if err := st.callProbe(ctx, p, c.FromAgent, agent.KindRoute, c.Timeout, agent.RouteRequest{Dest: c.Address}, &m); err != nil {
		return Errored(c, err, agentHint(c, err))
	}
	return JudgeRoute(c, m)
}

// JudgeRoute compares the OS's route choice with the NIC the topology names.
func JudgeRoute(c Check, m probes.RouteResult) result.Result {
	r := base(c)
	r.Metrics = result.Metrics{result.MetricInterface: m.Interface, result.MetricSourceIP: m.SourceIP}
	if m.Gateway != "" {
		r.Metrics[result.MetricGateway] = m.Gateway
	}
	if c.ExpectIface != "" {
		r.Metrics[result.MetricExpectedInterface] = c.ExpectIface
	}
	want := c.ExpectSource
	if want != "" {
		r.Metrics[result.MetricExpectedSourceIP] = want
	}
	got, _ := netip.ParseAddr(m.SourceIP)
	exp, _ := netip.ParseAddr(want)
	if want == "" || got == exp {
		r.Status = result.Pass
		r.Message = fmt.Sprintf("%s routes to %s (%s) out of %s from %s, as expected", c.From, c.To, c.Address, m.Interface, m.SourceIP)
		return r
	}
	r.Status = result.Fail
	r.Message = fmt.Sprintf("%s routes to %s (%s) out of %s from %s, not from its %s NIC %s", c.From, c.To, c.Address, m.Interface, m.SourceIP, c.ExpectIface, want)
	r.Hint = fmt.Sprintf("Add a route on %s for %s via the gateway of its %s NIC (%s), so traffic to Azure leaves by the failback NIC (retained-IP failback).", c.From, c.Address, c.ExpectIface, want)
	return r
}

// routeChecks plans the dual-NIC check: the source must leave by the NIC f names, or from
// its address toward the destination.
func routeChecks(t *topology.Topology, f topology.Flow, c Check) []Check {
	c.Kind = result.CheckRoute
	c.ID = fmt.Sprintf("route/%s/%s", f.From, f.To)
	if h := t.Hosts[f.From]; h != nil {
		for _, n := range h.NICs {
			if n.Name == f.SourceNIC {
				c.ExpectIface = n.Name
				c.ExpectSource = n.Address.Addr().String()
			}
		}
	}
	if c.ExpectSource == "" {
		c.ExpectSource = hostOnly(f.FromAddress)
	}
	if !isIP(c.Address) && c.SkipReason == "" {
		// The OS answers which route it takes toward an address, not a name; resolving
		// it on paper could pick another address than the one the traffic uses.
		c.SkipReason = fmt.Sprintf("the route check needs %s's IP address, and hosts.%s.address is the name %s: give its address (the NIC toward the configuration server) to check the route", f.To, f.To, c.Address)
	}
	return []Check{c}
}
