package agent

import (
	"context"
	"errors"
	"fmt"
	"math"
	"net"
	"net/netip"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/netprobe/netprobe/internal/bwtest"
	"github.com/netprobe/netprobe/internal/capacity"
)

// openBandwidth opens a bandwidth responder on a free loopback port and returns its address
// and ticket; it is closed when the test ends.
func openBandwidth(t *testing.T, c *Client) (addr, ticket string) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	port := freePort(t, "tcp")
	r, err := c.OpenResponders(ctx, []Listen{{ProtoBandwidth, port}})
	if err != nil || r.Ports[0].Status != Opened {
		t.Fatalf("open bandwidth responder: %+v %v", r, err)
	}
	if r.Ports[0].Ticket == "" {
		t.Fatalf("opened bandwidth responder %+v has no ticket", r.Ports[0])
	}
	t.Cleanup(func() {
		ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		defer cancel()
		_ = c.CloseResponders(ctx, r.ID)
	})
	return net.JoinHostPort("127.0.0.1", strconv.Itoa(port)), r.Ports[0].Ticket
}

// TestBandwidthAgentToAgent: one agent serves a bandwidth responder, another measures toward
// it with the responder's ticket, all on loopback; streamed and not.
func TestBandwidthAgentToAgent(t *testing.T) {
	dst := startAgent(t, Config{})
	src := startAgent(t, Config{Allow: []netip.Prefix{netip.MustParsePrefix("127.0.0.0/8")}})
	cd, cs := dialAgent(t, dst, ClientConfig{}), dialAgent(t, src, ClientConfig{})
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()

	for _, dir := range []bwtest.Direction{bwtest.Send, bwtest.Receive} {
		for _, stream := range []bool{false, true} {
			t.Run(fmt.Sprintf("%s/stream=%v", dir, stream), func(t *testing.T) {
				addr, ticket := openBandwidth(t, cd)
				p := bwtest.Params{Streams: 2, Duration: 300 * time.Millisecond, NoWarmUp: true, Interval: 100 * time.Millisecond, Direction: dir, TestID: ticket}
				var got []float64
				var res bwtest.Result
				var err error
				if stream {
					res, err = cs.BandwidthStream(ctx, addr, p, func(i int, rate capacity.BitsPerSecond) {
						if i != len(got)+1 {
							t.Errorf("interval %d after %d intervals", i, len(got))
						}
						got = append(got, float64(rate))
					})
				} else {
					res, err = cs.Bandwidth(ctx, addr, p)
				}
				if err != nil {
					t.Fatalf("Bandwidth: %v", err)
				}
				if res.Rate <= 0 || res.Bytes <= 0 || res.Streams != 2 || res.TestID != ticket {
					t.Errorf("result %+v: want bytes moved over 2 streams under test id %s", res, ticket)
				}
				if stream && !slices.Equal(got, res.Intervals) {
					t.Errorf("streamed intervals %v, result's %v: want the same", got, res.Intervals)
				}
				if !stream && got != nil {
					t.Errorf("intervals streamed without asking: %v", got)
				}
			})
		}
	}
}

// TestBandwidthTicket: the data port runs only the test the control API issued a ticket for,
// and only once; a test without one or with a forged one is refused.
func TestBandwidthTicket(t *testing.T) {
	dst := startAgent(t, Config{})
	src := startAgent(t, Config{})
	cd, cs := dialAgent(t, dst, ClientConfig{}), dialAgent(t, src, ClientConfig{})
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	addr, ticket := openBandwidth(t, cd)
	p := bwtest.Params{Streams: 1, Duration: 200 * time.Millisecond, NoWarmUp: true, Interval: 100 * time.Millisecond}

	// Not a ticket of this responder: another responder's, made up, or none (a random id).
	_, other := openBandwidth(t, cd)
	for _, id := range []string{"", "0123456789abcdef", other} {
		q := p
		q.TestID = id
		if _, err := cs.Bandwidth(ctx, addr, q); !errors.Is(err, bwtest.ErrTicket) || !errors.Is(err, bwtest.ErrLimit) {
			t.Errorf("test id %q: got %v, want a refused ticket (bwtest.ErrTicket)", id, err)
		}
	}
	// A direct bwtest client, bypassing the agents, is refused the same way.
	if _, err := bwtest.Run(ctx, bwtest.TCPDialer(addr), p); !errors.Is(err, bwtest.ErrTicket) {
		t.Errorf("direct client without a ticket: got %v, want bwtest.ErrTicket", err)
	}
	q := p
	q.TestID = ticket
	if _, err := cs.Bandwidth(ctx, addr, q); err != nil {
		t.Fatalf("with the issued ticket: %v", err)
	}
	// Refused as a used ticket, or - while the first test's streams are still closing on the
	// server - as a second run of a test id: a refusal (ErrLimit) either way.
	if _, err := cs.Bandwidth(ctx, addr, q); !errors.Is(err, bwtest.ErrLimit) {
		t.Errorf("the same ticket again: got %v, want a refusal (a ticket runs one test)", err)
	}
	if got := metricValue(t, scrape(t, dst.srv), MetricTicketsRefused, nil); got != 4 && got != 5 {
		t.Errorf("%s = %v, want 4 (three bad ids, one direct client) or 5 (and the reuse)", MetricTicketsRefused, got)
	}
	if !strings.Contains(dst.logs.String(), "bandwidth_ticket_refused") {
		t.Error("no bandwidth_ticket_refused event in the agent's log")
	}
}

