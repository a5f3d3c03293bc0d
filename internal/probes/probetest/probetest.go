// Package probetest starts real servers on loopback for the probes' tests: responders, silent
// and closed ports, a listener whose backlog is full, DNS and TLS servers. Every server listens
// on 127.0.0.1:0 and is stopped in t.Cleanup, also when the test fails.
package probetest

import (
	"context"
	"net"
	"net/netip"
	"sync"
	"testing"
	"time"

	"github.com/netprobe/netprobe/internal/probes"
)

// TCPResponder runs probes.ServeTCPResponder on 127.0.0.1:0 and returns its address.
func TCPResponder(t testing.TB) netip.AddrPort {
	t.Helper()
	ln := listenTCP(t)
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- probes.ServeTCPResponder(ctx, ln) }()
	t.Cleanup(func() {
		cancel()
		if err := <-done; err != nil {
			t.Errorf("ServeTCPResponder: %v", err)
		}
	})
	return addrOf(ln.Addr())
}

// UDPEcho runs probes.ServeUDPEcho on 127.0.0.1:0 and returns its address.
func UDPEcho(t testing.TB) netip.AddrPort {
	t.Helper()
	pc := listenUDP(t)
	UDPEchoOn(t, pc)
	return addrOf(pc.LocalAddr())
}

// UDPEchoOn runs probes.ServeUDPEcho on pc, a socket the caller opened (in a lab host's
// namespace, say), until the test ends; pc is closed then.
func UDPEchoOn(t testing.TB, pc net.PacketConn) {
	t.Helper()
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- probes.ServeUDPEcho(ctx, pc) }()
	t.Cleanup(func() {
		cancel()
		if err := <-done; err != nil {
			t.Errorf("ServeUDPEcho: %v", err)
		}
	})
}

// TCPService is a listener that accepts and says nothing, like a real service waiting for
// its client to speak first (HTTPS).
func TCPService(t testing.TB) netip.AddrPort {
	t.Helper()
	ln := listenTCP(t)
	var wg sync.WaitGroup
	wg.Add(1)
	go func() {
		defer wg.Done()
		var conns []net.Conn
		defer func() {
			for _, c := range conns {
				c.Close()
			}
		}()
		for {
			c, err := ln.Accept()
			if err != nil {
				return
			}
			conns = append(conns, c)
		}
	}()
	t.Cleanup(func() { ln.Close(); wg.Wait() })
	return addrOf(ln.Addr())
}

// HoldPort accepts on ln, a listener the caller opened, and closes every connection at once
// until the test ends: a service holds the port, so nothing else can listen there.
func HoldPort(t testing.TB, ln net.Listener) {
	t.Helper()
	var wg sync.WaitGroup
	wg.Add(1)
	go func() {
		defer wg.Done()
		for {
			c, err := ln.Accept()
			if err != nil {
				return
			}
			c.Close()
		}
	}()
	t.Cleanup(func() { ln.Close(); wg.Wait() })
}

// UDPService answers every datagram with reply, like a real UDP service.
func UDPService(t testing.TB, reply []byte) netip.AddrPort {
	t.Helper()
	pc := listenUDP(t)
	var wg sync.WaitGroup
	wg.Add(1)
	go func() {
		defer wg.Done()
		buf := make([]byte, 2048)
		for {
			_, from, err := pc.ReadFrom(buf)
			if err != nil {
				return
			}
			_, _ = pc.WriteTo(reply, from)
		}
	}()
	t.Cleanup(func() { pc.Close(); wg.Wait() })
	return addrOf(pc.LocalAddr())
}

// UDPSilent holds a UDP port and never answers: the port is open, and a prober without a
// responder there cannot know it (open|filtered).
func UDPSilent(t testing.TB) netip.AddrPort {
	t.Helper()
	pc := listenUDP(t)
	t.Cleanup(func() { pc.Close() })
	return addrOf(pc.LocalAddr())
}

// ClosedPort returns a loopback port on which nothing listens: it binds one, reads its number
// and closes it. Another process could take it in between; on a test machine that is rare
// enough, and the test would fail loudly rather than pass wrongly.
func ClosedPort(t testing.TB, network string) netip.AddrPort {
	t.Helper()
	if network == "udp" {
		pc := listenUDP(t)
		ap := addrOf(pc.LocalAddr())
		pc.Close()
		return ap
	}
	ln := listenTCP(t)
	ap := addrOf(ln.Addr())
	ln.Close()
	return ap
}

// BlackholeDial is an Env.Dial that never connects: it blocks until ctx ends, as a SYN to a
// dropping firewall does, and then fails with ctx's error.
func BlackholeDial(ctx context.Context, network, address string) (net.Conn, error) {
	<-ctx.Done()
	return nil, &net.OpError{Op: "dial", Net: network, Err: ctx.Err()}
}

// Within fails t when took exceeds deadline by more than slack: probes must honour their
// caller's deadline.
func Within(t testing.TB, took, deadline, slack time.Duration) {
	t.Helper()
	if took > deadline+slack {
		t.Errorf("took %v, want within deadline %v + %v slack", took, deadline, slack)
	}
}

func listenTCP(t testing.TB) net.Listener {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatalf("listen tcp on loopback: %v", err)
	}
	return ln
}

func listenUDP(t testing.TB) net.PacketConn {
	t.Helper()
	pc, err := net.ListenPacket("udp", "127.0.0.1:0")
	if err != nil {
		t.Fatalf("listen udp on loopback: %v", err)
	}
	return pc
}

func addrOf(a net.Addr) netip.AddrPort {
	ap, err := netip.ParseAddrPort(a.String())
	if err != nil {
		panic(err)
	}
	return ap
}
