package bwtest

import (
	"context"
	"errors"
	"math"
	"net"
	"runtime"
	"strconv"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/netprobe/netprobe/internal/capacity"
	"github.com/netprobe/netprobe/internal/probes/probetest"
)

// countingListener counts every byte the server reads and writes, so tests can check the
// client's numbers against what really crossed the socket.
type countingListener struct {
	net.Listener
	read, written atomic.Int64
}

func (l *countingListener) Accept() (net.Conn, error) {
	c, err := l.Listener.Accept()
	if err != nil {
		return nil, err
	}
	return &countingConn{Conn: c, l: l}, nil
}

type countingConn struct {
	net.Conn
	l *countingListener
}

func (c *countingConn) Read(b []byte) (int, error) {
	n, err := c.Conn.Read(b)
	c.l.read.Add(int64(n))
	return n, err
}

func (c *countingConn) Write(b []byte) (int, error) {
	n, err := c.Conn.Write(b)
	c.l.written.Add(int64(n))
	return n, err
}

func (c *countingConn) CloseWrite() error {
	if cw, ok := c.Conn.(interface{ CloseWrite() error }); ok {
		return cw.CloseWrite()
	}
	return nil
}

// startServer runs Serve on loopback until the test ends.
func startServer(t *testing.T, lim Limits) (string, *countingListener) {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	cl := &countingListener{Listener: ln}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- Serve(ctx, cl, lim) }()
	t.Cleanup(func() {
		cancel()
		if err := <-done; !errors.Is(err, context.Canceled) {
			t.Errorf("Serve returned %v, want context.Canceled", err)
		}
	})
	return ln.Addr().String(), cl
}

// short keeps every test well under a second of data.
func short(dir Direction, streams int) Params {
	return Params{Streams: streams, Direction: dir, WarmUp: 100 * time.Millisecond, Duration: 300 * time.Millisecond, Interval: 100 * time.Millisecond}
}

func TestRun(t *testing.T) {
	tests := []struct {
		name    string
		dir     Direction
		streams int
	}{
		{"send one stream", Send, 1},
		{"send four streams", Send, 4},
		{"receive two streams (server sends, like iperf3 -R)", Receive, 2},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			addr, cl := startServer(t, Limits{})
			res, err := Run(t.Context(), TCPDialer(addr), short(tt.dir, tt.streams))
			if err != nil {
				t.Fatal(err)
			}
			if res.Direction != tt.dir || res.Streams != tt.streams || len(res.PerStream) != tt.streams {
				t.Fatalf("result %+v", res)
			}
			if res.Rate <= 0 || res.Bytes <= 0 {
				t.Fatalf("no throughput: %+v", res)
			}
			wantCounted := "received"
			if tt.dir == Send {
				wantCounted = "written"
				if runtime.GOOS == "linux" {
					wantCounted = "acked"
				}
			}
			if res.Counted != wantCounted {
				t.Errorf("counted %q, want %q", res.Counted, wantCounted)
			}
			var per capacity.BitsPerSecond
			for i, r := range res.PerStream {
				if r <= 0 {
					t.Errorf("stream %d moved nothing", i)
				}
				per += r
			}
			if math.Abs(float64(per-res.Rate)) > 1e-6*float64(res.Rate) {
				t.Errorf("per-stream rates sum to %v, total is %v", per, res.Rate)
			}
			// A loaded machine may fire the ticker late (a tick is then skipped), hence ranges.
			if n := len(res.Intervals); n < 2 || n > 4 {
				t.Errorf("%d intervals for 300ms at 100ms: %v", n, res.Intervals)
			}
			// The window is at least the duration; its end waits for the last interval's tick,
			// which a loaded machine fires late (617 ms seen in a make test beside two other
			// test runs): the upper bound only catches a window that does not end with the test.
			if res.Window < 300*time.Millisecond || res.Window > 3*time.Second {
				t.Errorf("window %v, want about 300ms", res.Window)
			}
			// The server moved the warm-up's bytes too, which the client must not count.
			moved := cl.read.Load()
			if tt.dir == Receive {
				moved = cl.written.Load()
			}
			if res.Bytes >= moved {
				t.Errorf("client counted %d bytes in the window, server moved %d in all: warm-up not excluded?", res.Bytes, moved)
			}
		})
	}
}

