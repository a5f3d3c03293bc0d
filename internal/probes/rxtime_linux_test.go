package probes

import (
	"net"
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
