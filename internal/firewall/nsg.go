package firewall

import (
	"errors"
	"fmt"
	"net/netip"
	"slices"
	"strings"

	"github.com/netprobe/netprobe/internal/topology"
)

// NSG priorities and limits (learn.microsoft.com/azure/virtual-network/network-security-groups-overview
// and the networking limits of azure-subscription-service-limits). Ours start at 1000 so that
// rules a team already has below 1000 win.
const (
	DefaultFirstPriority = 1000
	nsgMinPriority       = 100
	nsgMaxPriority       = 4096
	// nsgMaxRules is Azure's limit of security rules per NSG.
	nsgMaxRules = 1000
	// nsgMaxPrefixes is Azure's limit of addresses and ranges named as sources (and,
	// separately, as destinations) over all the rules of one NSG.
	nsgMaxPrefixes = 4000
	// nsgMaxName and nsgMaxDescription are the lengths Azure takes for a rule's or an NSG's
	// name and a rule's description.
	nsgMaxName        = 80
	nsgMaxDescription = 140
)

// ErrNSGLimit: the rules of one NSG do not fit Azure's limits even aggregated.
var ErrNSGLimit = errors.New("over Azure's NSG limits")

// nsg is one network security group: the Azure hosts of one subnet (the prefix of a NIC the
// topology gives) or, where the topology gives none, of one network of their site.
type nsg struct {
	name   string
	symbol string // its identifier in Bicep and Terraform, unique in the output
	site   string
	prefix string // the subnet or site network it stands for
	hosts  []string
	rules  []nsgRule
}

// nsgRule is one security rule, in Azure's terms.
type nsgRule struct {
	name, description   string
	protocol            string // Tcp, Udp, Icmp
	sources, dests      []string
	ports               []string // "*" for ICMP
	priority            int
	direction           string // Inbound, Outbound
	ruleIDs, from, dsts []string
}

// nsgScope is where an address sits for NSGs: the group it belongs to, or none (not Azure).
type nsgScope struct {
	site   string
	prefix netip.Prefix
	host   string // set when the group is one host (its address in no network of its site)
}

func (s nsgScope) key() string { return s.site + "|" + s.prefix.String() + "|" + s.host }

// scopeOf finds the NSG of an address: host is the topology host it belongs to, or "" (the
// coordinator, a resolver). Only Azure sites have NSGs.
func scopeOf(t *topology.Topology, host string, a netip.Addr) (nsgScope, bool) {
	if h := t.Hosts[host]; h != nil {
		s := t.Sites[h.Site]
		if s == nil || s.Kind != topology.SiteAzure {
			return nsgScope{}, false
		}
		for _, n := range h.NICs {
			if n.Address.Masked().Contains(a) {
				return nsgScope{site: h.Site, prefix: n.Address.Masked()}, true
			}
		}
		if p, ok := smallestNetwork(s, a); ok {
			return nsgScope{site: h.Site, prefix: p}, true
		}
		return nsgScope{site: h.Site, prefix: netip.PrefixFrom(a, a.BitLen()), host: host}, true
	}
	var best nsgScope
	found := false
	for _, name := range sortedSites(t) {
		s := t.Sites[name]
		if s.Kind != topology.SiteAzure {
			continue
		}
		if p, ok := smallestNetwork(s, a); ok && (!found || p.Bits() > best.prefix.Bits()) {
			best, found = nsgScope{site: name, prefix: p}, true
		}
	}
	return best, found
}

func smallestNetwork(s *topology.Site, a netip.Addr) (netip.Prefix, bool) {
	var best netip.Prefix
	for _, n := range s.Networks {
		if n.Contains(a) && (!best.IsValid() || n.Bits() > best.Bits()) {
			best = n
		}
	}
	return best, best.IsValid()
}

func sortedSites(t *topology.Topology) []string {
	names := make([]string, 0, len(t.Sites))
	for n := range t.Sites {
		names = append(names, n)
	}
	slices.Sort(names)
	return names
}

// nsgPlan turns in's rules into NSGs: a flow into an Azure host is an Inbound rule of its
// NSG, a flow out of one an Outbound rule of its NSG (both, in one NSG, within a subnet).
// Rules are aggregated (aggregate), numbered from the first priority, and checked against
// Azure's limits: a plan over them is an error that names the NSG and the limit.
func nsgPlan(in Input) ([]*nsg, []string, error) {
	first := in.FirstPriority
	if first == 0 {
		first = DefaultFirstPriority
	}
	if first < nsgMinPriority || first > nsgMaxPriority {
		return nil, nil, fmt.Errorf("nsg: first priority %d is outside Azure's %d..%d", first, nsgMinPriority, nsgMaxPriority)
	}
	rules, notes := plan(in)
	t := in.Topology
	type side struct {
		scope   nsgScope
		in, out []*rule
		hosts   []string
	}
	sides := map[string]*side{}
	var order []string
	at := func(s nsgScope, host string) *side {
		sd := sides[s.key()]
		if sd == nil {
			sd = &side{scope: s}
			sides[s.key()] = sd
			order = append(order, s.key())
		}
		if t.Hosts[host] != nil && !slices.Contains(sd.hosts, host) {
			sd.hosts = append(sd.hosts, host)
		}
		return sd
	}
	for _, r := range rules {
		if s, ok := scopeOf(t, r.to, r.dst); ok {
			sd := at(s, r.to)
			sd.in = append(sd.in, r)
		}
		if s, ok := scopeOf(t, r.from, r.src); ok {
			sd := at(s, r.from)
			sd.out = append(sd.out, r)
		}
	}
	slices.Sort(order)
	var out []*nsg
	var errs []error
	for _, k := range order {
		sd := sides[k]
		n := &nsg{name: nsgResourceName(sd.scope), site: sd.scope.site, prefix: sd.scope.prefix.String(), hosts: sd.hosts}
		slices.Sort(n.hosts)
		type dirGroup struct {
			g   *group
			dir string
		}
		var all []dirGroup
		for _, g := range aggregate(sd.in) {
			all = append(all, dirGroup{g, "Inbound"})
		}
		for _, g := range aggregate(sd.out) {
			all = append(all, dirGroup{g, "Outbound"})
		}
		slices.SortStableFunc(all, func(a, b dirGroup) int { return a.g.first() - b.g.first() })
		for i, dg := range all {
			n.rules = append(n.rules, newNSGRule(dg.g, dg.dir, first+i))
		}
		if err := n.check(); err != nil {
			errs = append(errs, err)
		}
		out = append(out, n)
	}
	if len(out) == 0 {
		notes = append(notes, "no flow starts or ends in an Azure site: no NSG rule is needed")
	}
	used := map[string]bool{}
	for _, n := range out {
		// Names and symbols are made from site, prefix and host names: two long ones cut at
		// Azure's 80 characters could meet. Keep each unique.
		base := n.name
		for i := 2; used["name "+n.name]; i++ {
			n.name = azureName(fmt.Sprintf("%s-%d", base[:min(len(base), nsgMaxName-4)], i))
		}
		used["name "+n.name] = true
		n.symbol = symbol("nsg", n.name)
		for i := 2; used[n.symbol]; i++ {
			n.symbol = fmt.Sprintf("%s_%d", symbol("nsg", n.name), i)
		}
		used[n.symbol] = true
	}
	return out, notes, errors.Join(errs...)
}

