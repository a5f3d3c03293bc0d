package probes

import (
	"context"
	"fmt"
	"net/netip"
	"strconv"
	"strings"
	"sync"
	"time"
)

// ScanRequest asks for several ports of one host at once.
type ScanRequest struct {
	// Proto is "tcp" (the default when empty) or "udp".
	Proto string
	// Host is a name or an address; it is resolved once for all ports.
	Host  string
	Ports []uint16
	// Source, Echo and Banner are PortRequest's, for every port.
	Source string
	Echo   bool
	Banner bool
}

// MaxScanPorts bounds one scan: netprobe checks the handful of ports a flow needs; a sweep of
// thousands is nmap's job.
const MaxScanPorts = 512

// Scan waits for silence no longer than it must, as nmap does: every port is probed at once,
// and once some ports have answered (a SYN-ACK, a reset, an ICMP error), the round-trip times
// they showed bound the wait for the silent ones (srtt + 4 rttvar, at least twice the slowest
// answer and ScanMinWait). A silent port gets a second try with that wait before it counts as
// filtered (open|filtered for UDP without an echo). When no port answers, every port gets the
// whole deadline, like a single Port probe. Results are in the order of req.Ports.
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
	ip, err := resolveHost(ctx, req.Host)
	if err != nil {
		return nil, err
	}
	full := remaining(ctx)
	s := &scan{env: env, est: rttEstimator{floor: ScanMinWait, ceil: full}}
	out := make([]PortResult, len(req.Ports))
	todo := make([]int, len(req.Ports))
	for i := range todo {
		todo[i] = i
	}
	for try := 1; try <= 2 && len(todo) > 0; try++ {
		if try == 2 && (!s.est.ready() || remaining(ctx) < s.est.timeout()) {
			break // nothing answered, so the first try had the whole deadline; or no time left
		}
		if todo, err = s.round(ctx, req, proto, ip, todo, out); err != nil {
			return nil, err
		}
	}
	// What stayed silent says how long it was waited for.
	for _, i := range todo {
		if wait := s.waited[i]; wait > 0 && wait < full {
			r := &out[i]
			tries := "one try"
			if s.tries[i] > 1 {
				tries = fmt.Sprintf("%d tries", s.tries[i])
			}
			if r.State == Filtered {
				r.Detail = fmt.Sprintf("no answer to %s of %s each, while other ports of %s answered within %s - a firewall drops it",
					tries, roundMs(wait), ip, roundMs(s.est.slowest()))
			} else {
				r.Detail = fmt.Sprintf("no answer to %s of %s each, while other ports of %s answered within %s: nothing to tell open from filtered without a responder there",
					tries, roundMs(wait), ip, roundMs(s.est.slowest()))
			}
		}
	}
	return out, nil
}

// roundMs rounds to the millisecond, or to the microsecond below one.
func roundMs(d time.Duration) time.Duration {
	if d < time.Millisecond {
		return d.Round(time.Microsecond)
	}
	return d.Round(time.Millisecond)
}

// ScanMinWait is the least a silent port is waited for once others answered: well above a
// LAN's jitter, and below the second nmap waits at first.
const ScanMinWait = 250 * time.Millisecond

// scanParallel bounds the sockets open at once.
const scanParallel = 256

// scan is one Scan's shared state.
type scan struct {
	env    *Env
	mu     sync.Mutex
	est    rttEstimator
	waited map[int]time.Duration // how long each silent port was waited for, last try
	tries  map[int]int
}

