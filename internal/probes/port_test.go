package probes_test

import (
	"context"
	"encoding/json"
	"errors"
	"net"
	"net/netip"
	"testing"
	"time"

	"github.com/netprobe/netprobe/internal/probes"
	"github.com/netprobe/netprobe/internal/probes/probetest"
)

func TestPortLoopback(t *testing.T) {
	t.Parallel()
	type want struct {
		state      probes.PortState
		reason     probes.Reason
		answeredBy string
		observed   bool
	}
	cases := []struct {
		name string
		req  func(t *testing.T) probes.PortRequest
		want want
	}{
		{"tcp responder greets", func(t *testing.T) probes.PortRequest {
			return probes.PortRequest{Proto: "tcp", Address: probetest.TCPResponder(t).String(), Banner: true}
		}, want{probes.Open, probes.SynAck, "responder", true}},
		{"tcp service says nothing", func(t *testing.T) probes.PortRequest {
			return probes.PortRequest{Address: probetest.TCPService(t).String(), Banner: true}
		}, want{probes.Open, probes.SynAck, "service", false}},
		{"tcp open without banner", func(t *testing.T) probes.PortRequest {
			return probes.PortRequest{Proto: "TCP", Address: probetest.TCPResponder(t).String()}
		}, want{probes.Open, probes.SynAck, "", false}},
		{"tcp closed", func(t *testing.T) probes.PortRequest {
			return probes.PortRequest{Proto: "tcp", Address: probetest.ClosedPort(t, "tcp").String()}
		}, want{probes.Closed, probes.Reset, "", false}},
		{"udp echo", func(t *testing.T) probes.PortRequest {
			return probes.PortRequest{Proto: "udp", Address: probetest.UDPEcho(t).String(), Echo: true}
		}, want{probes.Open, probes.UDPEcho, "responder", true}},
		{"udp service answers", func(t *testing.T) probes.PortRequest {
			return probes.PortRequest{Proto: "udp", Address: probetest.UDPService(t, []byte("hi")).String()}
		}, want{probes.Open, probes.UDPResponse, "service", false}},
		{"udp closed", func(t *testing.T) probes.PortRequest {
			return probes.PortRequest{Proto: "udp", Address: probetest.ClosedPort(t, "udp").String(), Echo: true}
		}, want{probes.Closed, probes.ICMPPortUnreachable, "", false}},
		{"udp silent", func(t *testing.T) probes.PortRequest {
			return probes.PortRequest{Proto: "udp", Address: probetest.UDPSilent(t).String()}
		}, want{probes.OpenFiltered, probes.NoResponse, "", false}},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			req := tc.req(t)
			ctx, cancel := context.WithTimeout(context.Background(), 600*time.Millisecond)
			defer cancel()
			got, err := probes.Port(ctx, nil, req)
			if err != nil {
				t.Fatalf("Port(%+v): %v", req, err)
			}
			if got.State != tc.want.state || got.Reason != tc.want.reason || got.AnsweredBy != tc.want.answeredBy {
				t.Errorf("Port(%+v) = %v/%v answered_by=%q (%s), want %v/%v answered_by=%q",
					req, got.State, got.Reason, got.AnsweredBy, got.Detail, tc.want.state, tc.want.reason, tc.want.answeredBy)
			}
			if got.SourceIP != "127.0.0.1" || got.Interface == "" {
				t.Errorf("source %q interface %q, want 127.0.0.1 on the loopback interface", got.SourceIP, got.Interface)
			}
			if tc.want.observed {
				obs, err := netip.ParseAddrPort(got.ObservedSource)
				if err != nil || obs.Addr() != netip.MustParseAddr("127.0.0.1") {
					t.Errorf("observed source %q, want 127.0.0.1:port", got.ObservedSource)
				}
			} else if got.ObservedSource != "" {
				t.Errorf("observed source %q, want none", got.ObservedSource)
			}
			if got.Detail == "" {
				t.Error("no detail for the reader")
			}
		})
	}
}

