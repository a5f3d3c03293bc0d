package probes

import (
	"math"
	"math/bits"
	"net"
	"net/netip"
	"net/url"
	"time"
)

// Footprint is the most a probe request can make this host send, worked out from the request
// before anything is sent: an agent that must not become a packet cannon compares it with its
// budgets. Bytes count what goes on the wire (IP and transport headers included, IPv6's when
// they are larger, and the extra headers of fragments); Interval is the gap the probe leaves
// between its packets, 0 when it sends them as fast as its answers allow.
//
// The figures are upper bounds, not predictions: a TCP connect is counted with every SYN the
// kernel may retransmit, a UDP probe with every try. They saturate at math.MaxInt64 instead of
// overflowing, whatever the request's numbers.
type Footprint struct {
	Packets  int64
	Bytes    int64
	Interval time.Duration
}

// Header sizes a footprint counts per packet: the larger IP version's.
const (
	// datagramOverhead: an IPv6 header (40) and a UDP or ICMP header (8).
	datagramOverhead = 40 + 8
	// segmentOverhead: an IPv6 header (40), a TCP header (20) and the options of a SYN (20).
	segmentOverhead = 40 + 20 + 20
	// fragmentPayload: what one fragment carries at IPv6's minimum MTU (1280) after its
	// headers (40 + 8 for the fragment header), the worst case for a large datagram.
	fragmentPayload = 1280 - 48
	// synTries: Linux sends a SYN and retransmits it tcp_syn_retries (6) times by default.
	synTries = 7
	// connectSegments: a connect's SYNs, its ACK, a short read and the close.
	connectSegments = synTries + 3
	// lookupBytes: resolving a name (A and AAAA, a retry each, at most three resolvers from
	// resolv.conf) costs about a dozen small datagrams.
	lookupBytes = 12 * (datagramOverhead + 300)
	// tlsBytes: a ClientHello (at most ~2 KiB with its extensions), the client's Finished,
	// and the ACKs for a certificate chain of up to 64 KiB: 64 segments covers it.
	tlsSegments = 64
	tlsBytes    = tlsSegments*segmentOverhead + 4<<10
	// maxResolvers is how many resolvers the host's own configuration can name
	// (resolv.conf's MAXNS); a DNS probe without servers asks those.
	maxResolvers = 3
	// pathSendsPerTTL: what one TTL of a path trace can send (a connect's SYNs in tcp mode, at
	// most as many datagrams in the other modes); pathRounds: the first round and the retry.
	pathSendsPerTTL = synTries
	pathRounds      = 2
)

// datagram is the footprint of one datagram of n payload bytes, fragments included.
func datagram(n int) Footprint {
	n = max(n, 0)
	frags := int64(1 + n/fragmentPayload)
	return Footprint{Packets: frags, Bytes: satAdd(int64(n), satMul(frags, datagramOverhead))}
}

// times is f repeated n times (n < 0 counts as 0).
func (f Footprint) times(n int) Footprint {
	n64 := int64(max(n, 0))
	return Footprint{Packets: satMul(f.Packets, n64), Bytes: satMul(f.Bytes, n64), Interval: f.Interval}
}

// plus adds g's packets and bytes to f.
func (f Footprint) plus(g Footprint) Footprint {
	return Footprint{Packets: satAdd(f.Packets, g.Packets), Bytes: satAdd(f.Bytes, g.Bytes), Interval: f.Interval}
}

func satAdd(a, b int64) int64 {
	if a > math.MaxInt64-b {
		return math.MaxInt64
	}
	return a + b
}

func satMul(a, b int64) int64 {
	if a == 0 || b == 0 {
		return 0
	}
	if a > math.MaxInt64/b {
		return math.MaxInt64
	}
	return a * b
}

// lookup is what resolving host costs: nothing for an IP literal.
func lookup(host string) Footprint {
	if _, err := netip.ParseAddr(host); err == nil || host == "" {
		return Footprint{}
	}
	return Footprint{Packets: 12, Bytes: lookupBytes}
}

func hostOf(addr string) string {
	if h, _, err := net.SplitHostPort(addr); err == nil {
		return h
	}
	return addr
}

// Footprint of a port probe: a connect for TCP, udpTries datagrams for UDP. An adaptive wait
// (portwait.go) may add a second try and a connect to each reference port.
func (r PortRequest) Footprint() Footprint {
	f := lookup(hostOf(r.Address))
	if r.Proto == "udp" {
		return f.plus(datagram(len("netprobe ") + 16).times(udpTries))
	}
	connects := 1
	if r.AdaptiveWait && len(r.RefPorts) > 0 {
		connects += 1 + len(r.RefPorts)
	}
	return f.plus(Footprint{Packets: connectSegments, Bytes: connectSegments * segmentOverhead}.times(connects))
}

