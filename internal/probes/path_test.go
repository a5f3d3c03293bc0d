package probes_test

import (
	"context"
	"errors"
	"net/netip"
	"runtime"
	"testing"
	"time"

	"github.com/netprobe/netprobe/internal/probes"
	"github.com/netprobe/netprobe/internal/probes/probetest"
)

func TestIsPrivate(t *testing.T) {
	t.Parallel()
	for _, c := range []struct {
		ip   string
		want bool
	}{
		{"10.1.2.3", true}, {"172.16.0.1", true}, {"172.31.255.254", true}, {"172.32.0.1", false},
		{"192.168.50.1", true}, {"100.64.0.1", true}, {"100.127.255.1", true}, {"100.128.0.1", false},
		{"fd00::1", true}, {"2001:db8::1", false}, {"8.8.8.8", false}, {"::ffff:10.0.0.1", true},
	} {
		if got := probes.IsPrivate(netip.MustParseAddr(c.ip)); got != c.want {
			t.Errorf("IsPrivate(%s) = %v, want %v", c.ip, got, c.want)
		}
	}
}

func TestPathLoopback(t *testing.T) {
	t.Parallel()
	if runtime.GOOS != "linux" {
		t.Skip("TCP and UDP traceroute need Linux")
	}
	open := probetest.TCPResponder(t).String()
	closedUDP := probetest.ClosedPort(t, "udp").String()
	for _, c := range []struct{ mode, addr string }{{"tcp", open}, {"udp", closedUDP}, {"icmp", "127.0.0.1"}} {
		t.Run(c.mode, func(t *testing.T) {
			t.Parallel()
			ctx, cancel := context.WithTimeout(context.Background(), time.Second)
			defer cancel()
			got, err := probes.Path(ctx, nil, probes.PathRequest{Address: c.addr, Mode: c.mode, MaxHops: 4})
			if c.mode == "icmp" && errors.Is(err, probes.ErrPermission) {
				t.Skip(err)
			}
			if err != nil {
				t.Fatal(err)
			}
			if !got.Reached || len(got.Hops) != 1 || got.Hops[0].Addr != "127.0.0.1" || got.Private {
				t.Errorf("got %+v, want one hop 127.0.0.1, reached, not private (loopback is not RFC 1918)", got)
			}
		})
	}
}

// TestPathDeadline: a destination that drops every probe costs the deadline, no more.
func TestPathDeadline(t *testing.T) {
	t.Parallel()
	if runtime.GOOS != "linux" {
		t.Skip("TCP traceroute needs Linux")
	}
	addr := probetest.FullBacklog(t).String()
	const deadline = 300 * time.Millisecond
	ctx, cancel := context.WithTimeout(context.Background(), deadline)
	defer cancel()
	start := time.Now()
	got, err := probes.Path(ctx, nil, probes.PathRequest{Address: addr, MaxHops: 3})
	probetest.Within(t, time.Since(start), deadline, slack)
	if err != nil || got.Reached {
		t.Errorf("got %+v %v, want an unreached path", got, err)
	}
}

func TestPMTULoopback(t *testing.T) {
	t.Parallel()
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Second)
	defer cancel()
	got, err := probes.PMTU(ctx, nil, probes.PMTURequest{Address: "127.0.0.1", Min: 1200, Max: 9000})
	if errors.Is(err, probes.ErrPermission) || errors.Is(err, probes.ErrUnsupported) {
		t.Skip(err)
	}
	if err != nil {
		t.Fatal(err)
	}
	// Loopback's MTU is 65536, so the largest probe fits.
	if got.MTU != 9000 || got.MSS != 8960 || got.Blackhole || got.FragNeeded {
		t.Errorf("got %+v, want 9000 with no black hole", got)
	}
}

func TestPMTUInvalid(t *testing.T) {
	t.Parallel()
	for _, req := range []probes.PMTURequest{{Address: "127.0.0.1", Min: 1500, Max: 1400}, {Address: "127.0.0.1", Min: 10}, {Address: "127.0.0.1", Max: 70000}} {
		if _, err := probes.PMTU(context.Background(), nil, req); !errors.Is(err, probes.ErrInvalid) {
			t.Errorf("PMTU(%+v): %v, want ErrInvalid", req, err)
		}
	}
}

func TestPMTUUDPLoopback(t *testing.T) {
	t.Parallel()
	if runtime.GOOS != "linux" {
		t.Skip("DF on UDP is wired on Linux only")
	}
	echo := probetest.UDPEcho(t)
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Second)
	defer cancel()
	got, err := probes.PMTU(ctx, nil, probes.PMTURequest{Address: echo.String(), Mode: "udp", Min: 1200, Max: 9000})
	if err != nil {
		t.Fatal(err)
	}
	if got.MTU != 9000 || got.Method != "udp-responder" || got.Blackhole {
		t.Errorf("got %+v, want 9000 through the responder", got)
	}
	// Without a responder nothing answers: the probe cannot measure, and says so in time.
	const deadline = 300 * time.Millisecond
	ctx, cancel = context.WithTimeout(context.Background(), deadline)
	defer cancel()
	start := time.Now()
	_, err = probes.PMTU(ctx, nil, probes.PMTURequest{Address: probetest.UDPSilent(t).String(), Mode: "udp"})
	probetest.Within(t, time.Since(start), deadline, slack)
	if !errors.Is(err, probes.ErrTimeout) {
		t.Errorf("silent port: %v, want ErrTimeout", err)
	}
}
