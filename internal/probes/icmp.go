package probes

import (
	"context"
	"fmt"
	"slices"
	"time"
)

// ICMPRequest asks for a series of ICMP echoes (ping).
type ICMPRequest struct {
	// Address is a host name or IPv4 address.
	Address string `json:"address"`
	// Count is how many echoes to send; 0 means DefaultICMPCount.
	Count int `json:"count,omitempty"`
	// Interval separates the echoes; 0 means DefaultICMPInterval.
	Interval time.Duration `json:"interval_ns,omitempty"`
	// Size is the echo payload in bytes (the IPv4 packet is Size+28); 0 means 56, as ping.
	Size int `json:"size,omitempty"`
	// DF sets Don't Fragment (Linux, Windows).
	DF bool `json:"df,omitempty"`
}

// ICMPResult is what came back.
type ICMPResult struct {
	Address  string `json:"address"`
	Sent     int    `json:"sent"`
	Received int    `json:"received"`
	// Loss is the fraction of echoes without a reply, 0..1.
	Loss float64 `json:"loss"`
	// RTTs holds one round-trip time per reply, in the order sent.
	RTTs []time.Duration `json:"rtts_ns,omitempty"`
	Min  time.Duration   `json:"min_ns,omitempty"`
	Avg  time.Duration   `json:"avg_ns,omitempty"`
	Max  time.Duration   `json:"max_ns,omitempty"`
	// Errors counts ICMP errors that answered instead of a reply, by kind and sender
	// ("host-unreachable from 10.0.0.1").
	Errors []string `json:"errors,omitempty"`
	// Method is "ping-socket" (unprivileged), "raw", or "iphlpapi" (Windows IcmpSendEcho2).
	Method string `json:"method"`
	Detail string `json:"detail,omitempty"`
}

// ICMP defaults, those of ping(8) except the interval: 200 ms is the fastest interval ping
// lets an unprivileged user choose and keeps a 4-echo probe under a second.
const (
	DefaultICMPCount    = 4
	DefaultICMPInterval = 200 * time.Millisecond
	defaultICMPSize     = 56
)

// ICMP sends Count echoes Interval apart and waits for the replies until the deadline (or
// until every echo is answered). The error wraps ErrPermission when neither a ping socket nor
// a raw socket is allowed: the caller reports "skip" with that reason.
func ICMP(ctx context.Context, env *Env, req ICMPRequest) (ICMPResult, error) {
	req, err := req.withDefaults()
	if err != nil {
		return ICMPResult{}, err
	}
	ctx, cancel := withDeadline(ctx)
	defer cancel()
	dst, err := resolveHost(ctx, env, req.Address)
	if err != nil {
		return ICMPResult{}, err
	}
	// Windows: the ICMP helper API, which needs no administrator (icmp_windows.go).
	if res, ok, err := nativeICMP(ctx, env, req, dst); ok {
		return res, err
	}
	c, err := openEcho(ctx, dst, req.DF)
	if err != nil {
		return ICMPResult{}, err
	}
	defer c.Close()
	events, readDone := readEchoes(ctx, c)
	defer func() { c.Close(); <-readDone }()

	e := echoes{env: env, c: c, req: req, res: ICMPResult{Address: dst.String(), Method: c.method},
		sentAt: make([]time.Time, req.Count), rtts: make([]time.Duration, req.Count), got: make([]bool, req.Count), errs: map[string]int{}}
	e.run(ctx, events)
	if cerr := cancelled(ctx); cerr != nil {
		return ICMPResult{}, cerr
	}
	return e.result(), nil
}

// withDefaults fills in ping(8)'s count and size and the default interval, and refuses a
// request out of range.
func (req ICMPRequest) withDefaults() (ICMPRequest, error) {
	if req.Count <= 0 {
		req.Count = DefaultICMPCount
	}
	if req.Interval <= 0 {
		req.Interval = DefaultICMPInterval
	}
	if req.Size <= 0 {
		req.Size = defaultICMPSize
	}
	if req.Count > 1000 || req.Size > 65507-echoHeader {
		return req, fmt.Errorf("%w: count %d / size %d out of range (count <= 1000, size <= 65499)", ErrInvalid, req.Count, req.Size)
	}
	return req, nil
}

