package probes

import (
	"bytes"
	"context"
	"crypto/rand"
	"encoding/binary"
	"errors"
	"fmt"
	"math"
	"net"
	"slices"
	"sync"
	"syscall"
	"time"

	"github.com/netprobe/netprobe/internal/result"
)

// Latency defaults. The sample count and interval follow ping's habit (a few seconds of
// samples); the per-sample timeout is long enough for a satellite or a congested VPN
// (~600 ms) and short enough that a lost sample does not stall a check.
const (
	DefaultLatencySamples  = 20
	DefaultLatencyInterval = 200 * time.Millisecond
	DefaultLatencyTimeout  = time.Second
	// MaxLatencySamples bounds one request, so a coordinator cannot make an agent send forever.
	MaxLatencySamples = 100000
	// latencyMinSize fits the header; latencyMaxSize stays below a 1280-byte IPv6 minimum MTU
	// with the responder's prefix, so latency never measures fragmentation.
	latencyMinSize = latencyHeader
	latencyMaxSize = 1200
)

// The latency payload: magic, a random run id (so replies to an earlier run on the same port are
// ignored), the sequence number and the send time in nanoseconds since the run started. The
// reply carries them back, so a late, duplicated or reordered reply is matched to its own
// sample without any state keyed on arrival order.
//
//	"NPL1" | run id (8) | seq (4, big endian) | sent_ns (8, big endian) | padding
var latencyMagic = []byte("NPL1")

const latencyHeader = 4 + 8 + 4 + 8

// LatencyRequest asks for RTT samples by UDP echo to a responder (probes.ServeUDPEcho or an
// agent's echo endpoint) at Address.
type LatencyRequest struct {
	// Address is host:port of the UDP echo responder.
	Address string `json:"address"`
	// Source is the local IP to send from; empty lets the route table choose.
	Source string `json:"source,omitempty"`
	// Samples is how many probes to send (default DefaultLatencySamples).
	Samples int `json:"samples,omitempty"`
	// Interval is the gap between sends (default DefaultLatencyInterval).
	Interval time.Duration `json:"interval_ns,omitempty"`
	// Timeout is how long one sample may take; a reply after it counts as lost (and Late).
	Timeout time.Duration `json:"timeout_ns,omitempty"`
	// Size is the UDP payload size in bytes (default and minimum 24, at most 1200).
	Size int `json:"size,omitempty"`
}

// LatencyResult is what came back. RTTs holds one entry per received sample in sequence order;
// Sent - Received is the loss.
type LatencyResult struct {
	RTTs     []time.Duration `json:"rtts_ns"`
	Sent     int             `json:"sent"`
	Received int             `json:"received"`
	// Late counts replies that arrived after their sample's timeout (counted as lost).
	Late int `json:"late,omitempty"`
	// Duplicates counts extra replies to a sample already answered.
	Duplicates int `json:"duplicates,omitempty"`
	// Reordered counts replies that arrived after a reply to a later sample.
	Reordered int `json:"reordered,omitempty"`
	// SourceIP is the local address used; ObservedSource what the responder saw (NAT shows as
	// a difference).
	SourceIP       string `json:"source_ip,omitempty"`
	ObservedSource string `json:"observed_source,omitempty"`
}

// Stats summarises the result.
func (r LatencyResult) Stats() LatencyStats { return ComputeLatencyStats(r.RTTs, r.Sent) }

// LatencyStats are the figures results.md reports for a latency check.
type LatencyStats struct {
	Samples int           `json:"samples"`
	Loss    float64       `json:"loss"`
	Min     time.Duration `json:"min_ns"`
	P50     time.Duration `json:"p50_ns"`
	P90     time.Duration `json:"p90_ns"`
	P95     time.Duration `json:"p95_ns"`
	P99     time.Duration `json:"p99_ns"`
	Max     time.Duration `json:"max_ns"`
	Jitter  time.Duration `json:"jitter_ns"`
}

