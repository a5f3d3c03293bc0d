// Package engine turns a topology into a plan of checks (pure data), runs the plan by
// dispatching each check to the agent on its source host with bounded concurrency, and judges
// each measurement against what the topology expects. Judging is pure: a measurement and an
// expectation in, a result.Result out.
package engine

import (
	"fmt"
	"net/netip"
	"time"

	"github.com/netprobe/netprobe/internal/capacity"
	"github.com/netprobe/netprobe/internal/result"
	"github.com/netprobe/netprobe/internal/topology"
)

// Check is one planned test: plain data, with a stable ID that history and the TUI key on.
type Check struct {
	ID    string      // e.g. "port/sql01/cs01/443/tcp"
	Kind  result.Kind // a result.Check* value
	Rule  string      // ASR catalogue rule, e.g. "FB-VM-CS"
	Phase topology.Phase

	From, To string // host names; To may be an endpoint or link name
	Address  string // destination address (IP or DNS name), after NIC resolution
	Port     int
	Proto    topology.Proto
	Expect   topology.Expect // 0 is open

	Confidence topology.Confidence
	Source     string
	Why        string
	ErrorCode  string
	Pair       string // checks sharing a Pair are judged as one (FB-MT-PS / FB-PS-MT)
	// JudgedWith is the ID of the check whose result tempers this one's verdict once both ran:
	// a catalogue ICMP check names the 443 check between the same two hosts (JudgeICMPWith).
	// The runner holds the result until that one's is out, or the run ends without it.
	JudgedWith string

	// FromAgent and ToAgent are the agents' control addresses ("" when the host has none).
	FromAgent string
	ToAgent   string
	// FromAddress is the source host's primary address, for hints ("allow tcp A -> B:port").
	FromAddress string
	// Link is the topology link the check crosses ("" when both ends share a site); the report
	// groups link-level measurements by it.
	Link string
	// SkipReason, when set, makes the check a skip without running it.
	SkipReason string
	// RunFrom, set with SkipReason, is the site whose own coordinator runs the check (an
	// estate checked from inside each site: ForSite); its skip carries result.ReasonOtherSite.
	RunFrom string

	// Pattern is an endpoint's documented name (possibly a wildcard); Representative is true
	// when netprobe picked Address under it because the file names none of the vault's own.
	Pattern        string
	Representative bool
	// Impact is set for an optional endpoint: what is lost without it (a fail is a warn).
	Impact string
	// LinkKind and Ranges (path): the kind of the link the path crosses, and the address
	// ranges that count as inside the estate there: every site's networks and the link's own
	// peering ranges. A hop outside them all is on the public internet.
	LinkKind topology.LinkKind
	Ranges   []NamedRange

	// TLS asks a port check to shake hands when a real service answers: ASR's 443 and data
	// port speak HTTPS, and a handshake failure there means the port is held by something else
	// or cut by an inspecting device.
	TLS bool

	// Kind-specific parameters.
	Timeout      time.Duration          // one probe attempt
	Samples      int                    // latency
	Interval     time.Duration          // latency
	WarnP95      time.Duration          // latency
	FailP95      time.Duration          // latency
	MTUMin       int                    // pmtu
	MTUMax       int                    // pmtu
	ExpectedMTU  int                    // pmtu: the link's declared MTU, 0 when unknown
	ExpectIface  string                 // route: the interface name the route must use ("" = by address)
	ExpectSource string                 // route: the source address the route must use
	Names        []string               // dns: names to resolve
	Servers      []string               // dns: resolvers ("" = the host's own)
	Resolvers    []Resolver             // dns consistency: one host per site asks its site's resolvers
	NameOf       *NameExpect            // dns: the name is a host's and must lead to its address (FB-CS-DNS)
	Streams      int                    // bandwidth
	Duration     time.Duration          // bandwidth
	Reverse      bool                   // bandwidth: data flows from To to From
	RequiredBps  capacity.BitsPerSecond // bandwidth, blob: required rate from churn, 0 when unknown
	AdviceOnly   bool                   // bandwidth, blob: fewer streams than the judged test: shown, not judged
	UsedBytes    capacity.Bytes         // bandwidth, blob: bytes a full resync sends
	// BlobURL is the test blob's URL with its SAS (a credential: it never reaches a result);
	// Upload stages blocks instead of downloading; Proxy is the source host's HTTP proxy.
	BlobURL string
	Upload  bool
	Proxy   string
}

// Target is the check's destination as shown to users: "addr:port" for ports, else the address.
func (c Check) Target() string {
	if c.Port > 0 {
		return joinHostPort(c.Address, c.Port)
	}
	return c.Address
}

// PortProto is "443/tcp" style.
func (c Check) PortProto() string {
	if c.Port > 0 {
		return fmt.Sprintf("%d/%s", c.Port, name(c.Proto))
	}
	return name(c.Proto)
}

// Resolver is one site's view of DNS for a consistency check: a host of the site with an
// agent, and the resolvers the site's hosts use (empty: the host's own configuration).
type Resolver struct {
	Site, Host, Agent string
	Servers           []string
}

// NamedRange is an address range with where the topology declares it ("sites.onprem",
// "links.er1.peering"), so a message can say why a hop counted as inside.
type NamedRange struct {
	Prefix netip.Prefix
	Name   string
}
