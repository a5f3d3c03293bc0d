package engine

import (
	"fmt"
	"net/netip"
	"regexp"
	"sort"
	"strings"
	"time"

	"github.com/netprobe/netprobe/internal/capacity"
	"github.com/netprobe/netprobe/internal/result"
	"github.com/netprobe/netprobe/internal/topology"
)

// Options tune a plan. The zero value plans every check of the topology's phases.
type Options struct {
	// Phases limits the plan to these phases ("failback", "forward"); empty keeps the topology's.
	Phases []string
	// Only keeps checks whose ID matches one of these path.Match patterns (or contains the
	// pattern as a substring, for convenience: --only cs01).
	Only []string
	// Timeout overrides settings.timeout for one probe attempt; 0 keeps the topology's.
	Timeout time.Duration
	// NoBandwidth leaves bandwidth and blob throughput tests out (they take
	// checks.bandwidth.duration each).
	NoBandwidth bool
	// NoHostFacts leaves out the master target's host-fact rules (RD-RETENTION, RD-VMTOOLS,
	// RD-SCSI): a lab or demo host is no VMware VM.
	NoHostFacts bool
}

// Plan turns a topology into the list of checks to run: pure data, sorted by ID, no I/O.
// Lint findings (readiness rules on paper) are not checks: see Findings.
func Plan(t *topology.Topology, opts Options) []Check {
	timeout := t.Settings.Timeout
	if opts.Timeout > 0 {
		timeout = opts.Timeout
	}
	var all, checks []Check
	seen := map[string]int{}
	for _, f := range topology.Flows(t) {
		for _, c := range checksForFlow(t, f, timeout) {
			// Two rules can ask for the same flow (a configuration server that is also the
			// process server); keep both, distinguished by rule, so neither verdict is lost.
			// IDs are settled before any filter, so --phase or --only never moves them.
			if n := seen[c.ID]; n > 0 {
				c.ID += "#" + c.Rule
			}
			seen[c.ID]++
			all = append(all, c)
		}
	}
	judgeICMPWith443(all)
	for _, c := range all {
		if len(opts.Phases) > 0 && !contains(opts.Phases, name(c.Phase)) {
			continue
		}
		if opts.NoBandwidth && (c.Kind == result.CheckBandwidth || c.Kind == result.CheckBlob) {
			continue
		}
		if matchOnly(opts.Only, c.ID) {
			checks = append(checks, c)
		}
	}
	for _, c := range append(dnsChecks(t, timeout), csNameChecks(t, timeout)...) {
		// checks.dns may list the configuration server's name too: both checks stay, the
		// stricter one distinguished by its rule.
		if n := seen[c.ID]; n > 0 {
			c.ID += "#" + c.Rule
		}
		seen[c.ID]++
		if (len(opts.Phases) == 0 || contains(opts.Phases, name(c.Phase))) && t.Settings.HasPhase(topology.PhaseFailback) && matchOnly(opts.Only, c.ID) {
			checks = append(checks, c)
		}
	}
	if !opts.NoHostFacts && (len(opts.Phases) == 0 || contains(opts.Phases, "failback")) && t.Settings.HasPhase(topology.PhaseFailback) {
		for _, c := range hostChecks(t, timeout) {
			if matchOnly(opts.Only, c.ID) {
				checks = append(checks, c)
			}
		}
	}
	// The appliance's own listening ports: it serves forward replication, and failback needs
	// it healthy too ("ensure that the appliance and all its components are healthy": TUT-M).
	if !opts.NoHostFacts {
		for _, c := range applianceChecks(t, timeout) {
			if matchOnly(opts.Only, c.ID) {
				checks = append(checks, c)
			}
		}
	}
	// The clock matters in every phase; its checks go with failback when it is tested.
	phase := topology.PhaseForward
	if t.Settings.HasPhase(topology.PhaseFailback) {
		phase = topology.PhaseFailback
	}
	if len(opts.Phases) == 0 || contains(opts.Phases, phase.String()) {
		clk := clockChecks(t, phase, timeout)
		clockWithAzure(clk)
		for _, c := range clk {
			if matchOnly(opts.Only, c.ID) {
				checks = append(checks, c)
			}
		}
	}
	sort.SliceStable(checks, func(i, j int) bool { return checks[i].ID < checks[j].ID })
	return checks
}

