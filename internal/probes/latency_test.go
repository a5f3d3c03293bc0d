package probes

import (
	"context"
	"encoding/binary"
	"errors"
	"net"
	"net/netip"
	"sync"
	"testing"
	"time"
)

// echoAction says what the test echo server does with one datagram.
type echoAction int

const (
	echoNormal echoAction = iota
	echoDrop
	echoDup
	echoHold  // keep the reply and send it right after the next one (reordering)
	echoDelay // send the reply after latencyTestDelay (a late reply)
	// echoStrangers sends a reply belonging to another run (wrong id) and garbage before
	// the reply.
	echoStrangers
)

// latencyTestDelay is well past the tests' per-sample timeout, so a delayed reply is late even
// on a loaded machine, and short enough to keep the test in well under a second.
const latencyTestDelay = 400 * time.Millisecond

// startLatencyEcho runs a UDP echo responder on loopback that answers with EchoReply, doing
// action(seq) to each probe. It is stopped by t.Cleanup.
func startLatencyEcho(t *testing.T, action func(seq int) echoAction) string {
	t.Helper()
	pc, err := net.ListenPacket("udp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	var wg sync.WaitGroup
	t.Cleanup(func() { pc.Close(); wg.Wait() })
	wg.Add(1)
	go func() {
		defer wg.Done()
		buf := make([]byte, 2048)
		var held []byte
		var heldTo net.Addr
		for {
			n, from, err := pc.ReadFrom(buf)
			if err != nil {
				return
			}
			ap := from.(*net.UDPAddr).AddrPort()
			reply := EchoReply(netip.AddrPortFrom(ap.Addr().Unmap(), ap.Port()), buf[:n])
			seq := -1
			if n >= latencyHeader {
				seq = int(binary.BigEndian.Uint32(buf[12:]))
			}
			switch action(seq) {
			case echoNormal:
				pc.WriteTo(reply, from)
			case echoDrop:
			case echoDup:
				pc.WriteTo(reply, from)
				pc.WriteTo(reply, from)
			case echoHold:
				held, heldTo = reply, from
				continue
			case echoDelay:
				wg.Add(1)
				time.AfterFunc(latencyTestDelay, func() { defer wg.Done(); pc.WriteTo(reply, from) })
			case echoStrangers:
				foreign := append([]byte(nil), buf[:n]...)
				foreign[5] ^= 0xff // another run's id
				pc.WriteTo(EchoReply(ap, foreign), from)
				pc.WriteTo([]byte("garbage"), from)
				pc.WriteTo(reply, from)
			}
			if held != nil {
				pc.WriteTo(held, heldTo)
				held = nil
			}
		}
	}()
	return pc.LocalAddr().String()
}

func TestLatency(t *testing.T) {
	tests := []struct {
		name                      string
		action                    func(seq int) echoAction
		received, late, dups, reo int
		loss                      float64
	}{
		{"all answered", func(int) echoAction { return echoNormal }, 5, 0, 0, 0, 0},
		{"two dropped", func(s int) echoAction {
			if s == 1 || s == 3 {
				return echoDrop
			}
			return echoNormal
		}, 3, 0, 0, 0, 0.4},
		{"every reply duplicated", func(int) echoAction { return echoDup }, 5, 0, 5, 0, 0},
		{"first reply overtaken by the second", func(s int) echoAction {
			if s == 0 {
				return echoHold
			}
			return echoNormal
		}, 5, 0, 0, 1, 0},
		{"one reply after its timeout", func(s int) echoAction {
			if s == 0 {
				return echoDelay
			}
			return echoNormal
		}, 4, 1, 0, 0, 0.2},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			addr := startLatencyEcho(t, tt.action)
			req := LatencyRequest{Address: addr, Samples: 5, Interval: 5 * time.Millisecond, Timeout: 200 * time.Millisecond}
			if tt.late > 0 {
				// The reply to seq 0 comes latencyTestDelay after it was sent, twice its
				// timeout, while the prober still listens (the last send comes at 4 intervals,
				// past the delay): it must be counted late, not matched.
				req.Timeout = latencyTestDelay / 2
				req.Interval = latencyTestDelay/4 + 5*time.Millisecond
			}
			res, err := Latency(t.Context(), nil, req)
			if err != nil {
				t.Fatal(err)
			}
			if res.Sent != 5 || res.Received != tt.received || res.Late != tt.late || res.Duplicates != tt.dups || res.Reordered != tt.reo {
				t.Errorf("got sent %d received %d late %d dups %d reordered %d; want 5 %d %d %d %d",
					res.Sent, res.Received, res.Late, res.Duplicates, res.Reordered, tt.received, tt.late, tt.dups, tt.reo)
			}
			if len(res.RTTs) != tt.received {
				t.Errorf("%d RTTs for %d received", len(res.RTTs), tt.received)
			}
			for _, d := range res.RTTs {
				if d <= 0 || d > req.Timeout {
					t.Errorf("RTT %v outside (0, %v]", d, req.Timeout)
				}
			}
			if st := res.Stats(); st.Loss != tt.loss {
				t.Errorf("loss %v, want %v", st.Loss, tt.loss)
			}
			if res.ObservedSource == "" || res.SourceIP != "127.0.0.1" {
				t.Errorf("source %q observed %q", res.SourceIP, res.ObservedSource)
			}
		})
	}
}

