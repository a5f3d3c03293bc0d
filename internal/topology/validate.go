package topology

import (
	"fmt"
	"net/netip"
	"sort"
	"strings"
	"time"
)

// validate runs the cross-checks that need the whole file decoded: dangling names, agent
// syntax, NICs toward known sites, overlapping site ranges. Errors go to d.
func validate(d *decoder, t *Topology) {
	v := validator{d: d, t: t, siteNames: sortedKeys(t.Sites), hostNames: sortedKeys(t.Hosts)}
	v.links()
	var css []string
	for _, name := range v.hostNames {
		h := t.Hosts[name]
		v.host(name, h)
		v.vmFields(name, h)
		if h.HasRole(RoleConfigurationServer) {
			css = append(css, name)
		}
	}
	if len(css) > 1 {
		for _, name := range css[1:] {
			d.crossf("hosts."+name+".roles", "hosts."+name+".roles", "only one configuration-server per estate; %s already is one", css[0])
		}
	}
	v.flows()
	v.checks()
	checkOverlaps(d, t)
	checkVNets(d, t)
	checkModernized(d, t)
}

// validator checks what refers across sections, once each section is decoded.
type validator struct {
	d                    *decoder
	t                    *Topology
	siteNames, hostNames []string
}

// knownSite reports whether the site a path names is defined, and says so when it is not.
func (v validator) knownSite(path, name, what string) bool {
	if _, ok := v.t.Sites[name]; ok {
		return true
	}
	v.d.crossf(path, path, "%s %q is not defined (sites: %s)", what, name, strings.Join(v.siteNames, ", "))
	return false
}

// links: unique names, and two different defined sites each.
func (v validator) links() {
	linkNames := map[string]bool{}
	for i, l := range v.t.Links {
		p := fmt.Sprintf("links[%d]", i)
		if l.Name != "" {
			if linkNames[l.Name] {
				v.d.crossf(p+".name", p+".name", "link name %q is used twice", l.Name)
			}
			linkNames[l.Name] = true
		}
		if l.Sites[0] != "" {
			ok0 := v.knownSite(p+".sites[0]", l.Sites[0], "site")
			ok1 := v.knownSite(p+".sites[1]", l.Sites[1], "site")
			if ok0 && ok1 && l.Sites[0] == l.Sites[1] {
				v.d.crossf(p+".sites", p+".sites", "a link joins two different sites, not %s to itself", l.Sites[0])
			}
		}
	}
}

// host checks what every host needs (site, roles, os, an address) and fills in its address
// from its first NIC and its agent's default port.
func (v validator) host(name string, h *Host) {
	d, t := v.d, v.t
	p := "hosts." + name
	if h.Site == "" {
		d.crossf(p+".site", p, "site is required (sites: %s)", listOr(v.siteNames, "none defined"))
	} else {
		v.knownSite(p+".site", h.Site, "site")
	}
	if len(h.Roles) == 0 {
		d.crossf(p+".roles", p, "roles is required (%s)", enumList(roleNames))
	}
	if h.OS == "" {
		for _, r := range []Role{RoleConfigurationServer, RoleProcessServer, RoleMasterTarget, RoleProtectedVM} {
			if h.HasRole(r) {
				d.crossf(p+".os", p, "os is required for a %s (windows or linux)", r)
				break
			}
		}
	}
	v.nics(name, h)
	if h.Address == "" {
		if len(h.NICs) > 0 && h.NICs[0].Address.IsValid() {
			h.Address = h.NICs[0].Address.Addr().String()
		} else if len(h.NICs) == 0 {
			d.crossf(p+".nics", p, "address is required (or nics with addresses)")
		}
	}
	if h.Agent != "" {
		agent, msg := normalizeAgent(h.Agent, t.Settings.AgentPort)
		if msg != "" {
			d.crossf(p+".agent", p+".agent", "%s", msg)
		}
		h.Agent = agent
	}
}

// nics: unique names, and at most one NIC toward each defined site.
func (v validator) nics(name string, h *Host) {
	p := "hosts." + name
	nicNames := map[string]bool{}
	toward := map[string]bool{}
	for i, nic := range h.NICs {
		np := fmt.Sprintf("%s.nics[%d]", p, i)
		if nic.Name != "" && nicNames[nic.Name] {
			v.d.crossf(np+".name", np+".name", "nic name %q is used twice on %s", nic.Name, name)
		}
		nicNames[nic.Name] = true
		if nic.Toward != "" {
			if v.knownSite(np+".toward", nic.Toward, "toward site") && toward[nic.Toward] {
				v.d.crossf(np+".toward", np+".toward", "two nics of %s are toward %s; traffic to a site leaves by one nic", name, nic.Toward)
			}
			toward[nic.Toward] = true
		}
	}
}

