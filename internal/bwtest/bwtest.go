// Package bwtest measures TCP throughput between two netprobe agents, like iperf3 but with
// several clients queued instead of refused, either direction from the side that may open
// connections, and latency measured while the link is loaded.
//
// One test is N TCP connections (streams) sharing a test id. Each connection starts with a
// one-line JSON header from the client; the server answers with a one-line JSON ack once the
// test may start (a test already running makes later tests wait, bounded by Limits.QueueWait),
// then data flows one way for the test's warm-up plus duration:
//
//	client -> server  {"v":1,"test":"3f2a...","stream":0,"streams":4,"dir":"receive","warmup_ns":...,"duration_ns":...}\n
//	server -> client  {"ok":true}\n        or {"ok":false,"code":"busy","error":"..."}\n
//	then bulk data: client -> server for "send", server -> client for "receive" (iperf3 -R)
//
// The client measures: it counts bytes per stream in atomic counters and samples them once per
// interval, so the hot loops do one Write or Read of a large reused buffer and one atomic add.
package bwtest

import (
	"errors"
	"fmt"
	"time"

	"github.com/netprobe/netprobe/internal/capacity"
	"github.com/netprobe/netprobe/internal/probes"
)

// Direction says which way the data flows, seen from the client (the side that dials).
type Direction int

const (
	// Send: the client sends, the server receives.
	Send Direction = iota + 1
	// Receive: the server sends, the client receives (iperf3 -R). This measures the
	// replication direction when only the other side may open connections.
	Receive
)

var directionNames = [...]string{Send: "send", Receive: "receive"}

func (d Direction) String() string {
	if d <= 0 || int(d) >= len(directionNames) {
		return fmt.Sprintf("direction(%d)", int(d))
	}
	return directionNames[d]
}

func (d Direction) MarshalText() ([]byte, error) {
	if d != Send && d != Receive {
		return nil, fmt.Errorf("bandwidth direction %d is unset", int(d))
	}
	return []byte(d.String()), nil
}

func (d *Direction) UnmarshalText(b []byte) error {
	for i, n := range directionNames {
		if n != "" && n == string(b) {
			*d = Direction(i)
			return nil
		}
	}
	return fmt.Errorf("unknown bandwidth direction %q (want send or receive)", b)
}

// Errors. Client errors wrap one of these; the server's refusals arrive as ErrBusy or ErrLimit
// (a refused ticket as ErrLimit and ErrTicket).
var (
	// ErrBusy: another test held the server for longer than the queue wait.
	ErrBusy = errors.New("bandwidth server busy")
	// ErrLimit: the request exceeds the server's limits (duration, streams).
	ErrLimit = errors.New("bandwidth request over the server's limits")
	// ErrProtocol: the peer is not a netprobe bandwidth endpoint, or broke the protocol.
	ErrProtocol = errors.New("bandwidth protocol error")
	// ErrStream: a stream failed while the test ran (connection reset, peer gone).
	ErrStream = errors.New("bandwidth stream failed")
)

// Defaults and bounds.
const (
	// DefaultStreams is ASR's default of 4 download threads per VM for failback.
	DefaultStreams = 4
	// MaxStreams is ASR's maximum thread count (32), the most a failback uses.
	MaxStreams = 32
	// DefaultDuration and DefaultWarmUp: 10 s is iperf3's default; 2 s of warm-up lets TCP
	// leave slow start on a path of up to a few hundred ms RTT before counting.
	DefaultDuration = 10 * time.Second
	DefaultWarmUp   = 2 * time.Second
	DefaultInterval = time.Second
	// DefaultMaxDuration bounds a test server-side: a minute is enough to see a VPN's steady
	// rate, and an agent must not become a traffic generator on command.
	DefaultMaxDuration = 60 * time.Second
	// DefaultQueueWait bounds how long a test waits for the one before it: one maximal test
	// plus its warm-up and slack.
	DefaultQueueWait = 90 * time.Second
	// DefaultLoadedInterval is the echo rate under load: 10 per second is low enough not to
	// disturb the measurement and gives 100 samples in a 10 s test.
	DefaultLoadedInterval = 100 * time.Millisecond
	// BufSize is iperf3's default TCP buffer (128 KiB): large writes keep syscalls per byte low.
	// Each stream of a running test holds one, on each side.
	BufSize = 128 << 10
	// maxLine bounds the header and ack lines.
	maxLine = 512
	// headerTimeout bounds how long a connection may take to send its header (slowloris).
	headerTimeout = 10 * time.Second
	// grace is the slack beyond warm-up + duration before the server cuts a stream: enough
	// for the client's last interval and its close to arrive over a slow path.
	grace = 5 * time.Second
)

