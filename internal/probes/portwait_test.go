package probes_test

import (
	"context"
	"net"
	"runtime"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/netprobe/netprobe/internal/probes"
	"github.com/netprobe/netprobe/internal/probes/probetest"
)

// pathDelay is a fake network where each port answers its SYN after a delay of its own: a
// negative delay never answers (a firewall drops it). It counts the SYNs sent to each port.
type pathDelay struct {
	delay map[string]time.Duration // address -> delay of its SYN-ACK
	syns  map[string]*atomic.Int32
}

func newPathDelay(delays map[string]time.Duration) *pathDelay {
	p := &pathDelay{delay: delays, syns: map[string]*atomic.Int32{}}
	for a := range delays {
		p.syns[a] = &atomic.Int32{}
	}
	return p
}

func (p *pathDelay) dial(ctx context.Context, network, address string) (net.Conn, error) {
	d, ok := p.delay[address]
	if !ok {
		return nil, &net.OpError{Op: "dial", Net: network, Err: &net.AddrError{Err: "no such port in the fake network", Addr: address}}
	}
	p.syns[address].Add(1)
	var after <-chan time.Time
	if d >= 0 {
		t := time.NewTimer(d)
		defer t.Stop()
		after = t.C
	}
	select {
	case <-after:
		a, b := net.Pipe()
		go func() { <-ctx.Done(); b.Close() }()
		return a, nil
	case <-ctx.Done():
		// As a real dialer: the deadline (or the adaptive wait's cut) is a timeout.
		return nil, &net.OpError{Op: "dial", Net: network, Err: context.Cause(ctx)}
	}
}

const (
	waitTarget = "10.9.9.9:20004"
	waitRef    = 7411 // the destination agent's control port: the reference
)

var waitRefAddr = "10.9.9.9:7411"

// TestAdaptiveWaitNeverCallsALateAnswerFiltered: whatever delays the path adds to the
// host's answers - less than the floor, more than it, most of the deadline - a port that
// answers within the deadline is open, never filtered: the reference port asked after the
// floor is delayed alike, and the wait follows it.
func TestAdaptiveWaitNeverCallsALateAnswerFiltered(t *testing.T) {
	t.Parallel()
	const deadline = 2 * time.Second
	for _, d := range []time.Duration{0, 50 * time.Millisecond, 200 * time.Millisecond, 300 * time.Millisecond,
		500 * time.Millisecond, 800 * time.Millisecond, 1200 * time.Millisecond, 1600 * time.Millisecond} {
		t.Run("path delay "+d.String(), func(t *testing.T) {
			t.Parallel()
			fake := newPathDelay(map[string]time.Duration{waitTarget: d, waitRefAddr: d})
			ctx, cancel := context.WithTimeout(context.Background(), deadline)
			defer cancel()
			got, err := probes.Port(ctx, &probes.Env{Dial: fake.dial},
				probes.PortRequest{Address: waitTarget, RefPorts: []uint16{waitRef}, AdaptiveWait: true})
			if err != nil || got.State != probes.Open {
				t.Errorf("a port answering after %v of a %v deadline: %s/%s %q, %v; want open", d, deadline, got.State, got.Reason, got.Detail, err)
			}
		})
	}
}

// TestAdaptiveWaitSlowerThanTheReference: the port under test may answer later than the
// host's own open port - a loaded service, a second SYN after the first was lost - by up to
// the floor plus three of the reference's round trips, and still be open.
func TestAdaptiveWaitSlowerThanTheReference(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name        string
		ref, target time.Duration
	}{
		{"LAN reference, answer just before twice the floor", time.Millisecond, 2*probes.ScanMinWait - 60*time.Millisecond},
		{"100ms reference, answer at 600ms", 100 * time.Millisecond, 600 * time.Millisecond},
		{"400ms reference, answer at 1.5s", 400 * time.Millisecond, 1500 * time.Millisecond},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			fake := newPathDelay(map[string]time.Duration{waitTarget: tt.target, waitRefAddr: tt.ref})
			ctx, cancel := context.WithTimeout(context.Background(), 3*time.Second)
			defer cancel()
			got, err := probes.Port(ctx, &probes.Env{Dial: fake.dial},
				probes.PortRequest{Address: waitTarget, RefPorts: []uint16{waitRef}, AdaptiveWait: true})
			if err != nil || got.State != probes.Open {
				t.Errorf("reference %v, port %v: %s/%s %q, %v; want open", tt.ref, tt.target, got.State, got.Reason, got.Detail, err)
			}
		})
	}
}