// ComputeLatencyStats computes the statistics of rtts (in sequence order) out of sent probes.
//
// Percentiles use the nearest-rank method: the p-th percentile is the smallest sample such that
// at least p % of samples are <= it, i.e. sorted[ceil(p/100*n)-1]. It always returns a measured
// value (never an interpolation between two), which is what a user comparing with ping expects.
// Jitter is the mean absolute difference between consecutive samples (RFC 3550's D(i-1,i),
// averaged rather than exponentially smoothed, since the whole series is known). Loss is
// (sent - len(rtts)) / sent, 0 when nothing was sent.
func ComputeLatencyStats(rtts []time.Duration, sent int) LatencyStats {
	s := LatencyStats{Samples: len(rtts)}
	if sent > 0 {
		s.Loss = float64(max(0, sent-len(rtts))) / float64(sent)
	}
	if len(rtts) == 0 {
		return s
	}
	sorted := slices.Clone(rtts)
	slices.Sort(sorted)
	rank := func(p float64) time.Duration {
		i := int(math.Ceil(p/100*float64(len(sorted)))) - 1
		return sorted[max(0, min(i, len(sorted)-1))]
	}
	s.Min, s.Max = sorted[0], sorted[len(sorted)-1]
	s.P50, s.P90, s.P95, s.P99 = rank(50), rank(90), rank(95), rank(99)
	if len(rtts) > 1 {
		var sum time.Duration
		for i := 1; i < len(rtts); i++ {
			d := rtts[i] - rtts[i-1]
			if d < 0 {
				d = -d
			}
			sum += d
		}
		s.Jitter = sum / time.Duration(len(rtts)-1)
	}
	return s
}

// Metrics returns the stats under results.md's latency keys (milliseconds), prefixed for the
// loaded variant ("loaded_").
func (s LatencyStats) Metrics(prefix string) map[string]any {
	// To the nanosecond, unlike result.Millis: loopback latencies of a few microseconds keep
	// their digits.
	ms := func(d time.Duration) float64 { return float64(d) / float64(time.Millisecond) }
	return map[string]any{
		prefix + result.MetricSamples: s.Samples, prefix + result.MetricLoss: s.Loss,
		prefix + result.MetricMinMS: ms(s.Min), prefix + result.MetricP50MS: ms(s.P50), prefix + result.MetricP90MS: ms(s.P90),
		prefix + result.MetricP95MS: ms(s.P95), prefix + result.MetricP99MS: ms(s.P99), prefix + result.MetricMaxMS: ms(s.Max),
		prefix + result.MetricJitterMS: ms(s.Jitter),
	}
}

func (req LatencyRequest) withDefaults() (LatencyRequest, error) {
	if req.Samples == 0 {
		req.Samples = DefaultLatencySamples
	}
	if req.Interval == 0 {
		req.Interval = DefaultLatencyInterval
	}
	if req.Timeout == 0 {
		req.Timeout = DefaultLatencyTimeout
	}
	if req.Size == 0 {
		req.Size = latencyMinSize
	}
	switch {
	case req.Address == "":
		return req, errors.New("latency: no address: give the far agent's UDP echo host:port")
	case req.Samples < 0 || req.Samples > MaxLatencySamples:
		return req, fmt.Errorf("latency: %d samples: use 1..%d", req.Samples, MaxLatencySamples)
	case req.Interval < 0 || req.Timeout < 0:
		return req, errors.New("latency: interval and timeout must be positive")
	case req.Size < latencyMinSize || req.Size > latencyMaxSize:
		return req, fmt.Errorf("latency: payload size %d: use %d..%d bytes", req.Size, latencyMinSize, latencyMaxSize)
	}
	return req, nil
}

// latencyRun is the state shared by the sender and the reader. mu guards every field below it.
type latencyRun struct {
	id    [8]byte
	start time.Time
	env   *Env
	req   LatencyRequest

	mu       sync.Mutex
	rtt      []time.Duration // by seq; -1 = not (yet) answered
	sentN    int
	received int
	late     int
	dups     int
	reorder  int
	maxSeq   int
	refused  int
	observed string
	allIn    chan struct{} // closed when every sent sample is answered and sending is over
	done     bool
}

