package topology

import "fmt"

// enumString names v from names, or says it is out of range; zero means "unset".
func enumString(names []string, v int, kind string) string {
	if v <= 0 || v >= len(names) || names[v] == "" {
		return fmt.Sprintf("%s(%d)", kind, v)
	}
	return names[v]
}

// enumParse is the inverse of enumString; ok is false for an unknown name.
func enumParse(names []string, s string) (int, bool) {
	for i, n := range names {
		if n != "" && n == s {
			return i, true
		}
	}
	return 0, false
}

// enumList lists the valid names for error messages: "a, b or c".
func enumList(names []string) string {
	var valid []string
	for _, n := range names {
		if n != "" {
			valid = append(valid, n)
		}
	}
	return orList(valid)
}

func orList(items []string) string {
	switch len(items) {
	case 0:
		return ""
	case 1:
		return items[0]
	}
	s := ""
	for i, it := range items[:len(items)-1] {
		if i > 0 {
			s += ", "
		}
		s += it
	}
	return s + " or " + items[len(items)-1]
}

// SiteKind says which side of the failback a site is on.
type SiteKind int

const (
	SiteOnPrem SiteKind = iota + 1
	SiteAzure
)

var siteKindNames = []string{SiteOnPrem: "onprem", SiteAzure: "azure"}

func (k SiteKind) String() string               { return enumString(siteKindNames, int(k), "sitekind") }
func (k SiteKind) MarshalText() ([]byte, error) { return []byte(k.String()), nil }

// LinkKind is what connects two sites. Failback needs LinkVPN or LinkExpressRoutePrivate.
type LinkKind int

const (
	LinkVPN LinkKind = iota + 1
	LinkExpressRoutePrivate
	LinkExpressRouteMicrosoft
	LinkInternet
)

var linkKindNames = []string{LinkVPN: "vpn", LinkExpressRoutePrivate: "expressroute-private",
	LinkExpressRouteMicrosoft: "expressroute-microsoft", LinkInternet: "internet"}

func (k LinkKind) String() string               { return enumString(linkKindNames, int(k), "linkkind") }
func (k LinkKind) MarshalText() ([]byte, error) { return []byte(k.String()), nil }

// CarriesFailback reports whether ASR failback can run over this kind of link: private
// addresses end to end, no NAT (prepare-failback).
func (k LinkKind) CarriesFailback() bool { return k == LinkVPN || k == LinkExpressRoutePrivate }

// Role is an ASR component a host plays. A host may have several.
type Role int

const (
	RoleConfigurationServer Role = iota + 1
	RoleProcessServer
	RoleMasterTarget
	RoleProtectedVM
	RoleVCenter
	RoleESXi
	// RoleReplicationAppliance: the modernized architecture's on-premises appliance.
	RoleReplicationAppliance
)

var roleNames = []string{RoleConfigurationServer: "configuration-server", RoleProcessServer: "process-server",
	RoleMasterTarget: "master-target", RoleProtectedVM: "protected-vm", RoleVCenter: "vcenter", RoleESXi: "esxi",
	RoleReplicationAppliance: "replication-appliance"}

func (r Role) String() string               { return enumString(roleNames, int(r), "role") }
func (r Role) MarshalText() ([]byte, error) { return []byte(r.String()), nil }

// Phase is the replication direction a flow belongs to.
type Phase int

const (
	// PhaseFailback: Azure back to on-premises (reprotect and failback).
	PhaseFailback Phase = iota + 1
	// PhaseForward: on-premises to Azure (the original replication).
	PhaseForward
)

var phaseNames = []string{PhaseFailback: "failback", PhaseForward: "forward"}

func (p Phase) String() string               { return enumString(phaseNames, int(p), "phase") }
func (p Phase) MarshalText() ([]byte, error) { return []byte(p.String()), nil }

// Proto is the transport protocol of a flow.
type Proto int

const (
	ProtoTCP Proto = iota + 1
	ProtoUDP
	ProtoICMP
)

var protoNames = []string{ProtoTCP: "tcp", ProtoUDP: "udp", ProtoICMP: "icmp"}

func (p Proto) String() string               { return enumString(protoNames, int(p), "proto") }
func (p Proto) MarshalText() ([]byte, error) { return []byte(p.String()), nil }

// Expect is what a correct network does with a flow.
type Expect int

const (
	ExpectOpen Expect = iota + 1
	ExpectClosed
	ExpectFiltered
	// ExpectBlocked passes for both closed and filtered.
	ExpectBlocked
)

var expectNames = []string{ExpectOpen: "open", ExpectClosed: "closed", ExpectFiltered: "filtered", ExpectBlocked: "blocked"}

func (e Expect) String() string               { return enumString(expectNames, int(e), "expect") }
func (e Expect) MarshalText() ([]byte, error) { return []byte(e.String()), nil }