// Params describe one test, from the client's side.
type Params struct {
	Streams   int           `json:"streams"`
	Duration  time.Duration `json:"duration_ns"`
	WarmUp    time.Duration `json:"warmup_ns"`
	Direction Direction     `json:"direction"`
	Interval  time.Duration `json:"interval_ns"`
	// LoadedEcho is host:port of a UDP echo responder near the server: when set, a low-rate
	// latency probe runs during the measured window (latency under load).
	LoadedEcho string `json:"loaded_echo,omitempty"`
	// LoadedEnv is the I/O of the loaded latency probe; nil is the real thing (tests run it
	// from inside a lab namespace).
	LoadedEnv *probes.Env `json:"-"`
	// LoadedInterval is the gap between loaded echo samples (default DefaultLoadedInterval).
	LoadedInterval time.Duration `json:"loaded_interval_ns,omitempty"`
	// TestID names the test on the server; "" draws a random one. An agent that admits only
	// tests it issued (Limits.Admit, Tickets) gives the coordinator the id to use.
	TestID string `json:"test_id,omitempty"`
	// NoWarmUp makes a zero WarmUp mean "no warm-up" instead of the default.
	NoWarmUp bool `json:"no_warmup,omitempty"`
	// OnInterval, when set, is called after each interval with its total rate, for a live
	// progress line. It runs on the sampling goroutine: keep it quick.
	OnInterval func(i int, rate capacity.BitsPerSecond) `json:"-"`
}

func (p Params) withDefaults() (Params, error) {
	if p.Streams == 0 {
		p.Streams = DefaultStreams
	}
	if p.Duration == 0 {
		p.Duration = DefaultDuration
	}
	if p.WarmUp == 0 && !p.NoWarmUp {
		p.WarmUp = DefaultWarmUp
	}
	if p.Interval == 0 {
		p.Interval = DefaultInterval
	}
	if p.Direction == 0 {
		p.Direction = Send
	}
	if p.LoadedInterval == 0 {
		p.LoadedInterval = DefaultLoadedInterval
	}
	switch {
	case p.Streams < 1 || p.Streams > MaxStreams:
		return p, fmt.Errorf("%w: %d streams: use 1..%d", ErrLimit, p.Streams, MaxStreams)
	case p.Duration < 0 || p.WarmUp < 0 || p.Interval <= 0 || p.LoadedInterval <= 0:
		return p, fmt.Errorf("%w: duration, warm-up and intervals must be positive", ErrLimit)
	case len(p.TestID) > 64:
		return p, fmt.Errorf("%w: test id longer than 64 characters", ErrLimit)
	case p.Direction != Send && p.Direction != Receive:
		return p, fmt.Errorf("%w: direction %v: use send or receive", ErrLimit, p.Direction)
	}
	return p, nil
}

// Result is one test's measurement. Rates are over the measured window only (warm-up
// excluded).
type Result struct {
	TestID    string    `json:"test_id"`
	Direction Direction `json:"direction"`
	Streams   int       `json:"streams"`
	// Window is the measured time (after warm-up), as the client's clock saw it.
	Window time.Duration `json:"window_ns"`
	// Bytes is the payload moved in the window, over all streams.
	Bytes int64 `json:"bytes"`
	// Rate is Bytes*8/Window.
	Rate capacity.BitsPerSecond `json:"bps"`
	// PerStream is each stream's rate over the window.
	PerStream []capacity.BitsPerSecond `json:"per_stream_bps"`
	// Intervals is the total rate of each interval, bits per second (the results' intervals_bps).
	Intervals []float64 `json:"intervals_bps"`
	// Counted says what the rates count: "received" (the client received), "acked" (the
	// client sent; bytes the server acknowledged, from TCP_INFO) or "written" (the client
	// sent, on an OS without TCP_INFO: includes what sat in the socket buffer).
	Counted string `json:"counted"`
	// Loaded is the latency measured during the window, when Params.LoadedEcho was set.
	Loaded *probes.LatencyResult `json:"loaded,omitempty"`
	// LoadedError says why the loaded latency could not be measured (the throughput stands).
	LoadedError string `json:"loaded_error,omitempty"`
}

// header is the first line of every connection, client to server.
type header struct {
	Version  int           `json:"v"`
	Test     string        `json:"test"`
	Stream   int           `json:"stream"`
	Streams  int           `json:"streams"`
	Dir      Direction     `json:"dir"`
	WarmUp   time.Duration `json:"warmup_ns"`
	Duration time.Duration `json:"duration_ns"`
	// Wait is how long the client will wait in the queue (what its deadline leaves after the
	// test); the server waits no longer than that, so the client hears "busy" rather than
	// timing out. 0: the server's QueueWait.
	Wait time.Duration `json:"wait_ns,omitempty"`
}

// ack is the server's answer to a header.
type ack struct {
	OK    bool   `json:"ok"`
	Code  string `json:"code,omitempty"` // busy, limit, ticket, protocol
	Error string `json:"error,omitempty"`
}

const protocolVersion = 1
