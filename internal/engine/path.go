package engine

import (
	"context"
	"fmt"
	"net/netip"
	"strings"

	"github.com/netprobe/netprobe/internal/agent"
	"github.com/netprobe/netprobe/internal/probes"
	"github.com/netprobe/netprobe/internal/result"
	"github.com/netprobe/netprobe/internal/topology"
)

// path traces the route from the source agent across the link, to judge it private.
func (st *runState) path(ctx context.Context, p Prober, c Check) result.Result {
	req := probes.PathRequest{Address: c.Address, Mode: "icmp"}
	var m probes.PathResult
	if err := st.callProbe(ctx, p, c.FromAgent, agent.KindPath, 10*c.Timeout, req, &m); err != nil {
		return probeFailed(c, err)
	}
	return JudgePath(c, m)
}

// JudgePath judges FB-LINK: failback needs "private access" over a site-to-site VPN or
// ExpressRoute private peering (prepare-failback), that is no hop on the public internet. A
// hop counts as inside when it answers from a private or loopback address, from a declared
// site network, or from the link's own peering range (ExpressRoute private peering may number
// its peering subnets with public addresses). NAT is not visible here: the port checks show it
// (the source address the far agent saw).
func JudgePath(c Check, m probes.PathResult) result.Result {
	r := base(c)
	r.Target = c.Address
	hops := make([]string, 0, len(m.Hops))
	shown := make([]string, 0, len(m.Hops)) // with traceroute's !H, !X... marks and declared ranges
	var outside []string
	inside := len(m.Hops) > 0
	for _, h := range m.Hops {
		if h.Addr == "" {
			hops, shown = append(hops, "*"), append(shown, "*")
			inside = false
			continue
		}
		show := h.Addr
		switch in, by := c.hopInside(h.Addr); {
		case !in:
			outside = append(outside, h.Addr)
			inside = false
		case by != "":
			show += " (" + by + ")"
		}
		if h.Note != "" {
			show += " " + h.Note
		}
		hops, shown = append(hops, h.Addr), append(shown, show)
	}
	r.Metrics = result.Metrics{result.MetricHops: hops, result.MetricPrivate: inside, result.MetricReached: m.Reached}
	if len(outside) > 0 {
		r.Metrics[result.MetricOutside] = outside
	}
	route := strings.Join(shown, " -> ")
	notReached := ""
	if !m.Reached {
		notReached = fmt.Sprintf("; the trace did not reach %s", c.Address)
	}
	switch {
	case len(outside) > 0 && c.LinkKind == topology.LinkExpressRoutePrivate:
		r.Status = result.Warn
		r.Message = fmt.Sprintf("%s -> %s over %s (ExpressRoute private peering): %s answered from public addresses outside every declared range: %s%s",
			c.From, c.Address, c.To, strings.Join(outside, ", "), route, notReached)
		r.Hint = fmt.Sprintf("ExpressRoute private peering may number its peering subnets with public addresses. If %s belong to the circuit's peering, declare those subnets in links[].peering (links.%s.peering) and netprobe counts them inside; if they do not, the traffic crosses the public internet: route the Azure networks over the private peering.",
			strings.Join(outside, ", "), c.To)
	case len(outside) > 0:
		left := "leaves the private network"
		if c.LinkKind == topology.LinkVPN {
			left = "left the tunnel: it leaves the private network"
		}
		r.Status = result.Fail
		r.Message = fmt.Sprintf("%s -> %s over %s %s at %s: %s%s", c.From, c.Address, c.To, left, outside[0], route, notReached)
		r.Hint = fmt.Sprintf("Failback needs a site-to-site VPN or ExpressRoute private peering, off the public internet: route the Azure networks over the tunnel. If %s is a gateway of the link answering from its own public address, declare it in links[].peering (links.%s.peering).", outside[0], c.To)
	case !m.Reached:
		r.Status = result.Warn
		r.Message = fmt.Sprintf("%s -> %s over %s: the trace did not reach %s (%s)", c.From, c.Address, c.To, c.Address, route)
		r.Hint = "Routers or firewalls on the path do not answer traceroute; the port checks tell whether the flows pass."
	case !inside:
		// Reached, no public hop, but some hop stayed silent (VPN gateways often do): privacy
		// cannot be proven, nothing shows it is broken.
		r.Status = result.Warn
		r.Message = fmt.Sprintf("%s -> %s over %s: every hop that answered is inside the estate, but some stayed silent: %s", c.From, c.Address, c.To, route)
		r.Hint = "Silent hops (often the VPN gateways) cannot be checked; the NAT check of the port results shows whether addresses are rewritten."
	default:
		r.Status = result.Pass
		r.Message = fmt.Sprintf("%s -> %s over %s stays private (off the public internet): %s; NAT is judged by the port, latency and bandwidth checks (the source address the far agent saw)", c.From, c.Address, c.To, route)
	}
	return r
}

// hopInside reports whether a hop's address is inside the estate, and by which declared range
// when it is a public address ("" for private and loopback ones). An address that does not
// parse is not a public hop.
func (c Check) hopInside(addr string) (bool, string) {
	a, err := netip.ParseAddr(addr)
	if err != nil {
		return true, ""
	}
	a = a.Unmap()
	// Link-local addresses (169.254/16, fe80::/10) are never routed on the internet: a VPN
	// device's APIPA BGP address (Azure VPN gateways document 169.254.21.x) answers from one.
	if probes.IsPrivate(a) || a.IsLoopback() || a.IsLinkLocalUnicast() {
		return true, ""
	}
	for _, nr := range c.Ranges {
		if nr.Prefix.Contains(a) {
			return true, nr.Name
		}
	}
	return false, ""
}

// pathChecks plans FB-LINK over the link f names, with the ranges that count as inside there.
func pathChecks(t *topology.Topology, f topology.Flow, c Check) []Check {
	c.Kind = result.CheckPath
	c.Link = f.To
	c.ID = fmt.Sprintf("path/%s/%s", f.From, f.To)
	c.LinkKind, c.Ranges = insideRanges(t, f.To)
	return []Check{c}
}