func TestLatencyRefused(t *testing.T) {
	// A port that was just free: nothing listens, so loopback answers ICMP port unreachable.
	pc, err := net.ListenPacket("udp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	addr := pc.LocalAddr().String()
	pc.Close()
	res, err := Latency(t.Context(), nil, LatencyRequest{Address: addr, Samples: 3, Interval: time.Millisecond, Timeout: 100 * time.Millisecond})
	if !errors.Is(err, ErrRefused) {
		t.Fatalf("err = %v, want ErrRefused", err)
	}
	if res.Received != 0 || res.Sent != 3 {
		t.Errorf("sent %d received %d", res.Sent, res.Received)
	}
}

func TestLatencyCancelled(t *testing.T) {
	addr := startLatencyEcho(t, func(int) echoAction { return echoNormal })
	ctx, cancel := context.WithCancel(t.Context())
	// Cancel after the third reply; the fourth send would come a long interval later.
	env := &Env{}
	var n int
	var mu sync.Mutex
	env.Now = func() time.Time {
		mu.Lock()
		defer mu.Unlock()
		n++
		return time.Now()
	}
	go func() {
		for {
			mu.Lock()
			calls := n
			mu.Unlock()
			if calls >= 1+2*3 { // start, then a send and a read per sample
				cancel()
				return
			}
			time.Sleep(time.Millisecond)
		}
	}()
	res, err := Latency(ctx, env, LatencyRequest{Address: addr, Samples: 100, Interval: 20 * time.Millisecond})
	if !errors.Is(err, ErrTimeout) || !errors.Is(err, context.Canceled) {
		t.Fatalf("err = %v, want ErrTimeout wrapping context.Canceled", err)
	}
	if res.Sent < 3 || res.Sent >= 100 || res.Received < 3 {
		t.Errorf("partial result: sent %d received %d", res.Sent, res.Received)
	}
}

func TestLatencyUsesInjectedClock(t *testing.T) {
	// With one sample the clock is read exactly three times: start, send, reply. A clock that
	// steps 7 ms per read makes the RTT exactly 7 ms, proving RTT = reply time - the send time
	// carried in the payload.
	addr := startLatencyEcho(t, func(int) echoAction { return echoNormal })
	var mu sync.Mutex
	clock := time.Date(2026, 11, 25, 14, 0, 0, 0, time.UTC)
	env := &Env{Now: func() time.Time {
		mu.Lock()
		defer mu.Unlock()
		clock = clock.Add(7 * time.Millisecond)
		return clock
	}}
	res, err := Latency(t.Context(), env, LatencyRequest{Address: addr, Samples: 1, Timeout: time.Second})
	if err != nil {
		t.Fatal(err)
	}
	if len(res.RTTs) != 1 || res.RTTs[0] != 7*time.Millisecond {
		t.Errorf("RTTs = %v, want [7ms]", res.RTTs)
	}
}

func TestLatencyIgnoresStrangers(t *testing.T) {
	// A responder that first sends a reply belonging to another run (wrong id) and garbage.
	addr := startLatencyEcho(t, func(int) echoAction { return echoStrangers })
	res, err := Latency(t.Context(), nil, LatencyRequest{Address: addr, Samples: 3, Interval: time.Millisecond, Timeout: 200 * time.Millisecond})
	if err != nil {
		t.Fatal(err)
	}
	if res.Received != 3 || res.Duplicates != 0 {
		t.Errorf("received %d dups %d, want 3 and 0", res.Received, res.Duplicates)
	}
}

func TestLatencyRequestValidation(t *testing.T) {
	tests := []struct {
		name string
		req  LatencyRequest
	}{
		{"no address", LatencyRequest{}},
		{"negative samples", LatencyRequest{Address: "127.0.0.1:1", Samples: -1}},
		{"too many samples", LatencyRequest{Address: "127.0.0.1:1", Samples: MaxLatencySamples + 1}},
		{"payload too small", LatencyRequest{Address: "127.0.0.1:1", Size: 8}},
		{"payload too large", LatencyRequest{Address: "127.0.0.1:1", Size: 9000}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if _, err := Latency(t.Context(), nil, tt.req); err == nil {
				t.Error("accepted")
			}
		})
	}
}

