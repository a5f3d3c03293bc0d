package engine

import (
	"fmt"
	"net/netip"
	"slices"
	"strings"

	"github.com/netprobe/netprobe/internal/result"
	"github.com/netprobe/netprobe/internal/topology"
)

// Checking an estate from inside each site (architecture.md, "Estates without a private path
// between the sites"). A modernized estate needs no VPN or ExpressRoute for failback, and many
// have none: then a coordinator on premises cannot dial the agents of the failed-over Azure VMs.
// Every modernized requirement starts and ends inside one site or goes to Azure's public
// endpoints, so each site is checked by a coordinator inside it; the checks of the other sites
// are skips that say which site runs them (Check.RunFrom), and the runs merge by estate name in
// the history and the report. These functions are pure: they read the plan and the topology.

// SourceSite is the site of the check's source host, "" when its source is no host of t.
func SourceSite(t *topology.Topology, c Check) string {
	if h := t.Hosts[c.From]; h != nil {
		return h.Site
	}
	return ""
}

// crossesSites reports whether a check joins its source's site to another one: a destination
// host in another site, or a path over a link. Endpoint and blob checks go to Azure's public
// endpoints and stay "inside" in this sense: they need the internet, not a path between sites.
func crossesSites(t *topology.Topology, c Check) bool {
	src := SourceSite(t, c)
	if h := t.Hosts[c.To]; h != nil && h.Site != src {
		return true
	}
	return c.Kind == result.CheckPath // over a link, to the far site
}

// resolverSites are the sites a DNS consistency check compares, sorted; nil for other checks.
func resolverSites(c Check) []string {
	var out []string
	for _, rv := range c.Resolvers {
		if !slices.Contains(out, rv.Site) {
			out = append(out, rv.Site)
		}
	}
	slices.Sort(out)
	return out
}

// SelfContained are the sites none of whose planned checks leaves or enters them: such a site
// needs no private path to the others and can be checked from inside itself. Checks that are
// skipped already do not count; nor do DNS consistency checks, which compare the sites' answers
// (they need a coordinator that reaches every site, not a path between the sites).
func SelfContained(t *topology.Topology, plan []Check) map[string]bool {
	out := map[string]bool{}
	for name := range t.Sites {
		out[name] = true
	}
	for _, c := range plan {
		if c.SkipReason != "" || len(c.Resolvers) > 0 || !crossesSites(t, c) {
			continue
		}
		out[SourceSite(t, c)] = false
		if h := t.Hosts[c.To]; h != nil {
			out[h.Site] = false
		}
		for _, l := range t.Links {
			if l.Name == c.To {
				out[l.Sites[0]], out[l.Sites[1]] = false, false
			}
		}
	}
	return out
}

// ForSite narrows a plan to what a coordinator inside site runs (check --site): the checks
// whose source host is in another site become skips saying which site runs them, and the DNS
// consistency checks, which compare several sites, become skips saying they need a coordinator
// that reaches every site. The plan is not changed; a copy is returned.
func ForSite(t *topology.Topology, plan []Check, site string) []Check {
	out := slices.Clone(plan)
	for i, c := range out {
		if c.SkipReason != "" {
			continue
		}
		if sites := resolverSites(c); len(sites) > 1 {
			out[i].SkipReason = fmt.Sprintf("compares the answers of sites %s: run it without --site, from a coordinator that reaches an agent in each", strings.Join(sites, " and "))
			continue
		}
		if src := SourceSite(t, c); src != "" && src != site {
			out[i].SkipReason = fmt.Sprintf("run from site %s (netprobe check --site %s, by a coordinator inside it); this run checks site %s", src, src, site)
			out[i].RunFrom = src
		}
	}
	return out
}

// LeaveToSite marks the checks whose source host is in site as run from there, saying why:
// a coordinator outside site that cannot reach its agents, where the estate needs no private
// path to it (the caller has established both). Checks that compare several sites' DNS
// answers and involve site become plain skips. A copy is returned.
func LeaveToSite(t *topology.Topology, plan []Check, site, why string) []Check {
	out := slices.Clone(plan)
	for i, c := range out {
		if c.SkipReason != "" {
			continue
		}
		if sites := resolverSites(c); len(sites) > 1 {
			if slices.Contains(sites, site) {
				out[i].SkipReason = fmt.Sprintf("compares the answers of sites %s, and site %s cannot be reached from here: %s", strings.Join(sites, " and "), site, why)
			}
			continue
		}
		if SourceSite(t, c) == site {
			out[i].SkipReason = fmt.Sprintf("run from site %s (netprobe check --site %s, by a coordinator inside it): %s", site, site, why)
			out[i].RunFrom = site
		}
	}
	return out
}

// SourceAgents are the control addresses of the agents that run the plan's checks from site
// (their sources' agents), sorted; checks already skipped do not count.
func SourceAgents(t *topology.Topology, plan []Check, site string) []string {
	var out []string
	for _, c := range plan {
		if c.SkipReason == "" && c.FromAgent != "" && SourceSite(t, c) == site && !slices.Contains(out, c.FromAgent) {
			out = append(out, c.FromAgent)
		}
	}
	slices.Sort(out)
	return out
}

// SiteOfAddrs is the site whose declared networks hold one of addrs (the coordinator's own
// addresses): "" when none does, or when addresses fall in several sites (a host with a NIC in
// each cannot say where it stands).
func SiteOfAddrs(t *topology.Topology, addrs []netip.Addr) string {
	found := ""
	for name, s := range t.Sites {
		for _, n := range s.Networks {
			if slices.ContainsFunc(addrs, func(a netip.Addr) bool { return n.Contains(a.Unmap()) }) {
				if found != "" && found != name {
					return ""
				}
				found = name
			}
		}
	}
	return found
}
