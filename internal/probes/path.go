package probes

import (
	"context"
	"fmt"
	"net"
	"net/netip"
	"strconv"
	"strings"
	"sync"
	"time"
)

// PathRequest asks for the routers between here and a destination (traceroute).
type PathRequest struct {
	// Address is host:port for tcp and udp modes, a host for icmp.
	Address string `json:"address"`
	// Mode is "tcp" (SYNs to the flow's own port, what firewalls really let through; the
	// default), "udp" or "icmp".
	Mode string `json:"mode,omitempty"`
	// MaxHops bounds the TTL; 0 means DefaultMaxHops.
	MaxHops int `json:"max_hops,omitempty"`
}

// Hop is one TTL of the path.
type Hop struct {
	TTL int `json:"ttl"`
	// Addr is who answered at this TTL; empty when nobody did (a silent router: "*").
	Addr string        `json:"addr,omitempty"`
	RTT  time.Duration `json:"rtt_ns,omitempty"`
	// Note is traceroute's mark of an unreachable that ended the path here: !N network, !H
	// host, !P protocol, !F fragmentation needed, !X administratively prohibited, !<code>
	// otherwise. Empty for a time-exceeded or the destination's own answer.
	Note string `json:"note,omitempty"`
}

// PathResult is the path as the probes saw it.
type PathResult struct {
	Mode string `json:"mode"`
	Hops []Hop  `json:"hops"`
	// Reached is true when the destination itself answered (the last hop).
	Reached bool `json:"reached"`
	// Private is true when every hop answered and is a private address (RFC 1918, RFC 6598
	// shared space, IPv6 ULA): the path stays inside the private network, as ASR's failback
	// over VPN or ExpressRoute private peering requires.
	Private bool   `json:"private"`
	Detail  string `json:"detail,omitempty"`
}

// DefaultMaxHops is traceroute's default.
const DefaultMaxHops = 30

// Path sends one probe per TTL, all at once, and collects who answered until the deadline or
// until every TTL up to the destination has answered. TCP and UDP modes need no privilege on
// Linux (the ICMP errors come back on each socket's error queue); ICMP mode needs a ping or raw
// socket and returns ErrPermission without one. Outside Linux only ICMP mode runs.
func Path(ctx context.Context, env *Env, req PathRequest) (PathResult, error) {
	mode := strings.ToLower(req.Mode)
	if mode == "" {
		mode = "tcp"
	}
	maxHops := req.MaxHops
	if maxHops <= 0 {
		maxHops = DefaultMaxHops
	}
	if maxHops > 64 {
		return PathResult{}, fmt.Errorf("%w: max hops %d: at most 64", ErrInvalid, maxHops)
	}
	ctx, cancel := withDeadline(ctx)
	defer cancel()
	var (
		dst netip.AddrPort
		err error
	)
	switch mode {
	case "tcp", "udp":
		host, p, serr := net.SplitHostPort(req.Address)
		port, perr := strconv.ParseUint(p, 10, 16)
		if serr != nil || perr != nil || port == 0 {
			return PathResult{}, fmt.Errorf("%w: %s traceroute needs host:port, got %q", ErrInvalid, mode, req.Address)
		}
		ip, rerr := resolveHost(ctx, env, host)
		if rerr != nil {
			return PathResult{}, rerr
		}
		dst = netip.AddrPortFrom(ip, uint16(port))
	case "icmp":
		host := req.Address
		if h, _, serr := net.SplitHostPort(req.Address); serr == nil {
			host = h
		}
		ip, rerr := resolveHost(ctx, env, host)
		if rerr != nil {
			return PathResult{}, rerr
		}
		dst = netip.AddrPortFrom(ip, 0)
	default:
		return PathResult{}, fmt.Errorf("%w: mode %q: use tcp, udp or icmp", ErrInvalid, req.Mode)
	}

	trace := func(ctx context.Context, answers []hopAnswer, from int) error {
		if mode == "icmp" {
			return pathICMP(ctx, env, dst.Addr(), answers, from)
		}
		return pathSockets(ctx, env, mode, dst, answers, from)
	}
	answers := make([]hopAnswer, maxHops+1)
	if err = trace(ctx, answers, 1); err != nil {
		return PathResult{}, err
	}
	// An unreachable from a router short of the destination may be a passing state (a
	// neighbour entry being resolved, a queue overflowing) rather than a filter: traceroute asks
	// every hop three times for this reason. Ask once more from that hop on, after a short
	// pause. The second round has a short wait of its own: a router that rate-limits its ICMP
	// errors (Linux: a burst of 6, then 1/s) stays silent the second time, and that silence
	// must not cost the whole deadline. Its answers replace the first round's from that hop on
	// only when they show the block cleared: the destination answered, or the hop answered
	// with anything but an unreachable. Otherwise the first round stands.
	if b := blockedAt(answers); b > 0 && answers[b].from != dst.Addr() && roomFor(ctx, pathRetryPause) {
		timer := time.NewTimer(pathRetryPause)
		select {
		case <-ctx.Done():
		case <-timer.C:
		}
		timer.Stop()
		again := make([]hopAnswer, len(answers))
		copy(again[:b], answers[:b])
		rctx, rcancel := context.WithTimeout(ctx, max(pathRetryWait, 4*answers[b].rtt))
		err = trace(rctx, again, b)
		rcancel()
		if err != nil {
			return PathResult{}, err
		}
		if cleared(again, b) {
			copy(answers[b:], again[b:])
		}
	}
	if cerr := cancelled(ctx); cerr != nil {
		return PathResult{}, cerr
	}
	return buildPath(mode, answers), nil
}