func TestQueueRunsTestsOneAfterTheOther(t *testing.T) {
	addr, _ := startServer(t, Limits{})
	var mu sync.Mutex // guards seen
	seen := map[int][]time.Time{}
	var wg sync.WaitGroup
	errs := make([]error, 2)
	for i := range 2 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			p := short(Send, 2)
			p.OnInterval = func(int, capacity.BitsPerSecond) {
				mu.Lock()
				seen[i] = append(seen[i], time.Now())
				mu.Unlock()
			}
			_, errs[i] = Run(t.Context(), TCPDialer(addr), p)
		}()
	}
	wg.Wait()
	for i, err := range errs {
		if err != nil {
			t.Fatalf("test %d: %v (a second test must queue, not fail)", i, err)
		}
	}
	a, b := seen[0], seen[1]
	if len(a) == 0 || len(b) == 0 {
		t.Fatalf("intervals: %d and %d", len(a), len(b))
	}
	if !(a[len(a)-1].Before(b[0]) || b[len(b)-1].Before(a[0])) {
		t.Errorf("the two tests overlapped: %v..%v and %v..%v", a[0], a[len(a)-1], b[0], b[len(b)-1])
	}
}

func TestQueueWaitIsBounded(t *testing.T) {
	addr, _ := startServer(t, Limits{QueueWait: 100 * time.Millisecond})
	running := make(chan struct{})
	var once sync.Once
	first := make(chan error, 1)
	go func() {
		p := Params{Streams: 1, Direction: Send, NoWarmUp: true, Duration: time.Second, Interval: 50 * time.Millisecond}
		p.OnInterval = func(int, capacity.BitsPerSecond) { once.Do(func() { close(running) }) }
		_, err := Run(t.Context(), TCPDialer(addr), p)
		first <- err
	}()
	<-running
	_, err := Run(t.Context(), TCPDialer(addr), short(Send, 1))
	if !errors.Is(err, ErrBusy) {
		t.Errorf("second test: err = %v, want ErrBusy", err)
	}
	if err := <-first; err != nil {
		t.Errorf("first test: %v", err)
	}
}

func TestQueueWaitFollowsTheClientsDeadline(t *testing.T) {
	addr, _ := startServer(t, Limits{}) // the server would wait 90 s
	running := make(chan struct{})
	var once sync.Once
	first := make(chan error, 1)
	go func() {
		p := Params{Streams: 1, Direction: Send, NoWarmUp: true, Duration: 1500 * time.Millisecond, Interval: 50 * time.Millisecond}
		p.OnInterval = func(int, capacity.BitsPerSecond) { once.Do(func() { close(running) }) }
		_, err := Run(t.Context(), TCPDialer(addr), p)
		first <- err
	}()
	<-running
	// 300 ms of test + 2 s margin + 0.5 s of queue: the client's deadline allows 0.5 s of
	// waiting, and the server says busy within it instead of letting the deadline hit.
	ctx, cancel := context.WithTimeout(t.Context(), 300*time.Millisecond+queueMargin+500*time.Millisecond)
	defer cancel()
	p := short(Send, 1)
	p.NoWarmUp, p.WarmUp = true, 0
	if _, err := Run(ctx, TCPDialer(addr), p); !errors.Is(err, ErrBusy) {
		t.Errorf("queued test with a short deadline: err = %v, want ErrBusy", err)
	}
	if err := <-first; err != nil {
		t.Errorf("first test: %v", err)
	}
}

func TestLimits(t *testing.T) {
	addr, _ := startServer(t, Limits{MaxStreams: 2, MaxDuration: time.Second})
	tests := []struct {
		name string
		p    Params
		want error
	}{
		{"more streams than the server allows", Params{Streams: 3, Duration: 100 * time.Millisecond}, ErrLimit},
		{"longer than the server allows", Params{Streams: 1, WarmUp: 500 * time.Millisecond, Duration: time.Second}, ErrLimit},
		{"more streams than ASR uses (client side)", Params{Streams: MaxStreams + 1}, ErrLimit},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if _, err := Run(t.Context(), TCPDialer(addr), tt.p); !errors.Is(err, tt.want) {
				t.Errorf("err = %v, want %v", err, tt.want)
			}
		})
	}
}

func TestNotABandwidthServer(t *testing.T) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	done := make(chan struct{})
	t.Cleanup(func() { ln.Close(); <-done })
	go func() {
		defer close(done)
		for {
			c, err := ln.Accept()
			if err != nil {
				return
			}
			c.Write([]byte("SSH-2.0-OpenSSH_9.6\r\n"))
			c.Close()
		}
	}()
	if _, err := Run(t.Context(), TCPDialer(ln.Addr().String()), short(Send, 1)); !errors.Is(err, ErrProtocol) {
		t.Errorf("err = %v, want ErrProtocol", err)
	}
}

// breakingConn fails its writes after limit bytes, like a path that dies mid-test.
type breakingConn struct {
	net.Conn
	left atomic.Int64
}

func (c *breakingConn) Write(b []byte) (int, error) {
	if c.left.Add(-int64(len(b))) < 0 {
		return 0, errors.New("connection reset by peer (test)")
	}
	return c.Conn.Write(b)
}

