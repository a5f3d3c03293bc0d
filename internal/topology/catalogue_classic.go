package topology

// The classic catalogue (asr-flows.md): a configuration server, process servers, master
// targets, and the VPN or ExpressRoute private peering between the sites.

import (
	"fmt"
)

// failback expands the classic failback phase: Azure back to on-premises.
func (e *expander) failback() {
	s := e.t.Settings
	cs := e.hosts(RoleConfigurationServer, nil)
	psAz := AzureProcessServers(e.t)
	// Failed-over VMs: protected VMs that now live in an Azure site and fail back with classic.
	vms := ClassicFailbackVMs(e.t)
	mts := MasterTargetsInUse(e.t)
	pairs := FailbackPairs(e.t)
	vcs := e.vcenters()
	sv := newServing(e.t)

	e.failbackVMs(vms, cs, sv)
	e.failbackProcessServers(psAz, cs)
	e.dataLegs(pairs)
	e.failbackMasterTargets(mts, cs)
	e.failbackVCenter(cs, mts, vcs)
	e.group("FB-GROUP", vms, ConfUncertain, "multi-VM consistency within the replication group (documented for forward replication; assumed for failback)")
	if s.AzureEndpoints {
		e.endpoints("FB-CS-AZ", cs, "the configuration server must stay connected to Azure during reprotect and failback", "prepare-failback")
	}
	e.links(psAz, mts, cs)
	e.failbackPMTU(pairs, vms, cs)
	e.routes(cs)
	e.failbackLatency(vms, sv)
	e.failbackBandwidth(pairs)
}

// failbackVMs: each failed-over VM to the configuration server and its process server.
func (e *expander) failbackVMs(vms, cs []*Host, sv *serving) {
	s := e.t.Settings
	for _, vm := range vms {
		for _, c := range cs {
			e.add(Flow{Rule: "FB-VM-CS", Kind: FlowPort, Port: 443, Proto: ProtoTCP, Confidence: ConfDoc,
				Source: source("reprotect", "ts-failback"), ErrorCode: "95226",
				Why: "Mobility service registration and control with the configuration server"}, vm, c)
			e.add(Flow{Rule: "FB-VM-CS", Kind: FlowICMP, Proto: ProtoICMP, Confidence: ConfDoc,
				Source: source("reprotect", "ts-failback"), ErrorCode: "95226",
				Why: "the reprotect page asks that the failed-over VM can reach (ping) the configuration server"}, vm, c)
		}
		if ps := sv.processServer(vm).Host; ps != nil {
			f := Flow{Rule: "FB-VM-PS", Kind: FlowPort, Port: s.DataPort, Proto: ProtoTCP, Confidence: ConfInferred,
				Source: source("reprotect", "prepare-failback"),
				Why:    "replication data from the Azure VM to the process server in Azure (flow documented, port inferred)"}
			if !e.t.inAzure(ps) {
				f.Source = source("physical-failback", "reprotect")
				f.Why = "proof of concept: replication data from the Azure VM to the on-premises process server over ExpressRoute private peering (test use only; port inferred)"
			}
			e.add(f, vm, ps)
		}
	}
}

// failbackProcessServers: the process servers in Azure to the configuration server.
func (e *expander) failbackProcessServers(psAz, cs []*Host) {
	for _, ps := range psAz {
		for _, c := range cs {
			e.add(Flow{Rule: "FB-PS-CS", Kind: FlowPort, Port: 443, Proto: ProtoTCP, Confidence: ConfDoc,
				Source: source("reprotect"), ErrorCode: "806",
				Why: "process server registration and heartbeat"}, ps, c)
			// A troubleshooting hint only (design Corrections 2026-12-05): inferred, and judged
			// with the 443 check beside it (a drop while 443 answers is a warn).
			e.add(Flow{Rule: "FB-PS-CS", Kind: FlowICMP, Proto: ProtoICMP, Confidence: ConfInferred,
				Source: source("reprotect"), ErrorCode: "806",
				Why: "ping from the process server in Azure to the configuration server: the troubleshooting page's first test (ASR itself uses 443)"}, ps, c)
		}
	}
}

