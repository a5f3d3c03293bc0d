package firewall

import (
	"fmt"
	"net/netip"
	"slices"
	"strconv"
	"strings"

	"github.com/netprobe/netprobe/internal/topology"
)

// group is one aggregated allow rule: every source to every destination on every port. It
// opens exactly the rules it stands for, and nothing more, except a host reaching itself,
// which never crosses a network (see aggregate).
type group struct {
	proto      topology.Proto
	srcs, dsts []netip.Addr // sorted, unique
	ports      []int        // sorted, unique; empty for ICMP
	rules      []*rule      // the host-to-host rules it stands for, in plan order
}

// own reports whether only netprobe's own flows need the group.
func (g *group) own() bool {
	for _, r := range g.rules {
		if !r.own {
			return false
		}
	}
	return true
}

// first is the plan position of the group's earliest rule, to order groups as flows are.
func (g *group) first() int {
	n := g.rules[0].firstIndex
	for _, r := range g.rules {
		n = min(n, r.firstIndex)
	}
	return n
}

// ruleIDs are the catalogue rules the group serves, in order of first appearance.
func (g *group) ruleIDs() []string {
	var ids []string
	for _, r := range g.sortedRules() {
		for _, id := range r.rules {
			if !slices.Contains(ids, id) {
				ids = append(ids, id)
			}
		}
	}
	return ids
}

// names are the distinct host names on one side of the group, in order of first appearance.
func (g *group) names(from bool) []string {
	var out []string
	for _, r := range g.sortedRules() {
		n := r.to
		if from {
			n = r.from
		}
		if !slices.Contains(out, n) {
			out = append(out, n)
		}
	}
	return out
}

func (g *group) sortedRules() []*rule {
	rs := slices.Clone(g.rules)
	slices.SortStableFunc(rs, func(a, b *rule) int { return a.firstIndex - b.firstIndex })
	return rs
}

// aggregate folds host-to-host rules into as few groups as keep them exact, in four steps:
//  1. the ports each (source, destination) pair needs;
//  2. the sources that need the same ports of one destination;
//  3. the destinations whose sources and ports are the same;
//  4. of the destinations still alone, those whose sources are the same once each counts
//     itself among them.
//
// A product of the steps' sets holds no pair that did not ask for those ports: each step only
// groups what has the same remainder. Step 4 turns the hosts of a replication group (every
// VM to every other on 20004) into one rule instead of one per VM; it adds only hosts reaching
// themselves, which never cross a firewall or an NSG. It takes single destinations only: a
// merged group's destinations do not all reach each other.
func aggregate(rules []*rule) []*group {
	type pairKey struct {
		proto    topology.Proto
		src, dst netip.Addr
	}
	pairs := map[pairKey]*group{}
	var pairOrder []pairKey
	for _, r := range rules {
		k := pairKey{r.proto, r.src, r.dst}
		g := pairs[k]
		if g == nil {
			g = &group{proto: r.proto, srcs: []netip.Addr{r.src}, dsts: []netip.Addr{r.dst}}
			pairs[k] = g
			pairOrder = append(pairOrder, k)
		}
		if r.proto != topology.ProtoICMP && !slices.Contains(g.ports, r.port) {
			g.ports = append(g.ports, r.port)
		}
		g.rules = append(g.rules, r)
	}

	// Step 2: one group per destination and port set.
	byDst := map[string]*group{}
	var dstOrder []string
	for _, k := range pairOrder {
		p := pairs[k]
		slices.Sort(p.ports)
		key := fmt.Sprintf("%d|%s|%v", k.proto, k.dst, p.ports)
		g := byDst[key]
		if g == nil {
			g = &group{proto: k.proto, dsts: []netip.Addr{k.dst}, ports: p.ports}
			byDst[key] = g
			dstOrder = append(dstOrder, key)
		}
		g.srcs = append(g.srcs, k.src)
		g.rules = append(g.rules, p.rules...)
	}

	// Step 3: destinations with the same sources and ports.
	merged := mergeBy(dstOrder, byDst, func(g *group) []netip.Addr { return g.srcs })
	// Step 4: what is still alone, with the destination counted among its own sources: the
	// VMs of a replication group, each reaching every other.
	var alone, out []*group
	for _, g := range merged {
		if len(g.dsts) == 1 {
			alone = append(alone, g)
		} else {
			out = append(out, g)
		}
	}
	keys := make([]string, len(alone))
	byKey := map[string]*group{}
	for i, g := range alone {
		keys[i] = fmt.Sprint(i)
		byKey[keys[i]] = g
	}
	for _, g := range mergeBy(keys, byKey, func(g *group) []netip.Addr { return sortedUnique(append(slices.Clone(g.srcs), g.dsts[0])) }) {
		if len(g.dsts) == 1 {
			g.srcs = slices.DeleteFunc(g.srcs, func(a netip.Addr) bool { return a == g.dsts[0] })
		}
		out = append(out, g)
	}
	slices.SortStableFunc(out, func(a, b *group) int { return a.first() - b.first() })
	return out
}