func TestStreamLost(t *testing.T) {
	addr, _ := startServer(t, Limits{})
	dial := func(ctx context.Context) (net.Conn, error) {
		c, err := TCPDialer(addr)(ctx)
		if err != nil {
			return nil, err
		}
		bc := &breakingConn{Conn: c}
		bc.left.Store(1 << 20)
		return bc, nil
	}
	p := short(Send, 1)
	p.NoWarmUp, p.WarmUp = true, 0
	if _, err := Run(t.Context(), dial, p); !errors.Is(err, ErrStream) {
		t.Errorf("err = %v, want ErrStream", err)
	}
}

func TestCancelFreesTheServer(t *testing.T) {
	addr, _ := startServer(t, Limits{QueueWait: 2 * time.Second})
	ctx, cancel := context.WithCancel(t.Context())
	p := short(Receive, 2)
	p.OnInterval = func(int, capacity.BitsPerSecond) { cancel() }
	if _, err := Run(ctx, TCPDialer(addr), p); !errors.Is(err, context.Canceled) {
		t.Fatalf("err = %v, want context.Canceled", err)
	}
	// The next test is admitted: the cancelled one released its slot when its streams closed.
	if _, err := Run(t.Context(), TCPDialer(addr), short(Send, 1)); err != nil {
		t.Errorf("test after a cancelled one: %v", err)
	}
}

func TestLatencyUnderLoad(t *testing.T) {
	addr, _ := startServer(t, Limits{})
	p := short(Send, 2)
	p.LoadedEcho = probetest.UDPEcho(t).String()
	p.LoadedInterval = 20 * time.Millisecond
	res, err := Run(t.Context(), TCPDialer(addr), p)
	if err != nil {
		t.Fatal(err)
	}
	if res.Loaded == nil || res.LoadedError != "" {
		t.Fatalf("no loaded latency: %+v", res)
	}
	// 300 ms at 20 ms: about 15 samples; the window cuts the probe, so a few may be pending.
	if res.Loaded.Sent < 10 || res.Loaded.Received < 10 {
		t.Errorf("loaded: sent %d received %d, want >= 10", res.Loaded.Sent, res.Loaded.Received)
	}
}

func TestDirectionText(t *testing.T) {
	for _, d := range []Direction{Send, Receive} {
		b, err := d.MarshalText()
		if err != nil {
			t.Fatal(err)
		}
		var back Direction
		if err := back.UnmarshalText(b); err != nil || back != d {
			t.Errorf("%v: round trip gave %v, %v", d, back, err)
		}
	}
	if _, err := Direction(0).MarshalText(); err == nil {
		t.Error("unset direction marshalled")
	}
}

func TestTickets(t *testing.T) {
	clock := time.Date(2026, 11, 25, 14, 0, 0, 0, time.UTC)
	tk := NewTickets(time.Minute, func() time.Time { return clock })
	addr, _ := startServer(t, Limits{Admit: tk.Admit})

	// A test without a ticket is refused before any data flows.
	if _, err := Run(t.Context(), TCPDialer(addr), short(Send, 1)); !errors.Is(err, ErrLimit) {
		t.Fatalf("no ticket: err = %v, want ErrLimit", err)
	}
	// With a ticket, all its streams join.
	p := short(Send, 3)
	p.TestID = tk.Issue()
	if _, err := Run(t.Context(), TCPDialer(addr), p); err != nil {
		t.Fatalf("with a ticket: %v", err)
	}
	// A ticket is good once.
	if _, err := Run(t.Context(), TCPDialer(addr), p); !errors.Is(err, ErrLimit) {
		t.Errorf("reused ticket: err = %v, want ErrLimit", err)
	}
	// And only until it expires.
	id := tk.Issue()
	clock = clock.Add(2 * time.Minute)
	if err := tk.Admit(id); !errors.Is(err, ErrTicket) {
		t.Errorf("expired ticket: err = %v, want ErrTicket", err)
	}
}

// BenchmarkRun reports loopback throughput per stream count (Gbit/s); compare with iperf3 by
// go run ./bench/bwcompare. Each iteration is a one-second test.
func BenchmarkRun(b *testing.B) {
	for _, streams := range []int{1, 4} {
		b.Run(strconv.Itoa(streams)+"streams", func(b *testing.B) {
			ln, err := net.Listen("tcp", "127.0.0.1:0")
			if err != nil {
				b.Fatal(err)
			}
			ctx, cancel := context.WithCancel(context.Background())
			done := make(chan struct{})
			go func() { defer close(done); _ = Serve(ctx, ln, Limits{}) }()
			defer func() { cancel(); <-done }()
			var sum float64
			for b.Loop() {
				res, err := Run(ctx, TCPDialer(ln.Addr().String()), Params{Streams: streams, WarmUp: 200 * time.Millisecond, Duration: time.Second})
				if err != nil {
					b.Fatal(err)
				}
				sum += float64(res.Rate)
			}
			b.ReportMetric(sum/float64(b.N)/1e9, "Gbit/s")
		})
	}
}