// TestAdaptiveWaitSilence: a dropped port beside an answering reference is filtered after
// two tries within the wait the reference's round trip sets, not the whole deadline; without
// an answering reference (none given, or dropped too) it gets the whole deadline, as without
// AdaptiveWait.
func TestAdaptiveWaitSilence(t *testing.T) {
	t.Parallel()
	const deadline = 3 * time.Second
	const ms = time.Millisecond
	tests := []struct {
		name     string
		ref      time.Duration // < 0: dropped; 0 with noRef: no reference given
		noRef    bool
		wantTook time.Duration // about
		wantTwo  bool          // a second try went out, and Detail says so
	}{
		// floor (250) + 1 (reference) + max(3 x 1ms, floor) = about 500ms.
		{name: "LAN reference", ref: ms, wantTook: 2 * probes.ScanMinWait, wantTwo: true},
		// floor (250) + 300 + max(3 x 300, 250) = 1450ms.
		{name: "300ms reference", ref: 300 * ms, wantTook: 1450 * ms, wantTwo: true},
		{name: "reference dropped too", ref: -1, wantTook: deadline},
		{name: "no reference", noRef: true, wantTook: deadline},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			fake := newPathDelay(map[string]time.Duration{waitTarget: -1, waitRefAddr: tt.ref})
			req := probes.PortRequest{Address: waitTarget, RefPorts: []uint16{waitRef}, AdaptiveWait: true}
			if tt.noRef {
				req.RefPorts = nil
			}
			ctx, cancel := context.WithTimeout(context.Background(), deadline)
			defer cancel()
			start := time.Now()
			got, err := probes.Port(ctx, &probes.Env{Dial: fake.dial}, req)
			took := time.Since(start)
			if err != nil || got.State != probes.Filtered || got.Reason != probes.Timeout {
				t.Fatalf("%s/%s %q, %v; want filtered/timeout", got.State, got.Reason, got.Detail, err)
			}
			if took < tt.wantTook-50*ms || took > tt.wantTook+slack {
				t.Errorf("took %v, want about %v", took, tt.wantTook)
			}
			if n := fake.syns[waitTarget].Load(); (n == 2) != tt.wantTwo {
				t.Errorf("%d SYNs to the port, want a second try: %v", n, tt.wantTwo)
			}
			if two := strings.Contains(got.Detail, "no answer to 2 tries within"); two != tt.wantTwo {
				t.Errorf("detail %q: says two tries %v, want %v", got.Detail, two, tt.wantTwo)
			}
		})
	}
}

// TestAdaptiveWaitRealSockets: the same on loopback with real sockets: a full backlog drops
// the SYNs, a responder is the reference; open and closed ports answer at once as without
// AdaptiveWait.
func TestAdaptiveWaitRealSockets(t *testing.T) {
	t.Parallel()
	if runtime.GOOS != "linux" {
		t.Skip("the dropping listener needs Linux")
	}
	ref := probetest.TCPResponder(t)
	refs := []uint16{ref.Port()}
	tests := []struct {
		name  string
		addr  string
		state probes.PortState
		max   time.Duration
	}{
		{"open", probetest.TCPResponder(t).String(), probes.Open, slack},
		{"closed", probetest.ClosedPort(t, "tcp").String(), probes.Closed, slack},
		{"dropped", probetest.FullBacklog(t).String(), probes.Filtered, 2*probes.ScanMinWait + slack},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			ctx, cancel := context.WithTimeout(context.Background(), 3*time.Second)
			defer cancel()
			start := time.Now()
			got, err := probes.Port(ctx, nil, probes.PortRequest{Address: tt.addr, RefPorts: refs, AdaptiveWait: true})
			took := time.Since(start)
			if err != nil || got.State != tt.state {
				t.Fatalf("%s/%s %q, %v; want %s", got.State, got.Reason, got.Detail, err, tt.state)
			}
			if took > tt.max {
				t.Errorf("took %v, want at most %v", took, tt.max)
			}
		})
	}
}
