package agent

import (
	"bufio"
	"context"
	"errors"
	"net"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/netprobe/netprobe/internal/probes"
)

func freePort(t *testing.T, proto string) int {
	t.Helper()
	if proto == "udp" {
		pc, err := net.ListenPacket("udp", "127.0.0.1:0")
		if err != nil {
			t.Fatal(err)
		}
		defer pc.Close()
		return pc.LocalAddr().(*net.UDPAddr).Port
	}
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	return ln.Addr().(*net.TCPAddr).Port
}

// TestRespondersLeaveHeldPorts: ports another process holds come back "held" and keep
// belonging to that process; free ports are opened and answer with the responder hello.
func TestRespondersLeaveHeldPorts(t *testing.T) {
	a := startAgent(t, Config{})
	c := dialAgent(t, a, ClientConfig{})

	heldTCP := listenLoopback(t) // a "real service"
	go func() {
		for {
			conn, err := heldTCP.Accept()
			if err != nil {
				return
			}
			_, _ = conn.Write([]byte("SERVICE\n"))
			conn.Close()
		}
	}()
	heldUDP, err := net.ListenPacket("udp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { heldUDP.Close() })
	tcpHeld := heldTCP.Addr().(*net.TCPAddr).Port
	udpHeld := heldUDP.LocalAddr().(*net.UDPAddr).Port
	tcpFree, udpFree := freePort(t, "tcp"), freePort(t, "udp")

	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	r, err := c.OpenResponders(ctx, []Listen{
		{"tcp", tcpHeld}, {"udp", udpHeld}, {"tcp", tcpFree}, {"udp", udpFree},
	})
	if err != nil {
		t.Fatal(err)
	}
	want := []ResponderStatus{Held, Held, Opened, Opened}
	for i, p := range r.Ports {
		if p.Status != want[i] {
			t.Errorf("%d/%s: %s (%s), want %s", p.Port, p.Proto, p.Status, p.Detail, want[i])
		}
	}
	if r.ID == "" {
		t.Fatal("no id for opened responders")
	}
	// The held service still answers itself.
	if line := readLine(t, heldTCP.Addr().String()); line != "SERVICE" {
		t.Errorf("held service now answers %q", line)
	}
	// The responder greets with the observed source.
	line := readLine(t, net.JoinHostPort("127.0.0.1", strconv.Itoa(tcpFree)))
	if _, _, ok := probes.ParseHello([]byte(line + "\n")); !ok {
		t.Errorf("responder greeting %q is not a responder hello", line)
	}
	// And a port probe through the agent sees it open, answered by a responder.
	pr, err := c.Port(ctx, probes.PortRequest{Proto: "tcp", Address: net.JoinHostPort("127.0.0.1", strconv.Itoa(tcpFree)), Banner: true})
	if err != nil || pr.State != probes.Open {
		t.Errorf("port probe of the responder: %+v %v, want open", pr, err)
	}
	if got := a.srv.resp.count(); got != 2 {
		t.Errorf("open responders = %d, want 2", got)
	}
	if err := c.CloseResponders(ctx, r.ID); err != nil {
		t.Fatal(err)
	}
	if got := a.srv.resp.count(); got != 0 {
		t.Errorf("after close: %d open", got)
	}
	// Closed means closed: the port can be bound again.
	ln, err := net.Listen("tcp", net.JoinHostPort("127.0.0.1", strconv.Itoa(tcpFree)))
	if err != nil {
		t.Errorf("port still bound after close: %v", err)
	} else {
		ln.Close()
	}
}

func readLine(t *testing.T, addr string) string {
	t.Helper()
	conn, err := net.DialTimeout("tcp", addr, 2*time.Second)
	if err != nil {
		t.Fatalf("connect %s: %v", addr, err)
	}
	defer conn.Close()
	_ = conn.SetReadDeadline(time.Now().Add(2 * time.Second))
	line, _ := bufio.NewReader(conn).ReadString('\n')
	return strings.TrimSpace(line)
}

func TestResponderBounds(t *testing.T) {
	a := startAgent(t, Config{Bounds: Bounds{MaxResponders: 2, ResponderTTL: 300 * time.Millisecond}})
	c := dialAgent(t, a, ClientConfig{})
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()

	t.Run("count", func(t *testing.T) {
		_, err := c.OpenResponders(ctx, []Listen{{"tcp", freePort(t, "tcp")}, {"udp", freePort(t, "udp")}, {"tcp", freePort(t, "tcp")}})
		var re *RemoteError
		if !errors.As(err, &re) || re.Code != CodeBounds {
			t.Fatalf("3 responders with a bound of 2: %v, want bounds refusal", err)
		}
		// Two requests together cannot exceed it either.
		r1, err := c.OpenResponders(ctx, []Listen{{"tcp", freePort(t, "tcp")}, {"udp", freePort(t, "udp")}})
		if err != nil {
			t.Fatal(err)
		}
		if _, err := c.OpenResponders(ctx, []Listen{{"tcp", freePort(t, "tcp")}}); !errors.As(err, &re) || re.Code != CodeBounds {
			t.Fatalf("third responder across requests: %v, want bounds refusal", err)
		}
		_ = c.CloseResponders(ctx, r1.ID)
	})

	t.Run("ttl", func(t *testing.T) {
		port := freePort(t, "tcp")
		before := time.Now()
		r, err := c.OpenRespondersTTL(ctx, []Listen{{"tcp", port}}, time.Hour)
		if err != nil {
			t.Fatal(err)
		}
		if r.ExpiresAt.After(before.Add(time.Second)) {
			t.Errorf("asked 1h, expires at %s: the 300ms cap was exceeded", r.ExpiresAt)
		}
		// Within a few seconds the TTL closes it without any close request.
		deadline := time.Now().Add(5 * time.Second)
		for a.srv.resp.count() != 0 {
			if time.Now().After(deadline) {
				t.Fatal("responder outlived its TTL")
			}
			time.Sleep(20 * time.Millisecond)
		}
		if conn, err := net.DialTimeout("tcp", net.JoinHostPort("127.0.0.1", strconv.Itoa(port)), time.Second); err == nil {
			conn.Close()
			t.Error("expired responder still accepts")
		}
	})
}

// TestShutdownClosesResponders: cancelling the agent's ctx closes every responder.
func TestShutdownClosesResponders(t *testing.T) {
	srv, err := NewServer(Config{Token: testToken, ResponderHost: "127.0.0.1", ShutdownGrace: time.Second})
	if err != nil {
		t.Fatal(err)
	}
	ln := listenLoopback(t)
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	done := make(chan error, 1)
	go func() { done <- srv.Serve(ctx, ln) }()
	c, err := Dial(ctx, ln.Addr().String(), ClientConfig{Token: testToken})
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	port := freePort(t, "tcp")
	if _, err := c.OpenResponders(ctx, []Listen{{"tcp", port}}); err != nil {
		t.Fatal(err)
	}
	cancel()
	select {
	case err := <-done:
		if err != nil {
			t.Fatalf("Serve: %v", err)
		}
	case <-time.After(5 * time.Second):
		t.Fatal("Serve did not return")
	}
	if conn, err := net.DialTimeout("tcp", net.JoinHostPort("127.0.0.1", strconv.Itoa(port)), time.Second); err == nil {
		conn.Close()
		t.Error("responder survived shutdown")
	}
	if _, err := c.Hello(context.Background()); !errors.Is(err, ErrUnreachable) {
		t.Errorf("Hello after shutdown: %v, want ErrUnreachable", err)
	}
}

// TestRespondersShared: a second request for a port this agent already listens on (a second
// run, or several topology hosts sharing one agent) is given the open responder, not a "held"
// that would read as a real service; a bandwidth responder is never shared.
func TestRespondersShared(t *testing.T) {
	a := startAgent(t, Config{})
	c := dialAgent(t, a, ClientConfig{})
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	tcp, udp := freePort(t, "tcp"), freePort(t, "udp")
	first, err := c.OpenResponders(ctx, []Listen{{"tcp", tcp}, {"udp", udp}})
	if err != nil {
		t.Fatal(err)
	}
	second, err := c.OpenResponders(ctx, []Listen{{"tcp", tcp}, {"udp", udp}})
	if err != nil {
		t.Fatal(err)
	}
	for _, p := range second.Ports {
		if p.Status != Opened || !strings.Contains(p.Detail, first.ID) {
			t.Errorf("%s/%d: %v %q, want opened and shared with %s", p.Proto, p.Port, p.Status, p.Detail, first.ID)
		}
	}
	bw := freePort(t, "tcp")
	if _, err := c.OpenResponders(ctx, []Listen{{ProtoBandwidth, bw}}); err != nil {
		t.Fatal(err)
	}
	again, err := c.OpenResponders(ctx, []Listen{{ProtoBandwidth, bw}})
	if err != nil {
		t.Fatal(err)
	}
	if again.Ports[0].Status == Opened {
		t.Errorf("a bandwidth responder was shared: %+v", again.Ports[0])
	}
	// The responder still answers on its port.
	conn, err := net.DialTimeout("tcp", net.JoinHostPort("127.0.0.1", strconv.Itoa(tcp)), time.Second)
	if err != nil {
		t.Fatal(err)
	}
	conn.Close()
}

// TestRespondersSharedDoNotCount: sharing ports that are already open costs none of the
// responder bound, so a second run on a full agent still gets them.
func TestRespondersSharedDoNotCount(t *testing.T) {
	a := startAgent(t, Config{Bounds: Bounds{MaxResponders: 2}})
	c := dialAgent(t, a, ClientConfig{})
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	ls := []Listen{{"tcp", freePort(t, "tcp")}, {"udp", freePort(t, "udp")}}
	if _, err := c.OpenResponders(ctx, ls); err != nil {
		t.Fatal(err)
	}
	again, err := c.OpenResponders(ctx, ls)
	if err != nil {
		t.Fatalf("sharing two open ports on a full agent: %v", err)
	}
	if again.ID == "" {
		t.Error("a set of shared ports has no ID to release them by")
	}
	if _, err := c.OpenResponders(ctx, []Listen{{"tcp", freePort(t, "tcp")}}); err == nil {
		t.Error("a third port on a full agent was opened")
	}
}

// TestRespondersSharedOutliveTheirOwner: a port lent to a second run stays open when the
// first run closes its set, and closes with the last borrower.
func TestRespondersSharedOutliveTheirOwner(t *testing.T) {
	a := startAgent(t, Config{})
	c := dialAgent(t, a, ClientConfig{})
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	port := freePort(t, "tcp")
	addr := net.JoinHostPort("127.0.0.1", strconv.Itoa(port))
	answers := func() bool {
		conn, err := net.DialTimeout("tcp", addr, time.Second)
		if err != nil {
			return false
		}
		conn.Close()
		return true
	}
	first, err := c.OpenResponders(ctx, []Listen{{"tcp", port}})
	if err != nil {
		t.Fatal(err)
	}
	second, err := c.OpenResponders(ctx, []Listen{{"tcp", port}})
	if err != nil || second.ID == "" {
		t.Fatalf("share: %+v %v", second, err)
	}
	if err := c.CloseResponders(ctx, first.ID); err != nil {
		t.Fatal(err)
	}
	if !answers() {
		t.Fatal("the owner's close took the port from the run still using it")
	}
	if err := c.CloseResponders(ctx, second.ID); err != nil {
		t.Fatal(err)
	}
	deadline := time.Now().Add(2 * time.Second)
	for answers() {
		if time.Now().After(deadline) {
			t.Fatal("the port still answers after both sets closed")
		}
		time.Sleep(20 * time.Millisecond)
	}
	if n := a.srv.resp.count(); n != 0 {
		t.Errorf("%d responders counted open after both closed", n)
	}
}
