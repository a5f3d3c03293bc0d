package agent

import (
	"context"
	"io"
	"net"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/netprobe/netprobe/internal/bwtest"
	"github.com/netprobe/netprobe/internal/probes"
)

// breakSockets closes the live sockets of the responder set id under the agent, as a socket
// failing would (the serving loop sees a closed socket, not a cancelled set).
func breakSockets(t *testing.T, a *testAgent, id string) {
	t.Helper()
	a.srv.resp.mu.Lock()
	set := a.srv.resp.sets[id]
	a.srv.resp.mu.Unlock()
	if set == nil {
		t.Fatalf("no responder set %s", id)
	}
	for _, slots := range set.slots {
		for _, s := range slots {
			s.mu.Lock()
			_ = s.c.Close()
			s.mu.Unlock()
		}
	}
}

func hello(t *testing.T, addr string) (string, error) {
	t.Helper()
	c, err := net.DialTimeout("tcp", addr, time.Second)
	if err != nil {
		return "", err
	}
	defer c.Close()
	_ = c.SetReadDeadline(time.Now().Add(time.Second))
	b, err := io.ReadAll(io.LimitReader(c, 128))
	return string(b), err
}

// TestResponderReopensAfterItsSocketFails: a responder whose socket fails is re-opened with a
// backoff; while it cannot be (someone else took the port meanwhile) the agent reports it down,
// and once it is back it reports the outage, so a coordinator can tell a check that ran during
// it (issue 14, item 3: the agent kept reporting a dead responder open).
func TestResponderReopensAfterItsSocketFails(t *testing.T) {
	a := startAgent(t, Config{})
	c := dialAgent(t, a, ClientConfig{})
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	defer cancel()
	port := freePort(t, "tcp")
	addr := net.JoinHostPort("127.0.0.1", strconv.Itoa(port))
	l := Listen{Proto: "tcp", Port: port}
	r, err := c.OpenResponders(ctx, []Listen{l})
	if err != nil || r.Ports[0].Status != Opened {
		t.Fatalf("open: %+v %v", r, err)
	}
	st, err := c.ResponderStatus(ctx, []Listen{l, {Proto: "udp", Port: port}})
	if err != nil || st[0].Status != Opened || st[0].Outages != 0 || st[1].Status != Gone {
		t.Fatalf("status before: %+v %v", st, err)
	}

	// The socket fails and another process binds the port before the agent can re-open it.
	breakSockets(t, a, r.ID)
	var squatter net.Listener
	for range 50 {
		if squatter, err = net.Listen("tcp", addr); err == nil {
			break
		}
		time.Sleep(2 * time.Millisecond)
	}
	if squatter == nil {
		t.Fatalf("could not take the port after the responder's socket closed: %v", err)
	}
	time.Sleep(300 * time.Millisecond) // a few re-open attempts fail
	st, err = c.ResponderStatus(ctx, []Listen{l})
	if err != nil || st[0].Status != Down || st[0].Outages != 1 || !strings.Contains(st[0].Detail, "re-opening") {
		t.Fatalf("status while the port is taken: %+v %v, want down", st, err)
	}
	// A renewal (the same port asked again) shares the set and says it is down, not open.
	r2, err := c.OpenResponders(ctx, []Listen{l})
	if err != nil || r2.Ports[0].Status != Down {
		t.Fatalf("open again while down: %+v %v, want down", r2, err)
	}
	_ = c.CloseResponders(ctx, r2.ID)
	if !strings.Contains(a.logs.String(), `"event":"responder_down"`) {
		t.Error("no responder_down event in the log")
	}

	// The port comes free: the agent re-opens it, greets again and reports the outage.
	squatter.Close()
	deadline := time.Now().Add(10 * time.Second)
	for {
		st, err = c.ResponderStatus(ctx, []Listen{l})
		if err == nil && st[0].Status == Opened {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("responder not re-opened within 10s: %+v %v", st, err)
		}
		time.Sleep(50 * time.Millisecond)
	}
	if st[0].Outages != 1 || st[0].UpForMS < 0 || st[0].UpForMS > 5000 {
		t.Errorf("status after re-open: %+v, want one outage that ended moments ago", st[0])
	}
	b, err := hello(t, addr)
	if _, _, ok := probes.ParseHello([]byte(b)); !ok {
		t.Errorf("no hello after re-open: %q %v", b, err)
	}
	// Closing the set closes the re-opened socket.
	if err := c.CloseResponders(ctx, r.ID); err != nil {
		t.Fatal(err)
	}
	if _, err := hello(t, addr); err == nil {
		t.Error("the re-opened responder still listens after its set was closed")
	}
}