// vmFields: the keys that apply to a protected VM or a master target only, and the hosts a
// VM names.
func (v validator) vmFields(name string, h *Host) {
	d, t := v.d, v.t
	p := "hosts." + name
	if h.RetainedIP && !h.HasRole(RoleProtectedVM) {
		d.crossf(p+".retained_ip", p+".retained_ip", "retained_ip applies to a protected-vm; %s is not one", name)
	}
	if h.Group != "" && !h.HasRole(RoleProtectedVM) {
		d.crossf(p+".group", p+".group", "group applies to a protected-vm; %s is not one", name)
	}
	if h.Retention != "" && !IsMasterTarget(h) {
		d.crossf(p+".retention", p+".retention", "retention applies to a master target (a host with role master-target, or a Windows configuration server); %s is not one", name)
	}
	if h.MasterTarget != "" {
		if !h.HasRole(RoleProtectedVM) {
			d.crossf(p+".master_target", p+".master_target", "master_target applies to a protected-vm; %s is not one", name)
		} else if mt, ok := t.Hosts[h.MasterTarget]; !ok || !IsMasterTarget(mt) {
			d.crossf(p+".master_target", p+".master_target", "%q is not a master target: a host with role master-target or a Windows configuration server (master targets: %s)", h.MasterTarget, listOr(masterTargetNames(t), "none"))
		}
	}
	if h.ProcessServer != "" {
		if !h.HasRole(RoleProtectedVM) {
			d.crossf(p+".process_server", p+".process_server", "process_server applies to a protected-vm; %s is not one", name)
		} else if ps, ok := t.Hosts[h.ProcessServer]; !ok || !ps.HasRole(RoleProcessServer) {
			d.crossf(p+".process_server", p+".process_server", "%q is not a host with role process-server (process servers: %s)", h.ProcessServer, listOr(hostsWithRole(t, RoleProcessServer), "none"))
		}
	}
}

// flows: their hosts are defined and differ; a flow without a phase gets the estate's first.
func (v validator) flows() {
	for i, fs := range v.t.Flows {
		p := fmt.Sprintf("flows[%d]", i)
		for _, end := range []struct{ key, name string }{{"from", fs.From}, {"to", fs.To}} {
			if end.name == "" {
				continue
			}
			if _, ok := v.t.Hosts[end.name]; !ok {
				v.d.crossf(p+"."+end.key, p+"."+end.key, "host %q is not defined (hosts: %s)", end.name, abbreviate(v.hostNames, 8))
			}
		}
		if fs.From != "" && fs.From == fs.To {
			v.d.crossf(p+".to", p+".to", "from and to are both %s; a flow goes from one host to another", fs.From)
		}
		if fs.Phase == 0 && len(v.t.Settings.Phases) > 0 {
			fs.Phase = v.t.Settings.Phases[0]
		}
	}
}

// checks: the thresholds of checks agree with each other and with what agents accept.
func (v validator) checks() {
	d, c := v.d, v.t.Checks
	if c.Latency.WarnP95 > c.Latency.FailP95 {
		d.crossf("checks.latency.warn_p95", "checks.latency.warn_p95", "warn_p95 %s is above fail_p95 %s; the warning threshold must be the lower one", c.Latency.WarnP95, c.Latency.FailP95)
	}
	if c.Latency.Interval < minProbeInterval {
		d.crossf("checks.latency.interval", "checks.latency.interval", "must be at least %s: agents refuse probes that send faster (try 20ms)", minProbeInterval)
	}
	if c.Bandwidth.Duration <= 0 {
		d.crossf("checks.bandwidth.duration", "checks.bandwidth.duration", "must be more than 0 (try 10s)")
	}
	if c.PMTU.Min > c.PMTU.Max {
		d.crossf("checks.pmtu", "checks.pmtu", "min %d is above max %d", c.PMTU.Min, c.PMTU.Max)
	}
}

