package topology

// The modernized catalogue (asr-modernized.md 7.3): an on-premises replication appliance
// replaces the configuration server, the process servers and the master target. Failback
// needs no path from Azure to on-premises: the failed-over VM writes to a log storage account
// in Azure and the appliance reads it back over outbound 443 (asr-modernized.md 2.3).

import (
	"net/url"
)

// ApplianceVMs are the protected VMs the modernized catalogue applies to, in an Azure site
// (failback) or on premises (forward), sorted by name.
func (t *Topology) modernizedVMs(inAzure bool) []*Host {
	return hostsWhere(t, func(h *Host) bool { return h.HasRole(RoleProtectedVM) && t.Modernized(h) && t.inAzure(h) == inAzure })
}

// Appliances are the replication appliances of the file, sorted by name.
func Appliances(t *Topology) []*Host {
	return hostsWhere(t, func(h *Host) bool { return h.HasRole(RoleReplicationAppliance) })
}

// ApplianceChoice is the appliance a protected VM uses: the one it names, else the first by
// name with the others listed ("You can select any of the Azure Site Recovery replication
// appliances registered under a vault to re-protect": FOFB-M).
func ApplianceChoice(t *Topology, vm *Host) Choice {
	if vm.Appliance != "" {
		return Choice{Host: t.Hosts[vm.Appliance], Pinned: true}
	}
	all := Appliances(t)
	if len(all) == 0 {
		return Choice{}
	}
	return Choice{Host: all[0], Others: all[1:]}
}

// ApplianceOf returns the appliance vm uses (ApplianceChoice), nil when there is none.
func ApplianceOf(t *Topology, vm *Host) *Host { return ApplianceChoice(t, vm).Host }

// ApplianceDataPort is the appliance's data port: its own, else settings.data_port.
func ApplianceDataPort(t *Topology, a *Host) int {
	if a.DataPort != 0 {
		return a.DataPort
	}
	return t.Settings.DataPort
}

// AzureStorage is the destination name of the blob throughput flows.
const AzureStorage = "azure-storage"

// StorageLink names the path between appliance a and Azure Storage for reports: each appliance
// downloads its VMs' failback data over its own uplink (several may or may not share one).
func StorageLink(a string) string { return AzureStorage + " via " + a }

const (
	// ESXiNFCPort is VMware's NFC port; no ASR text names it for the appliance (MR7).
	ESXiNFCPort = 902
)

func (e *expander) modernizedFailback() {
	t := e.t
	vms := t.modernizedVMs(true)
	apls := Appliances(t)
	vcs := e.vcenters()
	for _, vm := range vms {
		for _, ep := range modernizedNames(t, nil, func(m ModernEndpoint) bool { return m.VM && m.Pattern != blobPatternOf(t) }) {
			f := Flow{Rule: "MFB-VM-AZ", Confidence: ConfDoc, Source: source("tut-m", "arch-m"),
				Why: "the failed-over VM's mobility agent must reach Azure Site Recovery: " + ep.Why}
			// The VM's list is the appliance's (TUT-M points at it): what is optional for the
			// appliance (portal, downloads) or dropped from the 2026 matrix is not a hard
			// requirement of the VM either.
			switch ep.Class {
			case ClassOptional:
				f.Impact = ep.Impact
			case ClassDropped:
				f.Confidence = ConfUncertain
				f.Why += "; dropped from the 2026 support matrix, so a failure is a warning until a lab shows whether it is still used"
			}
			e.endpoint(f, vm, ep)
		}
		for _, ep := range modernizedNames(t, failbackAccounts(t), func(m ModernEndpoint) bool { return m.Pattern == blobPatternOf(t) }) {
			why := "the failed-over VM writes failback data to the reprotect log storage account"
			if ep.representative {
				why += " (name it under azure.log_storage_accounts to test the vault's own)"
			}
			e.endpoint(Flow{Rule: "MFB-VM-BLOB", Confidence: ConfInferred, Source: source("fofb-m", "tut-m"), Why: why}, vm, ep)
		}
	}
	// The appliances that serve failing-back VMs (every one when none says which: any healthy
	// appliance of the vault can take a reprotect).
	serving := e.serving(vms, apls)
	for _, a := range serving {
		e.applianceEndpoints("MFB", a)
		for _, vc := range vcs {
			e.add(Flow{Rule: "MFB-APL-VC", Kind: FlowPort, Port: t.Settings.VCenterPort, Proto: ProtoTCP, Confidence: ConfDoc,
				Source: source("tut-m", "setup-m"),
				Why:    "the appliance detaches and attaches the failing-back disks and creates VMs through vCenter"}, a, vc)
		}
		for _, esx := range e.hosts(RoleESXi, nil) {
			e.add(Flow{Rule: "MFB-APL-ESXI", Kind: FlowPort, Port: ESXiNFCPort, Proto: ProtoTCP, Confidence: ConfUncertain,
				Source: source("tut-m"),
				Why:    "ESXi NFC; no ASR text names it for the appliance (it writes from inside its VM, so probably unused)"}, a, esx)
		}
		e.blob("MFB-BW", a, "failback data is downloaded from Azure Storage by the appliance: enough bandwidth for the VMs' churn and resync")
	}
	e.group("MFB-GROUP", vms, ConfUncertain, "multi-VM consistency within the replication group (no modernized article names the port)")
	if t.Azure.PrivateEndpoints {
		e.privateLink(serving)
	}
}

