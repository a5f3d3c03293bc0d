package bwtest

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"math"
	"net"
	"sync"
	"sync/atomic"
	"time"

	"golang.org/x/sync/errgroup"

	"github.com/netprobe/netprobe/internal/capacity"
	"github.com/netprobe/netprobe/internal/probes"
)

// Dialer opens one connection to the server's bandwidth endpoint.
type Dialer func(ctx context.Context) (net.Conn, error)

// TCPDialer dials address over TCP.
func TCPDialer(address string) Dialer {
	return func(ctx context.Context) (net.Conn, error) {
		var d net.Dialer
		return d.DialContext(ctx, "tcp", address)
	}
}

// queueMargin is kept from the caller's deadline beyond the test itself, for connecting and
// the server's answers over a slow path.
const queueMargin = 2 * time.Second

// newID draws a random test id: 64 bits, so a guess cannot join another's test.
func newID() string {
	var b [8]byte
	_, _ = rand.Read(b[:])
	return hex.EncodeToString(b[:])
}

// stream is one connection and its byte counter, written by its loop and read by the sampler.
type stream struct {
	conn  net.Conn
	bytes atomic.Int64
	// ended is set when the loop returns; err is written before it, so a reader that sees
	// ended may read err.
	ended atomic.Bool
	err   error
}

// Run performs one test against a server: it opens p.Streams connections with dial, waits
// until the server admits the test (a running test makes it queue), moves data in
// p.Direction for p.WarmUp + p.Duration, and reports the rates of the measured window. With
// p.LoadedEcho set it measures latency during the window too. ctx bounds everything, queueing
// included.
func Run(ctx context.Context, dial Dialer, p Params) (Result, error) {
	p, err := p.withDefaults()
	if err != nil {
		return Result{}, err
	}
	if p.TestID == "" {
		p.TestID = newID()
	}
	res := Result{TestID: p.TestID, Direction: p.Direction, Streams: p.Streams}
	h := header{Version: protocolVersion, Test: res.TestID, Streams: p.Streams, Dir: p.Direction, WarmUp: p.WarmUp, Duration: p.Duration}
	if dl, ok := ctx.Deadline(); ok {
		// Keep the test and a margin for the answer out of what may be spent queueing.
		h.Wait = max(time.Until(dl)-p.WarmUp-p.Duration-queueMargin, time.Millisecond)
	}

	streams := make([]*stream, p.Streams)
	defer func() {
		for _, st := range streams {
			if st != nil {
				st.conn.Close()
			}
		}
	}()
	if err := open(ctx, dial, h, streams); err != nil {
		return res, err
	}

	// Data flows from here. The loops stop when their connection is closed.
	var loops sync.WaitGroup
	for _, st := range streams {
		loops.Add(1)
		go func() {
			defer loops.Done()
			st.err = st.loop(p.Direction)
			st.ended.Store(true)
		}()
	}
	measureErr := measure(ctx, p, streams, &res)
	for _, st := range streams {
		st.conn.Close()
	}
	loops.Wait()
	if measureErr != nil {
		return res, measureErr
	}
	return res, nil
}

// open dials every stream and waits for the server's ack on each.
func open(ctx context.Context, dial Dialer, h header, streams []*stream) error {
	g, gctx := errgroup.WithContext(ctx)
	var mu sync.Mutex // guards streams
	for i := range streams {
		g.Go(func() error {
			conn, err := dial(gctx)
			if err != nil {
				if cause := deadlineCause(gctx); cause != nil {
					// A dropped SYN looks like this: say the deadline ended it, so callers
					// can tell a filtered port from a refusal.
					return fmt.Errorf("bandwidth stream %d: connect: %v: %w", i, err, cause)
				}
				return fmt.Errorf("bandwidth stream %d: connect: %w", i, err)
			}
			mu.Lock()
			streams[i] = &stream{conn: conn}
			mu.Unlock()
			// Close on cancel, so a queued wait for the ack ends with ctx.
			stop := context.AfterFunc(gctx, func() { conn.Close() })
			defer stop()
			hi := h
			hi.Stream = i
			b, _ := json.Marshal(hi)
			if _, err := conn.Write(append(b, '\n')); err != nil {
				return fmt.Errorf("bandwidth stream %d: send header: %w", i, err)
			}
			line, err := readLine(conn)
			if err != nil {
				if gctx.Err() != nil {
					return fmt.Errorf("bandwidth stream %d: waiting for the server to admit the test: %w", i, context.Cause(gctx))
				}
				return fmt.Errorf("%w: stream %d: no answer to the header (is this a netprobe bandwidth endpoint?): %v", ErrProtocol, i, err)
			}
			if err := parseAck(line); err != nil {
				return fmt.Errorf("stream %d: %w", i, err)
			}
			return nil
		})
	}
	return g.Wait()
}

// parseAck reads the server's answer to a header: nil when the test may start, else the
// refusal classified (ErrBusy, ErrLimit, ErrLimit and ErrTicket, or ErrProtocol).
func parseAck(line []byte) error {
	var a ack
	if err := json.Unmarshal(line, &a); err != nil {
		return fmt.Errorf("%w: bad answer %.100q", ErrProtocol, line)
	}
	if a.OK {
		return nil
	}
	kind := ErrProtocol
	switch a.Code {
	case "busy":
		kind = ErrBusy
	case "limit":
		kind = ErrLimit
	case "ticket":
		return fmt.Errorf("%w: %w: server says: %s", ErrLimit, ErrTicket, a.Error)
	}
	return fmt.Errorf("%w: server says: %s", kind, a.Error)
}