// TestCheckBandwidthAgreesWithServer: the agent's own bound refuses exactly what the far
// agent's bandwidth responder (bwtest.Serve with the same bound) refuses, counting the
// default warm-up as bwtest does.
func TestCheckBandwidthAgreesWithServer(t *testing.T) {
	const bound = 300 * time.Millisecond
	b := Bounds{BandwidthDuration: bound, BandwidthStreams: 4}
	ln := listenLoopback(t)
	ctx, cancel := context.WithCancel(context.Background())
	served := make(chan error, 1)
	go func() { served <- bwtest.Serve(ctx, ln, b.bwLimits()) }()
	t.Cleanup(func() { cancel(); <-served })

	iv := 50 * time.Millisecond
	cases := []struct {
		name string
		p    bwtest.Params
		ok   bool
	}{
		{"duration alone within", bwtest.Params{Duration: 200 * time.Millisecond, NoWarmUp: true}, true},
		{"exactly the bound", bwtest.Params{Duration: 200 * time.Millisecond, WarmUp: 100 * time.Millisecond}, true},
		{"warm-up pushes it over", bwtest.Params{Duration: 200 * time.Millisecond, WarmUp: 200 * time.Millisecond}, false},
		{"default warm-up counts", bwtest.Params{Duration: 200 * time.Millisecond}, false},
		{"default duration counts", bwtest.Params{NoWarmUp: true}, false},
		{"duration alone over", bwtest.Params{Duration: time.Second, NoWarmUp: true}, false},
		{"default streams within", bwtest.Params{Duration: 100 * time.Millisecond, NoWarmUp: true}, true},
		{"too many streams", bwtest.Params{Duration: 100 * time.Millisecond, NoWarmUp: true, Streams: 5}, false},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			agentErr := b.CheckBandwidth(tc.p)
			if (agentErr == nil) != tc.ok {
				t.Errorf("CheckBandwidth(%+v) = %v, want ok=%v", tc.p, agentErr, tc.ok)
			}
			p := tc.p
			p.Interval = iv
			rctx, rcancel := context.WithTimeout(ctx, 5*time.Second)
			defer rcancel()
			_, serverErr := bwtest.Run(rctx, bwtest.TCPDialer(ln.Addr().String()), p)
			if (serverErr == nil) != (agentErr == nil) {
				t.Errorf("agent says %v, bandwidth server says %v: want them to agree", agentErr, serverErr)
			}
			if agentErr != nil && !strings.Contains(agentErr.Error(), "--max-bandwidth") {
				t.Errorf("refusal %q does not name the flag to change", agentErr)
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
		{"warm-up plus duration", "127.0.0.1:9", bwtest.Params{Duration: 600 * time.Millisecond, WarmUp: 600 * time.Millisecond}, CodeBounds},
		{"default warm-up plus duration", "127.0.0.1:9", bwtest.Params{Duration: time.Second}, CodeBounds},
		{"too many streams", "127.0.0.1:9", bwtest.Params{Duration: time.Second, Streams: 64}, CodeBounds},
		// Sums that overflow int64 must not pass for small ones (issue 14: a 5 s bound held
		// the slot for 35 s and sent 16 GB).
		{"warm-up and duration at the int64 limit", "127.0.0.1:9", bwtest.Params{Duration: math.MaxInt64, WarmUp: math.MaxInt64}, CodeBounds},
		{"duration at the limit plus the default warm-up", "127.0.0.1:9", bwtest.Params{Duration: math.MaxInt64}, CodeBounds},
		{"negative duration", "127.0.0.1:9", bwtest.Params{Duration: -time.Second}, CodeBounds},
		{"sampling interval of 1ns", "127.0.0.1:9", bwtest.Params{Duration: 500 * time.Millisecond, NoWarmUp: true, Interval: time.Nanosecond}, CodeBounds},
		{"loaded echo every 1ns", "127.0.0.1:9", bwtest.Params{Duration: 500 * time.Millisecond, NoWarmUp: true, LoadedEcho: "127.0.0.1:7", LoadedInterval: time.Nanosecond}, CodeBounds},
		{"outside allowlist", "127.0.0.2:9", bwtest.Params{Duration: time.Second, NoWarmUp: true}, CodeForbidden},
		{"loaded echo outside allowlist", "127.0.0.1:9", bwtest.Params{Duration: time.Second, NoWarmUp: true, LoadedEcho: "127.0.0.3:7"}, CodeForbidden},
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