// mergeBy merges the groups named by keys (in that order) whose protocol, ports and
// sources(g) are the same into one group with all their destinations.
func mergeBy(keys []string, groups map[string]*group, sources func(*group) []netip.Addr) []*group {
	byKey := map[string]*group{}
	var out []*group
	for _, k := range keys {
		g := groups[k]
		srcs := sources(g)
		slices.SortFunc(srcs, netip.Addr.Compare)
		key := fmt.Sprintf("%d|%v|%v", g.proto, g.ports, srcs)
		m := byKey[key]
		if m == nil {
			m = &group{proto: g.proto, ports: g.ports, srcs: srcs}
			byKey[key] = m
			out = append(out, m)
		}
		m.dsts = sortedUnique(append(m.dsts, g.dsts...))
		m.rules = append(m.rules, g.rules...)
	}
	return out
}

func sortedUnique(as []netip.Addr) []netip.Addr {
	slices.SortFunc(as, netip.Addr.Compare)
	return slices.Compact(as)
}

// prefixes covers exactly the addresses with the fewest CIDR blocks: runs of consecutive
// addresses become the largest aligned blocks that fit in them.
func prefixes(addrs []netip.Addr) []netip.Prefix {
	as := sortedUnique(slices.Clone(addrs))
	var out []netip.Prefix
	for i := 0; i < len(as); {
		j := i
		for j+1 < len(as) && as[j].Next() == as[j+1] {
			j++
		}
		out = append(out, rangePrefixes(as[i], as[j])...)
		i = j + 1
	}
	return out
}

// rangePrefixes splits the run first..last into aligned CIDR blocks.
func rangePrefixes(first, last netip.Addr) []netip.Prefix {
	var out []netip.Prefix
	for a := first; a.IsValid() && a.Compare(last) <= 0; {
		best := netip.PrefixFrom(a, a.BitLen())
		for bits := a.BitLen() - 1; bits >= 0; bits-- {
			p := netip.PrefixFrom(a, bits)
			if p.Masked().Addr() != a || lastAddr(p).Compare(last) > 0 {
				break
			}
			best = p
		}
		out = append(out, best)
		a = lastAddr(best).Next()
	}
	return out
}

// lastAddr is the highest address in p.
func lastAddr(p netip.Prefix) netip.Addr {
	b := p.Masked().Addr().AsSlice()
	for i := p.Bits(); i < len(b)*8; i++ {
		b[i/8] |= 0x80 >> (i % 8)
	}
	a, _ := netip.AddrFromSlice(b)
	return a
}

// prefixText writes a block as NSGs and firewalls take it; a single address keeps its /32
// (or /128), so every rule shows it means one host.
func prefixText(p netip.Prefix) string { return p.String() }

// portRanges writes sorted ports as NSG port ranges: "443", "9443-9445".
func portRanges(ports []int) []string {
	var out []string
	for i := 0; i < len(ports); {
		j := i
		for j+1 < len(ports) && ports[j+1] == ports[j]+1 {
			j++
		}
		if i == j {
			out = append(out, strconv.Itoa(ports[i]))
		} else {
			out = append(out, fmt.Sprintf("%d-%d", ports[i], ports[j]))
		}
		i = j + 1
	}
	return out
}

// summary names up to n items and counts the rest: "a, b, c and 117 more".
func summary(items []string, n int) string {
	if len(items) <= n {
		return strings.Join(items, ", ")
	}
	return strings.Join(items[:n], ", ") + fmt.Sprintf(" and %d more", len(items)-n)
}