// TestBandwidthResponderReopens: a bandwidth responder's data port is supervised too.
func TestBandwidthResponderReopens(t *testing.T) {
	a := startAgent(t, Config{})
	c := dialAgent(t, a, ClientConfig{})
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	defer cancel()
	port := freePort(t, "tcp")
	l := Listen{Proto: ProtoBandwidth, Port: port}
	r, err := c.OpenResponders(ctx, []Listen{l})
	if err != nil || r.Ports[0].Status != Opened {
		t.Fatalf("open: %+v %v", r, err)
	}
	breakSockets(t, a, r.ID)
	deadline := time.Now().Add(10 * time.Second)
	for {
		st, err := c.ResponderStatus(ctx, []Listen{l})
		if err == nil && st[0].Status == Opened && st[0].Outages == 1 {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("bandwidth responder not re-opened: %+v %v", st, err)
		}
		time.Sleep(50 * time.Millisecond)
	}
	if _, err := hello(t, net.JoinHostPort("127.0.0.1", strconv.Itoa(port))); err != nil && !strings.Contains(err.Error(), "timeout") {
		t.Errorf("data port after re-open: %v", err)
	}
}

// TestOwnRespondersAreNotServices: a TCP port this agent's own responders hold is netprobe's:
// a bandwidth responder a run left behind (a hung or killed coordinator never closed it) is
// reclaimed once its run is over, and one still in use, or a port-check responder, is
// reported in_use - never "held", which a coordinator reads as an installed service (issue
// 14, item 5: "port 19443 is held by a service (ASR installed?)" for 10 minutes).
func TestOwnRespondersAreNotServices(t *testing.T) {
	var mu sync.Mutex
	now := time.Now()
	clock := func() time.Time { mu.Lock(); defer mu.Unlock(); return now }
	advance := func(d time.Duration) { mu.Lock(); now = now.Add(d); mu.Unlock() }
	a := startAgent(t, Config{Now: clock})
	c := dialAgent(t, a, ClientConfig{})
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	port := freePort(t, "tcp")
	bw := Listen{Proto: ProtoBandwidth, Port: port}

	left, err := c.OpenResponders(ctx, []Listen{bw}) // a run that then hangs
	if err != nil || left.Ports[0].Status != Opened {
		t.Fatalf("open: %+v %v", left, err)
	}
	r, err := c.OpenResponders(ctx, []Listen{bw})
	if err != nil || r.Ports[0].Status != InUse || !strings.Contains(r.Ports[0].Detail, left.ID) {
		t.Fatalf("second open while the first ticket is fresh: %+v %v, want in_use naming set %s", r, err, left.ID)
	}
	advance(bwAbandonAfter + time.Second)
	r, err = c.OpenResponders(ctx, []Listen{bw})
	if err != nil || r.Ports[0].Status != Opened || r.Ports[0].Ticket == "" {
		t.Fatalf("open after the first ticket went unused for %s: %+v %v, want opened (reclaimed)", bwAbandonAfter, r, err)
	}
	if !strings.Contains(a.logs.String(), `"event":"responder_reclaimed"`) {
		t.Error("no responder_reclaimed event in the log")
	}
	// The new responder runs its own test; the abandoned set's ticket is gone with its port.
	addr := net.JoinHostPort("127.0.0.1", strconv.Itoa(port))
	if _, err := bwtest.Run(ctx, bwtest.TCPDialer(addr), bwtest.Params{Streams: 1, Duration: 200 * time.Millisecond, NoWarmUp: true, Interval: 100 * time.Millisecond, TestID: left.Ports[0].Ticket}); err == nil {
		t.Error("the reclaimed responder's ticket still runs a test")
	}
	if _, err := bwtest.Run(ctx, bwtest.TCPDialer(addr), bwtest.Params{Streams: 1, Duration: 200 * time.Millisecond, NoWarmUp: true, Interval: 100 * time.Millisecond, TestID: r.Ports[0].Ticket}); err != nil {
		t.Errorf("the new responder's test: %v", err)
	}
	// A responder in use past its ticket (its test admitted just now) is not reclaimed.
	if _, err := c.OpenResponders(ctx, []Listen{bw}); err != nil {
		t.Fatal(err)
	}
	r2, _ := c.OpenResponders(ctx, []Listen{bw})
	if r2.Ports[0].Status != InUse {
		t.Errorf("open while a test just ran on the port: %+v, want in_use", r2.Ports[0])
	}
	_ = c.CloseResponders(ctx, left.ID)
	_ = c.CloseResponders(ctx, r.ID)

	// A port-check responder of this agent on the data port is netprobe's too.
	tport := freePort(t, "tcp")
	tr, err := c.OpenResponders(ctx, []Listen{{Proto: "tcp", Port: tport}})
	if err != nil || tr.Ports[0].Status != Opened {
		t.Fatalf("open tcp: %+v %v", tr, err)
	}
	br, err := c.OpenResponders(ctx, []Listen{{Proto: ProtoBandwidth, Port: tport}})
	if err != nil || br.Ports[0].Status != InUse {
		t.Errorf("bandwidth on a port our TCP responder holds: %+v %v, want in_use", br, err)
	}
}