// Footprint of a latency probe: Samples datagrams of Size bytes, Interval apart (the
// defaults of Latency for zero values).
func (r LatencyRequest) Footprint() Footprint {
	n, size, iv := r.Samples, r.Size, r.Interval
	if n == 0 {
		n = DefaultLatencySamples
	}
	if size == 0 {
		size = latencyMinSize
	}
	if iv == 0 {
		iv = DefaultLatencyInterval
	}
	f := lookup(hostOf(r.Address)).plus(datagram(size).times(n))
	f.Interval = iv
	return f
}

// Footprint of an ICMP probe: Count echoes of Size bytes, Interval apart (ICMP's defaults
// for zero or negative values, as ICMP applies them).
func (r ICMPRequest) Footprint() Footprint {
	n, size, iv := r.Count, r.Size, r.Interval
	if n <= 0 {
		n = DefaultICMPCount
	}
	if size <= 0 {
		size = defaultICMPSize
	}
	if iv <= 0 {
		iv = DefaultICMPInterval
	}
	f := lookup(hostOf(r.Address)).plus(datagram(size).times(n))
	f.Interval = iv
	return f
}

// Footprint of a path trace: every TTL up to MaxHops, twice (the retry round), each with
// what a connect may send.
func (r PathRequest) Footprint() Footprint {
	hops := r.MaxHops
	if hops <= 0 {
		hops = DefaultMaxHops
	}
	per := Footprint{Packets: pathSendsPerTTL, Bytes: pathSendsPerTTL * segmentOverhead}
	return lookup(hostOf(r.Address)).plus(per.times(hops).times(pathRounds))
}

// Footprint of a path-MTU search: its reference probes and every step's tries, each as large
// as Max (576 and 1500 for zero values).
func (r PMTURequest) Footprint() Footprint {
	lo, hi := r.Min, r.Max
	if lo == 0 {
		lo = 576
	}
	if hi == 0 {
		hi = 1500
	}
	span := max(hi-lo, 0)
	probes := (2+bits.Len(uint(span)))*pmtuTries + refTries
	// Max is an IP packet size, headers included: count it as one datagram's payload, which
	// also counts its fragments if it is larger than the path.
	return lookup(hostOf(r.Address)).plus(datagram(hi).times(probes))
}

// Spent bounds what a PMTU search that finished sent: its Probes datagrams, each at most the
// largest size, and the lookup. A search's footprint reserves every step at its largest size
// with every try; a search usually sends a fraction of that, which the agent's byte budget
// gets back.
func (r PMTURequest) Spent(res PMTUResult) Footprint {
	hi := r.Max
	if hi == 0 {
		hi = 1500
	}
	return lookup(hostOf(r.Address)).plus(datagram(hi).times(res.Probes))
}

// Footprint of a DNS probe: one query per resolver (the host's own when none is named), each
// possibly retried over TCP after a truncated answer.
func (r DNSRequest) Footprint() Footprint {
	n := len(r.Servers)
	if n == 0 {
		n = maxResolvers
	}
	// A query: a 12-byte header, the name (at most 255) and its type and class, an EDNS record.
	query := datagram(12 + min(len(r.Name), 255) + 4 + 11)
	tcp := Footprint{Packets: connectSegments, Bytes: satAdd(connectSegments*segmentOverhead, query.Bytes)}
	return query.plus(tcp).times(n)
}

// Footprint of a TLS probe: one connect and one handshake.
func (r TLSRequest) Footprint() Footprint {
	return lookup(hostOf(r.Address)).plus(Footprint{Packets: tlsSegments + connectSegments, Bytes: tlsBytes + connectSegments*segmentOverhead})
}

// Footprint of a blob transfer: what it takes to reach the storage host (a lookup, and a
// connect and TLS handshake per stream; through a proxy, its CONNECT too). The transfer itself
// is a throughput test, like the agents' bandwidth test: its point is to fill the link to Azure
// Storage for Duration, so the per-probe byte budget does not apply to it; it is bounded by its
// own limits instead (MaxBlobStreams, MaxBlobChunk, and the agent's probe timeout over
// Warmup+Duration), and it counts against the agent's probe rate as one probe.
func (r BlobRequest) Footprint() Footprint {
	host := ""
	if u, err := url.Parse(r.URL); err == nil {
		host = u.Hostname()
	}
	if r.Proxy != "" {
		if u, err := url.Parse(r.Proxy); err == nil {
			host = u.Hostname()
		}
	}
	streams := min(max(r.Streams, 1), MaxBlobStreams)
	perStream := Footprint{Packets: tlsSegments + connectSegments, Bytes: tlsBytes + connectSegments*segmentOverhead}
	return lookup(host).plus(perStream.times(streams))
}
