package lab

import (
	"context"
	"net"
	"net/netip"
	"slices"
	"strconv"
	"testing"
	"time"
)

// udpEcho serves a UDP echo on host's port until the test ends.
func udpEcho(t *testing.T, h *Host, port int) {
	t.Helper()
	pc, err := h.ListenPacket("udp4", net.JoinHostPort("", strconv.Itoa(port)))
	if err != nil {
		t.Fatal(err)
	}
	done := make(chan struct{})
	go func() {
		defer close(done)
		buf := make([]byte, 2048)
		for {
			n, from, err := pc.ReadFrom(buf)
			if err != nil {
				return
			}
			_, _ = pc.WriteTo(buf[:n], from)
		}
	}()
	t.Cleanup(func() { pc.Close(); <-done })
}

// medianRTT sends n echo requests on c and returns the median round trip. A connected UDP
// socket only accepts answers from its peer's address, so an answer from anywhere else
// (the relay, unrewritten) fails the test as a timeout.
func medianRTT(t *testing.T, c net.Conn, n int) time.Duration {
	t.Helper()
	var rtts []time.Duration
	buf := make([]byte, 64)
	for i := range n {
		msg := []byte{byte(i), 'n', 'p'}
		start := time.Now()
		if _, err := c.Write(msg); err != nil {
			t.Fatal(err)
		}
		_ = c.SetReadDeadline(time.Now().Add(time.Second))
		m, err := c.Read(buf)
		if err != nil || m != len(msg) || buf[0] != byte(i) {
			t.Fatalf("echo %d: %v (%d bytes)", i, err, m)
		}
		rtts = append(rtts, time.Since(start))
	}
	slices.Sort(rtts)
	return rtts[len(rtts)/2]
}

func TestDelayUDP(t *testing.T) {
	l := Build(t, unshaped())
	udpEcho(t, l.Host(PSAz), 7)
	to := netip.MustParseAddrPort(AddrPSAz + ":7")
	dialEcho := func() net.Conn {
		ctx, cancel := context.WithTimeout(context.Background(), time.Second)
		defer cancel()
		c, err := l.Host(MT01).Dial(ctx, "udp4", to.String())
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { c.Close() })
		return c
	}
	// The lab's own round trip is well under 1 ms, so anything near 2 × 25 ms is the
	// relay; the upper bound leaves room for a loaded 2-core CI machine.
	const delay = 25 * time.Millisecond
	const slack = 30 * time.Millisecond
	if rtt := medianRTT(t, dialEcho(), 5); rtt > 10*time.Millisecond {
		t.Fatalf("undelayed round trip %v, want under 10ms", rtt)
	}
	remove := l.Apply(t, DelayUDP{Router: Azure, To: to, Delay: delay})
	c := dialEcho()
	rtt := medianRTT(t, c, 5)
	if rtt < 2*delay || rtt > 2*delay+slack {
		t.Errorf("delayed round trip %v, want %v to %v", rtt, 2*delay, 2*delay+slack)
	}
	t.Logf("round trip through a %v-each-way relay: %v", delay, rtt)
	remove()
	for name, c := range map[string]net.Conn{"socket used under the fault": c, "new socket": dialEcho()} {
		if rtt := medianRTT(t, c, 5); rtt > 10*time.Millisecond {
			t.Errorf("%s after undo: round trip %v, want under 10ms", name, rtt)
		}
	}
}

// TestDelaySynAcks: a TCP handshake from mt01 to ps-az through the Azure router takes the
// delay while the fault is planted, data on the connection does not, and after undo the
// handshake is fast again and the delay line is gone.
func TestDelaySynAcks(t *testing.T) {
	l := Build(t, unshaped())
	ln, err := l.Host(PSAz).Listen("tcp4", ":9443")
	if err != nil {
		t.Fatal(err)
	}
	go func() {
		for {
			c, err := ln.Accept()
			if err != nil {
				return
			}
			go func() { defer c.Close(); buf := make([]byte, 64); n, _ := c.Read(buf); _, _ = c.Write(buf[:n]) }()
		}
	}()
	t.Cleanup(func() { ln.Close() })
	handshake := func() (time.Duration, net.Conn) {
		ctx, cancel := context.WithTimeout(context.Background(), 3*time.Second)
		defer cancel()
		start := time.Now()
		c, err := l.Host(MT01).Dial(ctx, "tcp4", AddrPSAz+":9443")
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { c.Close() })
		return time.Since(start), c
	}
	const delay = 200 * time.Millisecond
	remove := l.Apply(t, DelaySynAcks{Router: Azure, To: netip.MustParsePrefix(NetOnPremLAN), Delay: delay})
	took, c := handshake()
	if took < delay || took > delay+300*time.Millisecond {
		t.Errorf("handshake through the delay line took %v, want about %v", took, delay)
	}
	start := time.Now()
	_ = c.SetDeadline(time.Now().Add(time.Second))
	if _, err := c.Write([]byte("np")); err != nil {
		t.Fatal(err)
	}
	if _, err := c.Read(make([]byte, 8)); err != nil {
		t.Fatal(err)
	}
	if rtt := time.Since(start); rtt > 100*time.Millisecond {
		t.Errorf("data round trip %v under the fault: only SYN-ACKs are delayed", rtt)
	}
	remove()
	if took, _ := handshake(); took > 100*time.Millisecond {
		t.Errorf("handshake after undo took %v, want the lab's own", took)
	}
	if out, err := l.Router(Azure).Exec(context.Background(), "ip", "link", "show", synDelayDev); err == nil {
		t.Errorf("the delay line's device is still there after undo: %s", out)
	}
}
