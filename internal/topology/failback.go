package topology

import "sort"

// Who serves whom during failback: which master target receives each failed-over VM, which
// process server in Azure sends its data, and so which process server / master target pairs
// carry which churn. Computed from the file alone, the same way for the catalogue, the
// readiness rules, the engine's bandwidth requirement and the report.

// IsMasterTarget reports whether h can receive failback data: a host with role master-target,
// or a Windows configuration server, which runs the built-in Windows master target ("By
// default, the master target server receives failback data. It runs on the on-premises
// configuration server": physical-failback; "by default a Windows master target server runs
// on the on-premises configuration server": prepare-failback). A Linux master target is
// always a separate host.
func IsMasterTarget(h *Host) bool {
	return h.HasRole(RoleMasterTarget) || (h.HasRole(RoleConfigurationServer) && h.OS == "windows")
}

// Choice is the host that serves a protected VM, and how netprobe knows.
type Choice struct {
	// Host is nil when no host can serve the VM.
	Host *Host
	// Pinned: the VM names it (master_target:, process_server:).
	Pinned bool
	// Others are the other candidates when Host was assumed among several.
	Others []*Host
}

// Assumed reports whether netprobe picked Host among several candidates.
func (c Choice) Assumed() bool { return !c.Pinned && len(c.Others) > 0 }

// inAzure reports whether h is in a site of kind azure.
func (t *Topology) inAzure(h *Host) bool {
	s := t.Sites[h.Site]
	return s != nil && s.Kind == SiteAzure
}

// FailbackVMs are the protected VMs now in an Azure site (failed over, to fail back), sorted
// by name. Protected VMs in an on-premises site still replicate forward.
func FailbackVMs(t *Topology) []*Host {
	return hostsWhere(t, func(h *Host) bool { return h.HasRole(RoleProtectedVM) && t.inAzure(h) })
}

// ClassicFailbackVMs are the failback VMs that fail back with the classic components.
func ClassicFailbackVMs(t *Topology) []*Host {
	var out []*Host
	for _, h := range FailbackVMs(t) {
		if t.Classic(h) {
			out = append(out, h)
		}
	}
	return out
}

// MasterTargetCandidates are the on-premises master targets of OS family os: hosts with role
// master-target by name, then a Windows configuration server's built-in master target (the
// file declared the others, so they are what the user most likely means to use).
func MasterTargetCandidates(t *Topology, os string) []*Host {
	var declared, builtin []*Host
	for _, h := range hostsWhere(t, func(h *Host) bool { return !t.inAzure(h) && IsMasterTarget(h) && h.OS == os }) {
		if h.HasRole(RoleMasterTarget) {
			declared = append(declared, h)
		} else {
			builtin = append(builtin, h)
		}
	}
	return append(declared, builtin...)
}

// MasterTargetChoice is the master target vm fails back to: the one it names, else the first
// candidate of its OS family (MasterTargetCandidates), with the others listed.
func MasterTargetChoice(t *Topology, vm *Host) Choice {
	if vm.MasterTarget != "" {
		return Choice{Host: t.Hosts[vm.MasterTarget], Pinned: true}
	}
	return firstOf(MasterTargetCandidates(t, vm.OS))
}

// firstOf is the choice among candidates: the first, with the others listed.
func firstOf(c []*Host) Choice {
	if len(c) == 0 {
		return Choice{}
	}
	return Choice{Host: c[0], Others: c[1:]}
}

// MasterTargetOf returns the master target vm fails back to (MasterTargetChoice), nil when
// there is none.
func MasterTargetOf(t *Topology, vm *Host) *Host { return MasterTargetChoice(t, vm).Host }

// MasterTargetsInUse are the master targets failback uses, sorted by name: those the classic
// failback VMs of the file fail back to (MasterTargetOf). A file with no such VM (the
// infrastructure alone) uses every host with role master-target, and a Windows configuration
// server's built-in master target when no other Windows one is declared. A master target no VM
// uses is left out: nothing fails back to it, so its data leg and host facts could only raise
// a false alarm about the failback the file describes.
func MasterTargetsInUse(t *Topology) []*Host {
	used := map[string]bool{}
	vms := ClassicFailbackVMs(t)
	sv := newServing(t)
	for _, vm := range vms {
		if mt := sv.masterTarget(vm).Host; mt != nil {
			used[mt.Name] = true
		}
	}
	var out []*Host
	for _, h := range hostsWhere(t, func(h *Host) bool { return !t.inAzure(h) && IsMasterTarget(h) }) {
		switch {
		case len(vms) > 0:
			if used[h.Name] {
				out = append(out, h)
			}
		case h.HasRole(RoleMasterTarget):
			out = append(out, h)
		case len(MasterTargetCandidates(t, "windows")) == 1:
			out = append(out, h) // the estate's only Windows master target, built in
		}
	}
	return out
}

// network is where a host sits for RD-PS-AZ: its site and, when the site declares vnets, the
// vnet holding its address.
type network struct{ site, vnet string }

func (t *Topology) networkOf(h *Host) network {
	vnet, _ := t.Sites[h.Site].VNetOf(h.Address)
	return network{h.Site, vnet}
}

// String names the network for messages: "site azure" or "vnet spoke of site azure".
func (n network) String() string {
	if n.vnet == "" {
		return "site " + n.site
	}
	return "vnet " + n.vnet + " of site " + n.site
}

// AzureProcessServers are the process servers in Azure sites, sorted by name.
func AzureProcessServers(t *Topology) []*Host {
	return hostsWhere(t, func(h *Host) bool { return h.HasRole(RoleProcessServer) && t.inAzure(h) })
}

