package topology

import (
	"fmt"
	"sort"
	"strings"
)

// Flow is one thing the network must do for ASR: who reaches whom, how, in which phase, and
// why netprobe believes so.
type Flow struct {
	Rule  string   `json:"rule"`
	Phase Phase    `json:"phase"`
	Kind  FlowKind `json:"kind"`
	From  string   `json:"from"`
	// To is a host name; an endpoint name for FlowEndpoint; a link name for FlowPath.
	To string `json:"to"`
	// Address is the destination after NIC resolution (toward): an IP or a DNS name.
	Address string `json:"address"`
	// FromAddress is the address the flow should leave from: the source host's NIC toward the
	// destination's site when it has one, else its primary address.
	FromAddress string `json:"from_address,omitempty"`
	// SourceNIC names the NIC the traffic must leave by (FlowRoute), "" when any will do.
	SourceNIC  string     `json:"source_nic,omitempty"`
	Port       int        `json:"port,omitempty"`
	Proto      Proto      `json:"proto,omitempty"`
	Expect     Expect     `json:"expect,omitempty"`
	Confidence Confidence `json:"confidence"`
	Source     string     `json:"source"`
	Why        string     `json:"why"`
	ErrorCode  string     `json:"asr_error,omitempty"`
	// Pair groups flows judged as one (FB-MT-PS and FB-PS-MT: the data leg, either direction).
	Pair string `json:"pair,omitempty"`
}

// ID is a stable identifier of the flow: the same flow in the same file always has it.
func (f Flow) ID() string {
	port := ""
	if f.Port != 0 {
		port = fmt.Sprintf("/%d/%s", f.Port, f.Proto)
	}
	return fmt.Sprintf("%s/%s/%s/%s%s", f.Rule, f.Kind, f.From, f.To, port)
}

// docBase is where every ASR source page lives.
const docBase = "https://learn.microsoft.com/azure/site-recovery/"

// sources maps the catalogue's abbreviations to their pages (asr-flows.md).
var sources = map[string]string{
	"prepare-failback": "vmware-azure-prepare-failback",
	"reprotect":        "vmware-azure-reprotect",
	"architecture":     "vmware-azure-architecture",
	"ts-failback":      "vmware-azure-troubleshoot-failback-reprotect",
	"ts-ps":            "vmware-physical-azure-troubleshoot-process-server",
	"capacity":         "site-recovery-plan-capacity-vmware",
	"push":             "vmware-azure-troubleshoot-push-install",
	"deploy-cs":        "vmware-azure-deploy-configuration-server",
	"linux-mt":         "vmware-azure-install-linux-master-target",
	"networking":       "concepts-on-premises-to-azure-networking",
}

// azureVPNGuidance backs FB-PMTU, which no ASR page states.
const azureVPNGuidance = "vpn-gateway: https://learn.microsoft.com/azure/vpn-gateway/vpn-gateway-about-vpn-devices"

// source renders abbreviations as "abbrev: URL; abbrev: URL".
func source(abbrevs ...string) string {
	parts := make([]string, len(abbrevs))
	for i, a := range abbrevs {
		parts[i] = a + ": " + docBase + sources[a]
	}
	return strings.Join(parts, "; ")
}

// SourceURL returns the page an abbreviation stands for, or "".
func SourceURL(abbrev string) string {
	if p, ok := sources[abbrev]; ok {
		return docBase + p
	}
	return ""
}

// ruleOrder is the catalogue order (asr-flows.md), used to sort flows the way a reader expects.
var ruleOrder = []string{
	"FB-VM-CS", "FB-VM-PS", "FB-PS-CS", "FB-MT-PS", "FB-PS-MT", "FB-MT-CS", "FB-CS-VC", "FB-MT-VC",
	"FB-GROUP", "FB-CS-AZ", "FB-LINK", "FB-PMTU", "FB-ROUTE", "FB-LAT", "FB-BW",
	"FW-VM-CS", "FW-VM-PS", "FW-CS-AZ", "FW-PS-BLOB", "FW-PSO-CS", "FW-CS-VC", "FW-GROUP", "FW-PUSH-WIN", "FW-PUSH-LNX",
}

// GroupPort is the port ASR's multi-VM consistency uses between the VMs of a group.
const GroupPort = 20004

