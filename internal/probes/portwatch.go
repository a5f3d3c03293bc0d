package probes

import (
	"context"
	"fmt"
	"net/netip"
	"slices"
	"strings"
	"sync"
	"time"

	"github.com/google/gopacket/layers"
)

// portWatch captures a port probe's flow from its first packet and, when the probe was
// refused, finds out who refused it. The TCP dial calls bound between bind(2) and connect(2),
// once the local port is known; the UDP probe calls it before its first datagram. A nil
// portWatch watches nothing (probes with an injected Env).
type portWatch struct {
	flow    flowTuple
	capture *flowCapture
	err     error // why there is no capture
}

// bound starts the capture of the flow local -> remote.
func (w *portWatch) bound(proto layers.IPProtocol, local, remote netip.AddrPort) {
	if w == nil {
		return
	}
	w.flow = flowTuple{proto: proto, local: local, remote: remote}
	w.capture, w.err = openCapture(w.flow)
}

// stop ends the capture of a try whose result is not used.
func (w *portWatch) stop() {
	if w != nil && w.capture != nil {
		w.capture.stop()
	}
}

// finish stops the capture and fills res: the packets when the request asked for them, and
// who answered when the probe was refused by a reset or an ICMP error.
func (w *portWatch) finish(ctx context.Context, res *PortResult, req PortRequest, dst netip.Addr) {
	if w == nil {
		return
	}
	var c *Capture
	if w.capture != nil {
		c = w.capture.stop()
	}
	if req.Capture {
		switch {
		case c != nil:
			res.Capture = c
		case w.err != nil:
			res.CaptureError = w.err.Error()
		default:
			res.CaptureError = "the probe sent nothing to capture"
		}
	}
	refused := res.Reason == Reset || res.ICMPFrom != ""
	if !refused {
		return
	}
	if c == nil {
		why := "no capture was made"
		if w.err != nil {
			why = w.err.Error()
		}
		res.Answer = &Answer{From: AnswerUnknown, Detail: "cannot tell who refused the probe: " + why}
		return
	}
	f, ok := answerOf(c, w.flow, dst)
	if !ok {
		res.Answer = &Answer{From: AnswerUnknown, Detail: "cannot tell who refused the probe: the answer is not among the packets captured"}
		return
	}
	f.hosts, f.path, f.reached, f.why = hostFacts(ctx, dst, req.RefPorts)
	a := judgeAnswer(f)
	res.Answer = &a
}

// answerOf finds the answer in a capture of flow f: its first reset or ICMP error.
func answerOf(c *Capture, f flowTuple, dst netip.Addr) (answerFacts, bool) {
	for _, p := range c.Packets {
		role, ok := f.belongs(p.Data)
		if !ok || role == roleOut {
			continue
		}
		ip, _ := decodeIP(p.Data)
		facts := answerFacts{dst: dst, sender: ip.src.Unmap(), ttl: int(ip.ttl), proto: ip.proto, v6: ip.v6}
		if !ip.v6 {
			facts.ipid = int(ip.id)
		}
		if role == roleICMP {
			q, _ := f.quotedBy(ip)
			facts.kind, facts.icmpType, facts.code = answerICMP, q.typ, q.code
			facts.quoted = fmt.Sprintf("%s > %s %s, TTL %d", q.quoted.src, netip.AddrPortFrom(q.quoted.dst, f.remote.Port()), strings.ToLower(q.quoted.proto.String()), q.quoted.ttl)
			return facts, true
		}
		if len(ip.payload) >= 14 && ip.proto == layers.IPProtocolTCP && ip.payload[13]&0x04 != 0 { // RST flag
			facts.kind = answerReset
			return facts, true
		}
	}
	return answerFacts{}, false
}

// referenceWait bounds the look for the host's own TTL and the traceroute once a probe was
// refused: within an estate every answer comes back in well under a second, and a silent
// hop must not hold the probe much longer than its refusal took.
const referenceWait = time.Second

// referenceTTL is how long what a destination's own answers and traceroute showed is reused:
// a run's checks toward one host come within seconds of each other, and a scan of its ports
// must not trace the path once per port. Routes and firewalls do not change that fast.
const referenceTTL = 10 * time.Second