// judgeICMPWith443 points every catalogue ICMP check at the 443/tcp check of the same rule
// between the same two hosts (FB-VM-CS, FB-PS-CS): ASR does not need ICMP, so its verdict is
// tempered by whether 443 answers (JudgeICMPWith). User flows stand on their own.
func judgeICMPWith443(checks []Check) {
	type key struct{ rule, from, to string }
	port := map[key]string{}
	for _, c := range checks {
		if c.Kind == result.CheckPort && c.Port == 443 && c.Proto == topology.ProtoTCP {
			port[key{c.Rule, c.From, c.To}] = c.ID
		}
	}
	for i, c := range checks {
		if c.Kind == result.CheckICMP && !strings.HasPrefix(c.Rule, "USER") {
			checks[i].JudgedWith = port[key{c.Rule, c.From, c.To}]
		}
	}
}

// Select returns the checks of plan with the given IDs, in plan order, and the checks they are
// judged with (a re-run of an ICMP check also runs its 443 check, so the verdict is the one a
// full run gives).
func Select(plan []Check, ids []string) []Check {
	want := map[string]bool{}
	for _, c := range plan {
		if contains(ids, c.ID) {
			want[c.ID] = true
			if c.JudgedWith != "" {
				want[c.JudgedWith] = true
			}
		}
	}
	var out []Check
	for _, c := range plan {
		if want[c.ID] {
			out = append(out, c)
		}
	}
	return out
}

// flowPlanners is how each flow kind of the catalogue becomes checks; each planner lives in
// its kind's file and gets the check every kind starts from (flowCheck).
var flowPlanners = map[topology.FlowKind]func(t *topology.Topology, f topology.Flow, c Check) []Check{
	topology.FlowPort:      portChecks,
	topology.FlowICMP:      icmpChecks,
	topology.FlowEndpoint:  endpointChecks,
	topology.FlowPath:      pathChecks,
	topology.FlowPMTU:      pmtuChecks,
	topology.FlowRoute:     routeChecks,
	topology.FlowLatency:   latencyChecks,
	topology.FlowBandwidth: bandwidthChecks,
	topology.FlowBlob:      blobChecks,
}

func checksForFlow(t *topology.Topology, f topology.Flow, timeout time.Duration) []Check {
	plan := flowPlanners[f.Kind]
	if plan == nil {
		return nil
	}
	return plan(t, f, flowCheck(t, f, timeout))
}

// flowCheck is what every check of flow f carries: the rule and its provenance, the ends and
// their agents, the link it crosses, and a skip when the source has no agent.
func flowCheck(t *topology.Topology, f topology.Flow, timeout time.Duration) Check {
	c := Check{
		Rule: f.Rule, Phase: f.Phase, From: f.From, To: f.To, Address: f.Address,
		Port: f.Port, Proto: f.Proto, Expect: f.Expect, Confidence: f.Confidence, Source: f.Source, Why: f.Why,
		ErrorCode: f.ErrorCode, Pair: f.Pair, FromAddress: f.FromAddress, Timeout: timeout,
		Pattern: f.Pattern, Representative: f.Representative, Impact: f.Impact,
	}
	if h := t.Hosts[f.From]; h != nil {
		c.FromAgent = h.Agent
		if h.Agent == "" {
			c.SkipReason = fmt.Sprintf("no agent on %s: flows from it cannot be tested (add `agent:` to hosts.%s)", f.From, f.From)
		}
	}
	if h := t.Hosts[f.To]; h != nil {
		c.ToAgent = h.Agent
	}
	if l := hostsLink(t, f.From, f.To); l != nil {
		c.Link = l.Name
	}
	return c
}

// pairOf finds the failback pair whose data flows from -> to: a process server in Azure to a
// master target (topology.FailbackPairs).
func pairOf(t *topology.Topology, from, to string) (topology.Pair, bool) {
	for _, p := range topology.FailbackPairs(t) {
		if p.PS.Name == from && p.MT.Name == to {
			return p, true
		}
	}
	return topology.Pair{}, false
}

