package probes

import (
	"bytes"
	"context"
	"fmt"
	"net"
	"net/netip"
	"sync"
	"time"
)

// The responder wire format. A destination agent's temporary TCP listener greets every
// connection with one hello line naming the source address it observed; its UDP echo sends each
// datagram back prefixed with the same. The prober reads it to learn NAT (observed != sent) and
// which NIC of the far host was reached. Real ASR services never send this line, which is how a
// prober tells a responder from a service when it does not already know.
//
//	TCP hello:  "NETPROBE/1 <observed-ip:port>\n"
//	UDP reply:  "NETPROBE/1 <observed-ip:port>\n" + the datagram as received
const helloPrefix = "NETPROBE/1 "

// PMTUProbePrefix starts a path-MTU probe datagram: "NETPROBE-PMTU/1 <token>\n" and padding.
// The UDP echo answers it with the hello and that first line only, so the answer is small and
// the return path's MTU cannot hide whether the large probe arrived.
const PMTUProbePrefix = "NETPROBE-PMTU/1 "

// MaxHello bounds how much of a greeting a prober reads.
const MaxHello = 64

// ResponderHello is the line a TCP responder writes to a connection from remote.
func ResponderHello(remote netip.AddrPort) []byte {
	return fmt.Appendf(nil, "%s%s\n", helloPrefix, remote)
}

// EchoReply is what a UDP echo responder sends back for payload received from remote.
func EchoReply(remote netip.AddrPort, payload []byte) []byte {
	return append(ResponderHello(remote), payload...)
}

// ParseHello reads a responder greeting (TCP hello or the head of a UDP echo reply). It returns
// the observed source, the rest of the message, and false when b is not a responder's message.
func ParseHello(b []byte) (observed netip.AddrPort, rest []byte, ok bool) {
	if !bytes.HasPrefix(b, []byte(helloPrefix)) {
		return netip.AddrPort{}, nil, false
	}
	line, rest, found := bytes.Cut(b[len(helloPrefix):], []byte("\n"))
	if !found || len(line) > MaxHello {
		return netip.AddrPort{}, nil, false
	}
	ap, err := netip.ParseAddrPort(string(line))
	if err != nil {
		return netip.AddrPort{}, nil, false
	}
	return ap, rest, true
}

// responderWriteTimeout bounds how long a responder spends on one connection: the hello is a
// few dozen bytes, so anything slower is a peer that does not read, and must not pin a goroutine.
const responderWriteTimeout = 2 * time.Second

// ResponderMaxConns bounds a TCP responder's greetings in flight, so that a port scan cannot
// pile up goroutines and descriptors; a connection beyond it is closed at once.
const ResponderMaxConns = 64

// ServeTCPResponder greets every connection on ln with ResponderHello and closes it. It owns
// ln: it closes it when ctx is done, waits for the greetings in flight, and returns nil. A
// temporary accept failure (out of file descriptors) is waited out (AcceptRetry); any other
// closes ln and is returned.
func ServeTCPResponder(ctx context.Context, ln net.Listener) error {
	stop := context.AfterFunc(ctx, func() { ln.Close() })
	defer stop()
	var wg sync.WaitGroup
	defer wg.Wait()
	sem := make(chan struct{}, ResponderMaxConns)
	var retry AcceptRetry
	for {
		c, err := ln.Accept()
		if err != nil {
			if ctx.Err() != nil {
				return nil
			}
			if retry.Wait(ctx, err) {
				continue
			}
			if ctx.Err() != nil {
				return nil
			}
			ln.Close()
			return fmt.Errorf("responder on %s: accept: %w", ln.Addr(), err)
		}
		retry.Reset()
		select {
		case sem <- struct{}{}:
		default:
			c.Close() // saturated: a refused greeting is better than an unbounded backlog
			continue
		}
		wg.Add(1)
		go func() {
			defer wg.Done()
			defer func() { <-sem }()
			defer c.Close()
			_ = c.SetWriteDeadline(time.Now().Add(responderWriteTimeout))
			_, _ = c.Write(ResponderHello(addrPortOf(c.RemoteAddr())))
		}()
	}
}