// pathRetryPause is the wait before asking again past a router that answered unreachable,
// and pathRetryWait the least the second round waits for answers (four times the router's
// round trip when that is longer).
const (
	pathRetryPause = 50 * time.Millisecond
	pathRetryWait  = 500 * time.Millisecond
)

// cleared reports whether a second round from TTL b shows the first round's block at b gone.
func cleared(again []hopAnswer, b int) bool {
	if again[b].from.IsValid() && !again[b].blocked {
		return true
	}
	for ttl := b; ttl < len(again); ttl++ {
		if again[ttl].final {
			return true
		}
	}
	return false
}

// roomFor reports whether ctx has at least four times d left: enough for a pause of d and a
// second round that can still hear back.
func roomFor(ctx context.Context, d time.Duration) bool {
	dl, ok := ctx.Deadline()
	return ctx.Err() == nil && (!ok || time.Until(dl) > 4*d)
}

// blockedAt is the TTL of the first unreachable that ended the path, 0 when none did.
func blockedAt(answers []hopAnswer) int {
	for ttl := 1; ttl < len(answers); ttl++ {
		switch {
		case answers[ttl].final:
			return 0
		case answers[ttl].blocked:
			return ttl
		}
	}
	return 0
}

// hopAnswer is what came back for one TTL.
type hopAnswer struct {
	from    netip.Addr
	rtt     time.Duration
	final   bool   // the destination answered (reply, SYN-ACK, RST, port unreachable)
	blocked bool   // an unreachable/prohibited ICMP ended the path here
	note    string // traceroute's mark of the unreachable (Hop.Note)
}

// unreachableNote is traceroute's mark for an ICMP unreachable (or IPv6 packet-too-big).
func unreachableNote(v6 bool, typ, code uint8) string {
	if v6 {
		switch {
		case typ == 2:
			return "!F"
		case typ != 1:
			return fmt.Sprintf("!<%d/%d>", typ, code)
		}
		switch code {
		case 0:
			return "!N"
		case 1, 5, 6:
			return "!X"
		case 2, 3:
			return "!H"
		}
		return fmt.Sprintf("!<%d>", code) // 4: port unreachable, from a router
	}
	if typ != 3 {
		return fmt.Sprintf("!<%d/%d>", typ, code)
	}
	switch code {
	case 0, 6, 8, 11:
		return "!N"
	case 1, 7, 12:
		return "!H"
	case 2:
		return "!P"
	case 4:
		return "!F"
	case 5:
		return "!S"
	case 9, 10, 13:
		return "!X"
	case 14:
		return "!V"
	case 15:
		return "!C"
	}
	return fmt.Sprintf("!<%d>", code) // 3: port unreachable, from a router
}