// Latency sends req.Samples UDP datagrams at req.Interval to a responder and measures each
// round trip. Replies are matched by sequence number and send time carried in the payload, so
// late, duplicated and reordered replies are counted correctly. Loss is a measurement, not an
// error: 100 % loss returns a result with Received 0 and no error. It returns an error wrapping
// ErrRefused when every reply was an ICMP port unreachable (nothing listens there), and, when
// ctx ends before the last sample, the partial result together with an error wrapping
// ErrTimeout.
func Latency(ctx context.Context, env *Env, req LatencyRequest) (LatencyResult, error) {
	req, err := req.withDefaults()
	if err != nil {
		return LatencyResult{}, err
	}
	conn, err := latencyDial(ctx, env, req)
	if err != nil {
		return LatencyResult{}, classifyLatencyErr(err, req.Address)
	}
	defer conn.Close()

	run := &latencyRun{env: env, req: req, start: env.now(), rtt: make([]time.Duration, req.Samples), maxSeq: -1, allIn: make(chan struct{})}
	for i := range run.rtt {
		run.rtt[i] = -1
	}
	_, _ = rand.Read(run.id[:])

	readerDone := make(chan struct{})
	go func() {
		defer close(readerDone)
		run.read(conn)
	}()

	stopped := run.send(ctx, conn)
	if stopped == nil {
		// Wait for the last sample's timeout or for every reply, whichever is first.
		t := time.NewTimer(req.Timeout)
		select {
		case <-run.allIn:
		case <-t.C:
		case <-ctx.Done():
		}
		t.Stop()
	}
	conn.Close()
	<-readerDone

	res := run.result(conn)
	if stopped != nil {
		return res, fmt.Errorf("%w: latency to %s stopped after %d of %d samples: %w", ErrTimeout, req.Address, res.Sent, req.Samples, stopped)
	}
	if res.Received == 0 && run.refused > 0 {
		return res, fmt.Errorf("%w: %s answered with ICMP port unreachable: no echo responder listens there; start the far agent or open its echo port", ErrRefused, req.Address)
	}
	return res, nil
}

func latencyDial(ctx context.Context, env *Env, req LatencyRequest) (net.Conn, error) {
	if env != nil && env.Dial != nil {
		return env.Dial(ctx, "udp", req.Address)
	}
	// A connected socket, so the kernel reports ICMP port unreachable as ECONNREFUSED.
	d := net.Dialer{Resolver: env.resolver()}
	if req.Source != "" {
		ip := net.ParseIP(req.Source)
		if ip == nil {
			return nil, fmt.Errorf("latency: source %q is not an IP address", req.Source)
		}
		d.LocalAddr = &net.UDPAddr{IP: ip}
	}
	return d.DialContext(ctx, "udp", req.Address)
}

func classifyLatencyErr(err error, addr string) error {
	switch {
	case errors.Is(err, syscall.ENETUNREACH), errors.Is(err, syscall.EHOSTUNREACH):
		return fmt.Errorf("%w: no route to %s: check the route table toward the far site: %w", ErrUnreachable, addr, err)
	case errors.Is(err, syscall.EACCES), errors.Is(err, syscall.EPERM):
		return fmt.Errorf("%w: sending to %s: %w", ErrPermission, addr, err)
	case errors.Is(err, context.DeadlineExceeded):
		return fmt.Errorf("%w: latency to %s: %w", ErrTimeout, addr, err)
	}
	return fmt.Errorf("latency to %s: %w", addr, err)
}

