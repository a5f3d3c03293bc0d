package topology

import (
	"fmt"
	"sort"
)

// MaxMTDisks is how many disks one master target carries (prepare-failback).
const MaxMTDisks = 60

// Finding is the verdict of one readiness rule, judged on paper.
type Finding struct {
	Rule     string   `json:"rule"`
	Severity Severity `json:"severity"`
	Host     string   `json:"host,omitempty"`
	// Path is the YAML path the finding points at; Line and Col are where it is written.
	Path      string `json:"path"`
	Message   string `json:"message"`
	Hint      string `json:"hint,omitempty"`
	Line, Col int    `json:"-"`
	Source    string `json:"source"`
}

// Readiness evaluates the RD-* rules that need no traffic. Findings are sorted by position.
// Rules that need a host fact (RD-RETENTION, RD-VMTOOLS, RD-SCSI) are the agent's.
func Readiness(t *Topology) []Finding {
	r := &readiness{t: t}
	if t.Settings.HasPhase(PhaseFailback) {
		r.mtDisksAndOS()
		r.groups()
		r.retainNIC()
		r.link()
		r.psAzure()
	}
	r.overlaps()
	sort.SliceStable(r.out, func(i, j int) bool {
		a, b := r.out[i], r.out[j]
		if a.Line != b.Line {
			return a.Line < b.Line
		}
		if a.Col != b.Col {
			return a.Col < b.Col
		}
		return a.Rule < b.Rule
	})
	return r.out
}

type readiness struct {
	t   *Topology
	out []Finding
}

func (r *readiness) add(rule string, sev Severity, host, path, hint, format string, args ...any) {
	p, _ := r.t.Position(path)
	r.out = append(r.out, Finding{Rule: rule, Severity: sev, Host: host, Path: path, Line: p.Line, Col: p.Col,
		Message: fmt.Sprintf(format, args...), Hint: hint, Source: readinessSource[rule]})
}

var readinessSource = map[string]string{
	"RD-MT-DISKS":   source("prepare-failback"),
	"RD-GROUP-OS":   source("prepare-failback"),
	"RD-MT-OS":      source("prepare-failback"),
	"RD-RETAIN-NIC": source("prepare-failback", "networking"),
	"RD-OVERLAP":    source("networking"),
	"RD-LINK":       source("prepare-failback"),
	"RD-PS-AZ":      source("prepare-failback"),
}

func (r *readiness) azure(h *Host) bool {
	s := r.t.Sites[h.Site]
	return s != nil && s.Kind == SiteAzure
}

// failbackVMs are the protected VMs now in an Azure site, sorted by name.
func (r *readiness) failbackVMs() []*Host {
	var out []*Host
	for _, n := range sortedKeys(r.t.Hosts) {
		if h := r.t.Hosts[n]; h.HasRole(RoleProtectedVM) && r.azure(h) {
			out = append(out, h)
		}
	}
	return out
}

// MasterTargetOf returns the master target vm fails back to: its master_target, else the only
// master target of its OS family; nil when there is none or the choice is ambiguous.
func MasterTargetOf(t *Topology, vm *Host) *Host {
	if vm.MasterTarget != "" {
		return t.Hosts[vm.MasterTarget]
	}
	var match *Host
	for _, n := range sortedKeys(t.Hosts) {
		h := t.Hosts[n]
		if h.HasRole(RoleMasterTarget) && h.OS == vm.OS {
			if match != nil {
				return nil
			}
			match = h
		}
	}
	return match
}

func diskCount(h *Host) int {
	if len(h.Disks) == 0 {
		return 1 // every machine has at least its OS disk
	}
	return len(h.Disks)
}