// requiredBps is the steady-state rate a pair needs: the churn of the VMs failing back over
// it, with the growth allowance (bandwidth.md; compression is not assumed). 0 when none do.
func requiredBps(t *topology.Topology, p topology.Pair) capacity.BitsPerSecond {
	var churn []capacity.BitsPerSecond
	for _, c := range p.Churn() {
		churn = append(churn, capacity.BitsPerSecond(c))
	}
	req, err := capacity.Required(churn, capacity.Plan{Growth: t.Settings.Growth})
	if err != nil {
		// Not for a loaded topology: its growth and churn are validated (>= 0, finite). Were
		// one to get here, the pair is measured and not judged, as one without churn.
		return 0
	}
	return req
}

// insideRanges are the address ranges a path over link may cross without reaching the public
// internet (FB-LINK): every site's networks, in name order, then the link's own peering.
func insideRanges(t *topology.Topology, link string) (topology.LinkKind, []NamedRange) {
	var out []NamedRange
	sites := make([]string, 0, len(t.Sites))
	for name := range t.Sites {
		sites = append(sites, name)
	}
	sort.Strings(sites)
	for _, name := range sites {
		for _, p := range t.Sites[name].Networks {
			out = append(out, NamedRange{Prefix: p, Name: "sites." + name})
		}
	}
	for _, l := range t.Links {
		if l.Name == link {
			for _, p := range l.Peering {
				out = append(out, NamedRange{Prefix: p, Name: "links." + l.Name + ".peering"})
			}
			return l.Kind, out
		}
	}
	return 0, out
}

// hostsLink is the link the two hosts' traffic crosses (topology.LinkBetweenSites: the
// direct link, or the private link out of Azure on a route through on-premises sites), nil
// when they share a site or none is declared.
func hostsLink(t *topology.Topology, from, to string) *topology.Link {
	a, b := t.Hosts[from], t.Hosts[to]
	if a == nil || b == nil || a.Site == b.Site {
		return nil
	}
	return topology.LinkBetweenSites(t, a.Site, b.Site)
}

// matchOnly keeps an ID that matches one of the patterns: a glob whose * matches any text
// (slashes included, so "port/*/cs01/*" keeps every port check toward cs01), or, without
// wildcards, any ID that contains the pattern ("--only cs01").
func matchOnly(patterns []string, id string) bool {
	if len(patterns) == 0 {
		return true
	}
	for _, p := range patterns {
		if !strings.ContainsAny(p, "*?") {
			if strings.Contains(id, p) {
				return true
			}
			continue
		}
		re := "^" + strings.NewReplacer(`\*`, ".*", `\?`, ".").Replace(regexp.QuoteMeta(p)) + "$"
		if ok, _ := regexp.MatchString(re, id); ok {
			return true
		}
	}
	return false
}

func contains(list []string, v string) bool {
	for _, x := range list {
		if x == v {
			return true
		}
	}
	return false
}

func sortedHosts(t *topology.Topology) []string {
	names := make([]string, 0, len(t.Hosts))
	for n := range t.Hosts {
		names = append(names, n)
	}
	sort.Strings(names)
	return names
}

// isIP reports whether s is a literal IP address.
func isIP(s string) bool { _, err := netip.ParseAddr(s); return err == nil }

// RemapPorts returns a copy of plan whose port, endpoint and clock checks below port 1024 use
// port+offset instead: the demo and tests run agents and stand-ins on loopback without root,
// where privileged ports cannot be bound. IDs and targets follow the new port, so results say
// what was really tested.
func RemapPorts(plan []Check, offset int) []Check {
	out := make([]Check, len(plan))
	renamed := map[string]string{}
	for i, c := range plan {
		if (c.Kind == result.CheckPort || c.Kind == result.CheckEndpoint || c.Kind == result.CheckClock) && c.Port > 0 && c.Port < 1024 {
			old := fmt.Sprintf("/%d/%s", c.Port, name(c.Proto))
			c.Port += offset
			id := strings.Replace(c.ID, old, fmt.Sprintf("/%d/%s", c.Port, name(c.Proto)), 1)
			renamed[c.ID], c.ID = id, id
		}
		out[i] = c
	}
	for i, c := range out {
		if id, ok := renamed[c.JudgedWith]; ok {
			out[i].JudgedWith = id
		}
	}
	return out
}