// send writes one probe per interval. It returns ctx's error if ctx ended before the last send.
func (r *latencyRun) send(ctx context.Context, conn net.Conn) error {
	buf := make([]byte, r.req.Size)
	copy(buf, latencyMagic)
	copy(buf[4:], r.id[:])
	tick := time.NewTicker(max(r.req.Interval, time.Microsecond))
	defer tick.Stop()
	for seq := 0; seq < r.req.Samples; seq++ {
		if seq > 0 {
			select {
			case <-ctx.Done():
				return ctx.Err()
			case <-tick.C:
			}
		} else if err := ctx.Err(); err != nil {
			return err
		}
		binary.BigEndian.PutUint32(buf[12:], uint32(seq))
		binary.BigEndian.PutUint64(buf[16:], uint64(r.env.now().Sub(r.start)))
		r.mu.Lock()
		r.sentN++
		r.mu.Unlock()
		// A failed write (ICMP error from an earlier probe, a full buffer) loses this sample
		// and nothing else: loss is what we measure.
		_, _ = conn.Write(buf)
	}
	r.mu.Lock()
	r.done = true
	r.checkAllIn()
	r.mu.Unlock()
	return nil
}

// checkAllIn closes allIn once sending is over and every sample is answered. r.mu must be held.
func (r *latencyRun) checkAllIn() {
	if r.done && r.received == r.sentN {
		select {
		case <-r.allIn:
		default:
			close(r.allIn)
		}
	}
}

// read matches replies until conn is closed.
func (r *latencyRun) read(conn net.Conn) {
	buf := make([]byte, 2048)
	readTS := func(b []byte) (int, time.Time, error) { n, err := conn.Read(b); return n, time.Time{}, err }
	// Kernel receive times only with the real clock: an injected clock (tests) would not
	// agree with the kernel's.
	if r.env == nil || r.env.Now == nil {
		if f := rxTimeReader(conn); f != nil {
			readTS = f
		}
	}
	for {
		n, kernelAt, err := readTS(buf)
		if err != nil {
			if errors.Is(err, syscall.ECONNREFUSED) {
				r.mu.Lock()
				r.refused++
				r.mu.Unlock()
				continue
			}
			return
		}
		now := r.env.now()
		observed, rest, ok := ParseHello(buf[:n])
		if !ok || len(rest) < latencyHeader || !bytes.Equal(rest[:4], latencyMagic) || !bytes.Equal(rest[4:12], r.id[:]) {
			continue // not ours: a stray datagram or a reply to an earlier run
		}
		seq := int(binary.BigEndian.Uint32(rest[12:]))
		sentAt := time.Duration(binary.BigEndian.Uint64(rest[16:]))
		rtt := now.Sub(r.start) - sentAt
		// The kernel's receive time is earlier than ours by the wake-up; use it when it is
		// consistent (a wall-clock step during the run would make it negative or larger).
		if !kernelAt.IsZero() {
			if k := kernelAt.Sub(r.start) - sentAt; k > 0 && k <= rtt {
				rtt = k
			}
		}
		r.mu.Lock()
		switch {
		case seq >= len(r.rtt) || seq >= r.sentN:
			// A forged or corrupted sequence number; ignore it.
		case r.rtt[seq] >= 0:
			r.dups++
		case rtt > r.req.Timeout:
			r.late++
		default:
			if seq < r.maxSeq {
				r.reorder++
			}
			r.maxSeq = max(r.maxSeq, seq)
			r.rtt[seq] = max(rtt, 0)
			r.received++
			r.observed = observed.String()
			r.checkAllIn()
		}
		r.mu.Unlock()
	}
}

func (r *latencyRun) result(conn net.Conn) LatencyResult {
	r.mu.Lock()
	defer r.mu.Unlock()
	res := LatencyResult{Sent: r.sentN, Received: r.received, Late: r.late, Duplicates: r.dups, Reordered: r.reorder, ObservedSource: r.observed}
	for _, d := range r.rtt[:r.sentN] {
		if d >= 0 {
			res.RTTs = append(res.RTTs, d)
		}
	}
	if la, ok := conn.LocalAddr().(*net.UDPAddr); ok {
		res.SourceIP = la.IP.String()
	}
	return res
}
