package agent

import (
	"context"
	"encoding/json"
	"errors"
	"net"
	"net/netip"
	"strings"
	"testing"
	"time"

	"github.com/netprobe/netprobe/internal/probes"
)

// TestAllowlist: with --allow, probes to other destinations are refused before anything is
// sent, and names are refused because they could resolve anywhere.
func TestAllowlist(t *testing.T) {
	a := startAgent(t, Config{Allow: []netip.Prefix{netip.MustParsePrefix("127.0.0.0/30")}})
	c := dialAgent(t, a, ClientConfig{})
	target := listenLoopback(t) // 127.0.0.1, inside the allowlist
	cases := []struct {
		name    string
		address string
		allowed bool
	}{
		{"inside", target.Addr().String(), true},
		{"outside", "127.0.0.9:9", false}, // loopback, but outside 127.0.0.0/30: never sent
		{"name", "localhost:9", false},
		{"mapped v6 inside", "[::ffff:127.0.0.1]:" + portOf(target), true},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			ctx, cancel := context.WithTimeout(context.Background(), 3*time.Second)
			defer cancel()
			_, err := c.Port(ctx, probes.PortRequest{Proto: "tcp", Address: tc.address})
			var re *RemoteError
			refused := errors.As(err, &re) && re.Code == CodeForbidden
			if refused == tc.allowed {
				t.Fatalf("Port(%s): %v; allowed=%v", tc.address, err, tc.allowed)
			}
		})
	}
}

func portOf(ln net.Listener) string {
	_, p, _ := net.SplitHostPort(ln.Addr().String())
	return p
}

// oneDatagram is the footprint of the fake probe kinds: they count as sending something.
func oneDatagram(struct{}) probes.Footprint { return probes.Footprint{Packets: 1, Bytes: 100} }

// TestProbeBounds uses a fake probe kind to see what the agent hands the probe.
func TestProbeBounds(t *testing.T) {
	a := startAgent(t, Config{Bounds: Bounds{ProbeTimeout: 200 * time.Millisecond, ProbeRate: 0.001, ProbeBurst: 3}})
	type echo struct {
		Budget time.Duration `json:"budget_ns"`
	}
	a.srv.kinds["budget"] = kind(func(ctx context.Context, _ *probes.Env, _ struct{}) (echo, error) {
		dl, _ := ctx.Deadline()
		return echo{Budget: time.Until(dl)}, nil
	}, func(struct{}) []string { return nil }, oneDatagram)
	a.srv.kinds["fails"] = kind(func(ctx context.Context, _ *probes.Env, _ struct{}) (echo, error) {
		return echo{}, probes.ErrPermission
	}, func(struct{}) []string { return nil }, oneDatagram)
	c := dialAgent(t, a, ClientConfig{})

	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	var e echo
	if err := c.Probe(ctx, "budget", struct{}{}, &e); err != nil {
		t.Fatal(err)
	}
	if e.Budget <= 0 || e.Budget > 200*time.Millisecond {
		t.Errorf("probe got a %s budget; the agent's cap is 200ms", e.Budget)
	}
	err := c.Probe(ctx, "fails", struct{}{}, &e)
	if !errors.Is(err, probes.ErrPermission) {
		t.Errorf("probe error %v does not wrap probes.ErrPermission", err)
	}
	// Burst of 3 used up (2 above + this one); the next is over the rate.
	_ = c.Probe(ctx, "budget", struct{}{}, &e)
	err = c.Probe(ctx, "budget", struct{}{}, &e)
	var re *RemoteError
	if !errors.As(err, &re) || re.Code != CodeRateLimited || errors.Is(err, ErrAuth) {
		t.Errorf("4th probe: %v, want a rate refusal that is not an auth error", err)
	}
}

func TestRouteProbeOnLoopback(t *testing.T) {
	a := startAgent(t, Config{})
	c := dialAgent(t, a, ClientConfig{})
	ctx, cancel := context.WithTimeout(context.Background(), 3*time.Second)
	defer cancel()
	r, err := c.Route(ctx, "127.0.0.1") // asks the OS, sends nothing
	if err != nil {
		t.Fatalf("Route: %v", err)
	}
	if r.SourceIP != "127.0.0.1" {
		t.Errorf("Route = %+v, want source 127.0.0.1", r)
	}
	if _, err := c.Route(ctx, "not-an-ip"); !errors.Is(err, probes.ErrInvalid) {
		t.Errorf("Route(not-an-ip): %v, want probes.ErrInvalid", err)
	}
}

func TestProbeResponseJSON(t *testing.T) {
	// A probe error travels as a code the client maps back; unknown codes stay errors.
	for _, code := range []string{"timeout", "refused", "unreachable", "permission", "unsupported", "invalid", "other"} {
		err := probeError("port", &WireError{Code: code, Message: "m"})
		if err == nil || (code != "other" && errors.Unwrap(err) == nil) {
			t.Errorf("code %s: %v", code, err)
		}
		if code != "other" && probeErrCode(err) != code {
			t.Errorf("code %s round-trips to %s", code, probeErrCode(err))
		}
	}
	var pr ProbeResponse
	if err := json.Unmarshal([]byte(`{"v":1,"kind":"port","result":{"state":"open"}}`), &pr); err != nil || pr.Error != nil {
		t.Fatal(err)
	}
}

// TestTLSProbeThroughAgent: the agent probes TLS on loopback (its own listener) and the
// client gets the probes result back unchanged.
func TestTLSProbeThroughAgent(t *testing.T) {
	a := startAgent(t, Config{})
	c := dialAgent(t, a, ClientConfig{})
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	r, err := c.TLS(ctx, probes.TLSRequest{Address: a.addr, ExpectFingerprint: a.srv.Fingerprint()})
	if err != nil {
		t.Fatalf("TLS: %v", err)
	}
	if r.Version != "TLS 1.3" && r.Version != "1.3" && !strings.Contains(r.Version, "1.3") {
		t.Errorf("TLS version %q, want 1.3", r.Version)
	}
	if !strings.EqualFold(strings.ReplaceAll(r.Fingerprint, ":", ""), a.srv.Fingerprint()) {
		t.Errorf("fingerprint %q, want the agent's %s", r.Fingerprint, a.srv.Fingerprint())
	}
}

// TestEveryKindDecodesStrictly: no probe kind accepts a parameter it does not know.
func TestEveryKindDecodesStrictly(t *testing.T) {
	a := startAgent(t, Config{})
	c := dialAgent(t, a, ClientConfig{})
	if len(c.Info().ProbeKinds) < 8 {
		t.Errorf("probe kinds %v: want port, latency, route, icmp, dns, tls, path, pmtu", c.Info().ProbeKinds)
	}
	for _, k := range c.Info().ProbeKinds {
		t.Run(k, func(t *testing.T) {
			var res json.RawMessage
			err := c.Probe(context.Background(), k, map[string]any{"cmd": "id"}, &res)
			if !errors.Is(err, ErrProtocol) || !strings.Contains(err.Error(), "cmd") {
				t.Errorf("%s with an unknown param: %v, want ErrProtocol naming it", k, err)
			}
		})
	}
}