func (e *expander) modernizedForward() {
	t := e.t
	vms := t.modernizedVMs(false)
	apls := Appliances(t)
	for _, vm := range vms {
		a := ApplianceOf(t, vm)
		if a == nil {
			continue // RDM-APL says so
		}
		e.add(Flow{Rule: "MFW-VM-APL", Kind: FlowPort, Port: 443, Proto: ProtoTCP, Confidence: ConfDoc, Source: source("arch-m"),
			Why: "replication management: the mobility agent talks to the appliance's proxy server (RCM) on 443"}, vm, a)
		e.add(Flow{Rule: "MFW-VM-APL-DATA", Kind: FlowPort, Port: ApplianceDataPort(t, a), Proto: ProtoTCP, Confidence: ConfDoc,
			Source: source("arch-m"), Why: "replication data to the appliance's process server"}, vm, a)
	}
	serving := e.serving(vms, apls)
	vcs := e.vcenters()
	for _, a := range serving {
		e.applianceEndpoints("MFW", a)
		for _, vc := range vcs {
			e.add(Flow{Rule: "MFW-APL-VC", Kind: FlowPort, Port: t.Settings.VCenterPort, Proto: ProtoTCP, Confidence: ConfDoc,
				Source: source("deploy-m"), Why: "discovery of the VMware estate"}, a, vc)
		}
		e.blob("MFW-BW", a, "replication data is uploaded to the cache storage account (what the Deployment Planner measures)")
	}
	for _, vm := range vms {
		a := ApplianceOf(t, vm)
		if a == nil {
			continue
		}
		switch vm.OS {
		case "windows":
			e.add(Flow{Rule: "MFW-PUSH-WIN", Kind: FlowPort, Port: 135, Proto: ProtoTCP, Confidence: ConfInferred,
				Source: source("setup-m", "push"), Why: "push install of the mobility agent from the appliance: WMI (RPC endpoint mapper)"}, a, vm)
			e.add(Flow{Rule: "MFW-PUSH-WIN", Kind: FlowPort, Port: 445, Proto: ProtoTCP, Confidence: ConfInferred,
				Source: source("setup-m", "push"), Why: "push install of the mobility agent from the appliance: file and printer sharing (SMB)"}, a, vm)
		case "linux":
			e.add(Flow{Rule: "MFW-PUSH-LNX", Kind: FlowPort, Port: 22, Proto: ProtoTCP, Confidence: ConfInferred,
				Source: source("setup-m", "push"), Why: "push install of the mobility agent from the appliance over SSH/SFTP"}, a, vm)
		}
	}
	e.group("MFW-GROUP", vms, ConfUncertain, "multi-VM consistency within the replication group (no modernized article names the port)")
}

// serving are the appliances the VMs use; every appliance when the file has no such VM.
func (e *expander) serving(vms, apls []*Host) []*Host {
	if len(vms) == 0 {
		return apls
	}
	seen := map[string]*Host{}
	for _, vm := range vms {
		if a := ApplianceOf(e.t, vm); a != nil {
			seen[a.Name] = a
		}
	}
	var out []*Host
	for _, n := range sortedKeys(seen) {
		out = append(out, seen[n])
	}
	return out
}

// vcenters are what ASR talks to for discovery and disk attach: the vCenter servers, or the
// ESXi hosts when the file declares no vCenter (standalone hosts). ESXi hosts managed by a
// declared vCenter are reached through it, not directly.
func (e *expander) vcenters() []*Host {
	if vcs := e.hosts(RoleVCenter, nil); len(vcs) > 0 {
		return vcs
	}
	return e.hosts(RoleESXi, nil)
}

