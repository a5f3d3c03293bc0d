package probes

import (
	"context"
	"net"
	"net/netip"
	"testing"
	"time"
)

// TestRxTimeReader: a datagram's kernel receive time comes with it, between the send and
// the moment the reader returns.
func TestRxTimeReader(t *testing.T) {
	srv, err := net.ListenUDP("udp4", &net.UDPAddr{IP: net.IPv4(127, 0, 0, 1)})
	if err != nil {
		t.Fatal(err)
	}
	defer srv.Close()
	read := rxTimeReader(srv)
	if read == nil {
		t.Fatal("SO_TIMESTAMPNS refused on a Linux UDP socket")
	}
	c, err := net.DialUDP("udp4", nil, srv.LocalAddr().(*net.UDPAddr))
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	before := time.Now()
	if _, err := c.Write([]byte("x")); err != nil {
		t.Fatal(err)
	}
	srv.SetReadDeadline(time.Now().Add(2 * time.Second))
	buf := make([]byte, 16)
	n, at, err := read(buf)
	after := time.Now()
	if err != nil || n != 1 {
		t.Fatalf("read: %d %v", n, err)
	}
	if at.IsZero() || at.Before(before.Add(-time.Millisecond)) || at.After(after) {
		t.Errorf("kernel receive time %v not within [%v, %v]", at, before, after)
	}
}

// TestRawEchoKernelTime: a raw ICMP socket (root) reads with the kernel's receive time too,
// and without the IPv4 header, as ReadFrom gives it. On loopback it sees our request, then
// the reply.
func TestRawEchoKernelTime(t *testing.T) {
	c, err := openEcho(context.Background(), netip.MustParseAddr("127.0.0.1"), false)
	if err != nil {
		t.Skip(err)
	}
	defer c.Close()
	if !c.raw {
		t.Skip("not root: a ping socket, tested elsewhere")
	}
	if c.readTS == nil {
		t.Fatal("SO_TIMESTAMPNS refused on a raw ICMP socket")
	}
	before := time.Now()
	if err := c.send(7, 32, 0); err != nil {
		t.Fatal(err)
	}
	ev, err := c.recv(time.Now().Add(2 * time.Second))
	after := time.Now()
	if err != nil || ev.Kind != echoReply || ev.Seq != 7 {
		t.Fatalf("recv: %+v %v, want the echo reply to seq 7", ev, err)
	}
	if ev.At.Before(before.Add(-time.Millisecond)) || ev.At.After(after) {
		t.Errorf("receive time %v not within [%v, %v]", ev.At, before, after)
	}
}
