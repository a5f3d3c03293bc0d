package probes

import (
	"context"
	"fmt"
	"net/netip"
	"strconv"
	"strings"
	"time"
)

// ScanRequest asks for several ports of one host at once.
type ScanRequest struct {
	// Proto is "tcp" (the default when empty) or "udp".
	Proto string
	// Host is a name or an address; it is resolved once for all ports.
	Host  string
	Ports []uint16
	// Source, Echo, Banner and Capture are PortRequest's, for every port.
	Source  string
	Echo    bool
	Banner  bool
	Capture bool
}

// MaxScanPorts bounds one scan: netprobe checks the handful of ports a flow needs; a sweep of
// thousands is nmap's job.
const MaxScanPorts = 512

// Scan waits for silence no longer than it must, as nmap does: every port is probed at once,
// and once some ports have answered (a SYN-ACK, a reset, an ICMP error from the host), the
// round-trip times they showed set a port's wait t (srtt + 4 rttvar, at least twice the
// slowest answer and ScanMinWait). A port still silent after t gets a second try, and both
// tries keep listening until 2t: an answer late for the first try still counts. Only then is
// the port filtered (open|filtered for UDP without an echo). When no port answers, every port
// gets the whole deadline, like a single Port probe. Results are in the order of req.Ports.
func Scan(ctx context.Context, env *Env, req ScanRequest) ([]PortResult, error) {
	proto := strings.ToLower(req.Proto)
	if proto == "" {
		proto = "tcp"
	}
	if proto != "tcp" && proto != "udp" {
		return nil, fmt.Errorf("%w: protocol %q: use tcp or udp", ErrInvalid, req.Proto)
	}
	if len(req.Ports) == 0 || len(req.Ports) > MaxScanPorts {
		return nil, fmt.Errorf("%w: %d ports: give 1 to %d (a wide sweep is nmap's job)", ErrInvalid, len(req.Ports), MaxScanPorts)
	}
	ctx, cancel := withDeadline(ctx)
	defer cancel()
	ip, err := resolveHost(ctx, env, req.Host)
	if err != nil {
		return nil, err
	}
	s := &scan{env: env, req: req, proto: proto, ip: ip, est: rttEstimator{floor: ScanMinWait, ceil: remaining(ctx)},
		ports: make([]scanPort, len(req.Ports)), out: make([]PortResult, len(req.Ports)),
		results: make(chan tryResult, 2*len(req.Ports))}
	if err := s.run(ctx); err != nil {
		return nil, err
	}
	return s.out, nil
}

// ScanMinWait is the least a silent port is waited for before its second try once others
// answered: well above a LAN's jitter and a VPN's round trip within a region. Both tries
// listen until twice that.
const ScanMinWait = 250 * time.Millisecond

// scan is one Scan's state, owned by its run loop.
type scan struct {
	env     *Env
	req     ScanRequest
	proto   string
	ip      netip.Addr
	est     rttEstimator
	icmp    int // answers that were ICMP errors: hosts rate-limit them
	ports   []scanPort
	out     []PortResult
	results chan tryResult
}

// scanPort is one port's tries.
type scanPort struct {
	start   time.Time
	cancels []context.CancelCauseFunc
	running int
	done    bool
	cutAt   time.Duration // > 0: silenced by the adaptive wait, after this long
}

type tryResult struct {
	i   int
	r   PortResult
	err error
}

// run starts every port's first try and drives the schedule until each port has its result.
func (s *scan) run(ctx context.Context) error {
	for i := range s.ports {
		s.ports[i].start = s.env.now()
		s.try(ctx, i)
	}
	tick := time.NewTicker(5 * time.Millisecond)
	defer tick.Stop()
	left := len(s.ports)
	var firstErr error
	for left > 0 {
		select {
		case tr := <-s.results:
			p := &s.ports[tr.i]
			p.running--
			if p.done {
				continue
			}
			switch {
			case tr.err != nil:
				s.finish(p, &left)
				if firstErr == nil {
					// The scan cannot run as asked (a source it cannot bind, no privilege):
					// stop every other port now rather than after the deadline.
					firstErr = tr.err
					for i := range s.ports {
						for _, c := range s.ports[i].cancels {
							c(nil)
						}
					}
				}
			case !isSilence(tr.r):
				s.out[tr.i] = tr.r
				s.learn(tr.r)
				s.finish(p, &left)
			case p.running == 0:
				// Every try is over and none answered.
				s.out[tr.i] = tr.r
				s.finish(p, &left)
				if p.cutAt > 0 {
					s.describeSilence(tr.i)
				}
			}
		case <-tick.C:
			if !s.est.ready() {
				continue
			}
			t := s.est.timeout()
			for i := range s.ports {
				p := &s.ports[i]
				if p.done || p.cutAt > 0 {
					continue
				}
				switch el := s.env.now().Sub(p.start); {
				case el >= 2*t:
					p.cutAt = 2 * t
					for _, c := range p.cancels {
						c(context.DeadlineExceeded)
					}
				case el >= t && len(p.cancels) == 1:
					s.try(ctx, i)
				}
			}
		}
	}
	if firstErr != nil {
		return fmt.Errorf("scan of %s stopped at its first failure: %w", s.ip, firstErr)
	}
	return cancelled(ctx)
}