// applianceEndpoints adds the appliance's URL list (prefix-APL-AZ) and its storage accounts
// (prefix-APL-BLOB): the union of the 2023 to 2026 support matrices.
func (e *expander) applianceEndpoints(prefix string, a *Host) {
	t := e.t
	blob := blobPatternOf(t)
	for _, ep := range modernizedNames(t, nil, func(m ModernEndpoint) bool { return m.Appliance() && m.Pattern != blob }) {
		f := Flow{Rule: prefix + "-APL-AZ", Confidence: ConfDoc, Source: source("matrix"),
			Why: "the appliance reaches Azure Site Recovery directly or through its proxy: " + ep.Why + " (" + ep.Class.String() + ")"}
		switch ep.Class {
		case ClassOptional:
			f.Impact = ep.Impact
		case ClassDropped:
			f.Confidence = ConfUncertain
			f.Why += "; dropped from the 2026 support matrix, so a failure is a warning until a lab shows whether it is still used"
		}
		e.endpoint(f, a, ep)
	}
	accounts, why, conf := failbackAccounts(t), "the appliance reads the failback data from the reprotect log storage account", ConfInferred
	if prefix == "MFW" {
		accounts, why, conf = t.Azure.CacheStorageAccounts, "the appliance's process server uploads replication data to the cache storage account", ConfDoc
	}
	for _, ep := range modernizedNames(t, accounts, func(m ModernEndpoint) bool { return m.Pattern == blob }) {
		why := why
		if ep.representative {
			why += " (name the accounts under azure: to test the vault's own)"
		}
		e.endpoint(Flow{Rule: prefix + "-APL-BLOB", Confidence: conf, Source: source("arch-m", "fofb-m"), Why: why}, a, ep)
	}
}

// failbackAccounts are the storage accounts failback data goes through: the reprotect log
// accounts, else the cache accounts ("You can choose cache storage account used for
// re-protection": FOFB-M).
func failbackAccounts(t *Topology) []string {
	if len(t.Azure.LogStorageAccounts) > 0 {
		return t.Azure.LogStorageAccounts
	}
	return t.Azure.CacheStorageAccounts
}

// endpoint adds an endpoint flow from h to a modernized endpoint name.
func (e *expander) endpoint(f Flow, h *Host, ep modernName) {
	f.Kind, f.From, f.To, f.Address, f.FromAddress = FlowEndpoint, h.Name, ep.Name, ep.Name, h.Address
	f.Port, f.Proto, f.Expect, f.Pattern, f.Representative = ep.Port, ep.Proto, ExpectOpen, ep.Pattern, ep.representative
	if ep.representative {
		f.Why += "; tests " + ep.Name + " as a representative of " + ep.Pattern
	}
	e.flows = append(e.flows, f)
}

// blob adds a throughput test between appliance a and Azure Storage (a test blob): the
// failback download, or the forward upload.
func (e *expander) blob(rule string, a *Host, why string) {
	e.flows = append(e.flows, Flow{Rule: rule, Kind: FlowBlob, From: a.Name, To: AzureStorage, Address: blobHost(e.t),
		FromAddress: a.Address, Confidence: ConfInferred, Source: source("fofb-m", "dp"), Why: why})
}

// privateLink adds, with private endpoints, the path and path MTU from each appliance over the
// private link to the Azure side ("establish private connectivity between on-premises and the
// bypass network": PE): toward the first host with an agent in an Azure site the link reaches.
func (e *expander) privateLink(apls []*Host) {
	for _, a := range apls {
		for _, l := range e.t.Links {
			if !l.Kind.CarriesFailback() || (l.Sites[0] != a.Site && l.Sites[1] != a.Site) {
				continue
			}
			other := l.Sites[0]
			if other == a.Site {
				other = l.Sites[1]
			}
			if s := e.t.Sites[other]; s == nil || s.Kind != SiteAzure {
				continue
			}
			to := e.firstAgentIn(other)
			if to == nil {
				continue
			}
			e.flows = append(e.flows, Flow{Rule: "MFB-PE-LINK", Kind: FlowPath, From: a.Name, To: l.Name, Address: to.AddressFrom(a.Site),
				FromAddress: a.AddressFrom(other), Confidence: ConfDoc, Source: source("pe"),
				Why: "with private endpoints the appliance reaches the vault over link " + l.Name + ": private end to end"})
			e.add(Flow{Rule: "MFB-PE-PMTU", Kind: FlowPMTU, Proto: ProtoICMP, Confidence: ConfInferred, Source: azureVPNGuidance,
				Why: "with private endpoints the failback data crosses the private link: large packets must survive it"}, a, to)
		}
	}
}

// blobPatternOf is the storage wildcard of the file's cloud.
func blobPatternOf(t *Topology) string { return "*" + storageSuffix[cloudOf(t)] }

// blobHost is the host of the file's test blob, or the storage wildcard when none is given.
func blobHost(t *Topology) string {
	if h := testBlobHost(t.Azure.BandwidthTestURL); h != "" {
		return h
	}
	return blobPatternOf(t)
}

func cloudOf(t *Topology) Cloud {
	if t.Azure.Cloud == 0 {
		return CloudPublic
	}
	return t.Azure.Cloud
}

// testBlobHost is the host of a test blob URL, "" when there is none.
func testBlobHost(v string) string {
	if v == "" {
		return ""
	}
	u, err := url.Parse(v)
	if err != nil {
		return ""
	}
	return u.Hostname()
}