// dataLegs: the failback data leg of each process server / master target pair, both ways.
func (e *expander) dataLegs(pairs []Pair) {
	s := e.t.Settings
	for _, p := range pairs {
		pair := "data-leg/" + p.PS.Name + "/" + p.MT.Name
		e.add(Flow{Rule: "FB-MT-PS", Kind: FlowPort, Port: s.DataPort, Proto: ProtoTCP, Confidence: ConfUncertain,
			Source: source("prepare-failback"), Pair: pair,
			Why: "failback data leg, master target to process server (direction undocumented; judged with FB-PS-MT)" + builtinMT(p.MT)}, p.MT, p.PS)
		e.add(Flow{Rule: "FB-PS-MT", Kind: FlowPort, Port: s.DataPort, Proto: ProtoTCP, Confidence: ConfUncertain,
			Source: source("prepare-failback"), Pair: pair,
			Why: "failback data leg, process server to master target (direction undocumented; judged with FB-MT-PS)" + builtinMT(p.MT)}, p.PS, p.MT)
	}
}

// failbackMasterTargets: the master targets in use to the configuration server.
func (e *expander) failbackMasterTargets(mts, cs []*Host) {
	for _, mt := range mts {
		for _, c := range cs {
			e.add(Flow{Rule: "FB-MT-CS", Kind: FlowPort, Port: 443, Proto: ProtoTCP, Confidence: ConfInferred,
				Source: source("linux-mt"), ErrorCode: "78022",
				Why: "master target registration and heartbeat (port inferred)"}, mt, c)
		}
	}
}

// failbackVCenter: the configuration server, and the master targets besides it, to vCenter.
func (e *expander) failbackVCenter(cs, mts, vcs []*Host) {
	s := e.t.Settings
	for _, c := range cs {
		for _, vc := range vcs {
			e.add(Flow{Rule: "FB-CS-VC", Kind: FlowPort, Port: s.VCenterPort, Proto: ProtoTCP, Confidence: ConfDoc,
				Source: source("deploy-cs", "reprotect"),
				Why:    "discovery, VM creation and disk attach/detach during failback"}, c, vc)
		}
	}
	for _, mt := range mts {
		if mt.HasRole(RoleConfigurationServer) {
			continue // FB-CS-VC tests the same flow, with its documented confidence
		}
		for _, vc := range vcs {
			e.add(Flow{Rule: "FB-MT-VC", Kind: FlowPort, Port: s.VCenterPort, Proto: ProtoTCP, Confidence: ConfUncertain,
				Source: source("reprotect"),
				Why:    "which component calls vSphere during failback is undocumented; tested from the master target too"}, mt, vc)
		}
	}
}

// failbackPMTU: large packets across each pair and between the VMs and the configuration server.
func (e *expander) failbackPMTU(pairs []Pair, vms, cs []*Host) {
	for _, p := range pairs {
		e.add(Flow{Rule: "FB-PMTU", Kind: FlowPMTU, Proto: ProtoICMP, Confidence: ConfInferred, Source: azureVPNGuidance,
			Why: "large replication packets must survive the tunnel (VPN overhead commonly needs MTU 1400 / MSS 1350)"}, p.PS, p.MT)
		e.add(Flow{Rule: "FB-PMTU", Kind: FlowPMTU, Proto: ProtoICMP, Confidence: ConfInferred, Source: azureVPNGuidance,
			Why: "large packets from the master target must survive the tunnel"}, p.MT, p.PS)
	}
	for _, vm := range vms {
		for _, c := range cs {
			e.add(Flow{Rule: "FB-PMTU", Kind: FlowPMTU, Proto: ProtoICMP, Confidence: ConfInferred, Source: azureVPNGuidance,
				Why: "large packets from the failed-over VM must reach the configuration server"}, vm, c)
			e.add(Flow{Rule: "FB-PMTU", Kind: FlowPMTU, Proto: ProtoICMP, Confidence: ConfInferred, Source: azureVPNGuidance,
				Why: "large packets from the configuration server must reach the failed-over VM"}, c, vm)
		}
	}
}

// failbackLatency: each process server to the VMs it protects.
func (e *expander) failbackLatency(vms []*Host, sv *serving) {
	for _, vm := range vms {
		if ps := sv.processServer(vm).Host; ps != nil {
			e.add(Flow{Rule: "FB-LAT", Kind: FlowLatency, Confidence: ConfDoc, Source: source("prepare-failback"),
				Why: "the process server needs low latency to the protected VMs (thresholds: checks.latency)"}, ps, vm)
		}
	}
}

