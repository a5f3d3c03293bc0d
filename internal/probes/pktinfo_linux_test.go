package probes

import (
	"context"
	"net"
	"net/netip"
	"strconv"
	"testing"
	"time"
)

// TestUDPEchoRepliesFromTheAddressAsked: an echo listening on every address answers a
// datagram sent to a secondary address (127.0.0.5 on loopback) from that address, so a
// prober's connected socket accepts it. Without IP_PKTINFO the kernel answers from 127.0.0.1
// and every latency sample to a VM's secondary IP would be lost.
func TestUDPEchoRepliesFromTheAddressAsked(t *testing.T) {
	for _, network := range []string{"udp", "udp4"} {
		t.Run(network, func(t *testing.T) {
			pc, err := net.ListenPacket(network, ":0")
			if err != nil {
				t.Skip(err)
			}
			ctx, cancel := context.WithCancel(context.Background())
			done := make(chan struct{})
			go func() { defer close(done); _ = ServeUDPEcho(ctx, pc) }()
			t.Cleanup(func() { cancel(); <-done })
			port := pc.LocalAddr().(*net.UDPAddr).Port
			for _, ip := range []string{"127.0.0.1", "127.0.0.5"} {
				c, err := net.Dial("udp4", net.JoinHostPort(ip, strconv.Itoa(port)))
				if err != nil {
					t.Fatal(err)
				}
				defer c.Close()
				c.SetDeadline(time.Now().Add(2 * time.Second))
				if _, err := c.Write([]byte("ping")); err != nil {
					t.Fatal(err)
				}
				buf := make([]byte, 256)
				n, err := c.Read(buf)
				if err != nil {
					t.Fatalf("to %s: no reply on a connected socket: %v", ip, err)
				}
				obs, rest, ok := ParseHello(buf[:n])
				if !ok || string(rest) != "ping" || obs.Addr() != netip.MustParseAddr(c.LocalAddr().(*net.UDPAddr).IP.String()) {
					t.Errorf("to %s: reply %q", ip, buf[:n])
				}
			}
		})
	}
}
