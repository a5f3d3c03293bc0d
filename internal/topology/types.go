package topology

import (
	"net/netip"
	"slices"
	"time"
)

// Topology is one failback estate as the file describes it, after defaults and validation.
type Topology struct {
	Version  int
	Name     string
	Settings Settings
	Sites    map[string]*Site
	Links    []*Link
	Hosts    map[string]*Host
	Checks   Checks
	Flows    []*FlowSpec
	// Azure names the vault's own Azure endpoints, when the user knows them.
	Azure Azure

	// File is the name the topology was loaded from, as given to Load or Parse.
	File string
	// SHA256 is the hex SHA-256 of the file's bytes, so a run can say which version of the
	// file it tested (`sha256sum estate.yaml` prints the same).
	SHA256 string
	// pos maps a YAML path ("hosts.sql01.disks[1].churn") to where it is written.
	pos map[string]Pos
}

// Pos is a position in the topology file, 1-based.
type Pos struct{ Line, Col int }

// Position returns where path is written in the file. When path itself is not written (a
// missing key), it returns the position of its closest written parent; ok is false only when
// nothing of the path is in the file.
func (t *Topology) Position(path string) (p Pos, ok bool) {
	for path != "" {
		if p, ok := t.pos[path]; ok {
			return p, true
		}
		path = parentPath(path)
	}
	return Pos{}, false
}

// Settings are the estate-wide knobs; every one has a default (see Defaults).
type Settings struct {
	AgentPort      int
	DataPort       int
	VCenterPort    int
	Timeout        time.Duration
	Phases         []Phase
	AzureEndpoints bool
	RPO            time.Duration
	// Growth is the churn growth allowance as a fraction: 30% is 0.30.
	Growth float64
	// Architecture is the estate's ASR experience; a protected VM may override it.
	Architecture Architecture
}

// HasPhase reports whether p is one of the phases to test.
func (s Settings) HasPhase(p Phase) bool { return slices.Contains(s.Phases, p) }

// Site is a set of address ranges on one side of the failback.
type Site struct {
	Name     string
	Kind     SiteKind
	Networks []netip.Prefix
	DNS      []netip.Addr
	// VNets are the Azure virtual networks of an azure site with their address ranges; empty
	// means the site is one network. ASR needs a process server in each network that holds
	// failed-over VMs (RD-PS-AZ).
	VNets []VNet
}

// VNet is one Azure virtual network: its name and the address ranges it holds.
type VNet struct {
	Name   string
	Ranges []netip.Prefix
}

// VNetOf names the virtual network of site s that holds addr: "" when the site declares no
// vnets (it is one network) or addr is no IP address; ok is false when the site declares vnets
// and none holds addr.
func (s *Site) VNetOf(addr string) (name string, ok bool) {
	if s == nil || len(s.VNets) == 0 {
		return "", true
	}
	a, err := netip.ParseAddr(addr)
	if err != nil {
		return "", false
	}
	for _, v := range s.VNets {
		for _, r := range v.Ranges {
			if r.Contains(a) {
				return v.Name, true
			}
		}
	}
	return "", false
}

// Link connects two sites.
type Link struct {
	Name      string
	Kind      LinkKind
	Sites     [2]string
	Bandwidth BitsPerSecond // 0 when not given
	MTU       int           // 0 when not given
	// Peering lists the link's own address ranges (ExpressRoute peering subnets, a VPN
	// gateway's public address): hops there count as inside the estate for FB-LINK.
	Peering []netip.Prefix
}

// Host is a machine that takes part in the failback.
type Host struct {
	Name  string
	Site  string
	OS    string // "windows", "linux" or "" (vCenter, ESXi)
	Roles []Role
	// Address is the primary address: as written, or the first NIC's address when omitted.
	Address string
	NICs    []NIC
	// Agent is "host:port" with the default port filled in; "" means no agent.
	Agent      string
	RetainedIP bool
	Group      string
	Retention  string
	Disks      []Disk
	// MasterTarget names the master target this protected VM fails back to; "" lets the
	// catalogue assume one of the VM's OS family (MasterTargetOf).
	MasterTarget string
	// ProcessServer names the process server in Azure this protected VM replicates back
	// through; "" lets the catalogue assume one in the VM's network (ProcessServerOf).
	ProcessServer string

	// Modernized architecture.
	// Architecture overrides the estate's for a protected VM (0: the estate's): a VM that
	// failed over under classic keeps failing back with classic.
	Architecture Architecture
	// Platform of a protected VM: VMware unless the file says physical.
	Platform Platform
	// Appliance names the replication appliance this protected VM uses; "" lets the catalogue
	// assume one (ApplianceOf). Datastore is the VM's target datastore on failback, "" unknown.
	Appliance string
	Datastore string
	// FQDN is the host's DNS name when its address is an IP ("" when not given): the
	// configuration server's is checked to resolve from the Azure side (FB-CS-DNS); a
	// replication appliance needs one (its static FQDN).
	FQDN string
	// Connectivity says how source machines reach an appliance (fqdn unless ip).
	Connectivity Connectivity
	// DataPort is an appliance's data port; 0 means settings.data_port.
	DataPort int
	// Proxy is an appliance's HTTP proxy URL, "" for none.
	Proxy string
	// Datastores an appliance can reach, when the file lists them.
	Datastores []string
}