// FlowKind says what kind of test a flow needs.
type FlowKind int

const (
	// FlowPort: a TCP or UDP port from one host to another.
	FlowPort FlowKind = iota + 1
	// FlowICMP: ICMP echo.
	FlowICMP
	// FlowEndpoint: a named service endpoint (DNS, then TCP and TLS on Port; UDP for time sources).
	FlowEndpoint
	// FlowPath: the path between two sites is private end to end, with no NAT.
	FlowPath
	// FlowPMTU: large packets survive the path.
	FlowPMTU
	// FlowRoute: the source leaves by the right NIC (SourceNIC) toward Address.
	FlowRoute
	// FlowLatency: round-trip latency and loss.
	FlowLatency
	// FlowBandwidth: throughput in the flow's direction.
	FlowBandwidth
	// FlowBlob: throughput between a host and Azure Storage (a test blob): downloads for
	// failback, uploads for forward replication.
	FlowBlob
)

var flowKindNames = []string{FlowPort: "port", FlowICMP: "icmp", FlowEndpoint: "endpoint", FlowPath: "path",
	FlowPMTU: "pmtu", FlowRoute: "route", FlowLatency: "latency", FlowBandwidth: "bandwidth", FlowBlob: "blob"}

func (k FlowKind) String() string               { return enumString(flowKindNames, int(k), "flowkind") }
func (k FlowKind) MarshalText() ([]byte, error) { return []byte(k.String()), nil }

// Confidence is how sure the catalogue is about a rule. A failed ConfUncertain rule is a warn.
type Confidence int

const (
	// ConfDoc: stated in Microsoft's documentation.
	ConfDoc Confidence = iota + 1
	// ConfInferred: follows from the documentation or standard Windows/VMware behaviour.
	ConfInferred
	// ConfUncertain: undocumented; tested, but a failure is a warn.
	ConfUncertain
)

var confidenceNames = []string{ConfDoc: "doc", ConfInferred: "inferred", ConfUncertain: "uncertain"}

func (c Confidence) String() string               { return enumString(confidenceNames, int(c), "confidence") }
func (c Confidence) MarshalText() ([]byte, error) { return []byte(c.String()), nil }

// Severity of a readiness finding.
type Severity int

const (
	SevFail Severity = iota + 1
	SevWarn
	SevInfo
)

var severityNames = []string{SevFail: "fail", SevWarn: "warn", SevInfo: "info"}

func (s Severity) String() string               { return enumString(severityNames, int(s), "severity") }
func (s Severity) MarshalText() ([]byte, error) { return []byte(s.String()), nil }

// Architecture is the ASR experience an estate, or one VM of it, uses.
type Architecture int

const (
	// ArchClassic: configuration server, process server, master target. Microsoft ended its
	// support on 2026-03-30; VMs that failed over under it still fail back with it.
	ArchClassic Architecture = iota + 1
	// ArchModernized: the on-premises replication appliance; failback data through Azure Storage.
	ArchModernized
	// ArchMigration: an estate moving from classic to modernized: both catalogues apply.
	ArchMigration
)

var architectureNames = []string{ArchClassic: "classic", ArchModernized: "modernized", ArchMigration: "migration"}

func (a Architecture) String() string { return enumString(architectureNames, int(a), "architecture") }
func (a Architecture) MarshalText() ([]byte, error) {
	return []byte(a.String()), nil
}

// Platform is what a protected machine runs on; modernized failback needs VMware.
type Platform int

const (
	PlatformVMware Platform = iota + 1
	PlatformPhysical
)

var platformNames = []string{PlatformVMware: "vmware", PlatformPhysical: "physical"}

func (p Platform) String() string               { return enumString(platformNames, int(p), "platform") }
func (p Platform) MarshalText() ([]byte, error) { return []byte(p.String()), nil }

// Cloud selects the Azure endpoint table.
type Cloud int

const (
	CloudPublic Cloud = iota + 1
	CloudUSGov
	CloudChina
)

var cloudNames = []string{CloudPublic: "public", CloudUSGov: "usgov", CloudChina: "china"}

func (c Cloud) String() string               { return enumString(cloudNames, int(c), "cloud") }
func (c Cloud) MarshalText() ([]byte, error) { return []byte(c.String()), nil }

// Connectivity is how source machines reach a replication appliance.
type Connectivity int

const (
	ConnectFQDN Connectivity = iota + 1
	ConnectIP
)

var connectivityNames = []string{ConnectFQDN: "fqdn", ConnectIP: "ip"}

func (c Connectivity) String() string               { return enumString(connectivityNames, int(c), "connectivity") }
func (c Connectivity) MarshalText() ([]byte, error) { return []byte(c.String()), nil }