// try starts one more try of port i.
func (s *scan) try(ctx context.Context, i int) {
	pctx, pcancel := context.WithCancelCause(ctx)
	p := &s.ports[i]
	p.cancels = append(p.cancels, pcancel)
	p.running++
	addr := netip.AddrPortFrom(s.ip, s.req.Ports[i]).String()
	go func() {
		r, err := Port(pctx, s.env, PortRequest{Proto: s.proto, Address: addr, Source: s.req.Source, Echo: s.req.Echo, Banner: s.req.Banner, Capture: s.req.Capture})
		s.results <- tryResult{i: i, r: r, err: err}
	}()
}

// finish ends a port: its other tries are stopped (they report back and are ignored).
func (s *scan) finish(p *scanPort, left *int) {
	p.done = true
	*left--
	for _, c := range p.cancels {
		c(nil)
	}
}

// learn feeds an answer's round trip to the estimator, unless a third party sent it: an ICMP
// error from a router or firewall near this end says nothing about the host's round trip.
func (s *scan) learn(r PortResult) {
	if r.ICMPFrom != "" {
		s.icmp++
		if from, err := netip.ParseAddr(r.ICMPFrom); err != nil || from != s.ip {
			return
		}
	}
	if r.RTT > 0 {
		s.est.add(r.RTT)
	}
}

// describeSilence says how long a port cut by the adaptive wait was listened to, and why.
func (s *scan) describeSilence(i int) {
	r := &s.out[i]
	what := "a firewall drops it"
	if r.State == OpenFiltered {
		what = "nothing to tell open from filtered without a responder there"
	}
	r.Detail = fmt.Sprintf("no answer to 2 tries within %s, while other ports of %s answered within %s - %s",
		roundMs(s.ports[i].cutAt), s.ip, roundMs(s.est.slowest()), what)
	if s.icmp > 0 {
		r.Detail += fmt.Sprintf("; %d of those answers were ICMP errors, which hosts and firewalls rate-limit (Linux: a burst of 6, then 1/s), so this port may be closed or rejected rather than dropped: probe it alone to tell", s.icmp)
	}
}

// roundMs rounds to the millisecond, or to the microsecond below one.
func roundMs(d time.Duration) time.Duration {
	if d < time.Millisecond {
		return d.Round(time.Microsecond)
	}
	return d.Round(time.Millisecond)
}

// isSilence: the probe saw nothing at all (no answer, no ICMP).
func isSilence(r PortResult) bool {
	return (r.State == Filtered && r.Reason == Timeout) || (r.State == OpenFiltered && r.Reason == NoResponse)
}

// ParsePorts reads a port list such as "443", "9443,9444" or "9440-9450,20004".
func ParsePorts(s string) ([]uint16, error) {
	var out []uint16
	seen := map[uint16]bool{}
	for part := range strings.SplitSeq(s, ",") {
		lo, hi, isRange := strings.Cut(strings.TrimSpace(part), "-")
		a, err := parsePort(lo)
		if err != nil {
			return nil, err
		}
		b := a
		if isRange {
			if b, err = parsePort(hi); err != nil {
				return nil, err
			}
			if b < a {
				return nil, fmt.Errorf("%w: port range %q runs backwards", ErrInvalid, part)
			}
		}
		for p := int(a); p <= int(b); p++ {
			if !seen[uint16(p)] {
				seen[uint16(p)] = true
				out = append(out, uint16(p))
			}
			if len(out) > MaxScanPorts {
				return nil, fmt.Errorf("%w: more than %d ports (a wide sweep is nmap's job)", ErrInvalid, MaxScanPorts)
			}
		}
	}
	return out, nil
}

func parsePort(s string) (uint16, error) {
	n, err := strconv.ParseUint(strings.TrimSpace(s), 10, 16)
	if err != nil || n == 0 {
		return 0, fmt.Errorf("%w: port %q: want a number from 1 to 65535", ErrInvalid, s)
	}
	return uint16(n), nil
}