// failbackBandwidth: each pair both ways, judged in the replication direction.
func (e *expander) failbackBandwidth(pairs []Pair) {
	for _, p := range pairs {
		carries := "no VM of the file fails back over this pair: measured, not judged"
		if len(p.VMs) > 0 {
			carries = "judged against the churn of " + names(p.VMs)
		}
		e.add(Flow{Rule: "FB-BW", Kind: FlowBandwidth, Confidence: ConfDoc, Source: source("prepare-failback"),
			Why: "failback data flows from the process server in Azure to on-premises: enough bandwidth for churn and resync; " + carries}, p.PS, p.MT)
		e.add(Flow{Rule: "FB-BW", Kind: FlowBandwidth, Confidence: ConfDoc, Source: source("prepare-failback"),
			Why: "the reverse direction, measured so an asymmetric link shows"}, p.MT, p.PS)
	}
}

// builtinMT notes that a configuration server is tested as the master target built into it.
func builtinMT(mt *Host) string {
	if mt.HasRole(RoleMasterTarget) {
		return ""
	}
	return "; " + mt.Name + " runs the built-in Windows master target of the configuration server"
}

// forward expands the classic forward phase: on-premises to Azure.
func (e *expander) forward() {
	s := e.t.Settings
	cs := e.hosts(RoleConfigurationServer, nil)
	psOn := e.hosts(RoleProcessServer, func(h *Host) bool { return !e.t.inAzure(h) })
	// Machines still replicating forward: protected VMs in an on-premises site, under classic.
	vms := e.hosts(RoleProtectedVM, func(h *Host) bool { return !e.t.inAzure(h) && e.t.Classic(h) })
	vcs := e.vcenters()

	for _, vm := range vms {
		for _, c := range cs {
			e.add(Flow{Rule: "FW-VM-CS", Kind: FlowPort, Port: 443, Proto: ProtoTCP, Confidence: ConfDoc,
				Source: source("architecture"), ErrorCode: "78174",
				Why: "management, registration and heartbeat with the configuration server"}, vm, c)
		}
		for _, ps := range psOn {
			e.add(Flow{Rule: "FW-VM-PS", Kind: FlowPort, Port: s.DataPort, Proto: ProtoTCP, Confidence: ConfDoc,
				Source: source("architecture", "ts-ps"), ErrorCode: "78186",
				Why: "replication data to the on-premises process server"}, vm, ps)
		}
	}
	if s.AzureEndpoints {
		e.endpoints("FW-CS-AZ", cs, "orchestration with the ASR service", "architecture")
		for _, ps := range psOn {
			for _, ep := range endpointNames(e.t) {
				if ep.Pattern != blobPattern {
					continue
				}
				why := "replication upload to cache storage account " + ep.Name
				if ep.representative {
					why = "replication upload to cache storage; tests " + ep.Name + " as a representative of " + ep.Pattern + " (name the cache accounts under azure.cache_storage_accounts to test those)"
				}
				e.flows = append(e.flows, Flow{Rule: "FW-PS-BLOB", Phase: PhaseForward, Kind: FlowEndpoint, From: ps.Name, To: ep.Name,
					Address: ep.Name, FromAddress: ps.Address, Port: ep.Port, Proto: ep.Proto, Expect: ExpectOpen, Confidence: ConfDoc,
					Source: source("architecture"), Why: why, Pattern: ep.Pattern, Representative: ep.representative})
			}
		}
	}
	for _, ps := range psOn {
		for _, c := range cs {
			e.add(Flow{Rule: "FW-PSO-CS", Kind: FlowPort, Port: 443, Proto: ProtoTCP, Confidence: ConfDoc,
				Source: source("capacity"), Why: "scale-out process server registration and heartbeat"}, ps, c)
		}
	}
	for _, c := range cs {
		for _, vc := range vcs {
			e.add(Flow{Rule: "FW-CS-VC", Kind: FlowPort, Port: s.VCenterPort, Proto: ProtoTCP, Confidence: ConfDoc,
				Source: source("deploy-cs"), Why: "discovery of the VMware estate"}, c, vc)
		}
	}
	e.group("FW-GROUP", vms, ConfDoc, "multi-VM consistency within the replication group")
	// Push install comes from the configuration server and every on-premises process server;
	// a host with both roles pushes once.
	pushers := append([]*Host{}, cs...)
	for _, ps := range psOn {
		if !ps.HasRole(RoleConfigurationServer) {
			pushers = append(pushers, ps)
		}
	}
	for _, p := range pushers {
		for _, vm := range vms {
			switch vm.OS {
			case "windows":
				e.add(Flow{Rule: "FW-PUSH-WIN", Kind: FlowPort, Port: 135, Proto: ProtoTCP, Confidence: ConfDoc,
					Source: source("push"), ErrorCode: "95117", Why: "push install of the Mobility service: WMI (RPC endpoint mapper)"}, p, vm)
				e.add(Flow{Rule: "FW-PUSH-WIN", Kind: FlowPort, Port: 445, Proto: ProtoTCP, Confidence: ConfInferred,
					Source: source("push"), ErrorCode: "97118", Why: "push install of the Mobility service: file and printer sharing (SMB)"}, p, vm)
			case "linux":
				e.add(Flow{Rule: "FW-PUSH-LNX", Kind: FlowPort, Port: 22, Proto: ProtoTCP, Confidence: ConfDoc,
					Source: source("push"), ErrorCode: "95108", Why: "push install of the Mobility service over SSH/SFTP"}, p, vm)
			}
		}
	}
}

