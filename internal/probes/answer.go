package probes

import (
	"fmt"
	"net/netip"
	"strings"

	"github.com/google/gopacket/layers"
)

// Who answered: a reset or an ICMP error names a sender (the IP source), but a firewall that
// refuses a flow on behalf of a host forges the host's address. What it cannot forge as
// easily is how far the answer travelled: a packet leaves its sender with an initial TTL (64,
// 128 or 255) and every router on the way takes one off. Compared with the TTL the host's own
// answers arrive with (an echo reply, a SYN-ACK from one of its open ports) and with the
// routers a traceroute lists, it says whether the host sent the answer or a device in front
// of it, and which one. Where the figures leave room for doubt the verdict is "unknown":
// a wrong verdict starts the wrong argument between teams, which is worse than none.

// AnswerFrom says who sent the answer that refused a probe.
type AnswerFrom int

const (
	// AnswerUnknown: the evidence does not say (no privilege to read the packets, no answer
	// of the host itself to compare with, figures that disagree). Never a guess.
	AnswerUnknown AnswerFrom = iota + 1
	// AnswerHost: the destination host itself (its stack, or its own firewall).
	AnswerHost
	// AnswerDevice: a router or firewall between the prober and the host.
	AnswerDevice
)

var answerFromNames = [...]string{AnswerUnknown: "unknown", AnswerHost: "host", AnswerDevice: "device"}

func (a AnswerFrom) String() string { return enumString(answerFromNames[:], int(a), "answer from") }

func (a AnswerFrom) MarshalText() ([]byte, error) {
	return enumMarshal(answerFromNames[:], int(a), "answer from")
}

func (a *AnswerFrom) UnmarshalText(b []byte) error {
	v, err := enumParse(answerFromNames[:], string(b), "answer from")
	*a = AnswerFrom(v)
	return err
}

// Answer is who sent the packet that refused a probe (a TCP reset, an ICMP error), and the
// figures that say so.
type Answer struct {
	From AnswerFrom `json:"from"`
	// Packet is what answered: "tcp-reset" or "icmp 3/13".
	Packet string `json:"packet,omitempty"`
	// Sender is the answer's IP source (a forged reset carries the host's address).
	Sender string `json:"sender,omitempty"`
	// TTL and IPID are the answer's IP header fields as it arrived (IPID: IPv4 only).
	TTL  int `json:"ttl,omitempty"`
	IPID int `json:"ip_id,omitempty"`
	// Quoted is the header an ICMP error quotes: our packet as the device saw it.
	Quoted string `json:"quoted,omitempty"`
	// HostTTL is the TTL the host's own answers arrive with, and HostTTLFrom which answer
	// gave it ("echo-reply", "syn-ack from port 7411").
	HostTTL     int    `json:"host_ttl,omitempty"`
	HostTTLFrom string `json:"host_ttl_from,omitempty"`
	// Hops is how far the sender is from the prober, itself counted (1: the first router);
	// HostHops the same for the host. 0 when not known.
	Hops     int `json:"hops,omitempty"`
	HostHops int `json:"host_hops,omitempty"`
	// Device is the address of the device that answered, when known: the sender of an ICMP
	// error, or the router a traceroute found at that distance.
	Device string `json:"device,omitempty"`
	// Path is the traceroute toward the host ("*" for a silent hop), when one ran.
	Path []string `json:"path,omitempty"`
	// Detail says it in a sentence.
	Detail string `json:"detail"`
}

// Initial TTLs: 64 (Linux, BSD, macOS; RFC 1700's recommendation), 128 (Windows), 255
// (network devices' own packets, Solaris ICMP). The smallest at or above a TTL seen is the
// one it started from, as p0f and nmap's OS detection read it.
var initialTTLs = [...]int{64, 128, 255}

// maxPlausibleHops bounds a hop count read from a TTL: traceroute's default limit (30), the
// longest path an estate's traffic takes. A larger count means the sender started from an
// initial TTL this table does not know (32 and 60 in old stacks), and the count is a guess.
const maxPlausibleHops = 30

