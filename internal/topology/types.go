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
	// catalogue pick the only master target of the VM's OS family.
	MasterTarget string
	// FQDN is the host's DNS name when its address is an IP ("" when not given): the
	// configuration server's is checked to resolve from the Azure side (FB-CS-DNS).
	FQDN string
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
