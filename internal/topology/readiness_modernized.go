package topology

import (
	"net/netip"
)

// The readiness rules of the modernized architecture (asr-modernized.md 7.4). The classic
// rules (RD-PS-AZ, RD-LINK, RD-RETAIN-NIC, RD-MT-OS, RD-MT-DISKS) do not apply to VMs that fail
// back with the appliance: they judge the classic VMs only.

// MaxApplianceDisks is how many disks one appliance takes during failback: "If the VMs being
// failed back have more than a collective total of 60 disks ... create a separate appliance
// for failback" (FOFB-M).
const MaxApplianceDisks = 60

// MaxApplianceVMs and MaxApplianceChurnPerDay size one appliance: "can handle up to 200 VMs",
// 2 TB a day of change per process server (MATRIX, MATRIX-VP).
const (
	MaxApplianceVMs         = 200
	MaxApplianceChurnPerDay = 2 * TB
)

func (r *readiness) modernized() {
	t := r.t
	back, fwd := t.modernizedVMs(true), t.modernizedVMs(false)
	apls := Appliances(t)
	if len(apls) == 0 && len(back)+len(fwd) > 0 {
		vms := append(append([]*Host{}, back...), fwd...)
		r.add(Finding{Rule: "RDM-APL", Severity: SevFail, Host: vms[0].Name, Path: "hosts." + vms[0].Name,
			Hint: "add the on-premises replication appliance with roles: [replication-appliance] and its fqdn"},
			"%s use the modernized architecture but the file has no replication appliance: failback comes back through one", names(vms))
	}
	r.applianceLoad(back)
	r.applianceAssumed(append(append([]*Host{}, back...), fwd...))
	for _, vm := range back {
		p := "hosts." + vm.Name
		if vm.Platform == PlatformPhysical {
			r.add(Finding{Rule: "RDM-PHYSICAL", Severity: SevFail, Host: vm.Name, Path: p + ".platform",
				Hint: "a physical server fails back only as a VMware VM under classic; plan its way back before failing it over"},
				"%s is a physical server: in the modernized architecture \"for physical servers, failback is not supported\"", vm.Name)
		}
		a := ApplianceOf(t, vm)
		if a != nil && vm.Datastore != "" && len(a.Datastores) > 0 && !containsString(a.Datastores, vm.Datastore) {
			r.add(Finding{Rule: "RDM-APL-DATASTORE", Severity: SevWarn, Host: vm.Name, Path: p + ".datastore",
				Hint: "fail back to a datastore the appliance reaches, or pin the VM to an appliance that reaches " + vm.Datastore},
				"%s fails back to datastore %s, which appliance %s does not list (%s): the target datastore must be accessible by the appliance", vm.Name, vm.Datastore, a.Name, listOr(a.Datastores, "none"))
		}
	}
	if t.Settings.Architecture == ArchModernized {
		for _, vm := range ClassicFailbackVMs(t) {
			r.add(Finding{Rule: "RDM-CLASSIC-FAILEDOVER", Severity: SevInfo, Host: vm.Name, Path: "hosts." + vm.Name + ".architecture",
				Hint: "keep the classic configuration server, a process server in Azure and the VPN or ExpressRoute private peering until it has failed back"},
				"%s failed over under classic and cannot be migrated: it fails back with the classic components, and the classic rules apply to it", vm.Name)
		}
	}
	r.applianceFQDN(fwd)
	r.groupsAppliance(back)
	r.privateEndpoints(apls)
	r.unused()
}

// applianceLoad: disks per appliance during failback, VMs and daily churn per appliance.
func (r *readiness) applianceLoad(back []*Host) {
	disks, vms := map[string]int{}, map[string][]*Host{}
	for _, vm := range back {
		if a := ApplianceOf(r.t, vm); a != nil {
			disks[a.Name] += vmDisks(vm)
			vms[a.Name] = append(vms[a.Name], vm)
		}
	}
	for _, n := range sortedKeys(disks) {
		if disks[n] > MaxApplianceDisks {
			r.add(Finding{Rule: "RDM-APL-DISKS", Severity: SevFail, Host: n, Path: "hosts." + n,
				Hint: "add a replication appliance for failback and move VMs to it with appliance:"},
				"%s would have %d disks attached (%d VMs failing back through it); an appliance takes at most %d", n, disks[n], len(vms[n]), MaxApplianceDisks)
		}
	}
	all := map[string][]*Host{}
	for _, h := range r.t.Hosts {
		if h.HasRole(RoleProtectedVM) && r.t.Modernized(h) {
			if a := ApplianceOf(r.t, h); a != nil {
				all[a.Name] = append(all[a.Name], h)
			}
		}
	}
	for _, n := range sortedKeys(all) {
		var churn BitsPerSecond
		for _, vm := range all[n] {
			for _, d := range vm.Disks {
				churn += d.Churn
			}
		}
		perDay := Bytes(float64(churn) / 8 * 86400)
		if len(all[n]) > MaxApplianceVMs || perDay > MaxApplianceChurnPerDay {
			r.add(Finding{Rule: "RDM-APL-SIZE", Severity: SevWarn, Host: n, Path: "hosts." + n,
				Hint: "add an appliance and spread the VMs with appliance:"},
				"%s serves %d VMs changing about %s a day; one appliance handles up to %d VMs and 2 TB a day", n, len(all[n]), perDay, MaxApplianceVMs)
		}
	}
}