// ttlHops is how many routers a packet that arrived with ttl crossed, and the initial TTL it
// left with; ok is false when that cannot be told (see maxPlausibleHops).
func ttlHops(ttl int) (routers, initial int, ok bool) {
	if ttl <= 0 || ttl > 255 {
		return 0, 0, false
	}
	for _, init := range initialTTLs {
		if ttl <= init {
			routers = init - ttl
			return routers, init, routers <= maxPlausibleHops
		}
	}
	return 0, 0, false
}

// answerKind is the packet that answered a probe.
type answerKind int

const (
	answerReset answerKind = iota + 1
	answerICMP
)

// hostTTL is one answer of the host itself, taken as the measure of its distance.
type hostTTL struct {
	ttl int
	// from names it: "echo-reply" or "syn-ack from port 7411".
	from string
	// proto is the answer's protocol: a stack may start ICMP and TCP from different initial
	// TTLs (Solaris: 255 and 64).
	proto layers.IPProtocol
}

// answerFacts is everything judgeAnswer weighs: the answer as captured, the host's own
// answers, and the traceroute.
type answerFacts struct {
	kind           answerKind
	dst            netip.Addr // the probe's destination
	sender         netip.Addr
	ttl, ipid      int
	proto          layers.IPProtocol // the answer's protocol (TCP, ICMPv4, ICMPv6)
	icmpType, code uint8
	v6             bool
	quoted         string
	hosts          []hostTTL
	// path[i] answered the traceroute at TTL i+1 (invalid: silent); reached is true when
	// its last entry is the destination.
	path    []netip.Addr
	reached bool
	// why explains an empty hosts or path (privilege, timeout).
	why string
}

// judgeAnswer weighs the facts. It is pure: the same facts give the same Answer.
func judgeAnswer(f answerFacts) Answer {
	a := Answer{From: AnswerUnknown, Sender: f.sender.String(), TTL: f.ttl, IPID: f.ipid, Quoted: f.quoted}
	a.Packet = "tcp-reset"
	what := "the reset"
	if f.kind == answerICMP {
		a.Packet = fmt.Sprintf("icmp %d/%d", f.icmpType, f.code)
		if f.v6 {
			a.Packet = fmt.Sprintf("icmp6 %d/%d", f.icmpType, f.code)
		}
		what = "the ICMP error"
	}
	for _, p := range f.path {
		if p.IsValid() {
			a.Path = append(a.Path, p.String())
		} else {
			a.Path = append(a.Path, "*")
		}
	}
	routers, initial, ttlOK := ttlHops(f.ttl)
	h := hostDistance(f)
	if h.known {
		a.HostTTL, a.HostTTLFrom, a.HostHops = h.ttl, h.from, h.routers+1
	}
	if h.pathHops > 0 {
		a.HostHops = h.pathHops
	}

	// An ICMP error from another address than the host's: a device sent it when the
	// traceroute lists that address before the host, or when it came from nearer than the
	// host. Elsewhere it may be another address of the host itself.
	if f.kind == answerICMP && f.sender != f.dst {
		for i, p := range f.path {
			if p == f.sender && (h.pathHops == 0 || i+1 < h.pathHops) {
				a.Hops = i + 1
				break
			}
		}
		if a.Hops == 0 && ttlOK && h.known && h.conflict == "" && routers < h.routers {
			a.Hops = routers + 1
		}
		if a.Hops == 0 {
			a.Detail = fmt.Sprintf("%s came from %s, not the host's address, but neither the traceroute nor its TTL (%d) places it before the host: it may be another address of the host; cannot tell", what, f.sender, f.ttl)
			return a
		}
		a.From, a.Device = AnswerDevice, f.sender.String()
		a.Detail = fmt.Sprintf("%s was sent by %s%s, not by the host: a router or firewall there refuses the flow", what, f.sender, whereOnPath(a))
		return a
	}

	// A reset, or an ICMP error carrying the host's address: only the distance tells.
	switch {
	case h.conflict != "":
		a.Detail = "cannot tell who sent " + what + ": " + h.conflict
	case !ttlOK:
		a.Detail = fmt.Sprintf("cannot tell who sent %s: its TTL %d fits no usual initial TTL (64, 128, 255) within %d hops", what, f.ttl, maxPlausibleHops)
	case !h.known:
		a.Detail = fmt.Sprintf("cannot tell who sent %s (it carries the host's address, TTL %d): no answer of the host itself to compare its TTL with (%s)",
			what, f.ttl, orDefault(f.why, "no echo reply or SYN-ACK of the host came back"))
	case routers > h.routers:
		a.Detail = fmt.Sprintf("cannot tell who sent %s: it crossed %d routers (TTL %d), more than the host's own answers (%s, TTL %d, %d routers): the way back differs, or a device rewrites TTLs",
			what, routers, f.ttl, h.from, h.ttl, h.routers)
	case routers < h.routers:
		a.From, a.Hops = AnswerDevice, routers+1
		if h.pathHops > 0 && f.path[routers].IsValid() {
			a.Device = f.path[routers].String()
		}
		who := "a device"
		if a.Device != "" {
			who = a.Device
		}
		a.Detail = fmt.Sprintf("%s was sent by %s, %d hop(s) before the host (TTL %d where the host's own answers arrive with %d, %s): a firewall forges it%s",
			what, who, h.routers-routers, f.ttl, h.ttl, h.from, unnamed(a, h.pathHops))
	case initial != h.initial && h.proto == f.proto:
		a.Detail = fmt.Sprintf("cannot tell who sent %s: it comes from the host's distance (%d routers) but started from TTL %d where the host's %s started from %d: another stack beside the host, such as a bridging firewall",
			what, routers, initial, h.from, h.initial)
	case h.pathHops == 0:
		a.Detail = fmt.Sprintf("cannot tell who sent %s: it crossed as many routers as the host's own answers (TTL %d, %s TTL %d), but no traceroute reached the host to confirm its distance (%s)",
			what, f.ttl, h.from, h.ttl, orDefault(f.why, "the traceroute did not reach it"))
	default:
		a.From, a.Hops = AnswerHost, routers+1
		a.Detail = fmt.Sprintf("%s was sent by the host itself: TTL %d, as its own answers (%s, TTL %d), %d hop(s) away as the traceroute found",
			what, f.ttl, h.from, h.ttl, h.pathHops)
	}
	return a
}