// Endpoint is an ASR service endpoint the configuration server must reach.
type Endpoint struct {
	// Pattern is the name as documented, possibly a wildcard.
	Pattern string
	// Name is what netprobe tests: Pattern itself, or a representative name for a wildcard.
	Name  string
	Port  int
	Proto Proto
	Why   string
}

// Endpoints are the ASR service endpoints of the public cloud (asr-flows.md). A wildcard
// cannot be tested as such: netprobe tests one representative name under it and says so.
// The representatives are the bare service zones under each wildcard, chosen because they
// exist in public DNS whatever the vault; a vault's own names may route differently (private
// endpoints, proxies), which is why Why says which name was tested.
var Endpoints = []Endpoint{
	{"*.hypervrecoverymanager.windowsazure.com", "hypervrecoverymanager.windowsazure.com", 443, ProtoTCP, "ASR orchestration service"},
	{"*.backup.windowsazure.com", "backup.windowsazure.com", 443, ProtoTCP, "ASR protection and recovery metadata"},
	{"*.blob.core.windows.net", "blob.core.windows.net", 443, ProtoTCP, "cache and target storage accounts"},
	{"login.microsoftonline.com", "login.microsoftonline.com", 443, ProtoTCP, "Microsoft Entra ID sign-in for the vault"},
	{"*.servicebus.windows.net", "servicebus.windows.net", 443, ProtoTCP, "monitoring and diagnostics data"},
	// Time sources are NTP: Azure sign-in fails when the clock is off by more than minutes.
	{"time.windows.com", "time.windows.com", 123, ProtoUDP, "time source (NTP); a skewed clock breaks sign-in"},
	{"time.nist.gov", "time.nist.gov", 123, ProtoUDP, "time source (NTP); a skewed clock breaks sign-in"},
}

// expander builds the flows of one topology.
type expander struct {
	t     *Topology
	flows []Flow
}

func (e *expander) site(h *Host) *Site { return e.t.Sites[h.Site] }

func (e *expander) inAzure(h *Host) bool {
	s := e.site(h)
	return s != nil && s.Kind == SiteAzure
}

// hosts returns the hosts with role r, sorted by name, filtered by keep when it is not nil.
func (e *expander) hosts(r Role, keep func(*Host) bool) []*Host {
	var out []*Host
	for _, name := range sortedKeys(e.t.Hosts) {
		h := e.t.Hosts[name]
		if h.HasRole(r) && (keep == nil || keep(h)) {
			out = append(out, h)
		}
	}
	return out
}

// fromAddress is the address traffic from h toward site leaves by.
func fromAddress(h *Host, site string) string { return h.AddressFrom(site) }

// add appends a host-to-host flow, resolving both ends' NICs; flows from a host to itself
// (one machine with two roles) are dropped because they never cross the network.
func (e *expander) add(f Flow, from, to *Host) {
	if from.Name == to.Name {
		return
	}
	f.From, f.To = from.Name, to.Name
	f.Address = to.AddressFrom(from.Site)
	f.FromAddress = fromAddress(from, to.Site)
	if f.Expect == 0 && (f.Kind == FlowPort || f.Kind == FlowICMP) {
		f.Expect = ExpectOpen
	}
	e.flows = append(e.flows, f)
}

// Flows expands the topology through the ASR catalogue for the phases in its settings and
// adds the file's own flows. The result is sorted in catalogue order, then by source,
// destination and port, and is the same for the same file every time.
func Flows(t *Topology) []Flow {
	e := &expander{t: t}
	if t.Settings.HasPhase(PhaseFailback) {
		e.failback()
	}
	if t.Settings.HasPhase(PhaseForward) {
		e.forward()
	}
	sortFlows(e.flows)
	for _, fs := range t.Flows {
		e.userFlow(fs)
	}
	return e.flows
}

