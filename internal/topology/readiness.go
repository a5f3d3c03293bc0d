package topology

import (
	"fmt"
	"sort"
	"time"
)

// MaxMTDisks is how many disks one master target carries (prepare-failback).
const MaxMTDisks = 60

// FailbackRPO is the RPO threshold of ASR's failback policy: created automatically, it "can't
// be modified" (physical-failback: RPO threshold = 15 minutes).
const FailbackRPO = 15 * time.Minute

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
	r := &readiness{t: t, sv: newServing(t)}
	if t.Settings.HasPhase(PhaseFailback) {
		r.mtDisksAndOS()
		r.groups()
		r.retainNIC()
		r.link()
		r.psAzure()
		r.rpo()
	}
	if _, modernized := t.architectures(); modernized {
		r.modernized()
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
	sv  *serving // who serves each VM (MasterTargetChoice, ProcessServerChoice), found once
	out []Finding
}

// add records a finding: f names the rule, its severity, the host, the YAML path and the hint;
// the message is format with args, and the position and source are looked up.
func (r *readiness) add(f Finding, format string, args ...any) {
	p, _ := r.t.Position(f.Path)
	f.Line, f.Col = p.Line, p.Col
	f.Message = fmt.Sprintf(format, args...)
	f.Source = readinessSource[f.Rule]
	r.out = append(r.out, f)
}

var readinessSource = map[string]string{
	"RD-MT-DISKS":   source("prepare-failback"),
	"RD-GROUP-OS":   source("prepare-failback"),
	"RD-MT-OS":      source("prepare-failback"),
	"RD-RETAIN-NIC": source("prepare-failback", "networking"),
	"RD-OVERLAP":    source("networking"),
	"RD-LINK":       source("prepare-failback"),
	"RD-PS-AZ":      source("prepare-failback", "physical-failback"),
	"RD-RPO":        source("prepare-failback", "physical-failback"),

	"RDM-APL":                source("fofb-m", "arch-m"),
	"RDM-APL-DISKS":          source("fofb-m"),
	"RDM-APL-DATASTORE":      source("fofb-m"),
	"RDM-PHYSICAL":           source("phys-m"),
	"RDM-CLASSIC-FAILEDOVER": source("move"),
	"RDM-APL-FQDN":           source("matrix"),
	"RDM-APL-SIZE":           source("matrix"),
	"RDM-GROUP-APL":          source("fofb-m"),
	"RDM-LINK-PE":            source("pe"),
	"RDM-UNUSED":             source("fofb-m"),
}

// failbackVMs are the protected VMs now in an Azure site that fail back with the classic
// components, sorted by name: the classic rules apply to them only.
func (r *readiness) failbackVMs() []*Host { return ClassicFailbackVMs(r.t) }

func vmDisks(h *Host) int {
	if len(h.Disks) == 0 {
		return 1
	}
	return len(h.Disks)
}

// mtOwnDisks counts a master target's own disks: at least its OS disk and its retention disk
// (prepare-failback counts "local disks plus protected disks" toward the 60).
func mtOwnDisks(h *Host) int {
	if len(h.Disks) == 0 {
		return 2
	}
	return len(h.Disks)
}