// checkModernized: the modernized keys sit on the hosts they apply to, appliances are on
// premises with a static FQDN, and a configuration server belongs to an estate that still has
// classic VMs. It also fills the modernized defaults.
func checkModernized(d *decoder, t *Topology) {
	if t.Azure.Cloud == 0 {
		t.Azure.Cloud = CloudPublic
	}
	only := func(h *Host, p, key string, set bool, role Role) {
		if set && !h.HasRole(role) {
			d.crossf(p+"."+key, p+"."+key, "%s applies to a %s; %s is not one", key, role, h.Name)
		}
	}
	anyClassic := false
	var appliances []string
	for _, name := range sortedKeys(t.Hosts) {
		h := t.Hosts[name]
		p := "hosts." + name
		only(h, p, "architecture", h.Architecture != 0, RoleProtectedVM)
		only(h, p, "platform", h.Platform != 0, RoleProtectedVM)
		only(h, p, "appliance", h.Appliance != "", RoleProtectedVM)
		only(h, p, "datastore", h.Datastore != "", RoleProtectedVM)
		only(h, p, "connectivity", h.Connectivity != 0, RoleReplicationAppliance)
		only(h, p, "data_port", h.DataPort != 0, RoleReplicationAppliance)
		if h.Proxy != "" && !h.HasRole(RoleReplicationAppliance) && !h.HasRole(RoleConfigurationServer) {
			// Both reach Azure "directly or through a proxy" (unauthenticated: classic's CS
			// requirements and the appliance's matrix), and nothing else talks to Azure.
			d.crossf(p+".proxy", p+".proxy", "proxy applies to a configuration-server or a replication-appliance (what reaches Azure's endpoints); %s is neither", name)
		}
		only(h, p, "datastores", len(h.Datastores) > 0, RoleReplicationAppliance)
		if h.HasRole(RoleProtectedVM) {
			if h.Platform == 0 {
				h.Platform = PlatformVMware
			}
			anyClassic = anyClassic || t.Classic(h)
		}
		if h.HasRole(RoleReplicationAppliance) {
			appliances = append(appliances, name)
			if h.Connectivity == 0 {
				h.Connectivity = ConnectFQDN
			}
			if h.FQDN == "" {
				d.crossf(p+".fqdn", p, "a replication-appliance needs fqdn: its static DNS name, which the source machines resolve")
			}
			if s := t.Sites[h.Site]; s != nil && s.Kind != SiteOnPrem {
				d.crossf(p+".site", p+".site", "a replication-appliance runs on premises; %s is an %s site", h.Site, s.Kind)
			}
		}
		// A failed-over VM fails back with one architecture: in a migration estate the file
		// must say which (failed-over items cannot be migrated: asr-modernized.md 5).
		if t.Settings.Architecture == ArchMigration && h.HasRole(RoleProtectedVM) && h.Architecture == 0 {
			if s := t.Sites[h.Site]; s != nil && s.Kind == SiteAzure {
				d.crossf(p+".architecture", p, "%s is in Azure in a migration estate: say which architecture it fails back with (architecture: classic if it failed over before the move, modernized if after)", name)
			}
		}
		if h.Appliance != "" && h.HasRole(RoleProtectedVM) {
			if a, ok := t.Hosts[h.Appliance]; !ok || !a.HasRole(RoleReplicationAppliance) {
				d.crossf(p+".appliance", p+".appliance", "%q is not a host with role replication-appliance (appliances: %s)", h.Appliance, listOr(appliances, "none"))
			}
		}
	}
	if t.Settings.Architecture == ArchModernized && !anyClassic {
		for _, cs := range hostsWithRole(t, RoleConfigurationServer) {
			p := "hosts." + cs + ".roles"
			d.crossf(p, p, "a modernized estate has no configuration server (the replication appliance replaces it); use settings.architecture: migration while moving from classic, or mark the VMs that failed over under classic with architecture: classic")
		}
	}
}

func masterTargetNames(t *Topology) []string {
	var out []string
	for _, n := range sortedKeys(t.Hosts) {
		if IsMasterTarget(t.Hosts[n]) {
			out = append(out, n)
		}
	}
	return out
}

// checkVNets: vnets belong to azure sites, lie inside the site's networks, do not overlap,
// and place every process server and protected VM of the site (RD-PS-AZ is judged per vnet).
func checkVNets(d *decoder, t *Topology) {
	for _, sn := range sortedKeys(t.Sites) {
		s := t.Sites[sn]
		if len(s.VNets) == 0 {
			continue
		}
		p := "sites." + sn + ".vnets"
		if s.Kind != SiteAzure {
			d.crossf(p, p, "vnets describe the virtual networks of an azure site; %s is %s", sn, s.Kind)
			continue
		}
		for i, v := range s.VNets {
			vp := p + "." + v.Name
			for j, r := range v.Ranges {
				rp := fmt.Sprintf("%s[%d]", vp, j)
				inside := false
				for _, n := range s.Networks {
					if n.Bits() <= r.Bits() && n.Contains(r.Addr()) {
						inside = true
					}
				}
				if !inside {
					d.crossf(rp, rp, "%s is not inside the site's networks (%s)", r, prefixList(s.Networks))
				}
				for _, o := range s.VNets[:i] {
					for _, or := range o.Ranges {
						if or.Overlaps(r) {
							d.crossf(rp, rp, "%s overlaps vnet %s's %s; an address belongs to one vnet", r, o.Name, or)
						}
					}
				}
			}
		}
		for _, hn := range sortedKeys(t.Hosts) {
			h := t.Hosts[hn]
			if h.Site != sn || !(h.HasRole(RoleProcessServer) || h.HasRole(RoleProtectedVM)) {
				continue
			}
			if _, ok := s.VNetOf(h.Address); !ok {
				hp := "hosts." + hn + ".address"
				d.crossf(hp, hp, "%s is in no vnet of site %s (%s): give the host an IP address inside one, or add its range to vnets", h.Address, sn, vnetNames(s))
			}
		}
	}
}