// buildPath cuts the answers at the first final one and judges privacy.
func buildPath(mode string, answers []hopAnswer) PathResult {
	res := PathResult{Mode: mode}
	last := len(answers) - 1
	for ttl := 1; ttl < len(answers); ttl++ {
		if answers[ttl].final || answers[ttl].blocked {
			last = ttl
			res.Reached = answers[ttl].final
			break
		}
	}
	if !res.Reached {
		// Trim the silent tail past the last router that answered.
		for last > 1 && !answers[last].from.IsValid() {
			last--
		}
	}
	silent := 0
	res.Private = true
	for ttl := 1; ttl <= last; ttl++ {
		a := answers[ttl]
		h := Hop{TTL: ttl}
		if a.from.IsValid() {
			h.Addr, h.RTT, h.Note = a.from.String(), a.rtt, a.note
			if !IsPrivate(a.from) {
				res.Private = false
			}
		} else {
			silent++
			res.Private = false
		}
		res.Hops = append(res.Hops, h)
	}
	switch {
	case res.Reached:
		res.Detail = fmt.Sprintf("reached in %d hops", len(res.Hops))
	case len(res.Hops) > 0 && answers[len(res.Hops)].blocked:
		end := res.Hops[len(res.Hops)-1]
		res.Detail = fmt.Sprintf("stopped at hop %d by %s %s (%s)", len(res.Hops), end.Addr, end.Note, noteMeaning(end.Note))
	default:
		res.Detail = "the destination did not answer"
	}
	if silent > 0 {
		res.Detail += fmt.Sprintf("; %d hop(s) stayed silent, so privacy cannot be proven", silent)
	}
	if len(res.Hops) == 0 {
		res.Private = false
	}
	return res
}

// noteMeaning spells out a Hop.Note.
func noteMeaning(note string) string {
	switch note {
	case "!N":
		return "network unreachable"
	case "!H":
		return "host unreachable"
	case "!P":
		return "protocol unreachable"
	case "!F":
		return "fragmentation needed"
	case "!S":
		return "source route failed"
	case "!X":
		return "administratively prohibited"
	case "!V":
		return "host precedence violation"
	case "!C":
		return "precedence cut off"
	case "!<3>", "!<4>": // IPv4 code 3, IPv6 code 4
		return "port unreachable from a router: typically a firewall's REJECT"
	}
	return "an ICMP unreachable"
}

// privateNets are the ranges that never cross the internet.
var privateNets = []netip.Prefix{
	netip.MustParsePrefix("10.0.0.0/8"),
	netip.MustParsePrefix("172.16.0.0/12"),
	netip.MustParsePrefix("192.168.0.0/16"),
	netip.MustParsePrefix("100.64.0.0/10"), // RFC 6598 shared address space (carrier NAT)
	netip.MustParsePrefix("fc00::/7"),      // IPv6 unique local addresses
}

// IsPrivate reports whether ip is in RFC 1918, RFC 6598 or the IPv6 ULA range.
func IsPrivate(ip netip.Addr) bool {
	ip = ip.Unmap()
	for _, p := range privateNets {
		if p.Contains(ip) {
			return true
		}
	}
	return false
}