func (r *readiness) mtDisksAndOS() {
	load := map[string]int{}
	vmsOf := map[string]int{}
	type assumption struct{ mt, others string }
	assumed := map[assumption][]*Host{}
	var order []assumption
	for _, vm := range r.failbackVMs() {
		ch := r.sv.masterTarget(vm)
		mt := ch.Host
		p := "hosts." + vm.Name
		if vm.MasterTarget != "" {
			p += ".master_target"
		}
		if mt == nil {
			if vm.MasterTarget == "" {
				r.add(Finding{Rule: "RD-MT-OS", Severity: SevFail, Host: vm.Name, Path: p,
					Hint: "add a master target of that OS family, or set master_target: on the VM"},
					"%s (%s) has no master target to fail back to: failback needs one of the same OS family (master targets: %s)", vm.Name, vm.OS, listOr(describeMTs(r.t), "none"))
			}
			continue
		}
		if ch.Assumed() {
			k := assumption{mt.Name, hostNames(ch.Others)}
			if assumed[k] == nil {
				order = append(order, k)
			}
			assumed[k] = append(assumed[k], vm)
		}
		load[mt.Name] += vmDisks(vm)
		vmsOf[mt.Name]++
		if mt.OS != vm.OS {
			r.add(Finding{Rule: "RD-MT-OS", Severity: SevFail, Host: vm.Name, Path: p,
				Hint: "a Windows VM fails back to a Windows master target (the configuration server by default), a Linux VM to a Linux one"},
				"%s is %s but fails back to master target %s, which is %s", vm.Name, vm.OS, mt.Name, mt.OS)
		}
	}
	for _, k := range order {
		vms := assumed[k]
		r.add(Finding{Rule: "RD-MT-OS", Severity: SevInfo, Host: vms[0].Name, Path: "hosts." + vms[0].Name,
			Hint: "set master_target: on the VM to say which one it uses; the disk count (RD-MT-DISKS), data leg and bandwidth follow that choice"},
			"%s: netprobe assumes master target %s; %s could take %s too (several %s master targets)", names(vms), k.mt, k.others, pronoun(len(vms)), vms[0].OS)
	}
	for _, mtName := range sortedKeys(load) {
		mt := r.t.Hosts[mtName]
		own := mtOwnDisks(mt)
		ownNote := ""
		if len(mt.Disks) == 0 {
			ownNote = ", OS and retention, as disks: is not given"
		}
		if total := own + load[mtName]; total > MaxMTDisks {
			r.add(Finding{Rule: "RD-MT-DISKS", Severity: SevFail, Host: mtName, Path: "hosts." + mtName,
				Hint: "add a master target and move some VMs to it with master_target:"},
				"%s would carry %d disks (its own %d%s + %d of %d VMs failing back to it); a master target carries at most %d", mtName, total, own, ownNote, load[mtName], vmsOf[mtName], MaxMTDisks)
		}
	}
}

func pronoun(n int) string {
	if n == 1 {
		return "it"
	}
	return "them"
}

func hostNames(hs []*Host) string {
	var out []string
	for _, h := range hs {
		out = append(out, h.Name)
	}
	return orList(out)
}