func newNSGRule(g *group, dir string, prio int) nsgRule {
	r := nsgRule{priority: prio, direction: dir, ruleIDs: g.ruleIDs(), from: g.names(true), dsts: g.names(false)}
	switch g.proto {
	case topology.ProtoTCP:
		r.protocol = "Tcp"
	case topology.ProtoUDP:
		r.protocol = "Udp"
	case topology.ProtoICMP:
		r.protocol = "Icmp"
	}
	for _, p := range prefixes(g.srcs) {
		r.sources = append(r.sources, prefixText(p))
	}
	for _, p := range prefixes(g.dsts) {
		r.dests = append(r.dests, prefixText(p))
	}
	r.ports = portRanges(g.ports)
	if len(r.ports) == 0 {
		r.ports = []string{"*"} // ICMP has no ports: "*" is the only value an NSG takes
	}
	short := "in"
	if dir == "Outbound" {
		short = "out"
	}
	ports := strings.Join(r.ports, "_")
	if g.proto == topology.ProtoICMP {
		ports = ""
	}
	r.name = azureName(fmt.Sprintf("netprobe-%d-%s-%s%s-%s", prio, short, strings.ToLower(r.protocol), ports, strings.Join(r.ruleIDs, "-")))
	own := ""
	if g.own() {
		own = "netprobe's own: "
	}
	r.description = clip(fmt.Sprintf("%s%s %s -> %s", own, strings.Join(r.ruleIDs, ","), summary(r.from, 3), summary(r.dsts, 3)), nsgMaxDescription)
	return r
}

// check holds the NSG to Azure's limits.
func (n *nsg) check() error {
	var problems []string
	if len(n.rules) > nsgMaxRules {
		problems = append(problems, fmt.Sprintf("%d rules (Azure allows %d per NSG)", len(n.rules), nsgMaxRules))
	}
	if len(n.rules) > 0 {
		if last := n.rules[len(n.rules)-1].priority; last > nsgMaxPriority {
			problems = append(problems, fmt.Sprintf("priorities %d..%d (Azure allows up to %d: start lower with --nsg-priority)", n.rules[0].priority, last, nsgMaxPriority))
		}
	}
	var srcs, dsts int
	for _, r := range n.rules {
		srcs += len(r.sources)
		dsts += len(r.dests)
	}
	if srcs > nsgMaxPrefixes || dsts > nsgMaxPrefixes {
		problems = append(problems, fmt.Sprintf("%d source and %d destination addresses or ranges (Azure allows %d each per NSG)", srcs, dsts, nsgMaxPrefixes))
	}
	if len(problems) == 0 {
		return nil
	}
	return fmt.Errorf("nsg %s (%s %s, %d hosts): %s: %w; split the site's hosts into smaller subnets (NIC prefixes in the topology), or use application security groups",
		n.name, n.site, n.prefix, len(n.hosts), strings.Join(problems, "; "), ErrNSGLimit)
}

// nsgResourceName names the NSG after its site and subnet: netprobe-azure-weu-10.100.0.0-16.
func nsgResourceName(s nsgScope) string {
	n := "netprobe-" + s.site + "-" + strings.NewReplacer("/", "-", ":", "-").Replace(s.prefix.String())
	if s.host != "" {
		n = "netprobe-" + s.site + "-" + s.host
	}
	return azureName(n)
}

// azureName fits Azure's name syntax for NSGs and their rules: up to 80 letters, digits, '.',
// '-' and '_', starting with a letter or digit and ending with one or '_'.
func azureName(s string) string {
	s = strings.Map(func(r rune) rune {
		if r >= 'a' && r <= 'z' || r >= 'A' && r <= 'Z' || r >= '0' && r <= '9' || r == '.' || r == '-' || r == '_' {
			return r
		}
		return '_'
	}, s)
	if len(s) > nsgMaxName {
		s = s[:nsgMaxName]
	}
	return strings.TrimRight(s, ".-")
}

// clip keeps s within n bytes, marking the cut.
func clip(s string, n int) string {
	if len(s) <= n {
		return s
	}
	return s[:n-3] + "..."
}
