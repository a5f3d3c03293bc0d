package engine

import (
	"fmt"
	"net"
	"net/netip"
	"slices"
	"strconv"
	"strings"

	"github.com/netprobe/netprobe/internal/result"
	"github.com/netprobe/netprobe/internal/topology"
)

// Rules of the flows netprobe itself needs to run a plan (AgentFlows). They are netprobe's
// own, not ASR's: a firewall team may remove them after the cutover.
const (
	// RuleControl: the coordinator's control connection to an agent (TLS on the agent port).
	RuleControl = "NP-CTRL"
	// RuleEcho: an agent's UDP echo, on its control port number, for latency samples, the
	// PMTU search without ICMP, and latency under load during a bandwidth test.
	RuleEcho = "NP-ECHO"
	// RulePMTU: ICMP echo with Don't Fragment, the path MTU search.
	RulePMTU = "NP-PMTU"
	// RulePath: ICMP echo with a growing TTL, the trace that shows the path is private.
	RulePath = "NP-PATH"
	// RuleBandwidth: the bandwidth test's TCP connections to the data port.
	RuleBandwidth = "NP-BW"
	// RuleDNS: an agent asking its site's resolvers (checks.dns); TCP when an answer is truncated.
	RuleDNS = "NP-DNS"
)

// agentRuleOrder sorts netprobe's own flows the way docs/agent.md lists them.
var agentRuleOrder = []string{RuleControl, RuleEcho, RulePMTU, RulePath, RuleBandwidth, RuleDNS}

// agentFlowSource is where netprobe's own flows are documented, the "source" of their rules.
const agentFlowSource = "netprobe: docs/agent.md#firewall-rules-the-agent-needs"

// Coordinator is where `netprobe check` runs, as the agents' firewalls see it: a host of the
// topology (its NIC toward each agent's site is the source address) or an address outside it.
type Coordinator struct {
	Host    string     // a host of the topology; "" for an address outside it
	Address netip.Addr // the coordinator's address when Host is ""
}

// ParseCoordinator reads --coordinator: a host name of the topology, or an IP address.
func ParseCoordinator(t *topology.Topology, s string) (Coordinator, error) {
	if h := t.Hosts[s]; h != nil {
		return Coordinator{Host: h.Name}, nil
	}
	a, err := netip.ParseAddr(s)
	if err != nil {
		return Coordinator{}, fmt.Errorf("coordinator %q is neither a host of %s nor an IP address", s, t.Name)
	}
	return Coordinator{Address: a.Unmap()}, nil
}

func (c Coordinator) name() string {
	if c.Host != "" {
		return c.Host
	}
	return "coordinator"
}

// sourceToward is the coordinator's address as an agent in site sees it.
func (c Coordinator) sourceToward(t *topology.Topology, site string) string {
	if h := t.Hosts[c.Host]; h != nil {
		return hostOnly(h.AddressFrom(site))
	}
	return c.Address.String()
}

// AgentFlows lists what netprobe itself needs of the network to run plan, as flows a firewall
// renders like ASR's: the control port from each coordinator to every agent the run dials, and
// between the agents that measure each other, the UDP echo (latency, PMTU without ICMP,
// latency under load), ICMP echo (PMTU, path), the bandwidth test's data port and DNS to the
// sites' resolvers. Responders need no flow of their own: they listen on the ports of the
// flows they test. Pure: the plan decides which agents meet, nothing is probed.
func AgentFlows(t *topology.Topology, plan []Check, coords []Coordinator) []topology.Flow {
	a := &agentFlows{t: t, seen: map[string]bool{}}
	for _, c := range plan {
		if c.SkipReason != "" || c.FromAgent == "" {
			continue
		}
		a.control(coords, c.FromAgent, c.From, c.Phase)
		switch c.Kind {
		case result.CheckPort:
			a.control(coords, c.ToAgent, c.To, c.Phase)
		case result.CheckLatency:
			a.control(coords, c.ToAgent, c.To, c.Phase)
			a.echo(c)
		case result.CheckPMTU:
			a.control(coords, c.ToAgent, c.To, c.Phase)
			a.icmp(RulePMTU, c, "the path MTU search (Don't Fragment pings)")
			a.echo(c)
		case result.CheckPath:
			a.icmp(RulePath, c, "the trace that shows the path is private (routers answer with ICMP time exceeded)")
		case result.CheckBandwidth:
			a.control(coords, c.ToAgent, c.To, c.Phase)
			a.add(topology.Flow{Rule: RuleBandwidth, Phase: orFailback(c.Phase), Kind: topology.FlowPort, From: c.From, To: c.To,
				Address: hostOnly(c.Address), FromAddress: hostOnly(c.FromAddress), Port: c.Port, Proto: topology.ProtoTCP,
				Why: "netprobe's own: the bandwidth test's connections to the agent's temporary listener on the data port"})
			a.echo(c)
		case result.CheckDNS:
			a.dns(c)
			for _, rv := range c.Resolvers {
				a.control(coords, rv.Agent, rv.Host, c.Phase)
				a.dns(Check{From: rv.Host, Phase: c.Phase, Servers: rv.Servers})
			}
		}
	}
	slices.SortStableFunc(a.flows, func(x, y topology.Flow) int {
		if d := slices.Index(agentRuleOrder, x.Rule) - slices.Index(agentRuleOrder, y.Rule); d != 0 {
			return d
		}
		for _, d := range []int{strings.Compare(x.From, y.From), strings.Compare(x.To, y.To), x.Port - y.Port, int(x.Proto) - int(y.Proto)} {
			if d != 0 {
				return d
			}
		}
		return 0
	})
	return a.flows
}