// ProofOfConceptPS reports the on-premises process servers that may serve failback as a
// proof of concept: when no process server is in Azure and an ExpressRoute private peering
// joins the sites ("For test purposes, if you have an Azure ExpressRoute connection, you can
// use the on-premises process server that's automatically installed on the configuration
// server. If you have a VPN connection, or you're running failback in a production
// environment, you must set up an Azure VM as an Azure-based process server": physical-failback).
func ProofOfConceptPS(t *Topology) []*Host {
	if len(AzureProcessServers(t)) > 0 {
		return nil
	}
	var out []*Host
	for _, h := range hostsWhere(t, func(h *Host) bool { return h.HasRole(RoleProcessServer) && !t.inAzure(h) }) {
		for _, l := range t.Links {
			if l.Kind == LinkExpressRoutePrivate && (l.Sites[0] == h.Site || l.Sites[1] == h.Site) {
				out = append(out, h)
				break
			}
		}
	}
	return out
}

// ProcessServerCandidates are the process servers that can serve vm during failback: those in
// Azure in the VM's own network; when its network has none, every process server in Azure
// (RD-PS-AZ fails on paper, the flows are still tested); with none in Azure, the on-premises
// ones of a proof of concept over ExpressRoute.
func ProcessServerCandidates(t *Topology, vm *Host) []*Host {
	all := AzureProcessServers(t)
	if len(all) == 0 {
		return ProofOfConceptPS(t)
	}
	return ownNetworkFirst(t, vm, all)
}

// ownNetworkFirst are the process servers in Azure (all) in vm's network, or all of them
// when none is.
func ownNetworkFirst(t *Topology, vm *Host, all []*Host) []*Host {
	net := t.networkOf(vm)
	var own []*Host
	for _, ps := range all {
		if t.networkOf(ps) == net {
			own = append(own, ps)
		}
	}
	if len(own) > 0 {
		return own
	}
	return all
}

// ProcessServerChoice is the process server vm replicates back through: the one it names,
// else the first candidate (ProcessServerCandidates), with the others listed.
func ProcessServerChoice(t *Topology, vm *Host) Choice {
	if vm.ProcessServer != "" {
		return Choice{Host: t.Hosts[vm.ProcessServer], Pinned: true}
	}
	return firstOf(ProcessServerCandidates(t, vm))
}

// Pair is a process server and a master target that carry failback data between them, with
// the VMs whose data they carry.
type Pair struct {
	PS, MT *Host
	VMs    []*Host
}

// Churn lists the churn of every disk of the pair's VMs.
func (p Pair) Churn() []BitsPerSecond {
	var out []BitsPerSecond
	for _, vm := range p.VMs {
		for _, d := range vm.Disks {
			out = append(out, d.Churn)
		}
	}
	return out
}

// Size is the provisioned size of every disk of the pair's VMs: what a full resync sends.
func (p Pair) Size() Bytes {
	var sum Bytes
	for _, vm := range p.VMs {
		for _, d := range vm.Disks {
			sum += d.Size
		}
	}
	return sum
}

// FailbackPairs are the data legs of failback, each with the VMs that fail back over it,
// sorted by process server then master target: the pairs the classic failback VMs use (their
// process server and master target). A file with no such VM pairs every process server in
// Azure with every master target in use, carrying none. On-premises VMs still replicating
// forward and VMs served by another pair do not count toward a pair, and a pair no VM uses is
// not planned: its firewall rules need not exist.
func FailbackPairs(t *Topology) []Pair {
	var pairs []Pair
	idx := map[[2]string]int{}
	for _, ps := range AzureProcessServers(t) {
		for _, mt := range MasterTargetsInUse(t) {
			idx[[2]string{ps.Name, mt.Name}] = len(pairs)
			pairs = append(pairs, Pair{PS: ps, MT: mt})
		}
	}
	vms := ClassicFailbackVMs(t)
	sv := newServing(t)
	for _, vm := range vms {
		ps, mt := sv.processServer(vm).Host, sv.masterTarget(vm).Host
		if ps == nil || mt == nil {
			continue
		}
		if i, ok := idx[[2]string{ps.Name, mt.Name}]; ok {
			pairs[i].VMs = append(pairs[i].VMs, vm)
		}
	}
	if len(vms) > 0 {
		used := pairs[:0]
		for _, p := range pairs {
			if len(p.VMs) > 0 {
				used = append(used, p)
			}
		}
		pairs = used
	}
	sort.SliceStable(pairs, func(i, j int) bool {
		if pairs[i].PS.Name != pairs[j].PS.Name {
			return pairs[i].PS.Name < pairs[j].PS.Name
		}
		return pairs[i].MT.Name < pairs[j].MT.Name
	})
	return pairs
}

// ProcessServerOf returns the process server vm replicates back through (ProcessServerChoice),
// nil when there is none.
func ProcessServerOf(t *Topology, vm *Host) *Host { return ProcessServerChoice(t, vm).Host }

// hostsWhere are the hosts keep accepts, sorted by name. It sorts only those: these lookups
// run once per protected VM while planning, and sorting every host name each time made
// planning a 1,000-VM estate take seconds (make bench).
func hostsWhere(t *Topology, keep func(*Host) bool) []*Host {
	var out []*Host
	for _, h := range t.Hosts {
		if keep(h) {
			out = append(out, h)
		}
	}
	sort.Slice(out, func(i, j int) bool { return out[i].Name < out[j].Name })
	return out
}