func describeMTs(t *Topology) []string {
	var out []string
	for _, n := range sortedKeys(t.Hosts) {
		h := t.Hosts[n]
		switch {
		case h.HasRole(RoleMasterTarget):
			out = append(out, n+" ("+h.OS+")")
		case IsMasterTarget(h):
			out = append(out, n+" (windows, built into the configuration server)")
		}
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
		firstMT := r.sv.masterTarget(first).Host
		for _, vm := range vms[1:] {
			if vm.OS != first.OS {
				r.add(Finding{Rule: "RD-GROUP-OS", Severity: SevFail, Host: vm.Name, Path: "hosts." + vm.Name + ".group",
					Hint: "a replication group holds one OS family: split the group"},
					"%s is %s but %s in the same group %s is %s", vm.Name, vm.OS, first.Name, g, first.OS)
				continue
			}
			if mt := r.sv.masterTarget(vm).Host; mt != nil && firstMT != nil && mt != firstMT {
				r.add(Finding{Rule: "RD-GROUP-OS", Severity: SevFail, Host: vm.Name, Path: "hosts." + vm.Name + ".group",
					Hint: "give every VM of the group the same master_target:"},
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
				r.add(Finding{Rule: "RD-RETAIN-NIC", Severity: SevFail, Host: csName, Path: "hosts." + csName,
					Hint: "add a second NIC to the configuration server, on a network outside every site range, with toward: " + site},
					"%s keeps its on-premises address in %s, so %s needs a NIC toward %s for failback traffic", names(retained), site, csName, site)
				continue
			}
			if len(cs.NICs) < 2 {
				r.add(Finding{Rule: "RD-RETAIN-NIC", Severity: SevFail, Host: csName, Path: "hosts." + csName + ".nics",
					Hint: "keep the source NIC for the on-premises machines and add the failback NIC beside it: two NICs, one toward " + site},
					"%s has one NIC, and it points toward %s: with retained IP addresses the configuration server needs two NICs, one for the on-premises source machines and one toward Azure", csName, site)
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
					r.add(Finding{Rule: "RD-RETAIN-NIC", Severity: SevFail, Host: csName, Path: fmt.Sprintf("hosts.%s.nics[%d].address", csName, i),
						Hint: "put the failback NIC on a subnet that no Azure range covers"},
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

// link checks that every Azure site holding failback hosts reaches the on-premises sites its
// failback needs (the configuration server's, and the master targets' its VMs use) over a link
// that carries failback, directly or through on-premises links (a WAN between datacenters).
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
		what := "failback host " + at.Name
		if at.HasRole(RoleProcessServer) {
			what = "a failback process server"
		}
		for _, onName := range r.neededOnPrem(azName) {
			if failbackRoute(r.t, azName, onName) != nil {
				continue
			}
			switch found := directLink(r.t, azName, onName); {
			case found == nil:
				r.add(Finding{Rule: "RD-LINK", Severity: SevFail, Host: at.Name, Path: "hosts." + at.Name,
					Hint: "declare the site-to-site VPN or ExpressRoute private peering under links: (to this site, or to an on-premises site linked to it)"},
					"%s needs a link of kind vpn or expressroute-private to site %s; no link joins %s and %s, directly or through on-premises sites", what, onName, azName, onName)
			default:
				r.add(Finding{Rule: "RD-LINK", Severity: SevFail, Host: at.Name, Path: "hosts." + at.Name,
					Hint: "failback needs private addresses end to end: use a site-to-site VPN or ExpressRoute private peering"},
					"%s needs a link of kind vpn or expressroute-private to site %s; link %s is %s", what, onName, found.Name, found.Kind)
			}
		}
	}
}

// neededOnPrem are the on-premises sites the failback of Azure site az needs to reach: the
// configuration server's, and those of the master targets its classic VMs fail back to (every
// master target in use when none of its VMs is classic: a process server alone).
func (r *readiness) neededOnPrem(az string) []string {
	need := map[string]bool{}
	for _, cs := range hostsWithRole(r.t, RoleConfigurationServer) {
		if h := r.t.Hosts[cs]; !r.t.inAzure(h) {
			need[h.Site] = true
		}
	}
	vms := 0
	for _, vm := range r.failbackVMs() {
		if vm.Site != az {
			continue
		}
		vms++
		if mt := r.sv.masterTarget(vm).Host; mt != nil && !r.t.inAzure(mt) {
			need[mt.Site] = true
		}
	}
	if vms == 0 {
		for _, mt := range MasterTargetsInUse(r.t) {
			need[mt.Site] = true
		}
	}
	if len(need) == 0 { // nothing on premises is declared yet: every on-premises site
		for _, n := range sortedKeys(r.t.Sites) {
			if r.t.Sites[n].Kind == SiteOnPrem {
				need[n] = true
			}
		}
	}
	return sortedKeys(need)
}

// anchor is the host a finding about an Azure site points at: its process server, else its
// first protected VM; nil when the site holds nothing that fails back.
func (r *readiness) anchor(site string) *Host {
	// Only the classic components need the private path: a process server of a classic
	// estate, or a VM that fails back with classic.
	if classic, _ := r.t.architectures(); classic {
		for _, n := range sortedKeys(r.t.Hosts) {
			if h := r.t.Hosts[n]; h.Site == site && h.HasRole(RoleProcessServer) {
				return h
			}
		}
	}
	for _, h := range r.failbackVMs() {
		if h.Site == site {
			return h
		}
	}
	return nil
}

func (r *readiness) psAzure() {
	vmsByNet := map[network][]*Host{}
	var nets []network
	for _, vm := range r.failbackVMs() {
		n := r.t.networkOf(vm)
		if vmsByNet[n] == nil {
			nets = append(nets, n)
		}
		vmsByNet[n] = append(vmsByNet[n], vm)
	}
	hasPS := map[network]bool{}
	for _, ps := range AzureProcessServers(r.t) {
		hasPS[r.t.networkOf(ps)] = true
	}
	poc := ProofOfConceptPS(r.t)
	for _, n := range nets {
		if hasPS[n] {
			continue
		}
		vms := vmsByNet[n]
		path := "sites." + n.site
		if n.vnet != "" {
			path += ".vnets." + n.vnet
		}
		if len(poc) > 0 {
			r.add(Finding{Rule: "RD-PS-AZ", Severity: SevWarn, Host: vms[0].Name, Path: path,
				Hint: "for production failback deploy a process server in Azure in the network of the failed-over VMs (ASR's marketplace image) and add it with roles: [process-server]"},
				"%s holds failed-over VMs (%s) but no process server: they would fail back through the on-premises process server %s over ExpressRoute private peering, which Microsoft supports for tests only (low performance)", n, names(vms), hostNames(poc))
			continue
		}
		what := "failback needs one in Azure"
		if n.vnet != "" {
			what = "failback needs one in each Azure network that holds failed-over VMs"
		}
		r.add(Finding{Rule: "RD-PS-AZ", Severity: SevFail, Host: vms[0].Name, Path: path,
			Hint: "deploy a process server in Azure (ASR's marketplace image) in the network of the failed-over VMs and add it with roles: [process-server]"},
			"%s holds failed-over VMs (%s) but no process server; %s", n, names(vms), what)
	}
	r.psAssumed()
}

// psAssumed notes the VMs whose process server netprobe picked among several of their network.
func (r *readiness) psAssumed() {
	type assumption struct{ ps, others string }
	assumed := map[assumption][]*Host{}
	var order []assumption
	for _, vm := range r.failbackVMs() {
		ch := r.sv.processServer(vm)
		if ch.Host == nil || !ch.Assumed() {
			continue
		}
		k := assumption{ch.Host.Name, hostNames(ch.Others)}
		if assumed[k] == nil {
			order = append(order, k)
		}
		assumed[k] = append(assumed[k], vm)
	}
	for _, k := range order {
		vms := assumed[k]
		r.add(Finding{Rule: "RD-PS-AZ", Severity: SevInfo, Host: vms[0].Name, Path: "hosts." + vms[0].Name,
			Hint: "set process_server: on the VM to say which one it uses; the data-port flow, latency and the bandwidth each pair needs follow that choice"},
			"%s: netprobe assumes process server %s; %s could serve %s too", names(vms), k.ps, k.others, pronoun(len(vms)))
	}
}

// rpo notes that ASR's failback policy has a fixed RPO threshold: settings.rpo only changes
// netprobe's own sums.
func (r *readiness) rpo() {
	if r.t.Settings.RPO == FailbackRPO {
		return
	}
	r.add(Finding{Rule: "RD-RPO", Severity: SevInfo, Host: "", Path: "settings.rpo",
		Hint: "keep settings.rpo for what-if sums only; ASR measures failback against 15 minutes whatever this file says"},
		"settings.rpo is %s: netprobe's RPO sums use it, but ASR's failback policy is created automatically and cannot be edited: its RPO threshold is 15 minutes", r.t.Settings.RPO)
}

// overlaps notes every shared range the loader allowed because retained-IP hosts live there:
// it is legal, but routes must send those addresses through the tunnel.
func (r *readiness) overlaps() {
	for _, o := range Overlaps(r.t) {
		if len(o.Retained) == 0 {
			continue // the loader refused the file already
		}
		site, net, other, otherNet := o.later(func(p string) Pos { q, _ := r.t.Position(p); return q })
		r.add(Finding{Rule: "RD-OVERLAP", Severity: SevInfo, Host: "", Path: "sites." + site + ".networks",
			Hint: "make sure on-premises routers send these addresses into the tunnel, not to the old subnet"},
			"%s overlaps sites.%s.networks %s: allowed because %s kept on-premises addresses", net, other, otherNet, abbreviate(o.Retained, 4))
	}
}

// ManualChecklist lists the facts no agent can see, for the user to confirm by hand: for the
// classic master targets failback uses (a Windows configuration server's built-in one
// included), and for the replication appliances of a modernized estate.
func ManualChecklist(t *Topology) []string {
	classic, modernized := t.architectures()
	var out []string
	if classic {
		out = append(out, classicChecklist(t)...)
	}
	if modernized {
		out = append(out, modernizedChecklist(t)...)
	}
	return out
}

func classicChecklist(t *Topology) []string {
	var all, linux []string
	for _, mt := range MasterTargetsInUse(t) {
		all = append(all, mt.Name)
		if mt.OS == "linux" {
			linux = append(linux, mt.Name)
		}
	}
	on := "each master target"
	if len(all) > 0 {
		on = "master target " + abbreviate(all, 6)
	}
	pf := " (" + SourceURL("prepare-failback") + ")"
	rp := " (" + SourceURL("reprotect") + ")"
	out := []string{
		"No VMware snapshots on " + on + ": reprotect and failback fail while its disks have snapshots" + pf,
		"disk.EnableUUID = TRUE in the VM advanced configuration of " + on + ": without it ASR cannot identify the attached disks" + pf,
		"No Storage vMotion of " + on + " after reprotect: failback breaks when its disks move" + pf,
		"The ESXi host of " + on + " has at least one VMFS datastore attached (vSAN alone does not do: without VMFS the reprotect screen lists no datastore); the failing-back disks go to VMFS or vSAN, never NFS" + pf,
		"The version of " + on + " is not newer than the configuration server's and the process servers': otherwise reprotect succeeds but replication fails" + rp,
		"Each VM's operating system is the same version as its master target's, or older (a replication group shares one master target)" + pf,
		"The vCenter account ASR uses is not read-only: with read-only credentials the datastores are not listed and reprotect fails" + rp,
		"The VM of " + on + " is not cloned from the protected VMs' template: a shared disk UUID breaks disk attach" + rp,
	}
	if len(linux) > 0 {
		lm := " (" + SourceURL("linux-mt") + ")"
		out = append(out, "Linux master target "+abbreviate(linux, 6)+": not installed on LVM, kernel upgrades and automatic updates disabled, and /etc/hosts maps its host name to the address of every NIC"+lm)
	}
	return out
}

// modernizedChecklist: the preconditions of asr-modernized.md section 4 that no agent sees.
func modernizedChecklist(t *Topology) []string {
	var names []string
	for _, a := range Appliances(t) {
		names = append(names, a.Name)
	}
	on := "each replication appliance"
	if len(names) > 0 {
		on = "replication appliance " + abbreviate(names, 6)
	}
	fo := " (" + SourceURL("fofb-m") + ")"
	tu := " (" + SourceURL("tut-m") + ")"
	return []string{
		"The failed-over VMs stay switched on, with their mobility agent services running, until failback: the agent must stay registered with Azure" + tu,
		"No Storage vMotion of " + on + " after reprotect: the failing-back disks are attached to it" + fo,
		"The target datastore of every failing-back VM is accessible (read and write) by " + on + "; alternate-location recovery creates the VM there and copies every used byte" + fo,
		"The vCenter account of " + on + " may create and remove disks, create and register VMs and power them on" + " (" + SourceURL("setup-m") + ")",
		"Each VM has at least one recovery point (every VM of a recovery plan), and the replication health and the appliance's components are healthy in the portal" + tu,
		"Static IP addresses are not kept on failback (alternate or original location): the failed-back VMs come up on DHCP or need their addresses set again" + fo,
		"With private endpoints, the appliance and the mobility agents are updated by hand: automatic upgrades are not supported (" + SourceURL("pe") + ")",
	}
}
