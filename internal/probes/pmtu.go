package probes

import (
	"context"
	"errors"
	"fmt"
	"net"
	"net/netip"
	"strconv"
	"strings"
	"syscall"
	"time"
)

// PMTURequest asks for the path MTU toward a destination.
type PMTURequest struct {
	// Address is a host or IPv4 address for ICMP (a :port is ignored), host:port of a netprobe
	// UDP echo responder for UDP.
	Address string `json:"address"`
	// Mode is "icmp" (echo with DF, the default) or "udp" (DF datagrams to a netprobe UDP echo
	// responder, for paths that filter ICMP echo).
	Mode string `json:"mode,omitempty"`
	// Min and Max bound the search, as IPv4 packet sizes in bytes; 0 means 576 and 1500.
	Min int `json:"min,omitempty"`
	Max int `json:"max,omitempty"`
}

// PMTUResult is the largest packet that got through, and how larger ones failed.
type PMTUResult struct {
	// MTU is the largest IPv4 packet (header included) that got an answer.
	MTU int `json:"mtu"`
	// MSS is the TCP MSS to clamp to on this path: MTU - 40 (IPv4 and TCP headers).
	MSS int `json:"mss"`
	// FragNeeded is true when a router answered "fragmentation needed"; NextHopMTU is the
	// MTU it named and FragFrom who sent it.
	FragNeeded bool   `json:"frag_needed"`
	NextHopMTU int    `json:"next_hop_mtu,omitempty"`
	FragFrom   string `json:"frag_from,omitempty"`
	// Blackhole is true when packets above MTU vanished without any fragmentation-needed
	// while smaller ones passed: TCP sessions will hang once they send full-size segments.
	Blackhole bool `json:"blackhole"`
	// Probes is how many DF probes were sent.
	Probes int    `json:"probes"`
	Method string `json:"method"`
	Detail string `json:"detail,omitempty"`
}

// ipv4Header + echoHeader is what an ICMP echo adds to its payload on the wire.
const ipv4Header = 20

// pmtuTries is how many times a size is sent before its silence counts: one lost packet must
// not pass for a black hole.
const pmtuTries = 2

// maxProbeWait bounds the wait for one probe's answer. The deadline is shared among the
// ~2*log2(Max-Min) probes of the search; half a second covers any terrestrial RTT.
const maxProbeWait = 500 * time.Millisecond

// PMTU finds the path MTU with ICMP echoes sent with Don't Fragment, by binary search between
// Min and Max. It finishes within the caller's deadline: each probe waits its share of it.
// The error wraps ErrPermission without an ICMP socket, ErrUnsupported where DF cannot be
// set, and ErrTimeout when not even a Min-size probe is answered (ICMP filtered: no MTU can
// be measured this way).
func PMTU(ctx context.Context, env *Env, req PMTURequest) (PMTUResult, error) {
	lo, hi, err := req.bounds()
	if err != nil {
		return PMTUResult{}, err
	}
	ctx, cancel := withDeadline(ctx)
	defer cancel()
	c, err := openPMTU(ctx, env, req)
	if err != nil {
		return PMTUResult{}, err
	}
	defer c.Close()
	stop := context.AfterFunc(ctx, func() { _ = c.SetReadDeadline(time.Unix(1, 0)) })
	defer stop()

	p := &pmtuSearch{c: c, ctx: ctx, env: env}
	steps := 2 + bitsLen(hi-lo)
	p.wait = min(maxProbeWait, remaining(ctx)/time.Duration(steps*pmtuTries+refTries-pmtuTries))
	res := PMTUResult{Method: c.Method()}

	if o := p.tryN(lo, refTries); o != fits {
		res.Probes = p.seq
		if o == tooBig {
			return PMTUResult{}, fmt.Errorf("%w: even a %d-byte packet does not fit (%s): lower Min", ErrUnreachable, lo, p.last.describe())
		}
		if cerr := cancelled(ctx); cerr != nil {
			return PMTUResult{}, cerr
		}
		return PMTUResult{}, fmt.Errorf("%w: no answer to a %d-byte probe (%s): it is filtered, the host is down or no responder listens, so the path MTU cannot be measured this way", ErrTimeout, lo, c.Method())
	}
	lo, silent := p.search(lo, hi, &res)
	if cerr := cancelled(ctx); cerr != nil {
		return PMTUResult{}, cerr
	}
	res.MTU, res.MSS, res.Probes = lo, lo-40, p.seq
	res.Blackhole = silent && !res.FragNeeded
	res.Detail = pmtuDetail(res, req)
	if ctx.Err() != nil {
		res.Detail += " (the deadline cut the search short: the MTU is a lower bound)"
	}
	return res, nil
}

// bounds are the sizes the search runs between: Min and Max, by default 576 and 1500.
func (req PMTURequest) bounds() (lo, hi int, err error) {
	lo, hi = req.Min, req.Max
	if lo == 0 {
		lo = 576
	}
	if hi == 0 {
		hi = 1500
	}
	if lo < ipv4Header+echoHeader+8 || hi > 65535 || lo > hi {
		return 0, 0, fmt.Errorf("%w: min %d / max %d: want 36 <= min <= max <= 65535", ErrInvalid, lo, hi)
	}
	return lo, hi, nil
}