func (e *expander) failback() {
	s := e.t.Settings
	cs := e.hosts(RoleConfigurationServer, nil)
	psAz := e.hosts(RoleProcessServer, e.inAzure)
	// Failed-over VMs: protected VMs that now live in an Azure site.
	vms := e.hosts(RoleProtectedVM, e.inAzure)
	mts := e.hosts(RoleMasterTarget, func(h *Host) bool { return !e.inAzure(h) })
	vcs := append(e.hosts(RoleVCenter, nil), e.hosts(RoleESXi, nil)...)
	sort.Slice(vcs, func(i, j int) bool { return vcs[i].Name < vcs[j].Name })

	for _, vm := range vms {
		for _, c := range cs {
			e.add(Flow{Rule: "FB-VM-CS", Kind: FlowPort, Port: 443, Proto: ProtoTCP, Confidence: ConfDoc,
				Source: source("reprotect", "ts-failback"), ErrorCode: "95226",
				Why: "Mobility service registration and control with the configuration server"}, vm, c)
			e.add(Flow{Rule: "FB-VM-CS", Kind: FlowICMP, Proto: ProtoICMP, Confidence: ConfDoc,
				Source: source("reprotect", "ts-failback"), ErrorCode: "95226",
				Why: "the failed-over VM must ping the configuration server"}, vm, c)
		}
		for _, ps := range psFor(vm, psAz) {
			e.add(Flow{Rule: "FB-VM-PS", Kind: FlowPort, Port: s.DataPort, Proto: ProtoTCP, Confidence: ConfInferred,
				Source: source("reprotect", "prepare-failback"),
				Why:    "replication data from the Azure VM to the process server in Azure (flow documented, port inferred)"}, vm, ps)
		}
	}
	for _, ps := range psAz {
		for _, c := range cs {
			e.add(Flow{Rule: "FB-PS-CS", Kind: FlowPort, Port: 443, Proto: ProtoTCP, Confidence: ConfDoc,
				Source: source("reprotect"), ErrorCode: "806",
				Why: "process server registration and heartbeat"}, ps, c)
			e.add(Flow{Rule: "FB-PS-CS", Kind: FlowICMP, Proto: ProtoICMP, Confidence: ConfInferred, // a troubleshooting hint only (design Corrections 2026-12-05)
				Source: source("reprotect"), ErrorCode: "806",
				Why: "the process server in Azure must ping the configuration server"}, ps, c)
		}
	}
	for _, mt := range mts {
		for _, ps := range psAz {
			pair := "data-leg/" + ps.Name + "/" + mt.Name
			e.add(Flow{Rule: "FB-MT-PS", Kind: FlowPort, Port: s.DataPort, Proto: ProtoTCP, Confidence: ConfUncertain,
				Source: source("prepare-failback"), Pair: pair,
				Why: "failback data leg, master target to process server (direction undocumented; judged with FB-PS-MT)"}, mt, ps)
			e.add(Flow{Rule: "FB-PS-MT", Kind: FlowPort, Port: s.DataPort, Proto: ProtoTCP, Confidence: ConfUncertain,
				Source: source("prepare-failback"), Pair: pair,
				Why: "failback data leg, process server to master target (direction undocumented; judged with FB-MT-PS)"}, ps, mt)
		}
		for _, c := range cs {
			e.add(Flow{Rule: "FB-MT-CS", Kind: FlowPort, Port: 443, Proto: ProtoTCP, Confidence: ConfInferred,
				Source: source("linux-mt"), ErrorCode: "78022",
				Why: "master target registration and heartbeat (port inferred)"}, mt, c)
		}
	}
	for _, c := range cs {
		for _, vc := range vcs {
			e.add(Flow{Rule: "FB-CS-VC", Kind: FlowPort, Port: s.VCenterPort, Proto: ProtoTCP, Confidence: ConfDoc,
				Source: source("deploy-cs", "reprotect"),
				Why:    "discovery, VM creation and disk attach/detach during failback"}, c, vc)
		}
	}
	for _, mt := range mts {
		for _, vc := range vcs {
			e.add(Flow{Rule: "FB-MT-VC", Kind: FlowPort, Port: s.VCenterPort, Proto: ProtoTCP, Confidence: ConfUncertain,
				Source: source("reprotect"),
				Why:    "which component calls vSphere during failback is undocumented; tested from the master target too"}, mt, vc)
		}
	}
	e.group("FB-GROUP", vms, ConfUncertain, "multi-VM consistency within the replication group (documented for forward replication; assumed for failback)")
	if s.AzureEndpoints {
		e.endpoints("FB-CS-AZ", cs, "the configuration server must stay connected to Azure during reprotect and failback", "prepare-failback")
	}
	e.links(psAz, mts, cs)
	for _, ps := range psAz {
		for _, mt := range mts {
			e.add(Flow{Rule: "FB-PMTU", Kind: FlowPMTU, Proto: ProtoICMP, Confidence: ConfInferred, Source: azureVPNGuidance,
				Why: "large replication packets must survive the tunnel (VPN overhead commonly needs MTU 1400 / MSS 1350)"}, ps, mt)
			e.add(Flow{Rule: "FB-PMTU", Kind: FlowPMTU, Proto: ProtoICMP, Confidence: ConfInferred, Source: azureVPNGuidance,
				Why: "large packets from the master target must survive the tunnel"}, mt, ps)
		}
	}
	for _, vm := range vms {
		for _, c := range cs {
			e.add(Flow{Rule: "FB-PMTU", Kind: FlowPMTU, Proto: ProtoICMP, Confidence: ConfInferred, Source: azureVPNGuidance,
				Why: "large packets from the failed-over VM must reach the configuration server"}, vm, c)
			e.add(Flow{Rule: "FB-PMTU", Kind: FlowPMTU, Proto: ProtoICMP, Confidence: ConfInferred, Source: azureVPNGuidance,
				Why: "large packets from the configuration server must reach the failed-over VM"}, c, vm)
		}
	}
	e.routes(cs)
	for _, vm := range vms {
		for _, ps := range psFor(vm, psAz) {
			e.add(Flow{Rule: "FB-LAT", Kind: FlowLatency, Confidence: ConfDoc, Source: source("prepare-failback"),
				Why: "the process server in Azure needs low latency to the protected VMs (thresholds: checks.latency)"}, ps, vm)
		}
	}
	for _, ps := range psAz {
		for _, mt := range mts {
			e.add(Flow{Rule: "FB-BW", Kind: FlowBandwidth, Confidence: ConfDoc, Source: source("prepare-failback"),
				Why: "failback data flows from the process server in Azure to on-premises: enough bandwidth for churn and resync"}, ps, mt)
			e.add(Flow{Rule: "FB-BW", Kind: FlowBandwidth, Confidence: ConfDoc, Source: source("prepare-failback"),
				Why: "the reverse direction, measured so an asymmetric link shows"}, mt, ps)
		}
	}
	e.addPhase(PhaseFailback)
}

