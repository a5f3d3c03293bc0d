package agent

import (
	"context"
	"io"
	"net"
	"strconv"
	"strings"
	"testing"
	"time"

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
	for _, s := range set.slots {
		s.mu.Lock()
		_ = s.c.Close()
		s.mu.Unlock()
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
