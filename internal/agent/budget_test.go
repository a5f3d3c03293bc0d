package agent

import (
	"context"
	"encoding/json"
	"errors"
	"math"
	"net"
	"net/http"
	"strconv"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/netprobe/netprobe/internal/probes"
	"github.com/netprobe/netprobe/internal/probes/probetest"
)

// TestProbeFootprintBounds: requests that would make the agent a packet cannon are refused
// (422 bounds) before anything is sent, whatever their numbers (issue 14: 100,000 latency
// samples 1ns apart, 1,000 ICMP echoes of 65,499 bytes). Each is aimed at a UDP echo that
// counts what arrives, so a request let through shows up as datagrams.
func TestProbeFootprintBounds(t *testing.T) {
	echo := probetest.UDPEcho(t).String()
	a := startAgent(t, Config{})
	c := dialAgent(t, a, ClientConfig{})
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	cases := []struct {
		name   string
		kind   string
		params any
	}{
		{"latency 100,000 samples 1ns apart", KindLatency, probes.LatencyRequest{Address: echo, Samples: 100000, Interval: time.Nanosecond}},
		{"latency samples at the minimum interval but over the byte budget", KindLatency, probes.LatencyRequest{Address: echo, Samples: 100000, Interval: 5 * time.Millisecond}},
		{"latency 1ms apart", KindLatency, probes.LatencyRequest{Address: echo, Samples: 5, Interval: time.Millisecond}},
		{"latency samples at the int max", KindLatency, probes.LatencyRequest{Address: echo, Samples: math.MaxInt, Interval: time.Second}},
		{"icmp 1000 echoes of 65,499 bytes", KindICMP, probes.ICMPRequest{Address: "127.0.0.1", Count: 1000, Size: 65499}},
		{"icmp 1ns apart", KindICMP, probes.ICMPRequest{Address: "127.0.0.1", Count: 10, Interval: time.Nanosecond}},
		{"icmp count and size at the int max", KindICMP, probes.ICMPRequest{Address: "127.0.0.1", Count: math.MaxInt, Size: math.MaxInt}},
		{"pmtu search up to 65535", KindPMTU, probes.PMTURequest{Address: echo, Mode: "udp", Max: 65535}},
		{"dns to 2,000 resolvers", KindDNS, probes.DNSRequest{Name: "example.invalid", Servers: repeat("127.0.0.1:9", 2000)}},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			var out json.RawMessage
			err := c.Probe(ctx, tc.kind, tc.params, &out)
			var re *RemoteError
			if !errors.As(err, &re) || re.Code != CodeBounds || re.Status != http.StatusUnprocessableEntity {
				t.Fatalf("got %v, want a 422 %q refusal", err, CodeBounds)
			}
			if !strings.Contains(re.Message, "--m") {
				t.Errorf("refusal %q does not name the flag that sets the bound", re.Message)
			}
		})
	}
	// A probe within the bounds still runs.
	var lr probes.LatencyResult
	if err := c.Probe(ctx, KindLatency, probes.LatencyRequest{Address: echo, Samples: 3, Interval: 10 * time.Millisecond}, &lr); err != nil || lr.Received != 3 {
		t.Fatalf("a 3-sample latency probe: %+v %v", lr, err)
	}
}

func repeat(s string, n int) []string {
	out := make([]string, n)
	for i := range out {
		out[i] = s
	}
	return out
}

// TestProbeByteRate: probes together are bounded per second by their footprints, not only
// by their count (issue 14: 13 requests moved 1.76 GB in 11 s). With a byte rate of 10 KB/s
// (a bucket of 10 KB) and the agent's clock stopped, latency probes of 50 samples (3.6 KB
// each by footprint) pass twice, and the third is refused 429 with the budget named.
func TestProbeByteRate(t *testing.T) {
	var got atomic.Int64
	echo := countingEcho(t, &got)
	stopped := time.Now()
	a := startAgent(t, Config{Bounds: Bounds{ByteRate: 10_000, ProbeBytes: 10_000}, Now: func() time.Time { return stopped }})
	c := dialAgent(t, a, ClientConfig{})
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	req := probes.LatencyRequest{Address: echo, Samples: 50, Interval: 5 * time.Millisecond, Timeout: 200 * time.Millisecond}
	if f := req.Footprint(); f.Bytes != 50*(24+48) {
		t.Fatalf("footprint %+v, want 50 datagrams of 24 bytes and 48 of headers", f)
	}
	var lr probes.LatencyResult
	for i := range 2 {
		if err := c.Probe(ctx, KindLatency, req, &lr); err != nil {
			t.Fatalf("probe %d: %v", i, err)
		}
	}
	err := c.Probe(ctx, KindLatency, req, &lr)
	var re *RemoteError
	if !errors.As(err, &re) || re.Code != CodeRateLimited || !strings.Contains(re.Message, "byte budget") {
		t.Fatalf("third probe: %v, want 429 over the byte budget", err)
	}
	if n := got.Load(); n != 100 {
		t.Errorf("the echo saw %d datagrams, want 100 (two probes of 50)", n)
	}
}

