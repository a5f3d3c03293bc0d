package engine

import (
	"fmt"
	"net/netip"
	"slices"
	"strings"
	"time"

	"github.com/netprobe/netprobe/internal/probes"
	"github.com/netprobe/netprobe/internal/result"
	"github.com/netprobe/netprobe/internal/topology"
)

// NameExpect is what a DNS check of a host's name expects (FB-CS-DNS): the name leads to the
// address the source reaches the host by.
type NameExpect struct {
	Host string // the host the name belongs to
	// Address is the address the flows from the source's site target on Host (its NIC toward
	// that site, else its primary address); "" when the topology gives no IP to compare with.
	Address string
	Toward  string // the site Address faces, "" when it is the primary address
	// Required: the topology reaches Host by this name (it is Host's address), so nothing
	// works from the source unless it resolves. Otherwise the name is only known (fqdn:).
	Required bool
}

// csNameSource backs FB-CS-DNS: the process server in Azure registers with the configuration
// server by its FQDN or IP (asr-classic-sources.md R3), and the failed-over VMs must reach
// the configuration server (reprotect, error 95226).
const csNameSource = "ps-register: https://github.com/MicrosoftDocs/azure-docs/blob/main/includes/site-recovery-vmware-register-process-server.md; " +
	"reprotect: https://learn.microsoft.com/azure/site-recovery/vmware-azure-reprotect"

// csNameChecks plans FB-CS-DNS: when the topology names the configuration server (its address
// is a DNS name, or it has fqdn:), every failed-over VM and process server in Azure with an
// agent resolves that name with its site's resolvers, and the answer must be the address it
// reaches the configuration server by.
func csNameChecks(t *topology.Topology, timeout time.Duration) []Check {
	var out []Check
	for _, csName := range sortedHosts(t) {
		cs := t.Hosts[csName]
		if !cs.HasRole(topology.RoleConfigurationServer) {
			continue
		}
		name, required := cs.FQDN, false
		if !isIP(cs.Address) {
			name, required = cs.Address, true
		}
		if name == "" {
			continue
		}
		for _, hn := range sortedHosts(t) {
			h := t.Hosts[hn]
			site := t.Sites[h.Site]
			if h.Agent == "" || hn == csName || site == nil || site.Kind != topology.SiteAzure ||
				!(h.HasRole(topology.RoleProtectedVM) || h.HasRole(topology.RoleProcessServer)) {
				continue
			}
			if h.HasRole(topology.RoleProtectedVM) && !t.Classic(h) {
				continue // a VM failing back with the appliance never talks to the configuration server
			}
			want := &NameExpect{Host: csName, Required: required}
			if a := cs.AddressFrom(h.Site); isIP(a) {
				want.Address = a
				if cs.NICToward(h.Site) != nil {
					want.Toward = h.Site
				}
			}
			var servers []string
			for _, a := range site.DNS {
				servers = append(servers, a.String())
			}
			out = append(out, Check{
				ID: fmt.Sprintf("dns/%s/%s", hn, name), Kind: result.CheckDNS, Rule: "FB-CS-DNS", Phase: topology.PhaseFailback,
				From: hn, To: csName, Address: name, FromAgent: h.Agent, Names: []string{name}, Servers: servers,
				Confidence: topology.ConfInferred, Source: csNameSource, Timeout: timeout, NameOf: want,
				Why: fmt.Sprintf("%s resolves the configuration server's name %s to the address it reaches it by: ASR's components register with it by name or IP", hn, name),
			})
		}
	}
	return out
}

// JudgeCSName judges FB-CS-DNS: pass when the answers hold the address the source reaches
// the configuration server by, warn when they also hold others (a client may pick one of
// those), fail when they lead elsewhere. A name that does not resolve fails when the topology
// reaches the configuration server by it (nothing works without it), and warns when it is
// only its fqdn: components registered by IP need no name.
func JudgeCSName(c Check, m probes.DNSResult) result.Result {
	r := base(c)
	r.Target = c.Address
	e := c.NameOf
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
	if e.Address != "" {
		r.Metrics[result.MetricExpectedAddress] = e.Address
	}
	servers := "its system resolver"
	if len(c.Servers) > 0 {
		servers = strings.Join(c.Servers, ", ")
	}
	reached := e.Address
	if e.Toward != "" {
		reached += fmt.Sprintf(" (%s's NIC toward %s)", e.Host, e.Toward)
	}
	if len(recs) == 0 {
		r.Message = fmt.Sprintf("%s cannot resolve %s, %s's name: %s", c.From, c.Address, e.Host, strings.Join(problems, "; "))
		if e.Required {
			r.Status = result.Fail
			r.Hint = fmt.Sprintf("The topology reaches %s by this name: make %s resolve to %s from %s's site (resolvers: %s), or give %s's address as an IP.", e.Host, c.Address, orUnknown(reached), c.From, servers, e.Host)
		} else {
			r.Status = result.Warn
			r.Hint = fmt.Sprintf("If ASR's components were registered with %s's name (the process server in Azure takes its FQDN or IP), make %s resolve to %s from %s's site (resolvers: %s); if they use its IP, this does not matter.", e.Host, c.Address, orUnknown(reached), c.From, servers)
		}
		return r
	}
	var others []string
	hit := false
	want, _ := netip.ParseAddr(e.Address)
	for _, rec := range recs {
		if a, err := netip.ParseAddr(rec); err == nil && a.Unmap() == want.Unmap() {
			hit = true
		} else {
			others = append(others, rec)
		}
	}
	switch {
	case e.Address == "":
		r.Status = result.Pass
		r.Message = fmt.Sprintf("%s resolves %s to %s; the topology gives no address of %s to compare with", c.From, c.Address, strings.Join(recs, ", "), e.Host)
	case !hit:
		r.Status = result.Fail
		r.Message = fmt.Sprintf("%s resolves %s to %s, not %s: what registers with %s by name goes elsewhere", c.From, c.Address, strings.Join(recs, ", "), reached, e.Host)
		r.Hint = fmt.Sprintf("Make %s resolve to %s in the DNS %s's site uses (resolvers: %s): with two NICs, a record for the Azure side that names the failback NIC (split-horizon), or register ASR's components by IP.", c.Address, e.Address, c.From, servers)
	case len(others) > 0:
		r.Status = result.Warn
		r.Message = fmt.Sprintf("%s resolves %s to %s, but also to %s: a client may pick one of those", c.From, c.Address, reached, strings.Join(others, ", "))
		r.Hint = fmt.Sprintf("Answer %s with %s alone to %s's site (resolvers: %s).", c.Address, e.Address, c.From, servers)
	default:
		r.Status = result.Pass
		r.Message = fmt.Sprintf("%s resolves %s to %s, the address it reaches %s by", c.From, c.Address, reached, e.Host)
	}
	if r.Status == result.Pass && len(problems) > 0 {
		r.Status = result.Warn
		r.Message += "; but " + strings.Join(problems, "; ")
		r.Hint = "Some of the site's resolvers did not answer: the name resolves only while the others do."
	}
	return r
}