func ms(v float64) time.Duration { return time.Duration(v * float64(time.Millisecond)) }

func TestComputeLatencyStats(t *testing.T) {
	tests := []struct {
		name string
		rtts []time.Duration
		sent int
		want LatencyStats
	}{
		{
			// Nearest rank over 1..10 ms: p50 = 5th, p90 = 9th, p95 = ceil(9.5) = 10th.
			name: "one to ten ms",
			rtts: []time.Duration{ms(1), ms(2), ms(3), ms(4), ms(5), ms(6), ms(7), ms(8), ms(9), ms(10)},
			sent: 10,
			want: LatencyStats{Samples: 10, Min: ms(1), P50: ms(5), P90: ms(9), P95: ms(10), P99: ms(10), Max: ms(10), Jitter: ms(1)},
		},
		{
			// Sorted 10 10 20 40: p50 = 2nd = 10, p90 = ceil(3.6) = 4th = 40.
			// Jitter = (|20-10| + |10-20| + |40-10|) / 3 = 50/3 ms. Loss 1/5.
			name: "unsorted with loss",
			rtts: []time.Duration{ms(10), ms(20), ms(10), ms(40)},
			sent: 5,
			want: LatencyStats{Samples: 4, Loss: 0.2, Min: ms(10), P50: ms(10), P90: ms(40), P95: ms(40), P99: ms(40), Max: ms(40), Jitter: ms(50) / 3},
		},
		{"all lost", nil, 4, LatencyStats{Loss: 1}},
		{"nothing sent", nil, 0, LatencyStats{}},
		{"one sample has no jitter", []time.Duration{ms(3)}, 1, LatencyStats{Samples: 1, Min: ms(3), P50: ms(3), P90: ms(3), P95: ms(3), P99: ms(3), Max: ms(3)}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := ComputeLatencyStats(tt.rtts, tt.sent); got != tt.want {
				t.Errorf("got  %+v\nwant %+v", got, tt.want)
			}
		})
	}
}

func TestLatencyStatsMetrics(t *testing.T) {
	m := LatencyStats{Samples: 2, P95: ms(12.5)}.Metrics("loaded_")
	if m["loaded_p95_ms"] != 12.5 || m["loaded_samples"] != 2 {
		t.Errorf("metrics = %v", m)
	}
}