// pathICMP sends one echo per TTL on one socket and matches the answers by sequence.
// Only TTLs from `from` on are sent; answers below it are taken as known.
func pathICMP(ctx context.Context, env *Env, dst netip.Addr, answers []hopAnswer, from int) error {
	c, err := openEcho(ctx, dst, false)
	if err != nil {
		return err
	}
	defer c.Close()
	sent := make([]time.Time, len(answers))
	for ttl := from; ttl < len(answers); ttl++ {
		sent[ttl] = env.now()
		if err := c.send(ttl, 32, ttl); err != nil {
			return fmt.Errorf("%w: send with TTL %d: %v", ErrUnsupported, ttl, err)
		}
	}
	dl, _ := ctx.Deadline()
	stop := context.AfterFunc(ctx, func() { _ = c.pc.SetReadDeadline(time.Unix(1, 0)) })
	defer stop()
	for !pathDone(answers) {
		ev, err := c.recv(dl)
		if err != nil {
			return nil // deadline: what came back is the answer
		}
		if ev.Seq < from || ev.Seq >= len(answers) || answers[ev.Seq].from.IsValid() {
			continue
		}
		a := hopAnswer{from: ev.From, rtt: env.now().Sub(sent[ev.Seq])}
		switch ev.Kind {
		case echoReply:
			a.final = true
		case echoUnreachable:
			a.blocked, a.note = true, unreachableNote(false, 3, ev.Code)
		case echoFragNeeded:
			a.blocked, a.note = true, "!F"
		}
		answers[ev.Seq] = a
	}
	return nil
}

// pathDone: the lowest final answer is known and every TTL below it has answered.
func pathDone(answers []hopAnswer) bool {
	for ttl := 1; ttl < len(answers); ttl++ {
		if !answers[ttl].from.IsValid() {
			return false
		}
		if answers[ttl].final || answers[ttl].blocked {
			return true
		}
	}
	return false
}

// pathSockets runs one TCP connect or UDP datagram per TTL in parallel, each on its own
// socket, and reads who answered from the socket error (Linux: IP_RECVERR). Only TTLs from
// `from` on are sent; answers below it are taken as known.
func pathSockets(ctx context.Context, env *Env, mode string, dst netip.AddrPort, answers []hopAnswer, from int) error {
	if err := socketTraceSupported(); err != nil {
		return err
	}
	var (
		mu   sync.Mutex // guards answers and done
		wg   sync.WaitGroup
		done = make(chan struct{})
	)
	ctx, cancel := context.WithCancel(ctx)
	defer cancel()
	var once sync.Once
	for ttl := from; ttl < len(answers); ttl++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			start := env.now()
			var a hopAnswer
			if mode == "tcp" {
				a = traceTCP(ctx, dst, ttl)
			} else {
				a = traceUDP(ctx, dst, ttl)
			}
			if !a.from.IsValid() {
				return
			}
			a.rtt = env.now().Sub(start)
			mu.Lock()
			answers[ttl] = a
			if pathDone(answers) {
				once.Do(func() { close(done) })
			}
			mu.Unlock()
		}()
	}
	select {
	case <-done:
	case <-ctx.Done():
	}
	cancel()
	wg.Wait()
	return nil
}

func traceTCP(ctx context.Context, dst netip.AddrPort, ttl int) hopAnswer {
	conn, ie, err := dialTCPTTL(ctx, netip.Addr{}, dst, ttl)
	if err == nil {
		conn.Close()
		return hopAnswer{from: dst.Addr(), final: true}
	}
	if ie != nil {
		a := hopAnswer{from: ie.From}
		switch {
		case ie.Type == 11 || (ie.V6 && ie.Type == 3):
		case ie.From == dst.Addr():
			a.final = true
		default:
			a.blocked, a.note = true, unreachableNote(ie.V6, ie.Type, ie.Code)
		}
		return a
	}
	if classifyErrno(err) == errRefused {
		return hopAnswer{from: dst.Addr(), final: true} // RST: the destination answered
	}
	return hopAnswer{}
}

func traceUDP(ctx context.Context, dst netip.AddrPort, ttl int) hopAnswer {
	ie, replied := udpTTLProbe(ctx, dst, ttl)
	if replied {
		return hopAnswer{from: dst.Addr(), final: true}
	}
	if ie == nil {
		return hopAnswer{}
	}
	a := hopAnswer{from: ie.From}
	switch {
	case ie.Type == 11:
	case ie.From == dst.Addr():
		a.final = true
	default:
		a.blocked, a.note = true, unreachableNote(ie.V6, ie.Type, ie.Code)
	}
	return a
}