// agentFlows collects the flows of AgentFlows once each.
type agentFlows struct {
	t     *topology.Topology
	flows []topology.Flow
	seen  map[string]bool
}

func (a *agentFlows) add(f topology.Flow) {
	key := fmt.Sprintf("%s|%s|%s|%s|%s|%d|%d", f.Rule, f.From, f.To, f.Address, f.FromAddress, f.Proto, f.Port)
	if a.seen[key] {
		return
	}
	a.seen[key] = true
	if f.Expect == 0 {
		f.Expect = topology.ExpectOpen
	}
	f.Confidence, f.Source = topology.ConfDoc, agentFlowSource
	a.flows = append(a.flows, f)
}

// control adds the control connection from every coordinator to the agent at addr, on host.
// The coordinator dials the agent address as the topology writes it, not a NIC toward a site.
func (a *agentFlows) control(coords []Coordinator, addr, host string, phase topology.Phase) {
	if addr == "" {
		return
	}
	h, port, err := net.SplitHostPort(addr)
	if err != nil {
		return
	}
	p, _ := strconv.Atoi(port)
	site := ""
	if hh := a.t.Hosts[host]; hh != nil {
		site = hh.Site
	}
	for _, c := range coords {
		if c.Host == host {
			continue // the coordinator's own agent: loopback, no firewall in between
		}
		a.add(topology.Flow{Rule: RuleControl, Phase: orFailback(phase), Kind: topology.FlowPort, From: c.name(), To: host,
			Address: h, FromAddress: c.sourceToward(a.t, site), Port: p, Proto: topology.ProtoTCP,
			Why: "netprobe's own: the coordinator's control connection to the agent (TLS, authenticated)"})
	}
}

// echo adds the datagrams from c's source agent to the destination agent's UDP echo.
func (a *agentFlows) echo(c Check) {
	port := echoPort(c.ToAgent)
	if port == 0 {
		return
	}
	a.add(topology.Flow{Rule: RuleEcho, Phase: orFailback(c.Phase), Kind: topology.FlowPort, From: c.From, To: c.To,
		Address: hostOnly(c.Address), FromAddress: hostOnly(c.FromAddress), Port: port, Proto: topology.ProtoUDP,
		Why: "netprobe's own: the agent's UDP echo on its control port number (latency, latency under load, path MTU without ICMP)"})
}

// icmp adds ICMP echo from c's source to its address; a path check names a link, so the
// destination host is found by its address.
func (a *agentFlows) icmp(rule string, c Check, what string) {
	to := c.To
	if c.Kind == result.CheckPath {
		to = a.hostAt(c.Address)
	}
	a.add(topology.Flow{Rule: rule, Phase: orFailback(c.Phase), Kind: topology.FlowICMP, From: c.From, To: to,
		Address: hostOnly(c.Address), FromAddress: hostOnly(c.FromAddress), Proto: topology.ProtoICMP,
		Why: "netprobe's own: ICMP echo for " + what})
}

// dns adds queries from c's host to each resolver it asks, over UDP and, for a truncated
// answer, TCP. A host asking its own configured resolvers names none: no rule can be written.
func (a *agentFlows) dns(c Check) {
	h := a.t.Hosts[c.From]
	if h == nil {
		return
	}
	for _, s := range c.Servers {
		addr, port := s, 53
		if ap, err := netip.ParseAddrPort(s); err == nil {
			addr, port = ap.Addr().String(), int(ap.Port())
		}
		from := hostOnly(h.AddressFrom(a.siteOf(addr)))
		for _, proto := range []topology.Proto{topology.ProtoUDP, topology.ProtoTCP} {
			a.add(topology.Flow{Rule: RuleDNS, Phase: orFailback(c.Phase), Kind: topology.FlowPort, From: c.From, To: addr,
				Address: addr, FromAddress: from, Port: port, Proto: proto,
				Why: "netprobe's own: the agent resolves checks.dns names with its site's resolvers"})
		}
	}
}

// hostAt is the host that has address addr (primary or a NIC's), or addr itself.
func (a *agentFlows) hostAt(addr string) string {
	for _, name := range sortedHosts(a.t) {
		h := a.t.Hosts[name]
		if hostOnly(h.Address) == addr {
			return name
		}
		for _, n := range h.NICs {
			if n.Address.Addr().String() == addr {
				return name
			}
		}
	}
	return addr
}

// siteOf is the site whose networks hold addr, "" when none does.
func (a *agentFlows) siteOf(addr string) string {
	ip, err := netip.ParseAddr(addr)
	if err != nil {
		return ""
	}
	best, bits := "", -1
	for name, s := range a.t.Sites {
		for _, n := range s.Networks {
			if n.Contains(ip) && (n.Bits() > bits || n.Bits() == bits && name < best) {
				best, bits = name, n.Bits()
			}
		}
	}
	return best
}

// orFailback is a check's phase, failback when it has none: the flows netprobe's own traffic
// needs are listed under the phase they serve.
func orFailback(p topology.Phase) topology.Phase {
	if p == topology.PhaseForward {
		return topology.PhaseForward
	}
	return topology.PhaseFailback
}