func (e *expander) forward() {
	s := e.t.Settings
	cs := e.hosts(RoleConfigurationServer, nil)
	psOn := e.hosts(RoleProcessServer, func(h *Host) bool { return !e.inAzure(h) })
	// Machines still replicating forward: protected VMs in an on-premises site.
	vms := e.hosts(RoleProtectedVM, func(h *Host) bool { return !e.inAzure(h) })
	vcs := append(e.hosts(RoleVCenter, nil), e.hosts(RoleESXi, nil)...)
	sort.Slice(vcs, func(i, j int) bool { return vcs[i].Name < vcs[j].Name })

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
			ep := Endpoints[2] // *.blob.core.windows.net
			e.flows = append(e.flows, Flow{Rule: "FW-PS-BLOB", Phase: PhaseForward, Kind: FlowEndpoint, From: ps.Name, To: ep.Name,
				Address: ep.Name, FromAddress: ps.Address, Port: ep.Port, Proto: ep.Proto, Expect: ExpectOpen, Confidence: ConfDoc,
				Source: source("architecture"),
				Why:    "replication upload to cache storage; tests " + ep.Name + " as a representative of " + ep.Pattern})
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
	e.addPhase(PhaseForward)
}

// group adds the consistency port between every ordered pair of VMs of each group.
func (e *expander) group(rule string, vms []*Host, conf Confidence, why string) {
	groups := map[string][]*Host{}
	for _, vm := range vms {
		if vm.Group != "" {
			groups[vm.Group] = append(groups[vm.Group], vm)
		}
	}
	for _, g := range sortedKeys(groups) {
		for _, a := range groups[g] {
			for _, b := range groups[g] {
				e.add(Flow{Rule: rule, Kind: FlowPort, Port: GroupPort, Proto: ProtoTCP, Confidence: conf,
					Source: source("architecture"), Why: why + " (group " + g + ")"}, a, b)
			}
		}
	}
}