// openPMTU opens the search's socket: DF echoes to the host (icmp), or DF datagrams to a
// netprobe UDP echo responder at host:port (udp).
func openPMTU(ctx context.Context, env *Env, req PMTURequest) (pmtuConn, error) {
	host, port, err := net.SplitHostPort(req.Address)
	if err != nil {
		host, port = req.Address, ""
	}
	switch strings.ToLower(req.Mode) {
	case "", "icmp":
		dst, err := resolveHost(ctx, env, host)
		if err != nil {
			return nil, err
		}
		ec, err := openEcho(ctx, dst, true)
		if err != nil {
			return nil, err
		}
		return icmpPMTUConn{ec}, nil
	case "udp":
		pn, perr := strconv.ParseUint(port, 10, 16)
		if perr != nil || pn == 0 {
			return nil, fmt.Errorf("%w: UDP path MTU needs host:port of a netprobe UDP echo responder, got %q", ErrInvalid, req.Address)
		}
		dst, err := resolveHost(ctx, env, host)
		if err != nil {
			return nil, err
		}
		return openUDPPMTU(ctx, netip.AddrPortFrom(dst, uint16(pn)))
	}
	return nil, fmt.Errorf("%w: mode %q: use icmp or udp", ErrInvalid, req.Mode)
}

// search finds the largest size that fits between lo (which does) and hi: hi first, then the
// next-hop MTU a fragmentation-needed names, then by halves. It notes a fragmentation-needed
// in res, and reports whether a probe vanished without one (silent).
func (p *pmtuSearch) search(lo, hi int, res *PMTUResult) (fit int, silent bool) {
	note := func(o outcome) {
		switch o {
		case tooBig:
			if p.last.Kind == echoFragNeeded {
				res.FragNeeded, res.NextHopMTU, res.FragFrom = true, p.last.MTU, p.last.From.String()
			}
		case silence:
			silent = true
		}
	}
	o := p.try(hi)
	if o == fits {
		return hi, false
	}
	note(o)
	// A fragmentation-needed names the next hop's MTU: try it first, it is usually the answer.
	if res.NextHopMTU > lo && res.NextHopMTU < hi {
		if o := p.try(res.NextHopMTU); o == fits {
			lo = res.NextHopMTU
		} else {
			note(o)
			hi = res.NextHopMTU
		}
	}
	for hi-lo > 1 && p.ctx.Err() == nil {
		mid := lo + (hi-lo)/2
		if o := p.try(mid); o == fits {
			lo = mid
		} else {
			note(o)
			hi = mid
		}
	}
	return lo, silent
}

// pmtuDetail says in a sentence what the search found.
func pmtuDetail(res PMTUResult, req PMTURequest) string {
	lo := res.MTU
	switch {
	case res.Blackhole:
		return fmt.Sprintf("packets above %d bytes vanish without any fragmentation-needed: an MTU black hole. Clamp TCP MSS to %d on the tunnel, or let ICMP type 3 code 4 through", lo, res.MSS)
	case res.FragNeeded:
		return fmt.Sprintf("path MTU %d (fragmentation-needed from %s named %d); TCP MSS %d", lo, res.FragFrom, res.NextHopMTU, res.MSS)
	case lo == req.Max || (req.Max == 0 && lo == 1500):
		return fmt.Sprintf("the largest probe (%d) fits", lo)
	}
	return fmt.Sprintf("path MTU %d; TCP MSS %d", lo, res.MSS)
}

type outcome int

const (
	fits outcome = iota + 1
	tooBig
	silence
)

var outcomeNames = [...]string{fits: "fits", tooBig: "too-big", silence: "silence"}

func (o outcome) String() string { return enumString(outcomeNames[:], int(o), "outcome") }

// pmtuConn sends DF probes of a given IPv4 packet size and reads their answers.
type pmtuConn interface {
	send(seq, size int) error
	recv(deadline time.Time) (echoEvent, error)
	SetReadDeadline(time.Time) error
	Method() string
	Close() error
}

type icmpPMTUConn struct{ *echoConn }

func (c icmpPMTUConn) send(seq, size int) error {
	return c.echoConn.send(seq, size-ipv4Header-echoHeader, 0)
}
func (c icmpPMTUConn) SetReadDeadline(t time.Time) error { return c.pc.SetReadDeadline(t) }
func (c icmpPMTUConn) Method() string                    { return "icmp-" + c.method }

type pmtuSearch struct {
	c    pmtuConn
	ctx  context.Context
	env  *Env
	wait time.Duration
	seq  int
	last echoEvent
}

// try sends a DF echo making an IPv4 packet of size bytes, up to pmtuTries times.
func (p *pmtuSearch) try(size int) outcome { return p.tryN(size, pmtuTries) }

// refTries: the smallest size must be answered before anything can be searched, and its
// silence ends the probe with an error, so it gets more chances than the search's steps (a
// loaded host can sit on two replies in a row).
const refTries = 4

// tryN is try with n attempts.
func (p *pmtuSearch) tryN(size, n int) outcome {
	for range n {
		if p.ctx.Err() != nil {
			return silence
		}
		p.seq++
		seq := p.seq
		err := p.c.send(seq, size)
		if errors.Is(err, syscall.EMSGSIZE) {
			// Larger than the local interface's MTU: the kernel refuses before sending.
			p.last = echoEvent{Kind: echoUnreachable}
			return tooBig
		}
		deadline := time.Now().Add(p.wait)
		for {
			ev, err := p.c.recv(deadline)
			if err != nil {
				break // silence for this try
			}
			if ev.Seq != seq&0xffff {
				continue // a late answer to an earlier probe
			}
			p.last = ev
			switch ev.Kind {
			case echoReply:
				return fits
			case echoFragNeeded:
				return tooBig
			}
			break // another ICMP error: treat as silence for this try
		}
	}
	return silence
}

func bitsLen(n int) int {
	b := 0
	for n > 0 {
		b++
		n >>= 1
	}
	return b
}