// round probes the ports todo (indexes into req.Ports) once and returns those that stayed
// silent. A probe still waiting when the estimator's timeout has passed since it started is
// cut as if its deadline had come.
func (s *scan) round(ctx context.Context, req ScanRequest, proto string, ip netip.Addr, todo []int, out []PortResult) ([]int, error) {
	type flight struct {
		start  time.Time
		cancel context.CancelCauseFunc
	}
	var (
		wg       sync.WaitGroup
		inflight = map[int]flight{}
		silent   []int
		firstErr error
		sem      = make(chan struct{}, scanParallel)
		changed  = make(chan struct{}, 1)
	)
	s.mu.Lock()
	if s.waited == nil {
		s.waited, s.tries = map[int]time.Duration{}, map[int]int{}
	}
	s.mu.Unlock()
	done := make(chan struct{})
	go func() { // the cutter: ends probes that outwaited the others' round trips
		timer := time.NewTimer(time.Hour)
		defer timer.Stop()
		for {
			s.mu.Lock()
			next := time.Duration(-1)
			if s.est.ready() {
				limit := s.est.timeout()
				for _, f := range inflight {
					left := limit - time.Since(f.start)
					if left <= 0 {
						f.cancel(context.DeadlineExceeded)
					} else if next < 0 || left < next {
						next = left
					}
				}
			}
			s.mu.Unlock()
			if next < 0 {
				next = time.Hour
			}
			timer.Reset(next)
			select {
			case <-done:
				return
			case <-ctx.Done():
				return
			case <-changed:
			case <-timer.C:
			}
		}
	}()
	poke := func() {
		select {
		case changed <- struct{}{}:
		default:
		}
	}
	for _, i := range todo {
		select {
		case sem <- struct{}{}:
		case <-ctx.Done():
		}
		if ctx.Err() != nil {
			break
		}
		pctx, pcancel := context.WithCancelCause(ctx)
		s.mu.Lock()
		inflight[i] = flight{start: time.Now(), cancel: pcancel}
		s.tries[i]++
		s.mu.Unlock()
		poke()
		wg.Go(func() {
			defer func() { <-sem }()
			addr := netip.AddrPortFrom(ip, req.Ports[i]).String()
			r, err := Port(pctx, s.env, PortRequest{Proto: proto, Address: addr, Source: req.Source, Echo: req.Echo, Banner: req.Banner})
			cut := context.Cause(pctx) == context.DeadlineExceeded && ctx.Err() == nil
			s.mu.Lock()
			delete(inflight, i)
			switch {
			case err != nil:
				if firstErr == nil {
					firstErr = err
				}
			case isSilence(r):
				silent = append(silent, i)
				s.waited[i] = 0 // the whole deadline: Port's own words stand
				if cut {
					s.waited[i] = s.est.timeout()
				}
				out[i] = r
			default:
				if r.RTT > 0 {
					s.est.add(r.RTT)
				}
				out[i] = r
			}
			s.mu.Unlock()
			pcancel(nil)
			poke()
		})
	}
	wg.Wait()
	close(done)
	if firstErr != nil {
		return nil, firstErr
	}
	if cerr := cancelled(ctx); cerr != nil {
		return nil, cerr
	}
	// Keep the order of the request for the next round.
	order := make(map[int]bool, len(silent))
	for _, i := range silent {
		order[i] = true
	}
	next := silent[:0]
	for _, i := range todo {
		if order[i] {
			next = append(next, i)
		}
	}
	return next, nil
}

// isSilence: the probe saw nothing at all (no answer, no ICMP).
func isSilence(r PortResult) bool {
	return (r.State == Filtered && r.Reason == Timeout) || (r.State == OpenFiltered && r.Reason == NoResponse)
}

// rttEstimator is TCP's smoothed round-trip time (RFC 6298), which nmap uses for its probe
// timeout too.
type rttEstimator struct {
	n            int
	srtt, rttvar time.Duration
	slow         time.Duration // the slowest answer
	floor, ceil  time.Duration // bounds of the timeout
}

func (e *rttEstimator) ready() bool { return e.n > 0 }

func (e *rttEstimator) add(rtt time.Duration) {
	if e.n == 0 {
		e.srtt, e.rttvar = rtt, rtt/2
	} else {
		d := e.srtt - rtt
		if d < 0 {
			d = -d
		}
		e.rttvar = (3*e.rttvar + d) / 4
		e.srtt = (7*e.srtt + rtt) / 8
	}
	e.n++
	e.slow = max(e.slow, rtt)
}

func (e *rttEstimator) slowest() time.Duration { return e.slow }

// timeout is how long a silent probe is waited for.
func (e *rttEstimator) timeout() time.Duration {
	return min(max(e.srtt+4*e.rttvar, 2*e.slow, e.floor), e.ceil)
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