func prefixList(ps []netip.Prefix) string {
	var out []string
	for _, p := range ps {
		out = append(out, p.String())
	}
	return strings.Join(out, ", ")
}

func vnetNames(s *Site) string {
	var out []string
	for _, v := range s.VNets {
		out = append(out, v.Name)
	}
	return strings.Join(out, ", ")
}

// minProbeInterval is the agents' default bound on the gap between a probe's packets
// (agent.DefaultBounds MinInterval, docs/agent.md); topology imports nothing of ours, so the
// number is repeated here, where a file asking for less is refused before any agent is.
const minProbeInterval = 5 * time.Millisecond

// Overlap is a range that two sites share.
type Overlap struct {
	SiteA, SiteB string
	A, B         netip.Prefix
	// Retained lists the retained-IP hosts whose addresses lie in the shared range.
	Retained []string
}

// Overlaps lists every pair of overlapping site ranges, sorted by site and range.
func Overlaps(t *Topology) []Overlap {
	var out []Overlap
	names := sortedKeys(t.Sites)
	for i, a := range names {
		for _, b := range names[i+1:] {
			for _, na := range t.Sites[a].Networks {
				for _, nb := range t.Sites[b].Networks {
					if !na.Overlaps(nb) {
						continue
					}
					shared := na
					if nb.Bits() > na.Bits() {
						shared = nb
					}
					o := Overlap{SiteA: a, SiteB: b, A: na, B: nb}
					for _, hn := range sortedKeys(t.Hosts) {
						h := t.Hosts[hn]
						if !h.RetainedIP {
							continue
						}
						if ip, err := netip.ParseAddr(h.Address); err == nil && shared.Contains(ip) {
							o.Retained = append(o.Retained, hn)
						}
					}
					out = append(out, o)
				}
			}
		}
	}
	return out
}

// later orders the two sides so that the site written later in the file comes first: that is
// the one that introduced the clash, and where a reader is pointed.
func (o Overlap) later(at func(string) Pos) (site string, net netip.Prefix, other string, otherNet netip.Prefix) {
	site, net, other, otherNet = o.SiteB, o.B, o.SiteA, o.A
	if pa, pb := at("sites."+o.SiteA+".networks"), at("sites."+o.SiteB+".networks"); pa.Line > pb.Line || (pa.Line == pb.Line && pa.Col > pb.Col) {
		site, net, other, otherNet = o.SiteA, o.A, o.SiteB, o.B
	}
	return
}

// checkOverlaps: two sites may share a range only where retained-IP hosts live, because any
// other shared range cannot be routed across VPN or ExpressRoute.
func checkOverlaps(d *decoder, t *Topology) {
	for _, o := range Overlaps(t) {
		if len(o.Retained) > 0 {
			continue
		}
		site, net, other, otherNet := o.later(d.at)
		d.crossf("sites."+site+".networks", "sites."+site+".networks", "%s overlaps sites.%s.networks %s, and no host with retained_ip: true lives there", net, other, otherNet)
	}
}

func sortedKeys[V any](m map[string]V) []string {
	keys := make([]string, 0, len(m))
	for k := range m {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	return keys
}

func hostsWithRole(t *Topology, r Role) []string {
	var out []string
	for _, name := range sortedKeys(t.Hosts) {
		if t.Hosts[name].HasRole(r) {
			out = append(out, name)
		}
	}
	return out
}

func listOr(items []string, none string) string {
	if len(items) == 0 {
		return none
	}
	return strings.Join(items, ", ")
}

// abbreviate lists at most n names, so that a typo in a 1,000-host file gives a short message.
func abbreviate(names []string, n int) string {
	if len(names) <= n {
		return strings.Join(names, ", ")
	}
	return strings.Join(names[:n], ", ") + fmt.Sprintf(", ... (%d more)", len(names)-n)
}