// TestPortDeadline: a dropped SYN (a full backlog, or a dialer that never answers) is
// filtered/timeout, reported within the caller's deadline.
func TestPortDeadline(t *testing.T) {
	t.Parallel()
	const deadline = 300 * time.Millisecond
	cases := []struct {
		name string
		env  *probes.Env
		addr func(t *testing.T) string
	}{
		{"full backlog", nil, func(t *testing.T) string { return probetest.FullBacklog(t).String() }},
		{"blackhole dialer", &probes.Env{Dial: probetest.BlackholeDial}, func(*testing.T) string { return "127.0.0.1:9" }},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			addr := tc.addr(t)
			ctx, cancel := context.WithTimeout(context.Background(), deadline)
			defer cancel()
			start := time.Now()
			got, err := probes.Port(ctx, tc.env, probes.PortRequest{Address: addr})
			probetest.Within(t, time.Since(start), deadline, slack)
			if err != nil {
				t.Fatalf("Port: %v", err)
			}
			if got.State != probes.Filtered || got.Reason != probes.Timeout {
				t.Errorf("got %v/%v (%s), want filtered/timeout", got.State, got.Reason, got.Detail)
			}
		})
	}
	t.Run("udp silence", func(t *testing.T) {
		t.Parallel()
		addr := probetest.UDPSilent(t)
		ctx, cancel := context.WithTimeout(context.Background(), deadline)
		defer cancel()
		start := time.Now()
		got, err := probes.Port(ctx, nil, probes.PortRequest{Proto: "udp", Address: addr.String(), Echo: true})
		probetest.Within(t, time.Since(start), deadline, slack)
		if err != nil || got.State != probes.OpenFiltered {
			t.Errorf("got %v/%v %v, want open|filtered", got.State, got.Reason, err)
		}
	})
}

func TestPortCancelledIsError(t *testing.T) {
	t.Parallel()
	ctx, cancel := context.WithCancel(context.Background())
	go func() { time.Sleep(50 * time.Millisecond); cancel() }()
	_, err := probes.Port(ctx, &probes.Env{Dial: probetest.BlackholeDial}, probes.PortRequest{Address: "127.0.0.1:9"})
	if !errors.Is(err, probes.ErrTimeout) {
		t.Errorf("cancelled probe: err %v, want one wrapping ErrTimeout (the probe did not finish)", err)
	}
}

func TestPortInvalid(t *testing.T) {
	t.Parallel()
	for _, req := range []probes.PortRequest{
		{Proto: "sctp", Address: "127.0.0.1:1"},
		{Address: "127.0.0.1"},
		{Address: "127.0.0.1:0"},
		{Address: "127.0.0.1:70000"},
		{Address: "127.0.0.1:80", Source: "eth0"},
	} {
		if _, err := probes.Port(context.Background(), nil, req); !errors.Is(err, probes.ErrInvalid) {
			t.Errorf("Port(%+v): err %v, want ErrInvalid", req, err)
		}
	}
}

// TestPortErrnoFallback covers the classification when only a socket error is known (an
// injected dialer, or an OS without an ICMP error queue).
func TestPortErrnoFallback(t *testing.T) {
	t.Parallel()
	cases := []struct {
		name   string
		err    error
		state  probes.PortState
		reason probes.Reason
	}{
		{"refused", errnoErr("ECONNREFUSED"), probes.Closed, probes.Reset},
		{"host unreachable", errnoErr("EHOSTUNREACH"), probes.Unreachable, probes.ICMPHostUnreachable},
		{"network down", errnoErr("ENETDOWN"), probes.Unreachable, probes.NetworkDown},
		{"local firewall", errnoErr("EPERM"), probes.Filtered, probes.ICMPAdminProhibited},
		{"kernel timeout", errnoErr("ETIMEDOUT"), probes.Filtered, probes.Timeout},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			env := &probes.Env{Dial: func(context.Context, string, string) (net.Conn, error) { return nil, tc.err }}
			got, err := probes.Port(context.Background(), env, probes.PortRequest{Address: "127.0.0.1:9"})
			if err != nil {
				t.Fatal(err)
			}
			if got.State != tc.state || got.Reason != tc.reason {
				t.Errorf("%v -> %v/%v, want %v/%v", tc.err, got.State, got.Reason, tc.state, tc.reason)
			}
		})
	}
}

func TestPortResultJSON(t *testing.T) {
	t.Parallel()
	in := probes.PortResult{State: probes.OpenFiltered, Reason: probes.NoResponse, RTT: time.Millisecond, SourceIP: "10.0.0.1"}
	b, err := json.Marshal(in)
	if err != nil {
		t.Fatal(err)
	}
	const want = `{"state":"open|filtered","reason":"no-response","rtt_ns":1000000,"source_ip":"10.0.0.1"}`
	if string(b) != want {
		t.Errorf("json %s, want %s", b, want)
	}
	var back probes.PortResult
	if err := json.Unmarshal(b, &back); err != nil || back != in {
		t.Errorf("round trip %+v %v", back, err)
	}
}

// slack is what a probe may overrun its deadline by in the tests: closing sockets and
// scheduling on a loaded two-core CI machine, well under any retry a probe could hide in it
// (a kernel SYN retransmit is 1s, DefaultTimeout 2s).
const slack = 250 * time.Millisecond
