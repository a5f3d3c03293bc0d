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
}

// HasRole reports whether the host plays role r.
func (h *Host) HasRole(r Role) bool { return slices.Contains(h.Roles, r) }

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