// hostFacts returns the host's own TTLs and the path toward it, from the cache when another
// probe of the same destination just measured them.
func hostFacts(ctx context.Context, dst netip.Addr, refPorts []uint16) ([]hostTTL, []netip.Addr, bool, string) {
	key := dst.String()
	for _, p := range slices.Sorted(slices.Values(refPorts)) {
		key += fmt.Sprintf(",%d", p)
	}
	e := refs.entry(key)
	e.once.Do(func() {
		rctx, cancel := context.WithTimeout(ctx, referenceWait)
		defer cancel()
		e.hosts, e.path, e.reached, e.why = measureHost(rctx, dst, refPorts)
		e.at = time.Now()
	})
	return e.hosts, e.path, e.reached, e.why
}

// refCache holds recent measurements per destination.
type refCache struct {
	mu sync.Mutex // guards m
	m  map[string]*refEntry
}

type refEntry struct {
	once    sync.Once
	created time.Time
	at      time.Time
	hosts   []hostTTL
	path    []netip.Addr
	reached bool
	why     string
}

var refs = &refCache{m: map[string]*refEntry{}}

// entry returns the live entry for key, a fresh one when none is younger than referenceTTL.
func (c *refCache) entry(key string) *refEntry {
	c.mu.Lock()
	defer c.mu.Unlock()
	now := time.Now()
	for k, e := range c.m {
		if now.Sub(e.created) > referenceTTL {
			delete(c.m, k)
		}
	}
	e, ok := c.m[key]
	if !ok {
		e = &refEntry{created: now}
		c.m[key] = e
	}
	return e
}

// measureHost asks the host for answers of its own (an echo, a SYN-ACK from each port of
// refPorts) and traces the path to it, all at once, within ctx.
func measureHost(ctx context.Context, dst netip.Addr, refPorts []uint16) ([]hostTTL, []netip.Addr, bool, string) {
	var (
		wg      sync.WaitGroup
		mu      sync.Mutex // guards hosts and whys
		hosts   []hostTTL
		whys    []string
		path    []netip.Addr
		reached bool
	)
	add := func(h hostTTL, err error) {
		mu.Lock()
		defer mu.Unlock()
		if err != nil {
			whys = append(whys, err.Error())
			return
		}
		hosts = append(hosts, h)
	}
	wg.Go(func() {
		ttl, err := echoTTL(ctx, dst)
		add(hostTTL{ttl: ttl, from: "echo-reply", proto: icmpProto(dst)}, err)
	})
	for _, p := range refPorts {
		wg.Go(func() {
			ttl, err := synAckTTL(ctx, netip.AddrPortFrom(dst, p))
			add(hostTTL{ttl: ttl, from: fmt.Sprintf("syn-ack from port %d", p), proto: layers.IPProtocolTCP}, err)
		})
	}
	wg.Go(func() { path, reached = tracePath(ctx, dst, refPorts) })
	wg.Wait()
	// The order of the host's answers is the order they were asked for: the first is named.
	slices.SortStableFunc(hosts, func(a, b hostTTL) int { return strings.Compare(a.from, b.from) })
	return hosts, path, reached, strings.Join(whys, "; ")
}

func icmpProto(dst netip.Addr) layers.IPProtocol {
	if dst.Is4() {
		return layers.IPProtocolICMPv4
	}
	return layers.IPProtocolICMPv6
}

// tracePath is an ICMP traceroute to dst and, at the same time, TCP ones to open ports of
// it, for paths that drop ICMP echo; the first that reached the host in that order wins.
// TCP to the refused port itself would not do: the device that refuses it would pass for
// the host.
func tracePath(ctx context.Context, dst netip.Addr, refPorts []uint16) ([]netip.Addr, bool) {
	tries := []PathRequest{{Address: dst.String(), Mode: "icmp"}}
	for _, p := range refPorts {
		tries = append(tries, PathRequest{Address: netip.AddrPortFrom(dst, p).String(), Mode: "tcp"})
	}
	paths := make([]PathResult, len(tries))
	ok := make([]bool, len(tries))
	var wg sync.WaitGroup
	for i, req := range tries {
		wg.Go(func() {
			r, err := Path(ctx, nil, req)
			paths[i], ok[i] = r, err == nil
		})
	}
	wg.Wait()
	var best []netip.Addr
	for i, r := range paths {
		if !ok[i] {
			continue
		}
		hops := make([]netip.Addr, len(r.Hops))
		for j, h := range r.Hops {
			hops[j], _ = netip.ParseAddr(h.Addr)
		}
		if r.Reached {
			return hops, true
		}
		if best == nil {
			best = hops
		}
	}
	return best, false
}
