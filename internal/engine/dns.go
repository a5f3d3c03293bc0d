package engine

import (
	"context"
	"fmt"
	"slices"
	"strings"
	"time"

	"github.com/netprobe/netprobe/internal/agent"
	"github.com/netprobe/netprobe/internal/probes"
	"github.com/netprobe/netprobe/internal/result"
	"github.com/netprobe/netprobe/internal/topology"
)

// dns resolves a name from the check's host, or, for a consistency check, from one host per
// site, and judges the answers.
func (st *runState) dns(ctx context.Context, p Prober, c Check) result.Result {
	if len(c.Resolvers) == 0 {
		var m probes.DNSResult
		if err := st.callProbe(ctx, p, c.FromAgent, agent.KindDNS, c.Timeout, probes.DNSRequest{Name: c.Address, Servers: c.Servers}, &m); err != nil {
			return probeFailed(c, err)
		}
		if c.NameOf != nil {
			return JudgeCSName(c, m)
		}
		return JudgeDNS(c, m)
	}
	var answers []probes.DNSAnswer
	var sites []string
	for _, rv := range c.Resolvers {
		q := st.prober(rv.Agent)
		if q == nil {
			continue // its host's own checks report the agent
		}
		var m probes.DNSResult
		if err := st.callProbe(ctx, q, rv.Agent, agent.KindDNS, c.Timeout, probes.DNSRequest{Name: c.Address, Servers: rv.Servers}, &m); err != nil {
			continue
		}
		answered := false
		for _, a := range m.Answers {
			a.Server = rv.Site + " (" + rv.Host + " via " + orSystem(a.Server) + ")"
			answers = append(answers, a)
			answered = answered || a.Error == ""
		}
		// A site whose resolvers all failed has no answer to compare: it does not count.
		if answered {
			sites = append(sites, rv.Site)
		}
	}
	return JudgeDNSConsistency(c, answers, sites)
}

func orSystem(s string) string {
	if s == "" {
		return "system resolver"
	}
	return s
}

// JudgeDNS passes when some resolver answered the name with records.
func JudgeDNS(c Check, m probes.DNSResult) result.Result {
	r := base(c)
	r.Target = c.Address
	var recs, problems []string
	for _, a := range m.Answers {
		if a.OK() && len(a.Records) > 0 {
			recs = append(recs, a.Records...)
		} else {
			problems = append(problems, fmt.Sprintf("%s: %s%s", orSystem(a.Server), a.Rcode, a.Error))
		}
	}
	slices.Sort(recs)
	recs = slices.Compact(recs)
	r.Metrics = result.Metrics{result.MetricAnswers: recs}
	if len(recs) == 0 {
		r.Status = result.Fail
		r.Message = fmt.Sprintf("%s cannot resolve %s: %s", c.From, c.Address, strings.Join(problems, "; "))
		r.Hint = fmt.Sprintf("Make %s resolvable from %s's site (its resolvers: %s).", c.Address, c.From, strings.Join(c.Servers, ", "))
		return r
	}
	r.Status = result.Pass
	r.Message = fmt.Sprintf("%s resolves %s to %s", c.From, c.Address, strings.Join(recs, ", "))
	if len(problems) > 0 {
		r.Status = result.Warn
		r.Message += "; but " + strings.Join(problems, "; ")
	}
	return r
}

// JudgeDNSConsistency warns when the sites resolve a name differently: after failback the VMs
// run on-premises again and must find the same services they found in Azure.
func JudgeDNSConsistency(c Check, answers []probes.DNSAnswer, sites []string) result.Result {
	r := base(c)
	r.Target = c.Address
	r.Metrics = result.Metrics{result.MetricSites: sites}
	if len(sites) < 2 {
		r.Status = result.Skip
		r.Message = fmt.Sprintf("%s: fewer than two sites answered (their agents or resolvers did not), so there is nothing to compare", c.Address)
		return r
	}
	mismatch, detail := probes.CompareAnswers(answers)
	if mismatch {
		r.Status = result.Warn
		r.Message = fmt.Sprintf("%s resolves differently per site: %s", c.Address, detail)
		r.Hint = "Split-horizon DNS: make sure the answer each site gets is the one the failed-back VMs need (update the records at cutover, or point both sites at the same zone)."
		return r
	}
	r.Status = result.Pass
	r.Message = fmt.Sprintf("%s resolves the same in %s", c.Address, strings.Join(sites, " and "))
	return r
}

// dnsChecks plans checks.dns: every host with an agent resolves each name with its site's
// resolvers, and per name one host of each site compares the answers across sites, because
// split-horizon DNS sends a failed-back VM to the wrong place (design: DNS consistency).
func dnsChecks(t *topology.Topology, timeout time.Duration) []Check {
	var out []Check
	names := t.Checks.DNS.Names
	if len(names) == 0 {
		return nil
	}
	siteServers := func(site string) []string {
		var s []string
		if st := t.Sites[site]; st != nil {
			for _, a := range st.DNS {
				s = append(s, a.String())
			}
		}
		return s
	}
	var reps []Resolver
	seenSite := map[string]bool{}
	for _, hn := range sortedHosts(t) {
		h := t.Hosts[hn]
		if h.Agent == "" {
			continue
		}
		for _, name := range names {
			out = append(out, Check{
				ID: fmt.Sprintf("dns/%s/%s", hn, name), Kind: result.CheckDNS, Rule: "DNS", Phase: topology.PhaseFailback,
				From: hn, To: name, Address: name, FromAgent: h.Agent, Names: []string{name},
				Servers: siteServers(h.Site), Confidence: topology.ConfInferred, Timeout: timeout,
				Why: "hosts must resolve the estate's names (checks.dns)",
			})
		}
		if !seenSite[h.Site] {
			seenSite[h.Site] = true
			reps = append(reps, Resolver{Site: h.Site, Host: hn, Agent: h.Agent, Servers: siteServers(h.Site)})
		}
	}
	if len(reps) < 2 {
		return out
	}
	first := reps[0]
	for _, name := range names {
		out = append(out, Check{
			ID: fmt.Sprintf("dns/%s", name), Kind: result.CheckDNS, Rule: "DNS", Phase: topology.PhaseFailback,
			From: first.Host, To: name, Address: name, FromAgent: first.Agent, Names: []string{name},
			Resolvers: reps, Confidence: topology.ConfInferred, Timeout: timeout,
			Why: "every site resolves the name to the same addresses (no split-horizon surprise at failback)",
		})
	}
	return out
}
