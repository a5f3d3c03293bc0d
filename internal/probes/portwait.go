package probes

import (
	"context"
	"fmt"
	"net/netip"
	"time"
)

// A TCP probe with AdaptiveWait does not wait the whole deadline for a port that stays
// silent when the same host shows, at the same moment and over the same path, how fast it
// answers:
//
//  1. the first try's SYN goes out at once; an answer (SYN-ACK, reset, ICMP error) ends the
//     probe as without AdaptiveWait;
//  2. still silent after the floor (ScanMinWait), a connection is opened to each of
//     RefPorts, ports of the host known to be open (its netprobe agent's);
//  3. when one of them completes its handshake in R, the wait t is the estimator's
//     (rttwait.go: 3R for one answer, at least twice the slowest answer and the floor), and
//     a second try goes out;
//  4. both tries keep listening until t after the second one left. Only then is the port
//     filtered, and its Detail says so.
//
// The whole deadline stays the upper bound, and is what a probe waits when no reference
// answers (a firewall drops those too, or no port is known). A port is therefore called
// filtered early only when it stayed silent for the floor, plus a round trip of the host's
// own open port asked after that floor, plus t >= max(3R, floor): an answer delayed on the
// path (a slow VPN, a router queueing SYN-ACKs) delays the reference the same way and
// lengthens the wait with it.

// portWaitFloor is the least silence before references are asked and the least wait after
// the second try: ScanMinWait, above a LAN's jitter and a VPN's round trip within a region.
const portWaitFloor = ScanMinWait

// tcpTryResult is one try's outcome.
type tcpTryResult struct {
	try int // 0: the first, 1: the second
	res PortResult
	w   *portWatch
	err error
}

// portWait is one adaptive TCP probe's state, owned by its run loop.
type portWait struct {
	env   *Env
	req   PortRequest
	src   netip.Addr
	dst   netip.AddrPort
	floor time.Duration
	est   rttEstimator

	tries   chan tcpTryResult
	cancels []context.CancelCauseFunc
	running int
	refs    chan refAnswer
	refPort uint16 // the first reference that answered, for Detail
}

// refAnswer is how long a reference port's handshake took; 0 when it did not complete.
type refAnswer struct {
	port uint16
	rtt  time.Duration
}

// portTCPAdaptive probes a TCP port with AdaptiveWait. The watch returned is the one of the
// try whose result is returned (nil with an injected Dial), the others are stopped.
func portTCPAdaptive(ctx context.Context, env *Env, req PortRequest, src netip.Addr, dst netip.AddrPort) (PortResult, *portWatch, error) {
	pw := &portWait{env: env, req: req, src: src, dst: dst, floor: portWaitFloor,
		est:   rttEstimator{floor: portWaitFloor, ceil: remaining(ctx)},
		tries: make(chan tcpTryResult, 2), refs: make(chan refAnswer, len(req.RefPorts))}
	return pw.run(ctx)
}

func (pw *portWait) run(ctx context.Context) (PortResult, *portWatch, error) {
	start := pw.env.now()
	pw.try(ctx, 0)
	floor := time.NewTimer(pw.floor)
	defer floor.Stop()
	var cut <-chan time.Time // set once the second try is out
	var cutAt time.Duration
	var silent *tcpTryResult // a try that ended silent while another still listens
	for {
		select {
		case tr := <-pw.tries:
			pw.running--
			if tr.err != nil || !isSilence(tr.res) || pw.running == 0 {
				return pw.finish(tr, silent, cutAt)
			}
			if silent == nil {
				silent = &tr
			} else {
				silent.w.stop()
			}
		case <-floor.C:
			pw.askReferences(ctx)
		case ra := <-pw.refs:
			if ra.rtt <= 0 || cut != nil {
				continue
			}
			pw.est.add(ra.rtt)
			pw.refPort = ra.port
			// The second try leaves now: the port has been silent for the floor and a round
			// trip of the host's own open port. Both listen for t more.
			pw.try(ctx, 1)
			wait := min(pw.est.timeout(), remaining(ctx))
			cutAt = pw.env.now().Sub(start) + wait
			t := time.NewTimer(wait)
			defer t.Stop()
			cut = t.C
		case <-cut:
			for _, c := range pw.cancels {
				c(context.DeadlineExceeded)
			}
			cut = nil
		}
	}
}

// try starts try n with its own watch and its own cancel.
func (pw *portWait) try(ctx context.Context, n int) {
	tctx, cancel := context.WithCancelCause(ctx)
	pw.cancels = append(pw.cancels, cancel)
	pw.running++
	go func() {
		var w *portWatch
		if pw.env == nil || pw.env.Dial == nil {
			w = &portWatch{}
		}
		res, err := portTCP(tctx, pw.env, pw.req, pw.src, pw.dst, w)
		pw.tries <- tcpTryResult{try: n, res: res, w: w, err: err}
	}()
}

// askReferences opens a connection to each reference port of the host, at most until the
// probe's deadline, and sends how long each handshake took (0: it did not complete).
func (pw *portWait) askReferences(ctx context.Context) {
	for _, p := range pw.req.RefPorts {
		if p == pw.dst.Port() {
			continue // the port under test is no reference for itself
		}
		ref := netip.AddrPortFrom(pw.dst.Addr(), p)
		go func() {
			rtt, ok := pw.handshake(ctx, ref)
			if !ok {
				rtt = 0
			}
			pw.refs <- refAnswer{port: p, rtt: rtt}
		}()
	}
}

// handshake connects to ref and closes at once: how long the SYN took to be answered.
func (pw *portWait) handshake(ctx context.Context, ref netip.AddrPort) (time.Duration, bool) {
	start := pw.env.now()
	if pw.env != nil && pw.env.Dial != nil {
		c, err := pw.env.Dial(ctx, "tcp", ref.String())
		if err != nil {
			return 0, false
		}
		rtt := pw.env.now().Sub(start)
		c.Close()
		return max(rtt, 1), true
	}
	c, _, err := dialTCP(ctx, pw.src, ref, nil)
	if err != nil {
		return 0, false
	}
	rtt := pw.env.now().Sub(start)
	c.Close()
	return max(rtt, 1), true
}

// finish returns the result of tr, the try that ended the probe; silent is a try that had
// ended silent before it. A port cut by the adaptive wait says how long it was listened to.
func (pw *portWait) finish(tr tcpTryResult, silent *tcpTryResult, cutAt time.Duration) (PortResult, *portWatch, error) {
	for _, c := range pw.cancels {
		c(nil)
	}
	// The other try reports back and is dropped; its watch is stopped.
	go func(n int) {
		for range n {
			if o := <-pw.tries; o.w != nil {
				o.w.stop()
			}
		}
	}(pw.running)
	if silent != nil && tr.err == nil && isSilence(tr.res) {
		// Both tries silent: the first try's flow is the evidence of the probe.
		tr.w.stop()
		tr = *silent
	} else if silent != nil {
		silent.w.stop()
	}
	if tr.err == nil && isSilence(tr.res) && cutAt > 0 {
		tr.res.Waited, tr.res.HostRTT = cutAt, pw.est.slowest()
		tr.res.Detail = fmt.Sprintf("no answer to 2 tries within %s, while port %d of the host answered in %s - a firewall drops it",
			roundMs(cutAt), pw.refPort, roundMs(pw.est.slowest()))
	}
	return tr.res, tr.w, tr.err
}