// HasRole reports whether the host plays role r.
func (h *Host) HasRole(r Role) bool { return slices.Contains(h.Roles, r) }

// ArchitectureOf is the architecture a protected VM fails back with: its own, else the
// estate's. In a migration estate a VM without its own follows both.
func (t *Topology) ArchitectureOf(h *Host) Architecture {
	if h.Architecture != 0 {
		return h.Architecture
	}
	return t.Settings.Architecture
}

// Classic reports whether the classic catalogue applies to h (a protected VM).
func (t *Topology) Classic(h *Host) bool {
	a := t.ArchitectureOf(h)
	return a == ArchClassic || a == ArchMigration
}

// Modernized reports whether the modernized catalogue applies to h (a protected VM).
func (t *Topology) Modernized(h *Host) bool {
	a := t.ArchitectureOf(h)
	return a == ArchModernized || a == ArchMigration
}

// AddressFrom is the address a flow from site `from` must target on this host: the address of
// the NIC `toward` that site when there is one, else the primary address.
func (h *Host) AddressFrom(from string) string {
	if nic := h.NICToward(from); nic != nil {
		return nic.Address.Addr().String()
	}
	return h.Address
}

// NICToward returns the NIC that traffic to and from site must use, or nil.
func (h *Host) NICToward(site string) *NIC {
	for i := range h.NICs {
		if h.NICs[i].Toward != "" && h.NICs[i].Toward == site {
			return &h.NICs[i]
		}
	}
	return nil
}

// NIC is one network interface of a host.
type NIC struct {
	Name    string
	Address netip.Prefix // the host's address with the length of its subnet: 10.10.0.4/24
	Toward  string       // a site name, or ""
}

// Disk is one disk of a host.
type Disk struct {
	Size Bytes
	// Churn is the 95th percentile change rate of the disk; 0 when not given.
	Churn BitsPerSecond
}

// Checks tune the measurements; every key has a default (see Defaults).
type Checks struct {
	Latency   LatencyCheck
	Bandwidth BandwidthCheck
	PMTU      PMTUCheck
	DNS       DNSCheck
}

// LatencyCheck tunes latency sampling and its thresholds.
type LatencyCheck struct {
	Samples  int
	Interval time.Duration
	WarnP95  time.Duration
	FailP95  time.Duration
}

// BandwidthCheck tunes the bandwidth test.
type BandwidthCheck struct {
	Duration   time.Duration
	Streams    []int
	Directions string // "up", "down" or "both"
}

// PMTUCheck bounds the path MTU search.
type PMTUCheck struct{ Min, Max int }

// DNSCheck lists names every host with an agent must resolve.
type DNSCheck struct{ Names []string }

// Azure holds what the file says about the vault's own Azure resources. Names given here are
// tested instead of the representative names netprobe picks under a documented wildcard.
type Azure struct {
	// CacheStorageAccounts are the cache storage accounts of the vault's replication policy
	// (account names: NAME.blob.core.windows.net).
	CacheStorageAccounts []string
	// Endpoints are other DNS names of the vault the configuration server must reach on 443:
	// regional ASR service names, private-endpoint names.
	Endpoints []string

	// Cloud selects the endpoint table of the modernized architecture (public by default).
	Cloud Cloud
	// PrivateEndpoints: the vault uses private endpoints; the appliance then reaches them over
	// a private link (VPN or ExpressRoute private peering).
	PrivateEndpoints bool
	// LogStorageAccounts are the reprotect log storage accounts the failed-over VMs write to
	// and the appliance reads from (modernized failback).
	LogStorageAccounts []string
	// KeyVault is the vault's Key Vault name (NAME.vault.azure.net), "" when not given.
	KeyVault string
	// BandwidthTestURL is a URL (SAS) of a test blob in Azure Storage: the failback throughput
	// of a modernized estate is measured by downloading it from the appliance.
	BandwidthTestURL string
}

// FlowSpec is a flow the file declares beyond the catalogue.
type FlowSpec struct {
	From, To string
	Port     int // 0 for icmp
	Proto    Proto
	Expect   Expect
	Phase    Phase
	Note     string
	// Index is the flow's place in the file's flows list, 0-based; it makes rule IDs stable.
	Index int
}
