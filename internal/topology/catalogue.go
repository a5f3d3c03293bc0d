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
	// Pattern is the documented name of an endpoint flow, possibly a wildcard; To is the name
	// tested. Representative is true when netprobe picked To under a wildcard because the file
	// names none of the vault's own (azure:): such a name says nothing about the vault's.
	Pattern        string `json:"pattern,omitempty"`
	Representative bool   `json:"representative,omitempty"`
	// Impact is set for an optional endpoint: what is lost without it. Its failure is a warn.
	Impact string `json:"impact,omitempty"`
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
	"prepare-failback":  "vmware-azure-prepare-failback",
	"reprotect":         "vmware-azure-reprotect",
	"architecture":      "vmware-azure-architecture",
	"ts-failback":       "vmware-azure-troubleshoot-failback-reprotect",
	"ts-ps":             "vmware-physical-azure-troubleshoot-process-server",
	"capacity":          "site-recovery-plan-capacity-vmware",
	"push":              "vmware-azure-troubleshoot-push-install",
	"deploy-cs":         "vmware-azure-deploy-configuration-server",
	"linux-mt":          "vmware-azure-install-linux-master-target",
	"networking":        "concepts-on-premises-to-azure-networking",
	"physical-failback": "physical-to-azure-failover-failback",
	// Modernized architecture (asr-modernized.md, Sources).
	"arch-m":     "vmware-azure-architecture-modernized",
	"matrix":     "replication-appliance-support-matrix",
	"deploy-m":   "deploy-vmware-azure-replication-appliance-modernized",
	"fofb-m":     "failover-failback-overview-modernized",
	"tut-m":      "vmware-azure-tutorial-failover-failback-modernized",
	"setup-m":    "vmware-azure-set-up-replication-tutorial-modernized",
	"c2m":        "classic-to-modernized-common-questions",
	"move":       "move-from-classic-to-modernized-vmware-disaster-recovery",
	"pe":         "hybrid-how-to-enable-replication-private-endpoints",
	"phys-m":     "physical-server-azure-architecture-modernized",
	"dp":         "site-recovery-deployment-planner",
	"howto-move": "how-to-move-from-classic-to-modernized-vmware-disaster-recovery",
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

// ClassicEnd is when Microsoft ended support for the classic architecture (howto-move: "The
// classic protection experience retired on March 30, 2026").
const ClassicEnd = "2026-03-30"

// Notes are what a reader of the flows must know about the estate's architecture, beyond the
// flows themselves: classic's end of support, and that modernized failback needs no path from
// Azure to on-premises (so that firewall teams do not open one for nothing).
func Notes(t *Topology) []string {
	classic, modernized := t.architectures()
	var out []string
	if classic {
		out = append(out, "Microsoft ended support for the classic architecture (configuration server, process server, master target) on "+ClassicEnd+
			": VMs that failed over under it still fail back with it; new protection uses the modernized replication appliance (settings.architecture: modernized) ("+SourceURL("howto-move")+")")
	}
	if modernized {
		n := "Modernized failback needs no inbound connection and no private path from Azure to on-premises: the failed-over VMs write to a log storage account in Azure and the replication appliance downloads it over outbound 443; do not open the data port (9443) across the WAN for it (" +
			SourceURL("c2m") + ", " + SourceURL("fofb-m") + ")"
		if t.Azure.PrivateEndpoints {
			n += ". With private endpoints the appliance reaches the vault and storage over the VPN or ExpressRoute private peering (" + SourceURL("pe") + ")"
		}
		out = append(out, n)
	}
	return out
}

// architectures says which catalogues apply: the estate's, and each protected VM's own.
func (t *Topology) architectures() (classic, modernized bool) {
	a := t.Settings.Architecture
	classic = a == ArchClassic || a == ArchMigration || a == 0
	modernized = a == ArchModernized || a == ArchMigration
	for _, h := range t.Hosts {
		switch h.Architecture {
		case ArchClassic:
			classic = true
		case ArchModernized:
			modernized = true
		}
	}
	return classic, modernized
}

// ruleOrder is the catalogue order (asr-flows.md), used to sort flows the way a reader expects.
var ruleOrder = []string{
	"FB-VM-CS", "FB-VM-PS", "FB-PS-CS", "FB-MT-PS", "FB-PS-MT", "FB-MT-CS", "FB-CS-VC", "FB-MT-VC",
	"FB-GROUP", "FB-CS-AZ", "FB-LINK", "FB-PMTU", "FB-ROUTE", "FB-LAT", "FB-BW",
	"FW-VM-CS", "FW-VM-PS", "FW-CS-AZ", "FW-PS-BLOB", "FW-PSO-CS", "FW-CS-VC", "FW-GROUP", "FW-PUSH-WIN", "FW-PUSH-LNX",
	"MFB-VM-AZ", "MFB-VM-BLOB", "MFB-APL-AZ", "MFB-APL-BLOB", "MFB-APL-VC", "MFB-APL-ESXI", "MFB-GROUP", "MFB-PE-LINK", "MFB-PE-PMTU", "MFB-BW",
	"MFW-VM-APL", "MFW-VM-APL-DATA", "MFW-APL-AZ", "MFW-APL-BLOB", "MFW-APL-VC", "MFW-GROUP", "MFW-PUSH-WIN", "MFW-PUSH-LNX", "MFW-BW",
}

// blobPattern is the documented name of the cache storage accounts.
const blobPattern = "*.blob.core.windows.net"

// GroupPort is the port ASR's multi-VM consistency uses between the VMs of a group.
const GroupPort = 20004

// expander builds the flows of one topology.
type expander struct {
	t     *Topology
	flows []Flow
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
	classic, modernized := t.architectures()
	if t.Settings.HasPhase(PhaseFailback) {
		if classic {
			e.failback()
		}
		if modernized {
			e.modernizedFailback()
		}
		e.addPhase(PhaseFailback)
	}
	if t.Settings.HasPhase(PhaseForward) {
		if classic {
			e.forward()
		}
		if modernized {
			e.modernizedForward()
		}
		e.addPhase(PhaseForward)
	}
	sortFlows(e.flows)
	for _, fs := range t.Flows {
		e.userFlow(fs)
	}
	return e.flows
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
		for _, ep := range endpointNames(e.t) {
			w := why + ": " + ep.Why
			if ep.representative {
				w += "; tests " + ep.Name + " as a representative of " + ep.Pattern + " (name the vault's own under azure: to test those)"
			} else if ep.Name != ep.Pattern {
				w += "; the vault's own name under " + ep.Pattern
			}
			e.flows = append(e.flows, Flow{Rule: rule, Kind: FlowEndpoint, From: c.Name, To: ep.Name, Address: ep.Name,
				FromAddress: c.Address, Port: ep.Port, Proto: ep.Proto, Expect: ExpectOpen, Confidence: ConfDoc,
				Source: source(src), Why: w, Pattern: ep.Pattern, Representative: ep.representative})
		}
	}
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
