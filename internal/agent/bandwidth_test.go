package agent

import (
	"context"
	"errors"
	"net"
	"net/netip"
	"strconv"
	"testing"
	"time"

	"github.com/netprobe/netprobe/internal/bwtest"
)

// TestBandwidthAgentToAgent: one agent serves a bandwidth responder, another measures toward
// it, all on loopback.
func TestBandwidthAgentToAgent(t *testing.T) {
	dst := startAgent(t, Config{})
	src := startAgent(t, Config{Allow: []netip.Prefix{netip.MustParsePrefix("127.0.0.0/8")}})
	cd, cs := dialAgent(t, dst, ClientConfig{}), dialAgent(t, src, ClientConfig{})
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()

	port := freePort(t, "tcp")
	r, err := cd.OpenResponders(ctx, []Listen{{ProtoBandwidth, port}})
	if err != nil || r.Ports[0].Status != Opened {
		t.Fatalf("open bandwidth responder: %+v %v", r, err)
	}
	defer cd.CloseResponders(ctx, r.ID)
	addr := net.JoinHostPort("127.0.0.1", strconv.Itoa(port))
	for _, dir := range []bwtest.Direction{bwtest.Send, bwtest.Receive} {
		t.Run(dir.String(), func(t *testing.T) {
			res, err := cs.Bandwidth(ctx, addr, bwtest.Params{Streams: 2, Duration: 300 * time.Millisecond, NoWarmUp: true, Interval: 100 * time.Millisecond, Direction: dir})
			if err != nil {
				t.Fatalf("Bandwidth: %v", err)
			}
			if res.Rate <= 0 || res.Bytes <= 0 || res.Streams != 2 {
				t.Errorf("result %+v: want bytes moved over 2 streams", res)
			}
		})
	}
}

func TestBandwidthBounds(t *testing.T) {
	a := startAgent(t, Config{Bounds: Bounds{BandwidthDuration: time.Second, BandwidthStreams: 4}, Allow: []netip.Prefix{netip.MustParsePrefix("127.0.0.1/32")}})
	c := dialAgent(t, a, ClientConfig{})
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	cases := []struct {
		name string
		addr string
		p    bwtest.Params
		code string
	}{
		{"too long", "127.0.0.1:9", bwtest.Params{Duration: time.Hour}, CodeBounds},
		{"long warm-up", "127.0.0.1:9", bwtest.Params{Duration: time.Second, WarmUp: time.Minute}, CodeBounds},
		{"too many streams", "127.0.0.1:9", bwtest.Params{Duration: time.Second, Streams: 64}, CodeBounds},
		{"outside allowlist", "127.0.0.2:9", bwtest.Params{Duration: time.Second}, CodeForbidden},
		{"loaded echo outside allowlist", "127.0.0.1:9", bwtest.Params{Duration: time.Second, LoadedEcho: "127.0.0.3:7"}, CodeForbidden},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			_, err := c.Bandwidth(ctx, tc.addr, tc.p)
			var re *RemoteError
			if !errors.As(err, &re) || re.Code != tc.code {
				t.Fatalf("got %v, want refusal %q", err, tc.code)
			}
		})
	}
	// The bandwidth responder's own server enforces the same bounds against a direct client.
	port := freePort(t, "tcp")
	r, err := c.OpenResponders(ctx, []Listen{{ProtoBandwidth, port}})
	if err != nil || r.Ports[0].Status != Opened {
		t.Fatalf("open: %+v %v", r, err)
	}
	_, err = bwtest.Run(ctx, bwtest.TCPDialer(net.JoinHostPort("127.0.0.1", strconv.Itoa(port))), bwtest.Params{Streams: 8, Duration: 200 * time.Millisecond, NoWarmUp: true})
	if err == nil {
		t.Error("a direct bwtest client asking 8 streams of a 4-stream agent was served")
	}
}
