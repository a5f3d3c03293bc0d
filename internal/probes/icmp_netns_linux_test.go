//go:build linux

package probes_test

import (
	"context"
	"errors"
	"os"
	"testing"
	"time"

	"github.com/netprobe/netprobe/internal/probes"
	"github.com/netprobe/netprobe/internal/probes/probetest"
)

// TestICMPSockets checks each way ICMP can run, in namespaces of its own: the unprivileged ping
// socket when ping_group_range allows it, ErrPermission for a user without either, and the
// deadline when every echo is dropped.
func TestICMPSockets(t *testing.T) {
	if os.Getenv(probetest.InNetnsEnv) != "" {
		t.Skip("outer half")
	}
	probetest.RequireRoot(t)
	t.Run("ping socket", func(t *testing.T) {
		ns := probetest.Netns(t)
		probetest.Run(t, "ip", "netns", "exec", ns, "sysctl", "-qw", "net.ipv4.ping_group_range=0 2147483647")
		probetest.RunTestInNetnsUnprivileged(t, ns, "TestICMPInsideNetns", "NETPROBE_WANT=ping-socket")
	})
	t.Run("no privilege", func(t *testing.T) {
		ns := probetest.Netns(t)
		probetest.Run(t, "ip", "netns", "exec", ns, "sysctl", "-qw", "net.ipv4.ping_group_range=1 0")
		probetest.RunTestInNetnsUnprivileged(t, ns, "TestICMPInsideNetns", "NETPROBE_WANT=permission")
	})
	t.Run("dropped", func(t *testing.T) {
		ns := probetest.Netns(t)
		probetest.Run(t, "ip", "netns", "exec", ns, "iptables", "-A", "INPUT", "-p", "icmp", "--icmp-type", "echo-request", "-j", "DROP")
		probetest.RunTestInNetns(t, ns, "TestICMPInsideNetns", "NETPROBE_WANT=loss")
	})
}

func TestICMPInsideNetns(t *testing.T) {
	if os.Getenv(probetest.InNetnsEnv) == "" {
		t.Skip("runs only inside a namespace made by TestICMPSockets")
	}
	const deadline = 400 * time.Millisecond
	ctx, cancel := context.WithTimeout(context.Background(), deadline)
	defer cancel()
	start := time.Now()
	got, err := probes.ICMP(ctx, nil, probes.ICMPRequest{Address: "127.0.0.1", Count: 3, Interval: 10 * time.Millisecond})
	probetest.Within(t, time.Since(start), deadline, slack)
	switch want := os.Getenv("NETPROBE_WANT"); want {
	case "permission":
		if !errors.Is(err, probes.ErrPermission) {
			t.Fatalf("got %+v, %v; want ErrPermission", got, err)
		}
		t.Log(err)
	case "ping-socket":
		if err != nil || got.Method != "ping-socket" || got.Received != 3 {
			t.Fatalf("got %+v, %v; want 3 replies over the ping socket", got, err)
		}
	case "loss":
		if err != nil || got.Sent != 3 || got.Received != 0 || got.Loss != 1 {
			t.Fatalf("got %+v, %v; want 3 sent, none back", got, err)
		}
		// PMTU against a host that drops every echo: it cannot measure, and says so in time.
		ctx, cancel := context.WithTimeout(context.Background(), deadline)
		defer cancel()
		start := time.Now()
		p, err := probes.PMTU(ctx, nil, probes.PMTURequest{Address: "127.0.0.1"})
		probetest.Within(t, time.Since(start), deadline, slack)
		if !errors.Is(err, probes.ErrTimeout) {
			t.Errorf("PMTU with every echo dropped: %+v %v, want ErrTimeout", p, err)
		}
	default:
		t.Fatalf("unknown NETPROBE_WANT %q", want)
	}
}