// readEchoes reads c until it fails (closed, or the deadline) and hands each event over until
// ctx ends; readDone closes when the reader is gone.
func readEchoes(ctx context.Context, c *echoConn) (events <-chan echoEvent, readDone <-chan struct{}) {
	ch := make(chan echoEvent)
	done := make(chan struct{})
	dl, _ := ctx.Deadline()
	go func() {
		defer close(done)
		for {
			ev, err := c.recv(dl)
			if err != nil {
				return
			}
			select {
			case ch <- ev:
			case <-ctx.Done():
				return
			}
		}
	}()
	return ch, done
}

// echoes is one ICMP probe under way: when each echo left, which came back and how fast, and
// the ICMP errors that came instead (by text, counted).
type echoes struct {
	env    *Env
	c      *echoConn
	req    ICMPRequest
	res    ICMPResult
	sentAt []time.Time
	rtts   []time.Duration
	got    []bool
	errs   map[string]int
}

// run sends the echoes Interval apart and takes the answers until every echo was answered,
// one way or the other, or ctx ends.
func (e *echoes) run(ctx context.Context, events <-chan echoEvent) {
	tick := time.NewTicker(e.req.Interval)
	defer tick.Stop()
	e.send()
	for e.res.Received < e.req.Count {
		select {
		case <-ctx.Done():
			return
		case <-tick.C:
			if e.res.Sent < e.req.Count {
				e.send()
			}
		case ev := <-events:
			e.answer(ev)
		}
		if e.res.Sent == e.req.Count && len(e.errs) > 0 && e.res.Received+sumCounts(e.errs) >= e.req.Count {
			return // every echo answered one way or the other
		}
	}
}

func (e *echoes) send() {
	seq := e.res.Sent
	e.sentAt[seq] = e.env.now()
	e.res.Sent++
	if err := e.c.send(seq, e.req.Size, 0); err != nil {
		e.errs[sendErrText(err)]++
	}
}

// answer takes one event: a reply to an echo sent (the first one counts), or an ICMP error.
func (e *echoes) answer(ev echoEvent) {
	if ev.Seq < 0 || ev.Seq >= e.res.Sent {
		return
	}
	if ev.Kind != echoReply {
		e.errs[ev.describe()]++
		return
	}
	if e.got[ev.Seq] {
		return
	}
	e.got[ev.Seq] = true
	// The reader stamped the reply as it read it; the hop through the channel to this loop
	// is not part of the round trip. An injected clock (tests) is used as it is.
	rtt := e.env.now().Sub(e.sentAt[ev.Seq])
	if e.env == nil || e.env.Now == nil {
		// A kernel receive time has no monotonic reading: use it only when it is consistent
		// (a wall-clock step would make it odd).
		if k := ev.At.Sub(e.sentAt[ev.Seq]); !ev.At.IsZero() && k > 0 && k <= rtt {
			rtt = k
		}
	}
	e.rtts[ev.Seq] = rtt
	e.res.Received++
}

// result sums the echoes up: round trips in send order, loss, the errors, a detail line.
func (e *echoes) result() ICMPResult {
	res := e.res
	for i := range res.Sent {
		if e.got[i] {
			res.RTTs = append(res.RTTs, e.rtts[i])
		}
	}
	res.Loss = 1 - float64(res.Received)/float64(e.req.Count)
	if len(res.RTTs) > 0 {
		var sum time.Duration
		for _, r := range res.RTTs {
			sum += r
		}
		res.Min, res.Max, res.Avg = slices.Min(res.RTTs), slices.Max(res.RTTs), sum/time.Duration(len(res.RTTs))
	}
	for k, n := range e.errs {
		res.Errors = append(res.Errors, fmt.Sprintf("%dx %s", n, k))
	}
	slices.Sort(res.Errors)
	res.Detail = fmt.Sprintf("%d/%d replies", res.Received, e.req.Count)
	if res.Sent < e.req.Count {
		res.Detail += fmt.Sprintf(" (only %d sent before the deadline: lower Count or Interval)", res.Sent)
	}
	return res
}

func sumCounts(m map[string]int) int {
	n := 0
	for _, v := range m {
		n += v
	}
	return n
}

func sendErrText(err error) string { return "send failed: " + err.Error() }

func (ev echoEvent) describe() string {
	from := ev.From.String()
	switch ev.Kind {
	case echoTimeExceeded:
		return "ttl-exceeded from " + from
	case echoFragNeeded:
		return fmt.Sprintf("frag-needed (mtu %d) from %s", ev.MTU, from)
	case echoUnreachable:
		_, r := icmpError{Type: 3, Code: ev.Code}.classify("icmp")
		return r.String() + " from " + from
	}
	return "reply from " + from
}