// TestWireDurationsSaturate: a wire duration at the int64 limit is "as long as possible",
// which the bound then shortens; it never wraps into something else.
func TestWireDurationsSaturate(t *testing.T) {
	for _, v := range []int64{math.MaxInt64, math.MaxInt64 / 1000, 9_223_372_036_855} {
		if d := fromMS(v); d != math.MaxInt64 {
			t.Errorf("fromMS(%d) = %v, want the largest duration", v, d)
		}
	}
	if d := fromMS(math.MinInt64); d >= 0 {
		t.Errorf("fromMS(MinInt64) = %v, want negative", d)
	}
	if d := fromMS(1500); d != 1500*time.Millisecond {
		t.Errorf("fromMS(1500) = %v", d)
	}
	// Through the agent: the largest timeout_ms and ttl_ms get the caps.
	a := startAgent(t, Config{Bounds: Bounds{ProbeTimeout: 300 * time.Millisecond, ResponderTTL: time.Minute}})
	rc := dialRaw(t, a.addr, testToken)
	body := []byte(`{"v":1,"kind":"icmp","timeout_ms":9223372036854775807,"params":{"address":"127.0.0.1","count":1}}`)
	if st, er, data := rc.send(PathProbe, body, rc.authHeader(1, PathProbe, body)); st != http.StatusOK {
		t.Fatalf("probe with the largest timeout: %d %+v %s", st, er, data)
	}
	port := freePort(t, "tcp")
	body = []byte(`{"v":1,"listen":[{"proto":"tcp","port":` + itoa(port) + `}],"ttl_ms":9223372036854775807}`)
	st, _, data := rc.send(PathRespondersOpen, body, rc.authHeader(2, PathRespondersOpen, body))
	var r Responders
	if st != http.StatusOK || json.Unmarshal(data, &r) != nil {
		t.Fatalf("open with the largest ttl: %d %s", st, data)
	}
	if left := time.Until(r.ExpiresAt); left <= 0 || left > time.Minute+time.Second {
		t.Errorf("responders expire in %v, want the 1m cap", left)
	}
}

func itoa(n int) string { return strconv.Itoa(n) }

// countingEcho is a UDP echo responder on loopback that counts the datagrams it receives.
func countingEcho(t *testing.T, n *atomic.Int64) string {
	t.Helper()
	pc, err := net.ListenPacket("udp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan struct{})
	go func() {
		defer close(done)
		_ = probes.ServeUDPEcho(ctx, &countingPacketConn{PacketConn: pc, n: n})
	}()
	t.Cleanup(func() { cancel(); <-done })
	return pc.LocalAddr().String()
}

type countingPacketConn struct {
	net.PacketConn
	n *atomic.Int64
}

func (c *countingPacketConn) ReadFrom(b []byte) (int, net.Addr, error) {
	k, a, err := c.PacketConn.ReadFrom(b)
	if err == nil {
		c.n.Add(1)
	}
	return k, a, err
}

// TestProbeByteRateRefundsWhatWasNotSent: a PMTU search pays its worst case up front (every
// step at its largest size, every try) and gets back what it did not send, so a hub searching
// many paths is paced by what it sends. With the clock stopped and a bucket one byte short of
// two footprints, two searches run back to back: without the refund the second is refused.
func TestProbeByteRateRefundsWhatWasNotSent(t *testing.T) {
	echo := probetest.UDPEcho(t).String()
	req := probes.PMTURequest{Address: echo, Mode: "udp", Min: 1400, Max: 1500}
	f := req.Footprint()
	stopped := time.Now()
	a := startAgent(t, Config{Bounds: Bounds{ByteRate: 2*f.Bytes - 1, ProbeBytes: f.Bytes}, Now: func() time.Time { return stopped }})
	c := dialAgent(t, a, ClientConfig{})
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	defer cancel()
	for i := range 2 {
		var res probes.PMTUResult
		if err := c.Probe(ctx, KindPMTU, req, &res); err != nil {
			t.Fatalf("search %d: %v (footprint %d bytes, bucket %d)", i, err, f.Bytes, 2*f.Bytes-1)
		}
		if s := req.Spent(res); s.Bytes >= f.Bytes || res.Probes == 0 {
			t.Fatalf("search %d sent %d probes, %d bytes by Spent, not less than its footprint %d", i, res.Probes, s.Bytes, f.Bytes)
		}
	}
}