// ServeUDPEcho answers every datagram on pc with EchoReply. It owns pc: it closes it when ctx
// is done and returns nil; a temporary read failure is waited out (AcceptRetry), any other
// closes pc and is returned.
//
// A reply leaves from the address the datagram was sent to, also when pc listens on every
// address of a host with several (Linux: IP_PKTINFO / IPV6_PKTINFO). Without that the kernel
// picks the host's primary address, and a prober whose socket is connected to a secondary one
// discards every reply: latency over a VM's secondary IP would read as 100 % loss.
func ServeUDPEcho(ctx context.Context, pc net.PacketConn) error {
	stop := context.AfterFunc(ctx, func() { pc.Close() })
	defer stop()
	buf := make([]byte, 64*1024)
	read, write := plainUDP(pc)
	if uc, ok := pc.(*net.UDPConn); ok {
		if r, w, ok := pktinfoUDP(uc); ok {
			read, write = r, w
		}
	}
	var retry AcceptRetry
	for {
		n, from, dst, err := read(buf)
		if err != nil {
			if ctx.Err() != nil {
				return nil
			}
			if retry.Wait(ctx, err) {
				continue
			}
			if ctx.Err() != nil {
				return nil
			}
			pc.Close()
			return fmt.Errorf("udp echo on %s: read: %w", pc.LocalAddr(), err)
		}
		retry.Reset()
		_ = pc.SetWriteDeadline(time.Now().Add(responderWriteTimeout))
		_ = write(echoPayload(buf[:n], netip.AddrPortFrom(from.Addr().Unmap(), from.Port())), from, dst)
	}
}

// udpRead reads one datagram: its length, sender, and the local address it was sent to (the
// zero Addr when unknown). udpWrite sends a reply to a sender, from dst when it is valid.
type (
	udpRead  func(buf []byte) (n int, from netip.AddrPort, dst netip.Addr, err error)
	udpWrite func(b []byte, to netip.AddrPort, from netip.Addr) error
)

// plainUDP reads and writes through the PacketConn interface: the kernel picks the source.
func plainUDP(pc net.PacketConn) (udpRead, udpWrite) {
	addrs := map[netip.AddrPort]net.Addr{}
	read := func(buf []byte) (int, netip.AddrPort, netip.Addr, error) {
		n, from, err := pc.ReadFrom(buf)
		if err != nil {
			return 0, netip.AddrPort{}, netip.Addr{}, err
		}
		ap := addrPortOf(from)
		clear(addrs)
		addrs[ap] = from
		return n, ap, netip.Addr{}, nil
	}
	write := func(b []byte, to netip.AddrPort, _ netip.Addr) error {
		_, err := pc.WriteTo(b, addrs[to])
		return err
	}
	return read, write
}

// echoPayload is the reply to payload from a prober: the hello and the datagram, a PMTU
// probe cut to its first line, all within one datagram.
func echoPayload(payload []byte, from netip.AddrPort) []byte {
	if bytes.HasPrefix(payload, []byte(PMTUProbePrefix)) {
		if i := bytes.IndexByte(payload, '\n'); i > 0 && i <= len(PMTUProbePrefix)+MaxHello {
			payload = payload[:i+1]
		}
	}
	reply := EchoReply(from, payload)
	// Keep the reply within one datagram; the hello prefix is what the prober needs.
	if len(reply) > maxUDPPayload {
		reply = reply[:maxUDPPayload]
	}
	return reply
}

// maxUDPPayload is the largest UDP payload over IPv4 (65535 - 20 - 8).
const maxUDPPayload = 65507

func addrPortOf(a net.Addr) netip.AddrPort {
	switch v := a.(type) {
	case *net.TCPAddr:
		ap := v.AddrPort()
		return netip.AddrPortFrom(ap.Addr().Unmap(), ap.Port())
	case *net.UDPAddr:
		ap := v.AddrPort()
		return netip.AddrPortFrom(ap.Addr().Unmap(), ap.Port())
	}
	ap, _ := netip.ParseAddrPort(a.String())
	return ap
}