func (r *readiness) applianceAssumed(vms []*Host) {
	type key struct{ a, others string }
	assumed := map[key][]*Host{}
	var order []key
	for _, vm := range vms {
		ch := ApplianceChoice(r.t, vm)
		if ch.Host == nil || !ch.Assumed() {
			continue
		}
		k := key{ch.Host.Name, hostNames(ch.Others)}
		if assumed[k] == nil {
			order = append(order, k)
		}
		assumed[k] = append(assumed[k], vm)
	}
	for _, k := range order {
		v := assumed[k]
		r.add(Finding{Rule: "RDM-APL", Severity: SevInfo, Host: v[0].Name, Path: "hosts." + v[0].Name,
			Hint: "set appliance: on the VM to say which one it uses; the disk count and the appliance's flows follow that choice"},
			"%s: netprobe assumes appliance %s; %s could serve %s too", names(v), k.a, k.others, pronoun(len(v)))
	}
}

// applianceFQDN: "To support communication between source machines and the replication
// appliance using multiple subnets, select the FQDN as the mode of connectivity" (MATRIX).
func (r *readiness) applianceFQDN(fwd []*Host) {
	nets := map[string]map[netip.Prefix]bool{}
	for _, vm := range fwd {
		a := ApplianceOf(r.t, vm)
		if a == nil || a.Connectivity != ConnectIP {
			continue
		}
		if nets[a.Name] == nil {
			nets[a.Name] = map[netip.Prefix]bool{}
		}
		ip, err := netip.ParseAddr(vm.Address)
		s := r.t.Sites[vm.Site]
		if err != nil || s == nil {
			continue
		}
		for _, n := range s.Networks {
			if n.Contains(ip) {
				nets[a.Name][n] = true
			}
		}
	}
	for _, n := range sortedKeys(nets) {
		if len(nets[n]) > 1 {
			r.add(Finding{Rule: "RDM-APL-FQDN", Severity: SevFail, Host: n, Path: "hosts." + n + ".connectivity",
				Hint: "choose FQDN as the appliance's connectivity mode during setup, and set connectivity: fqdn"},
				"%s uses IP connectivity but its source machines sit in %d networks; several subnets need FQDN connectivity", n, len(nets[n]))
		}
	}
}

// groupsAppliance: a replication group shares one appliance (carried over from classic's one
// master target per group; not documented for modernized).
func (r *readiness) groupsAppliance(back []*Host) {
	first := map[string]*Host{}
	for _, vm := range back {
		if vm.Group == "" {
			continue
		}
		a := ApplianceOf(r.t, vm)
		f, ok := first[vm.Group]
		if !ok {
			first[vm.Group] = vm
			continue
		}
		if fa := ApplianceOf(r.t, f); fa != nil && a != nil && fa != a {
			r.add(Finding{Rule: "RDM-GROUP-APL", Severity: SevWarn, Host: vm.Name, Path: "hosts." + vm.Name + ".group",
				Hint: "give every VM of the group the same appliance:"},
				"%s fails back through appliance %s but %s of the same group %s through %s (one appliance per group is assumed from classic, not documented)", vm.Name, a.Name, f.Name, vm.Group, fa.Name)
		}
	}
}

// privateEndpoints: with private endpoints the appliance reaches the vault over a private
// link ("establish private connectivity between on-premises and the bypass network": PE).
func (r *readiness) privateEndpoints(apls []*Host) {
	if !r.t.Azure.PrivateEndpoints {
		return
	}
	for _, a := range apls {
		ok := false
		for _, l := range r.t.Links {
			if !l.Kind.CarriesFailback() || (l.Sites[0] != a.Site && l.Sites[1] != a.Site) {
				continue
			}
			for _, sn := range l.Sites {
				if s := r.t.Sites[sn]; s != nil && s.Kind == SiteAzure {
					ok = true
				}
			}
		}
		if !ok {
			r.add(Finding{Rule: "RDM-LINK-PE", Severity: SevFail, Host: a.Name, Path: "azure.private_endpoints",
				Hint: "declare the site-to-site VPN or ExpressRoute private peering to the Azure site of the bypass network under links:"},
				"the vault uses private endpoints, but no vpn or expressroute-private link joins %s's site %s to an Azure site", a.Name, a.Site)
		}
	}
}

// unused: classic components in an estate where no VM fails back with classic.
func (r *readiness) unused() {
	if classic, _ := r.t.architectures(); classic {
		return
	}
	for _, n := range sortedKeys(r.t.Hosts) {
		h := r.t.Hosts[n]
		switch {
		case h.HasRole(RoleProcessServer) && r.t.inAzure(h):
			r.add(Finding{Rule: "RDM-UNUSED", Severity: SevWarn, Host: n, Path: "hosts." + n + ".roles",
				Hint: "remove it from the file, or mark the VMs that failed over under classic with architecture: classic"},
				"%s is a process server in Azure: modernized failback does not use one (\"You do not require a separate Process server in Azure for re-protect operation\")", n)
		case h.HasRole(RoleMasterTarget):
			r.add(Finding{Rule: "RDM-UNUSED", Severity: SevWarn, Host: n, Path: "hosts." + n + ".roles",
				Hint: "remove it from the file, or mark the VMs that failed over under classic with architecture: classic"},
				"%s is a master target: modernized failback writes through the replication appliance instead", n)
		}
	}
}
