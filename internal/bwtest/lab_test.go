package bwtest

import (
	"context"
	"errors"
	"math"
	"net"
	"testing"
	"time"

	"github.com/netprobe/netprobe/internal/lab"
	"github.com/netprobe/netprobe/internal/probes"
	"github.com/netprobe/netprobe/internal/probes/probetest"
)

// labServe runs Serve in host h's namespace on addr until the test ends.
func labServe(t *testing.T, h *lab.Host, addr string) {
	ln, err := h.Listen("tcp4", addr)
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan struct{})
	go func() { defer close(done); _ = Serve(ctx, ln, Limits{}) }()
	t.Cleanup(func() { cancel(); <-done })
}

func dialFrom(h *lab.Host, addr string) Dialer {
	return func(ctx context.Context) (net.Conn, error) { return h.Dial(ctx, "tcp4", addr) }
}

// TestLabShapedVPN is the acceptance test of bandwidth.md on the failback lab: the VPN is shaped
// to lab.VPNRate; the process server (Azure) sends to the master target (on-premises) in the
// replication direction, with either side opening the connections; the rate is within 10 % of
// the shaping; latency under load exceeds idle latency (the shaper's queue); and with the
// master target's port closed to inbound connections only the reverse test runs.
//
// The shaper counts whole frames; TCP payload over the VPN's 1400-byte MTU is about 95 % of
// that, so a perfect test reads ~5 % low and the 10 % bound leaves ~5 % for TCP's sawtooth.
// The warm-up is the default 2 s: with 1 s the first interval still shows slow start's losses.
// The measured window is 4 s: with 2 s, one interval of a CI host busy with the other
// packages' tests (42 of 50 Mbit/s, the next at 47.7) pulled the mean to -10.0 %.
func TestLabShapedVPN(t *testing.T) {
	l := lab.Build(t, lab.Failback())
	ps, mt := l.Host(lab.PSAz), l.Host(lab.MT01)
	const port = "9443"
	mtAddr, psAddr := lab.AddrMT01+":"+port, lab.AddrPSAz+":"+port
	labServe(t, mt, mtAddr)
	labServe(t, ps, psAddr)
	pc, err := mt.ListenPacket("udp4", mtAddr)
	if err != nil {
		t.Fatal(err)
	}
	probetest.UDPEchoOn(t, pc)
	psEnv := &probes.Env{Dial: ps.Dial}

	idle, err := probes.Latency(t.Context(), psEnv, probes.LatencyRequest{Address: mtAddr, Samples: 20, Interval: 10 * time.Millisecond})
	if err != nil || idle.Received == 0 {
		t.Fatalf("idle latency: %v (%+v)", err, idle)
	}
	want := float64(lab.VPNRate)
	tests := []struct {
		name string
		dial Dialer
		dir  Direction
	}{
		{"process server connects and sends", dialFrom(ps, mtAddr), Send},
		{"master target connects and receives (reverse)", dialFrom(mt, psAddr), Receive},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			p := Params{Streams: 4, WarmUp: 2 * time.Second, Duration: 4 * time.Second, Direction: tt.dir}
			if tt.dir == Send {
				p.LoadedEcho, p.LoadedEnv, p.LoadedInterval = mtAddr, psEnv, 20*time.Millisecond
			}
			res, err := Run(t.Context(), tt.dial, p)
			if err != nil {
				t.Fatal(err)
			}
			dev := (float64(res.Rate) - want) / want
			t.Logf("%v: %.2f Mbit/s, shaped to %.0f (%+.1f%%), intervals %v", tt.dir, res.Rate.Mbps(), want/1e6, dev*100, res.Intervals)
			if math.Abs(dev) > 0.10 {
				t.Errorf("measured %.2f Mbit/s, not within 10%% of %.0f", res.Rate.Mbps(), want/1e6)
			}
			if tt.dir == Send {
				if res.Loaded == nil || res.Loaded.Received == 0 {
					t.Fatalf("no loaded latency: %+v %s", res.Loaded, res.LoadedError)
				}
				i, l := idle.Stats(), res.Loaded.Stats()
				t.Logf("latency p50 idle %v, loaded %v", i.P50, l.P50)
				if l.P50 <= i.P50 {
					t.Errorf("loaded p50 %v not above idle p50 %v: the shaper's queue should show", l.P50, i.P50)
				}
			}
		})
	}

	t.Run("only the reverse direction is open", func(t *testing.T) {
		l.Apply(t, lab.DropPort{Host: lab.MT01, Proto: lab.TCP, Port: 9443})
		ctx, cancel := context.WithTimeout(t.Context(), 2*time.Second)
		defer cancel()
		if _, err := Run(ctx, dialFrom(ps, mtAddr), Params{Streams: 1, Duration: time.Second}); !errors.Is(err, context.DeadlineExceeded) {
			t.Errorf("forward test through a dropped port: err = %v, want a timeout", err)
		}
		res, err := Run(t.Context(), dialFrom(mt, psAddr), Params{Streams: 4, WarmUp: 500 * time.Millisecond, Duration: time.Second, Direction: Receive})
		if err != nil {
			t.Fatalf("reverse test: %v", err)
		}
		// Accuracy is the subtests' above; here it must run, and carry most of the link.
		if float64(res.Rate) < want*0.7 {
			t.Errorf("reverse: %.2f Mbit/s, want most of %.0f", res.Rate.Mbps(), want/1e6)
		}
	})
}