// deadlineCause is why ctx ended, or nil while it runs. A dial cut by ctx's deadline can
// return its own "i/o timeout" a moment before ctx's timer marks ctx done: a passed deadline
// counts as DeadlineExceeded already.
func deadlineCause(ctx context.Context) error {
	if ctx.Err() != nil {
		return context.Cause(ctx)
	}
	if dl, ok := ctx.Deadline(); ok && !time.Now().Before(dl) {
		return context.DeadlineExceeded
	}
	return nil
}

// loop moves data until the connection is closed, counting bytes. It allocates once.
func (st *stream) loop(dir Direction) error {
	buf := make([]byte, BufSize)
	for {
		var n int
		var err error
		if dir == Send {
			n, err = st.conn.Write(buf)
		} else {
			n, err = st.conn.Read(buf)
		}
		if n > 0 {
			st.bytes.Add(int64(n))
		}
		if err != nil {
			return err
		}
	}
}

// measure waits out the warm-up, then samples the counters every interval for the duration,
// filling res. It runs the loaded latency probe alongside the measured window.
func measure(ctx context.Context, p Params, streams []*stream, res *Result) error {
	if p.WarmUp > 0 {
		t := time.NewTimer(p.WarmUp)
		select {
		case <-ctx.Done():
			t.Stop()
			return fmt.Errorf("bandwidth test stopped during warm-up: %w", ctx.Err())
		case <-t.C:
		}
	}
	if err := streamsFailed(streams); err != nil {
		return err
	}

	var loaded chan probeOutcome
	loadedCtx, stopLoaded := context.WithCancel(ctx)
	defer stopLoaded()
	if p.LoadedEcho != "" {
		loaded = make(chan probeOutcome, 1)
		go func() {
			// Enough samples to outlast the window; the probe is stopped when the window ends.
			n := int(p.Duration/p.LoadedInterval) + 2
			r, err := probes.Latency(loadedCtx, p.LoadedEnv, probes.LatencyRequest{Address: p.LoadedEcho, Samples: min(n, probes.MaxLatencySamples), Interval: p.LoadedInterval})
			loaded <- probeOutcome{r, err}
		}()
	}

	snapshot, what := pickCounter(p.Direction, streams)
	res.Counted = what
	start := time.Now()
	first := snapshot(streams)
	prev, prevT := first, start
	tick := time.NewTicker(p.Interval)
	defer tick.Stop()
	end := time.NewTimer(p.Duration)
	defer end.Stop()
	for done := false; !done; {
		select {
		case <-ctx.Done():
			return fmt.Errorf("bandwidth test stopped after %v of %v: %w", time.Since(start).Round(time.Millisecond), p.Duration, ctx.Err())
		case <-tick.C:
		case <-end.C:
			done = true
		}
		now := time.Now()
		cur := snapshot(streams)
		el := now.Sub(prevT)
		// Skip a sliver of an interval at the end (the ticker and the end timer firing
		// together): its rate would be noise.
		if el >= p.Interval/10 {
			rate := rateOf(sum(cur)-sum(prev), el)
			res.Intervals = append(res.Intervals, float64(rate))
			if p.OnInterval != nil {
				p.OnInterval(len(res.Intervals), rate)
			}
		}
		prev, prevT = cur, now
		if err := streamsFailed(streams); err != nil && !done {
			return err
		}
	}
	stopLoaded()
	res.Window = prevT.Sub(start)
	res.Bytes = sum(prev) - sum(first)
	res.Rate = rateOf(res.Bytes, res.Window)
	res.PerStream = make([]capacity.BitsPerSecond, len(streams))
	for i := range streams {
		res.PerStream[i] = rateOf(prev[i]-first[i], res.Window)
	}
	if loaded != nil {
		o := <-loaded
		if o.res.Sent > 0 {
			r := o.res
			res.Loaded = &r
		}
		// Cancellation is how the window ends the probe, not a failure.
		if o.err != nil && !errors.Is(o.err, context.Canceled) {
			res.LoadedError = o.err.Error()
		}
	}
	return nil
}

type probeOutcome struct {
	res probes.LatencyResult
	err error
}

// streamsFailed reports a stream whose loop has ended early: its connection broke.
func streamsFailed(streams []*stream) error {
	// A loop ends only on an error, and Run closes the connections only after measuring, so
	// a loop that ended during the measurement lost its connection.
	for i, st := range streams {
		if st.ended.Load() {
			return fmt.Errorf("%w: stream %d of %d lost its connection: %v; check the path and the far agent's log", ErrStream, i, len(streams), st.err)
		}
	}
	return nil
}

// counter reads the streams' byte counts.
type counter func(streams []*stream) []int64

// pickCounter chooses what the test counts: received bytes when the client receives; bytes
// acknowledged by the server when the client sends and the OS says (Linux), else written bytes.
func pickCounter(dir Direction, streams []*stream) (counter, string) {
	written := func(streams []*stream) []int64 {
		s := make([]int64, len(streams))
		for i, st := range streams {
			s[i] = st.bytes.Load()
		}
		return s
	}
	if dir == Receive {
		return written, "received"
	}
	for _, st := range streams {
		if _, ok := ackedBytes(st.conn); !ok {
			return written, "written"
		}
	}
	return func(streams []*stream) []int64 {
		s := make([]int64, len(streams))
		for i, st := range streams {
			if n, ok := ackedBytes(st.conn); ok {
				s[i] = n
			}
		}
		return s
	}, "acked"
}

func sum(v []int64) int64 {
	var t int64
	for _, x := range v {
		t += x
	}
	return t
}

func rateOf(bytes int64, d time.Duration) capacity.BitsPerSecond {
	if d <= 0 {
		return 0
	}
	r := float64(bytes) * 8 / d.Seconds()
	if math.IsNaN(r) {
		return 0
	}
	return capacity.BitsPerSecond(r)
}
