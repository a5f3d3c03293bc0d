package probes_test

import (
	"context"
	"io"
	"net"
	"net/netip"
	"os"
	"sync/atomic"
	"syscall"
	"testing"
	"time"

	"github.com/netprobe/netprobe/internal/probes"
)

// TestServeTCPResponder: every connection gets the hello naming its own source, and cancelling
// the context stops the server promptly even with clients still connected.
func TestServeTCPResponder(t *testing.T) {
	t.Parallel()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- probes.ServeTCPResponder(ctx, ln) }()
	var idle []net.Conn
	for range 5 {
		c, err := net.Dial("tcp", ln.Addr().String())
		if err != nil {
			t.Fatal(err)
		}
		b, _ := io.ReadAll(io.LimitReader(c, 128))
		obs, rest, ok := probes.ParseHello(b)
		if !ok || obs != netip.MustParseAddrPort(c.LocalAddr().String()) || len(rest) != 0 {
			t.Errorf("hello %q: observed %v ok=%v, want %s", b, obs, ok, c.LocalAddr())
		}
		idle = append(idle, c)
	}
	defer func() {
		for _, c := range idle {
			c.Close()
		}
	}()
	cancel()
	select {
	case err := <-done:
		if err != nil {
			t.Errorf("ServeTCPResponder after cancel: %v, want nil", err)
		}
	case <-time.After(time.Second):
		t.Fatal("ServeTCPResponder did not return within 1s of cancel")
	}
	if _, err := net.DialTimeout("tcp", ln.Addr().String(), 200*time.Millisecond); err == nil {
		t.Error("listener still accepts after cancel")
	}
}

func TestServeUDPEcho(t *testing.T) {
	t.Parallel()
	pc, err := net.ListenPacket("udp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- probes.ServeUDPEcho(ctx, pc) }()
	c, err := net.Dial("udp", pc.LocalAddr().String())
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	if _, err := c.Write([]byte("ping-1")); err != nil {
		t.Fatal(err)
	}
	_ = c.SetReadDeadline(time.Now().Add(time.Second))
	buf := make([]byte, 256)
	n, err := c.Read(buf)
	if err != nil {
		t.Fatal(err)
	}
	obs, rest, ok := probes.ParseHello(buf[:n])
	if !ok || obs != netip.MustParseAddrPort(c.LocalAddr().String()) || string(rest) != "ping-1" {
		t.Errorf("reply %q: observed %v, rest %q", buf[:n], obs, rest)
	}
	// A path-MTU probe is answered with its first line only, whatever its size.
	probe := append([]byte(probes.PMTUProbePrefix+"abc 7\n"), make([]byte, 1200)...)
	if _, err := c.Write(probe); err != nil {
		t.Fatal(err)
	}
	n, err = c.Read(buf)
	if _, rest, ok := probes.ParseHello(buf[:n]); err != nil || !ok || string(rest) != probes.PMTUProbePrefix+"abc 7\n" {
		t.Errorf("PMTU probe reply %q %v, want the hello and the probe's first line", buf[:n], err)
	}
	cancel()
	select {
	case err := <-done:
		if err != nil {
			t.Errorf("ServeUDPEcho after cancel: %v, want nil", err)
		}
	case <-time.After(time.Second):
		t.Fatal("ServeUDPEcho did not return within 1s of cancel")
	}
}

// TestPortIPv6: the probe speaks IPv6 too (loopback ::1), where the host has it.
func TestPortIPv6(t *testing.T) {
	t.Parallel()
	ln, err := net.Listen("tcp", "[::1]:0")
	if err != nil {
		t.Skipf("no IPv6 loopback here: %v", err)
	}
	defer ln.Close()
	go func() {
		for {
			c, err := ln.Accept()
			if err != nil {
				return
			}
			c.Close()
		}
	}()
	ctx, cancel := context.WithTimeout(context.Background(), time.Second)
	defer cancel()
	got, err := probes.Port(ctx, nil, probes.PortRequest{Address: ln.Addr().String()})
	if err != nil || got.State != probes.Open || got.SourceIP != "::1" {
		t.Errorf("open: %+v %v", got, err)
	}
	addr := ln.Addr().String()
	ln.Close()
	got, err = probes.Port(ctx, nil, probes.PortRequest{Address: addr})
	if err != nil || got.State != probes.Closed || got.Reason != probes.Reset {
		t.Errorf("closed: %+v %v", got, err)
	}
}

// emfileListener fails its first accepts with EMFILE, as a process out of file descriptors
// does, then accepts normally.
type emfileListener struct {
	net.Listener
	fail atomic.Int32
}

func (l *emfileListener) Accept() (net.Conn, error) {
	if l.fail.Add(-1) >= 0 {
		return nil, &net.OpError{Op: "accept", Net: "tcp", Err: os.NewSyscallError("accept4", syscall.EMFILE)}
	}
	return l.Listener.Accept()
}

// emfilePacketConn fails its first reads with ENOBUFS-like temporary errors.
type emfilePacketConn struct {
	net.PacketConn
	fail atomic.Int32
}

func (c *emfilePacketConn) ReadFrom(b []byte) (int, net.Addr, error) {
	if c.fail.Add(-1) >= 0 {
		return 0, nil, &net.OpError{Op: "read", Net: "udp", Err: os.NewSyscallError("recvfrom", syscall.EMFILE)}
	}
	return c.PacketConn.ReadFrom(b)
}

// TestRespondersOutliveFDShortage: a brief shortage of file descriptors (accept and read fail
// with EMFILE) must not close a responder: it waits and serves again, as net/http does
// (issue 14, item 3: the listener closed for good and the agent kept reporting it open).
func TestRespondersOutliveFDShortage(t *testing.T) {
	t.Parallel()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	el := &emfileListener{Listener: ln}
	el.fail.Store(5)
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 2)
	go func() { done <- probes.ServeTCPResponder(ctx, el) }()

	pc, err := net.ListenPacket("udp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	ep := &emfilePacketConn{PacketConn: pc}
	ep.fail.Store(5)
	go func() { done <- probes.ServeUDPEcho(ctx, ep) }()
	defer func() {
		cancel()
		for range 2 {
			if err := <-done; err != nil {
				t.Errorf("serve returned %v after cancel", err)
			}
		}
	}()

	c, err := net.DialTimeout("tcp", ln.Addr().String(), time.Second)
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	_ = c.SetReadDeadline(time.Now().Add(3 * time.Second))
	b, _ := io.ReadAll(io.LimitReader(c, 128))
	if _, _, ok := probes.ParseHello(b); !ok {
		t.Fatalf("no hello after the accept errors (got %q): the responder gave up", b)
	}

	u, err := net.Dial("udp", pc.LocalAddr().String())
	if err != nil {
		t.Fatal(err)
	}
	defer u.Close()
	buf := make([]byte, 256)
	for try := 0; ; try++ {
		_, _ = u.Write([]byte("ping"))
		_ = u.SetReadDeadline(time.Now().Add(300 * time.Millisecond))
		if n, err := u.Read(buf); err == nil {
			if _, _, ok := probes.ParseHello(buf[:n]); !ok {
				t.Fatalf("echo reply %q", buf[:n])
			}
			break
		}
		if try == 10 {
			t.Fatal("no echo after the read errors: the UDP echo gave up")
		}
	}
}
