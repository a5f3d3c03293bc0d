package engine

import (
	"context"
	"fmt"
	"slices"
	"strings"

	"github.com/netprobe/netprobe/internal/agent"
	"github.com/netprobe/netprobe/internal/probes"
	"github.com/netprobe/netprobe/internal/result"
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
		q := st.agents[rv.Agent]
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
	r.Metrics = map[string]any{"answers": recs}
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
	r.Metrics = map[string]any{"sites": sites}
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