func (r *readiness) mtDisksAndOS() {
	load := map[string]int{}
	vmsOf := map[string]int{}
	for _, vm := range r.failbackVMs() {
		mt := MasterTargetOf(r.t, vm)
		p := "hosts." + vm.Name
		if vm.MasterTarget != "" {
			p += ".master_target"
		}
		if mt == nil {
			if vm.MasterTarget == "" {
				r.add("RD-MT-OS", SevFail, vm.Name, p,
					"add a master target of that OS family, or set master_target: on the VM",
					"%s (%s) has no master target to fail back to: failback needs one of the same OS family (master targets: %s)",
					vm.Name, vm.OS, listOr(describeMTs(r.t), "none"))
			}
			continue
		}
		load[mt.Name] += diskCount(vm)
		vmsOf[mt.Name]++
		if mt.OS != vm.OS {
			r.add("RD-MT-OS", SevFail, vm.Name, p,
				"a Windows VM fails back to a Windows master target (the configuration server by default), a Linux VM to a Linux one",
				"%s is %s but fails back to master target %s, which is %s", vm.Name, vm.OS, mt.Name, mt.OS)
		}
	}
	for _, mtName := range sortedKeys(load) {
		mt := r.t.Hosts[mtName]
		own := len(mt.Disks)
		if total := own + load[mtName]; total > MaxMTDisks {
			r.add("RD-MT-DISKS", SevFail, mtName, "hosts."+mtName,
				"add a master target and move some VMs to it with master_target:",
				"%s would carry %d disks (its own %d + %d of %d VMs failing back to it); a master target carries at most %d",
				mtName, total, own, load[mtName], vmsOf[mtName], MaxMTDisks)
		}
	}
}

func describeMTs(t *Topology) []string {
	var out []string
	for _, n := range hostsWithRole(t, RoleMasterTarget) {
		out = append(out, n+" ("+t.Hosts[n].OS+")")
	}
	return out
}

func (r *readiness) groups() {
	members := map[string][]*Host{}
	for _, vm := range r.failbackVMs() {
		if vm.Group != "" {
			members[vm.Group] = append(members[vm.Group], vm)
		}
	}
	for _, g := range sortedKeys(members) {
		vms := members[g]
		first := vms[0]
		firstMT := MasterTargetOf(r.t, first)
		for _, vm := range vms[1:] {
			if vm.OS != first.OS {
				r.add("RD-GROUP-OS", SevFail, vm.Name, "hosts."+vm.Name+".group",
					"a replication group holds one OS family: split the group",
					"%s is %s but %s in the same group %s is %s", vm.Name, vm.OS, first.Name, g, first.OS)
				continue
			}
			if mt := MasterTargetOf(r.t, vm); mt != nil && firstMT != nil && mt != firstMT {
				r.add("RD-GROUP-OS", SevFail, vm.Name, "hosts."+vm.Name+".group",
					"give every VM of the group the same master_target:",
					"%s fails back to master target %s but %s in the same group %s fails back to %s", vm.Name, mt.Name, first.Name, g, firstMT.Name)
			}
		}
	}
}

func (r *readiness) retainNIC() {
	var retained []*Host
	for _, vm := range r.failbackVMs() {
		if vm.RetainedIP {
			retained = append(retained, vm)
		}
	}
	if len(retained) == 0 {
		return
	}
	for _, csName := range hostsWithRole(r.t, RoleConfigurationServer) {
		cs := r.t.Hosts[csName]
		sites := map[string]bool{}
		for _, vm := range retained {
			sites[vm.Site] = true
		}
		for _, site := range sortedKeys(sites) {
			nic := cs.NICToward(site)
			if nic == nil {
				r.add("RD-RETAIN-NIC", SevFail, csName, "hosts."+csName,
					"add a second NIC to the configuration server, on a network outside every site range, with toward: "+site,
					"%s keeps its on-premises address in %s, so %s needs a NIC toward %s for failback traffic", names(retained), site, csName, site)
				continue
			}
			// The failback NIC's subnet must be distinguishable from Azure's ranges, or replies
			// to the retained addresses go back the wrong way. The design note says "any site
			// range", but its own example puts the failback NIC in an on-premises range, so
			// the Azure side's ranges are what must stay clear.
			subnet := nic.Address.Masked()
			azSite := r.t.Sites[site]
			for _, n := range azSite.Networks {
				if subnet.Overlaps(n) {
					i := nicIndex(cs, nic.Name)
					r.add("RD-RETAIN-NIC", SevFail, csName, fmt.Sprintf("hosts.%s.nics[%d].address", csName, i),
						"put the failback NIC on a subnet that no Azure range covers",
						"the failback NIC %s (%s) is inside %s's range %s; traffic for the retained addresses cannot be told apart", nic.Name, subnet, site, n)
				}
			}
		}
	}
}

func nicIndex(h *Host, name string) int {
	for i, n := range h.NICs {
		if n.Name == name {
			return i
		}
	}
	return 0
}

func names(hs []*Host) string {
	var out []string
	for _, h := range hs {
		out = append(out, h.Name)
	}
	return abbreviate(out, 4)
}

