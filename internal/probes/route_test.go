package probes_test

import (
	"context"
	"net/netip"
	"runtime"
	"testing"

	"github.com/netprobe/netprobe/internal/probes"
)

func TestRouteLoopback(t *testing.T) {
	t.Parallel()
	got, err := probes.Route(context.Background(), netip.MustParseAddr("127.0.0.1"))
	if err != nil {
		t.Fatal(err)
	}
	if got.SourceIP != "127.0.0.1" || got.Interface == "" || got.Gateway != "" {
		t.Errorf("Route(127.0.0.1) = %+v, want source 127.0.0.1 on the loopback interface, no gateway", got)
	}
	if runtime.GOOS == "linux" && got.Method != "netlink" {
		t.Errorf("method %q, want netlink on Linux", got.Method)
	}
}