// links adds FB-LINK for every link between an on-premises and an Azure site: the path from
// the Azure side (a process server in Azure, else any agent host there) to the on-premises
// side (the master target, else the configuration server) must be private with no NAT.
func (e *expander) links(psAz, mts, cs []*Host) {
	for _, l := range e.t.Links {
		a, b := e.t.Sites[l.Sites[0]], e.t.Sites[l.Sites[1]]
		if a == nil || b == nil || a.Kind == b.Kind {
			continue
		}
		az, on := a, b
		if a.Kind == SiteOnPrem {
			az, on = b, a
		}
		from := firstIn(psAz, az.Name)
		if from == nil {
			from = e.firstAgentIn(az.Name)
		}
		// A declared master target before the configuration server's built-in one: the
		// path that matters most is the one to the host that receives the data.
		to := firstIn(declaredFirst(mts), on.Name)
		if to == nil {
			to = firstIn(cs, on.Name)
		}
		if from == nil || to == nil {
			continue // RD-PS-AZ and RD-LINK say what is missing
		}
		e.flows = append(e.flows, Flow{Rule: "FB-LINK", Phase: PhaseFailback, Kind: FlowPath, From: from.Name, To: l.Name,
			Address: to.AddressFrom(from.Site), FromAddress: fromAddress(from, to.Site), Confidence: ConfDoc,
			Source: source("prepare-failback", "reprotect"),
			Why:    fmt.Sprintf("%s to %s over link %s: private addresses end to end, no NAT (site-to-site VPN or ExpressRoute private peering)", from.Name, to.Name, l.Name)})
	}
}

// declaredFirst orders hosts with role master-target before built-in master targets.
func declaredFirst(mts []*Host) []*Host {
	out := make([]*Host, 0, len(mts))
	for _, mt := range mts {
		if mt.HasRole(RoleMasterTarget) {
			out = append(out, mt)
		}
	}
	for _, mt := range mts {
		if !mt.HasRole(RoleMasterTarget) {
			out = append(out, mt)
		}
	}
	return out
}

// routes adds FB-ROUTE: with two NICs, the configuration server must reach Azure hosts by
// its NIC toward Azure. Without such a NIC there is nothing to compare against (RD-RETAIN-NIC
// reports that when it matters).
func (e *expander) routes(cs []*Host) {
	for _, c := range cs {
		for _, name := range sortedKeys(e.t.Hosts) {
			h := e.t.Hosts[name]
			if !e.t.inAzure(h) || h.Name == c.Name || (h.HasRole(RoleProtectedVM) && !e.t.Classic(h)) {
				continue // only the classic components talk to the configuration server
			}
			nic := c.NICToward(h.Site)
			if nic == nil {
				continue
			}

			why := fmt.Sprintf("traffic to %s must leave by NIC %s (%s)", h.Name, nic.Name, nic.Address.Addr())
			if h.RetainedIP {
				why += "; the VM kept its on-premises address, so a wrong route sends it to the source NIC"
			}
			e.add(Flow{Rule: "FB-ROUTE", Kind: FlowRoute, SourceNIC: nic.Name, Confidence: ConfDoc,
				Source: source("prepare-failback", "deploy-cs"), Why: why}, c, h)
		}
	}
}