// link checks that every Azure site holding failback hosts reaches the on-premises site over a
// link that carries failback.
func (r *readiness) link() {
	for _, azName := range sortedKeys(r.t.Sites) {
		az := r.t.Sites[azName]
		if az.Kind != SiteAzure {
			continue
		}
		at := r.anchor(azName)
		if at == nil {
			continue
		}
		for _, onName := range sortedKeys(r.t.Sites) {
			if r.t.Sites[onName].Kind != SiteOnPrem {
				continue
			}
			var found *Link
			for _, l := range r.t.Links {
				if (l.Sites[0] == azName && l.Sites[1] == onName) || (l.Sites[1] == azName && l.Sites[0] == onName) {
					if found == nil || (!found.Kind.CarriesFailback() && l.Kind.CarriesFailback()) {
						found = l
					}
				}
			}
			what := "failback host " + at.Name
			if at.HasRole(RoleProcessServer) {
				what = "a failback process server"
			}
			switch {
			case found == nil:
				r.add("RD-LINK", SevFail, at.Name, "hosts."+at.Name,
					"declare the site-to-site VPN or ExpressRoute private peering under links:",
					"%s needs a link of kind vpn or expressroute-private to site %s; no link joins %s and %s", what, onName, azName, onName)
			case !found.Kind.CarriesFailback():
				r.add("RD-LINK", SevFail, at.Name, "hosts."+at.Name,
					"failback needs private addresses end to end: use a site-to-site VPN or ExpressRoute private peering",
					"%s needs a link of kind vpn or expressroute-private to site %s; link %s is %s", what, onName, found.Name, found.Kind)
			}
		}
	}
}

// anchor is the host a finding about an Azure site points at: its process server, else its
// first protected VM; nil when the site holds nothing that fails back.
func (r *readiness) anchor(site string) *Host {
	var vm *Host
	for _, n := range sortedKeys(r.t.Hosts) {
		h := r.t.Hosts[n]
		if h.Site != site {
			continue
		}
		if h.HasRole(RoleProcessServer) {
			return h
		}
		if vm == nil && h.HasRole(RoleProtectedVM) {
			vm = h
		}
	}
	return vm
}

func (r *readiness) psAzure() {
	vmsBySite := map[string][]*Host{}
	for _, vm := range r.failbackVMs() {
		vmsBySite[vm.Site] = append(vmsBySite[vm.Site], vm)
	}
	for _, site := range sortedKeys(vmsBySite) {
		hasPS := false
		for _, h := range r.t.Hosts {
			if h.Site == site && h.HasRole(RoleProcessServer) {
				hasPS = true
			}
		}
		if !hasPS {
			vm := vmsBySite[site][0]
			r.add("RD-PS-AZ", SevFail, vm.Name, "sites."+site,
				"deploy a process server in Azure (ASR's marketplace image) in the network of the failed-over VMs and add it with roles: [process-server]",
				"site %s holds failed-over VMs (%s) but no process server; failback needs one in Azure", site, names(vmsBySite[site]))
		}
	}
}

// overlaps notes every shared range the loader allowed because retained-IP hosts live there:
// it is legal, but routes must send those addresses through the tunnel.
func (r *readiness) overlaps() {
	for _, o := range Overlaps(r.t) {
		if len(o.Retained) == 0 {
			continue // the loader refused the file already
		}
		site, net, other, otherNet := o.later(func(p string) Pos { q, _ := r.t.Position(p); return q })
		r.add("RD-OVERLAP", SevInfo, "", "sites."+site+".networks",
			"make sure on-premises routers send these addresses into the tunnel, not to the old subnet",
			"%s overlaps sites.%s.networks %s: allowed because %s kept on-premises addresses", net, other, otherNet, abbreviate(o.Retained, 4))
	}
}

// ManualChecklist lists the facts no agent can see, for the user to confirm by hand.
func ManualChecklist(t *Topology) []string {
	mts := hostsWithRole(t, RoleMasterTarget)
	on := "each master target"
	if len(mts) > 0 {
		on = "master target " + abbreviate(mts, 6)
	}
	src := " (" + SourceURL("prepare-failback") + ")"
	return []string{
		"No VMware snapshots on " + on + ": reprotect fails while its disks have snapshots" + src,
		"disk.EnableUUID = TRUE in the VM advanced configuration of " + on + ": without it ASR cannot identify the attached disks" + src,
		"No Storage vMotion of " + on + " after reprotect: failback breaks when its disks move" + src,
		"Datastore of " + on + " is VMFS or vSAN with room for the failing-back disks (NFS datastores cannot host them)" + src,
	}
}