// hostDist is what the host's own answers and the traceroute say of its distance.
type hostDist struct {
	known        bool // the host's answers agree on a distance
	ttl, initial int
	routers      int
	from         string
	proto        layers.IPProtocol
	pathHops     int    // the traceroute reached the host at this hop; 0 when it did not
	conflict     string // why the figures cannot be trusted
}

func hostDistance(f answerFacts) hostDist {
	var h hostDist
	for _, x := range f.hosts {
		r, init, ok := ttlHops(x.ttl)
		if !ok {
			continue
		}
		if h.known && r != h.routers && h.conflict == "" {
			h.conflict = fmt.Sprintf("the host's own answers disagree on its distance (%s TTL %d, %s TTL %d): a device on the path rewrites TTLs or answers for the host",
				h.from, h.ttl, x.from, x.ttl)
		}
		if !h.known {
			h = hostDist{known: true, ttl: x.ttl, initial: init, routers: r, from: x.from, proto: x.proto}
		}
	}
	if f.reached && len(f.path) > 0 {
		h.pathHops = len(f.path)
	}
	if h.known && h.pathHops > 0 && h.routers+1 != h.pathHops && h.conflict == "" {
		h.conflict = fmt.Sprintf("the host's own answers (%s, TTL %d) crossed %d routers but the traceroute reached it at hop %d: the way back differs from the way there, or a device rewrites TTLs",
			h.from, h.ttl, h.routers, h.pathHops)
	}
	return h
}

// whereOnPath places a device: ", hop 1 of 3 toward the host".
func whereOnPath(a Answer) string {
	switch {
	case a.Hops > 0 && a.HostHops > a.Hops:
		return fmt.Sprintf(", hop %d, %d hop(s) before the host", a.Hops, a.HostHops-a.Hops)
	case a.Hops > 0:
		return fmt.Sprintf(", hop %d", a.Hops)
	}
	return ""
}

// unnamed says why a forging device has no address.
func unnamed(a Answer, pathHost int) string {
	switch {
	case a.Device != "":
		return ""
	case pathHost == 0:
		return "; no traceroute reached the host, so the device is not named"
	}
	return "; that hop did not answer the traceroute, so the device is not named"
}

func orDefault(s, def string) string {
	if strings.TrimSpace(s) == "" {
		return def
	}
	return s
}
