package probes_test

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"testing"
	"time"

	"github.com/netprobe/netprobe/internal/probes"
)

func TestICMPLoopback(t *testing.T) {
	t.Parallel()
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Second)
	defer cancel()
	got, err := probes.ICMP(ctx, nil, probes.ICMPRequest{Address: "127.0.0.1", Count: 3, Interval: 20 * time.Millisecond})
	if errors.Is(err, probes.ErrPermission) {
		t.Skipf("no ICMP socket allowed here (the probe reports skip): %v", err)
	}
	if err != nil {
		t.Fatal(err)
	}
	if got.Sent != 3 || got.Received != 3 || got.Loss != 0 || len(got.RTTs) != 3 {
		t.Errorf("got %+v, want 3 sent, 3 received, no loss", got)
	}
	if got.Min <= 0 || got.Min > got.Avg || got.Avg > got.Max || got.Max > time.Second {
		t.Errorf("rtt min/avg/max %v/%v/%v out of order", got.Min, got.Avg, got.Max)
	}
}

func TestICMPInvalid(t *testing.T) {
	t.Parallel()
	for _, req := range []probes.ICMPRequest{{Address: "127.0.0.1", Count: 5000}, {Address: "127.0.0.1", Size: 70000}} {
		if _, err := probes.ICMP(context.Background(), nil, req); !errors.Is(err, probes.ErrInvalid) {
			t.Errorf("ICMP(%+v): %v, want ErrInvalid", req, err)
		}
	}
}

func hexSHA256(b []byte) string {
	s := sha256.Sum256(b)
	return hex.EncodeToString(s[:])
}