func (e *expander) endpoints(rule string, from []*Host, why, src string) {
	for _, c := range from {
		for _, ep := range Endpoints {
			w := why + ": " + ep.Why
			if ep.Name != ep.Pattern {
				w += "; tests " + ep.Name + " as a representative of " + ep.Pattern + " (the vault's own names may differ)"
			}
			e.flows = append(e.flows, Flow{Rule: rule, Kind: FlowEndpoint, From: c.Name, To: ep.Name, Address: ep.Name,
				FromAddress: c.Address, Port: ep.Port, Proto: ep.Proto, Expect: ExpectOpen, Confidence: ConfDoc,
				Source: source(src), Why: w})
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
		to := firstIn(mts, on.Name)
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

// psFor is the process servers in Azure that serve vm: those in its own site, or every one
// when its site has none (RD-PS-AZ reports that).
func psFor(vm *Host, psAz []*Host) []*Host {
	var own []*Host
	for _, ps := range psAz {
		if ps.Site == vm.Site {
			own = append(own, ps)
		}
	}
	if len(own) > 0 {
		return own
	}
	return psAz
}

func firstIn(hosts []*Host, site string) *Host {
	for _, h := range hosts {
		if h.Site == site {
			return h
		}
	}
	return nil
}

func (e *expander) firstAgentIn(site string) *Host {
	for _, name := range sortedKeys(e.t.Hosts) {
		if h := e.t.Hosts[name]; h.Site == site && h.Agent != "" {
			return h
		}
	}
	return nil
}

// routes adds FB-ROUTE: with two NICs, the configuration server must reach Azure hosts by
// its NIC toward Azure. Without such a NIC there is nothing to compare against (RD-RETAIN-NIC
// reports that when it matters).
func (e *expander) routes(cs []*Host) {
	for _, c := range cs {
		for _, name := range sortedKeys(e.t.Hosts) {
			h := e.t.Hosts[name]
			if !e.inAzure(h) || h.Name == c.Name {
				continue
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

// userFlow adds one of the file's own flows as rule USER-n (n counts from 1 in file order).
func (e *expander) userFlow(fs *FlowSpec) {
	from, to := e.t.Hosts[fs.From], e.t.Hosts[fs.To]
	if from == nil || to == nil {
		return
	}
	kind := FlowPort
	if fs.Proto == ProtoICMP {
		kind = FlowICMP
	}
	why := fs.Note
	if why == "" {
		why = "declared in the topology file"
	}
	line := ""
	if p, ok := e.t.Position(fmt.Sprintf("flows[%d]", fs.Index)); ok {
		line = fmt.Sprintf(":%d", p.Line)
	}
	f := Flow{Rule: fmt.Sprintf("USER-%d", fs.Index+1), Phase: fs.Phase, Kind: kind, Port: fs.Port, Proto: fs.Proto,
		Expect: fs.Expect, Confidence: ConfDoc, Source: "topology: " + e.t.File + line, Why: why}
	if from.Name == to.Name {
		return
	}
	f.From, f.To = from.Name, to.Name
	f.Address = to.AddressFrom(from.Site)
	f.FromAddress = fromAddress(from, to.Site)
	e.flows = append(e.flows, f)
}

// addPhase stamps p on the flows added since the last call.
func (e *expander) addPhase(p Phase) {
	for i := range e.flows {
		if e.flows[i].Phase == 0 {
			e.flows[i].Phase = p
		}
	}
}

func ruleRank(rule string) int {
	for i, r := range ruleOrder {
		if r == rule {
			return i
		}
	}
	return len(ruleOrder)
}

// sortFlows orders by phase, catalogue order, source, destination, kind, port and protocol.
func sortFlows(fs []Flow) {
	for i := range fs {
		if fs[i].Phase == 0 {
			fs[i].Phase = PhaseFailback
		}
	}
	sort.SliceStable(fs, func(i, j int) bool {
		a, b := fs[i], fs[j]
		if a.Phase != b.Phase {
			return a.Phase < b.Phase
		}
		if ra, rb := ruleRank(a.Rule), ruleRank(b.Rule); ra != rb {
			return ra < rb
		}
		if a.From != b.From {
			return a.From < b.From
		}
		if a.To != b.To {
			return a.To < b.To
		}
		if a.Kind != b.Kind {
			return a.Kind < b.Kind
		}
		if a.Port != b.Port {
			return a.Port < b.Port
		}
		return a.Proto < b.Proto
	})
}
