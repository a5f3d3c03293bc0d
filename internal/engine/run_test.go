package engine

import (
	"context"
	"errors"
	"fmt"
	"net"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	"github.com/google/go-cmp/cmp/cmpopts"

	"github.com/netprobe/netprobe/internal/agent"
	"github.com/netprobe/netprobe/internal/bwtest"
	"github.com/netprobe/netprobe/internal/probes"
	"github.com/netprobe/netprobe/internal/probes/probetest"
	"github.com/netprobe/netprobe/internal/result"
	"github.com/netprobe/netprobe/internal/topology"
	"golang.org/x/time/rate"
)

var testToken = []byte("engine-test-token-0123456789abcdef")

// startAgent runs a real agent on ip (a loopback address) and returns its control address.
func startAgent(t *testing.T, ip string) string {
	t.Helper()
	return startAgentWith(t, ip, agent.Config{})
}

// startAgentWith is startAgent with cfg (its token and responder host are set here).
func startAgentWith(t *testing.T, ip string, cfg agent.Config) string {
	t.Helper()
	cfg.Token, cfg.ResponderHost = testToken, ip
	srv, err := agent.NewServer(cfg)
	if err != nil {
		t.Fatal(err)
	}
	ln, err := net.Listen("tcp", net.JoinHostPort(ip, "0"))
	if err != nil {
		t.Skipf("cannot listen on %s (loopback range not routed here?): %v", ip, err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan struct{})
	go func() { defer close(done); _ = srv.Serve(ctx, ln) }()
	t.Cleanup(func() { cancel(); <-done })
	return ln.Addr().String()
}

// loopbackEstate is a failback estate whose hosts live on loopback addresses, each with an agent
// except vcenter01 (a destination only) and mt01 when noMT is set.
func loopbackEstate(t *testing.T, agents map[string]string) *topology.Topology {
	t.Helper()
	agentLine := func(h string) string {
		if a := agents[h]; a != "" {
			return "\n    agent: " + a
		}
		return ""
	}
	y := `version: 1
name: loopback
settings: {azure_endpoints: false, data_port: 19443, vcenter_port: 10443, timeout: 1s}
sites:
  onprem: {kind: onprem, networks: [127.0.61.0/24]}
  azure: {kind: azure, networks: [127.0.62.0/24]}
links:
  - {name: s2s, kind: vpn, sites: [onprem, azure]}
hosts:
  cs01:
    site: onprem
    os: windows
    roles: [configuration-server]
    address: 127.0.61.4` + agentLine("cs01") + `
  mt01:
    site: onprem
    os: windows
    roles: [master-target]
    address: 127.0.61.8` + agentLine("mt01") + `
  vcenter01:
    site: onprem
    roles: [vcenter]
    address: 127.0.61.2
  ps-az:
    site: azure
    os: windows
    roles: [process-server]
    address: 127.0.62.4` + agentLine("ps-az") + `
  sql01:
    site: azure
    os: windows
    roles: [protected-vm]
    address: 127.0.62.10` + agentLine("sql01") + `
    disks: [{size: 100GiB, churn: 1MB/s}]
checks:
  latency: {samples: 5, interval: 5ms, warn_p95: 200ms, fail_p95: 500ms}
  bandwidth: {duration: 1s, streams: [2]}
`
	tp, err := topology.Parse("loopback.yaml", []byte(y))
	if err != nil {
		t.Fatal(err)
	}
	return tp
}

func collect(t *testing.T, ch <-chan Event) (map[string]result.Result, []AgentState, Event) {
	t.Helper()
	rs := map[string]result.Result{}
	var agents []AgentState
	timeout := time.After(60 * time.Second)
	for {
		select {
		case e, ok := <-ch:
			if !ok {
				t.Fatal("stream closed without a Done event")
			}
			switch {
			case e.Result != nil:
				if _, dup := rs[e.Result.ID]; dup {
					t.Errorf("result %s sent twice", e.Result.ID)
				}
				rs[e.Result.ID] = *e.Result
			case e.Agent != nil:
				agents = append(agents, *e.Agent)
			case e.Done:
				if _, ok := <-ch; ok {
					t.Error("events after Done")
				}
				return rs, agents, e
			}
		case <-timeout:
			t.Fatal("run did not finish within 60s")
		}
	}
}

func TestRunLoopbackAgents(t *testing.T) {
	agents := map[string]string{
		"cs01":  startAgent(t, "127.0.61.4"),
		"mt01":  startAgent(t, "127.0.61.8"),
		"ps-az": startAgent(t, "127.0.62.4"),
		"sql01": startAgent(t, "127.0.62.10"),
	}
	tp := loopbackEstate(t, agents)
	plan := RemapPorts(Plan(tp, Options{NoHostFacts: true}), 20000)
	r := &Runner{Dial: AgentDialer(agent.ClientConfig{Token: testToken})}
	rs, states, done := collect(t, r.Run(context.Background(), plan))

	if done.Interrupted {
		t.Error("run reported interrupted")
	}
	if len(rs) != len(plan) {
		t.Errorf("got %d results for %d checks", len(rs), len(plan))
	}
	for _, s := range states {
		if !s.Up {
			t.Errorf("agent %s down: %v", s.Addr, s.Err)
		}
	}
	// Every port flow toward a host with an agent is answered by its responder.
	for id, res := range rs {
		if res.Check != result.CheckPort {
			continue
		}
		if strings.Contains(id, "/vcenter01/") {
			// No agent on vcenter01 and nothing listens: closed by reset, a fail (a warn for
			// FB-MT-VC, whose rule Microsoft does not document).
			want := result.Fail
			if res.Rule == "FB-MT-VC" {
				want = result.Warn
			}
			if res.Status != want || res.State != "closed" || res.Reason != "reset" {
				t.Errorf("%s: %v %s/%s, want %v closed/reset", id, res.Status, res.State, res.Reason, want)
			}
			if !strings.Contains(res.Hint, "run a netprobe agent on vcenter01") {
				t.Errorf("%s: hint %q", id, res.Hint)
			}
			continue
		}
		if res.Status != result.Pass || res.State != "open" || res.Metrics["answered_by"] != "responder" {
			t.Errorf("%s: %v %s/%s by %v: %s", id, res.Status, res.State, res.Reason, res.Metrics["answered_by"], res.Message)
		}
	}
	for _, id := range []string{"bandwidth/ps-az/mt01/2", "bandwidth/mt01/ps-az/2"} {
		bw, ok := rs[id]
		if !ok || bw.Status != result.Pass || bw.Metrics["mbps"].(float64) < 50 {
			t.Errorf("%s: %+v", id, bw)
		}
	}
	// sql01's 1 MB/s of churn with 30 % growth needs 10.4 Mbit/s, judged in the replication
	// direction only.
	if got := rs["bandwidth/ps-az/mt01/2"].Metrics["required_mbps"]; got != 10.4 {
		t.Errorf("required_mbps = %v, want 10.4", got)
	}
	if _, ok := rs["bandwidth/mt01/ps-az/2"].Metrics["required_mbps"]; ok {
		t.Error("the way back is judged against churn")
	}
	lat, ok := rs["latency/ps-az/sql01"]
	if !ok || lat.Status != result.Pass || lat.Metrics["samples"] != 5 {
		t.Errorf("latency: %+v", lat)
	}
}

func TestRunAgentFaults(t *testing.T) {
	good := startAgent(t, "127.0.62.10")
	// A listener that accepts and closes: an "agent" answering garbage.
	garbage, err := net.Listen("tcp", "127.0.61.8:0")
	if err != nil {
		t.Skip(err)
	}
	t.Cleanup(func() { garbage.Close() })
	go func() {
		for {
			c, err := garbage.Accept()
			if err != nil {
				return
			}
			c.Write([]byte("HTTP/1.1 200 OK\r\n\r\nnonsense"))
			c.Close()
		}
	}()
	// An address where nothing listens at all.
	dead, _ := net.Listen("tcp", "127.0.62.4:0")
	deadAddr := dead.Addr().String()
	dead.Close()

	tp := loopbackEstate(t, map[string]string{"sql01": good, "mt01": garbage.Addr().String(), "ps-az": deadAddr})
	plan := RemapPorts(Plan(tp, Options{NoBandwidth: true}), 20000)
	start := time.Now()
	r := &Runner{Dial: AgentDialer(agent.ClientConfig{Token: []byte("the-wrong-token-for-this-agent-xx")}), DialTimeout: 2 * time.Second}
	rs, states, _ := collect(t, r.Run(context.Background(), plan))
	if d := time.Since(start); d > 20*time.Second {
		t.Errorf("run with broken agents took %v", d)
	}
	if len(rs) != len(plan) {
		t.Errorf("got %d results for %d checks", len(rs), len(plan))
	}
	for _, s := range states {
		if s.Up {
			t.Errorf("agent %s up with a wrong token / garbage / nothing", s.Addr)
		}
	}
	var sawAuth bool
	for id, res := range rs {
		switch {
		case res.From == "cs01":
			if res.Status != result.Skip {
				t.Errorf("%s: %v, want skip (cs01 has no agent)", id, res.Status)
			}
		case res.Status != result.Error:
			t.Errorf("%s: %v, want error: %s", id, res.Status, res.Message)
		}
		if strings.HasPrefix(id, "port/sql01/") && strings.Contains(res.Hint, "authentication failed") {
			sawAuth = true
		}
	}
	if !sawAuth {
		t.Error("no result names the authentication failure")
	}
}

func TestRunCancelled(t *testing.T) {
	a := startAgent(t, "127.0.62.10")
	tp := loopbackEstate(t, map[string]string{"sql01": a})
	plan := RemapPorts(Plan(tp, Options{NoBandwidth: true}), 20000)
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	r := &Runner{Dial: AgentDialer(agent.ClientConfig{Token: testToken})}
	rs, _, done := collect(t, r.Run(ctx, plan))
	if !done.Interrupted {
		t.Error("cancelled run not reported as interrupted")
	}
	// Every check still ends in exactly one result, none of them a verdict on the network.
	if len(rs) != len(plan) {
		t.Errorf("got %d results for %d checks", len(rs), len(plan))
	}
	for id, res := range rs {
		if res.Status != result.Error && res.Status != result.Skip {
			t.Errorf("%s: %v in a cancelled run: %s", id, res.Status, res.Message)
		}
	}
}

// TestRunBandwidthPortHeldBothEnds: once ASR is installed, its services hold the data port on
// both ends; the bandwidth test cannot listen there and says so as a skip, not a firewall fail.
func TestRunBandwidthPortHeldBothEnds(t *testing.T) {
	agents := map[string]string{
		"mt01":  startAgent(t, "127.0.61.8"),
		"ps-az": startAgent(t, "127.0.62.4"),
	}
	for _, ip := range []string{"127.0.61.8", "127.0.62.4"} {
		ln, err := net.Listen("tcp", ip+":19443")
		if err != nil {
			t.Skip(err)
		}
		probetest.HoldPort(t, ln)
	}
	tp := loopbackEstate(t, agents)
	plan := RemapPorts(Plan(tp, Options{Only: []string{"bandwidth/ps-az/mt01/"}}), 20000)
	if len(plan) != 1 {
		t.Fatalf("plan: %d checks", len(plan))
	}
	r := &Runner{Dial: AgentDialer(agent.ClientConfig{Token: testToken})}
	rs, _, _ := collect(t, r.Run(context.Background(), plan))
	res := rs[plan[0].ID]
	if res.Status != result.Skip || !strings.Contains(res.Message, "held by a service on both") {
		t.Errorf("%v: %s", res.Status, res.Message)
	}
}

// TestRunDNS resolves a name from hosts of two sites whose resolvers disagree: each host
// resolves it (pass) and the consistency check warns of the split horizon.
func TestRunDNS(t *testing.T) {
	agents := map[string]string{
		"cs01":  startAgent(t, "127.0.61.4"),
		"ps-az": startAgent(t, "127.0.62.4"),
	}
	onprem := probetest.DNSServer(t, map[string][]string{"cs01.contoso.local.": {"10.10.0.4"}}, false)
	azure := probetest.DNSServer(t, map[string][]string{"cs01.contoso.local.": {"10.20.9.9"}}, false)
	tp := loopbackEstate(t, agents)
	tp.Checks.DNS.Names = []string{"cs01.contoso.local"}
	var plan []Check
	for _, c := range Plan(tp, Options{Only: []string{"dns/"}}) {
		// Plan gives the site's resolvers without a port (53); the test servers listen on
		// high ports of loopback.
		switch {
		case len(c.Resolvers) > 0:
			for i := range c.Resolvers {
				c.Resolvers[i].Servers = []string{map[string]string{"onprem": onprem.String(), "azure": azure.String()}[c.Resolvers[i].Site]}
			}
		case c.From == "cs01":
			c.Servers = []string{onprem.String()}
		default:
			c.Servers = []string{azure.String()}
		}
		plan = append(plan, c)
	}
	if len(plan) != 3 {
		t.Fatalf("plan: %d dns checks, want 2 per-host and 1 consistency", len(plan))
	}
	r := &Runner{Dial: AgentDialer(agent.ClientConfig{Token: testToken})}
	rs, _, _ := collect(t, r.Run(context.Background(), plan))
	want := map[string]result.Status{
		"dns/cs01/cs01.contoso.local":  result.Pass,
		"dns/ps-az/cs01.contoso.local": result.Pass,
		"dns/cs01.contoso.local":       result.Warn,
	}
	for id, st := range want {
		if rs[id].Status != st {
			t.Errorf("%s: %v, want %v: %s", id, rs[id].Status, st, rs[id].Message)
		}
	}
	if m := rs["dns/cs01.contoso.local"].Message; !strings.Contains(m, "10.10.0.4") || !strings.Contains(m, "10.20.9.9") {
		t.Errorf("consistency message does not show both answers: %s", m)
	}
}

// TestRunTLSOnService: when a real HTTPS service holds a flow's port, the port check also
// shakes hands and reports the certificate; an expiring one is a warning.
func TestRunTLSOnService(t *testing.T) {
	cert := probetest.NewTLSCert(t, "ASR test CA", "cs01.contoso.local", 5*24*time.Hour)
	svc := probetest.TLSServer(t, cert)
	a := startAgent(t, svc.Addr().String())
	c := Check{ID: "port/sql01/cs01/443/tcp", Kind: result.CheckPort, Rule: "FB-VM-CS", From: "sql01", To: "cs01",
		Address: svc.Addr().String(), Port: int(svc.Port()), Proto: topology.ProtoTCP, Expect: topology.ExpectOpen, Confidence: topology.ConfDoc,
		FromAgent: a, ToAgent: a, Timeout: time.Second, TLS: true}
	r := &Runner{Dial: AgentDialer(agent.ClientConfig{Token: testToken})}
	rs, _, _ := collect(t, r.Run(context.Background(), []Check{c}))
	res := rs[c.ID]
	if res.Metrics["answered_by"] != "service" || res.Metrics["tls_version"] == nil {
		t.Fatalf("metrics %v: want a service answering with TLS", res.Metrics)
	}
	if res.Status != result.Warn || !strings.Contains(res.Message, "expires on") {
		t.Errorf("%v %q: want a warning for a certificate expiring in 5 days", res.Status, res.Message)
	}
}

func TestAddTLS(t *testing.T) {
	now := time.Date(2026, 11, 25, 12, 0, 0, 0, time.UTC)
	cases := []struct {
		name string
		m    probes.TLSResult
		want result.Status
	}{
		{"valid a year", probes.TLSResult{Version: "TLS 1.3", Subject: "CN=cs01", NotAfter: now.AddDate(1, 0, 0)}, result.Pass},
		{"expires in a week", probes.TLSResult{Version: "TLS 1.3", Subject: "CN=cs01", NotAfter: now.AddDate(0, 0, 7)}, result.Warn},
		{"expired", probes.TLSResult{Version: "TLS 1.2", Subject: "CN=cs01", NotAfter: now.AddDate(0, 0, -1)}, result.Warn},
		{"not TLS", probes.TLSResult{HandshakeError: "first record does not look like a TLS handshake"}, result.Warn},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			r := result.Result{Status: result.Pass, Message: "open", Metrics: map[string]any{}}
			AddTLS(&r, tc.m, now)
			if r.Status != tc.want {
				t.Errorf("%v (%s), want %v", r.Status, r.Message, tc.want)
			}
		})
	}
}

// TestRunBandwidthIntervals: a running bandwidth test streams its per-interval rates as
// events, before its result, for live displays.
func TestRunBandwidthIntervals(t *testing.T) {
	agents := map[string]string{"mt01": startAgent(t, "127.0.61.8"), "ps-az": startAgent(t, "127.0.62.4")}
	tp := loopbackEstate(t, agents)
	plan := Plan(tp, Options{Only: []string{"bandwidth/ps-az/mt01/"}})
	if len(plan) != 1 {
		t.Fatalf("plan: %d checks", len(plan))
	}
	plan[0].Duration = 2 * time.Second
	r := &Runner{Dial: AgentDialer(agent.ClientConfig{Token: testToken})}
	var intervals []Interval
	var res *result.Result
	for ev := range r.Run(context.Background(), plan) {
		switch {
		case ev.Interval != nil:
			if res != nil {
				t.Error("an interval after the result")
			}
			intervals = append(intervals, *ev.Interval)
		case ev.Result != nil:
			res = ev.Result
		}
	}
	if res == nil || res.Status != result.Pass {
		t.Fatalf("result %+v", res)
	}
	if len(intervals) < 2 || intervals[0].ID != plan[0].ID || intervals[0].N != 1 || intervals[0].Bps <= 0 {
		t.Errorf("intervals %+v, want at least 2 for a 2 s test, numbered from 1", intervals)
	}
	if intervals[0].Required != float64(plan[0].RequiredBps) {
		t.Errorf("required %v, want %v", intervals[0].Required, plan[0].RequiredBps)
	}
}

// sleepyProber answers every probe after a fixed delay with a route, and fails the rest.
type sleepyProber struct{ delay time.Duration }

func (p sleepyProber) Probe(ctx context.Context, kind string, params, res any) error {
	select {
	case <-time.After(p.delay):
	case <-ctx.Done():
		return ctx.Err()
	}
	if r, ok := res.(*probes.RouteResult); ok {
		*r = probes.RouteResult{Interface: "eth0", SourceIP: "127.0.0.1", Method: "fake"}
	}
	return nil
}
func (sleepyProber) OpenResponders(context.Context, []agent.Listen) (agent.Responders, error) {
	return agent.Responders{}, nil
}
func (sleepyProber) CloseResponders(context.Context, string) error { return nil }
func (sleepyProber) ResponderStatus(_ context.Context, ls []agent.Listen) ([]agent.ResponderHealth, error) {
	out := make([]agent.ResponderHealth, len(ls))
	for i, l := range ls {
		out[i] = agent.ResponderHealth{Proto: l.Proto, Port: l.Port, Status: agent.Opened}
	}
	return out, nil
}
func (sleepyProber) HostFacts(context.Context, string) (agent.HostFacts, error) {
	return agent.HostFacts{}, nil
}
func (sleepyProber) Bandwidth(context.Context, string, bwtest.Params) (bwtest.Result, error) {
	return bwtest.Result{}, nil
}

// TestRunBusyAgentHoldsNoGlobalSlot: a hub with ten checks and one call in flight, and another
// agent with one check, under a global bound of two. The hub's waiting checks must not hold the
// second global slot: the other agent's check runs at once, not after the hub's fourth.
func TestRunBusyAgentHoldsNoGlobalSlot(t *testing.T) {
	var plan []Check
	for i := range 10 {
		plan = append(plan, Check{ID: fmt.Sprintf("route/hub/%d", i), Kind: result.CheckRoute, From: "hub", FromAgent: "hub:7411", Address: "127.0.0.1"})
	}
	plan = append(plan, Check{ID: "route/other", Kind: result.CheckRoute, From: "other", FromAgent: "other:7411", Address: "127.0.0.1"})
	r := &Runner{Concurrency: 2, PerAgent: 1, Dial: func(context.Context, string) (Prober, error) {
		return sleepyProber{delay: 50 * time.Millisecond}, nil
	}}
	var order []string
	for e := range r.Run(context.Background(), plan) {
		if e.Result != nil {
			order = append(order, e.Result.ID)
		}
	}
	if len(order) != len(plan) {
		t.Fatalf("%d results for %d checks", len(order), len(plan))
	}
	if i := slices.Index(order, "route/other"); i > 1 {
		t.Errorf("the other agent's check came %d-th (%v): it waited behind the busy hub", i+1, order)
	}
}

// boundedProber is an agent with a probe-rate bound: it refuses (429) probes over its bucket,
// as the real agent does, and tells its bound in Info as the real Hello does.
type boundedProber struct {
	sleepyProber
	lim     *rate.Limiter
	refused *atomic.Int32
	bounds  agent.Bounds
}

func (p boundedProber) Info() agent.Info { return agent.Info{Bounds: p.bounds} }

func (p boundedProber) Probe(ctx context.Context, kind string, params, res any) error {
	if !p.lim.Allow() {
		p.refused.Add(1)
		return &agent.RemoteError{Status: 429, Code: agent.CodeRateLimited, Message: "probe rate over this agent's bound"}
	}
	return p.sleepyProber.Probe(ctx, kind, params, res)
}

// TestRunPacesToAgentBound: forty checks against an agent bounded to 100 probes/s with a
// burst of 5 are paced from its Hello: none is refused, and the run takes about as long as
// the bound says, not the retries' backoff.
func TestRunPacesToAgentBound(t *testing.T) {
	var plan []Check
	for i := range 40 {
		plan = append(plan, Check{ID: fmt.Sprintf("icmp/hub/%d", i), Kind: result.CheckPMTU, From: "hub", FromAgent: "hub:7411", Address: "127.0.0.1", Timeout: time.Second})
	}
	bounds := agent.Bounds{ProbeRate: 100, ProbeBurst: 5}
	var refused atomic.Int32
	fake := boundedProber{sleepyProber: sleepyProber{delay: time.Millisecond}, lim: rate.NewLimiter(rate.Limit(bounds.ProbeRate), bounds.ProbeBurst), refused: &refused, bounds: bounds}
	r := &Runner{Concurrency: 16, Dial: func(context.Context, string) (Prober, error) { return fake, nil }}
	start := time.Now()
	n := 0
	for e := range r.Run(context.Background(), plan) {
		if e.Result != nil {
			n++
			if e.Result.Status == result.Error {
				t.Errorf("%s: %s", e.Result.ID, e.Result.Message)
			}
		}
	}
	took := time.Since(start)
	if n != len(plan) {
		t.Fatalf("%d results for %d checks", n, len(plan))
	}
	if got := refused.Load(); got != 0 {
		t.Errorf("the agent refused %d probes: the run did not pace to its bound", got)
	}
	// 38 probes beyond the coordinator's burst of 2 at 90/s (paceFor): about 420 ms; backoffs
	// from 429s would cost seconds.
	if took < 300*time.Millisecond || took > 2*time.Second {
		t.Errorf("took %v, want about 420ms", took)
	}
}

// respProber is an agent whose responder sets live ttl: it records opens and closes.
type respProber struct {
	sleepyProber
	ttl    time.Duration
	mu     *sync.Mutex
	opened *[]string
	closed *[]string
	live   *map[string]time.Time // id -> expiry
	late   *[]string             // checks that ran while no set was live
}

func (p respProber) Info() agent.Info { return agent.Info{Bounds: agent.Bounds{ResponderTTL: p.ttl}} }

func (p respProber) OpenResponders(_ context.Context, ls []agent.Listen) (agent.Responders, error) {
	p.mu.Lock()
	defer p.mu.Unlock()
	id := fmt.Sprintf("set%d", len(*p.opened)+1)
	*p.opened = append(*p.opened, id)
	(*p.live)[id] = time.Now().Add(p.ttl)
	r := agent.Responders{ID: id, ExpiresAt: time.Now().Add(p.ttl)}
	for _, l := range ls {
		r.Ports = append(r.Ports, agent.ResponderPort{Proto: l.Proto, Port: l.Port, Status: agent.Opened})
	}
	return r, nil
}

func (p respProber) CloseResponders(_ context.Context, id string) error {
	p.mu.Lock()
	defer p.mu.Unlock()
	*p.closed = append(*p.closed, id)
	delete(*p.live, id)
	return nil
}

func (p respProber) Probe(ctx context.Context, kind string, params, res any) error {
	p.mu.Lock()
	ok := false
	for _, exp := range *p.live {
		ok = ok || time.Now().Before(exp)
	}
	if !ok {
		*p.late = append(*p.late, kind)
	}
	p.mu.Unlock()
	return p.sleepyProber.Probe(ctx, kind, params, res)
}

// TestRunRenewsResponders: a run longer than the agent's responder TTL renews the sets before
// they expire (open again, close the old), so no check runs without its responder, and every
// set opened is closed at the end.
func TestRunRenewsResponders(t *testing.T) {
	var (
		mu                   sync.Mutex
		opened, closed, late []string
		live                 = map[string]time.Time{}
	)
	fake := respProber{sleepyProber: sleepyProber{delay: 100 * time.Millisecond}, ttl: 300 * time.Millisecond,
		mu: &mu, opened: &opened, closed: &closed, live: &live, late: &late}
	var plan []Check
	for i := range 10 {
		plan = append(plan, Check{ID: fmt.Sprintf("port/a/b/%d/tcp", 9440+i), Kind: result.CheckPort, From: "a", FromAgent: "a:7411",
			To: "b", ToAgent: "b:7411", Address: "127.0.0.1", Port: 9440 + i, Proto: topology.ProtoTCP, Expect: topology.ExpectOpen, Timeout: time.Second})
	}
	r := &Runner{PerAgent: 1, Dial: func(context.Context, string) (Prober, error) { return fake, nil }}
	for range r.Run(context.Background(), plan) {
	}
	mu.Lock()
	defer mu.Unlock()
	if len(opened) < 3 {
		t.Errorf("opened %v in a 1s run with a 300ms TTL: want renewals", opened)
	}
	if len(late) > 0 {
		t.Errorf("%d checks ran with no responder set live", len(late))
	}
	if diff := cmp.Diff(opened, closed, cmpopts.SortSlices(func(a, b string) bool { return a < b })); diff != "" {
		t.Errorf("sets opened and closed differ (-opened +closed):\n%s", diff)
	}
}

// flakyProber answers late (no answer in time) on the calls listed, and fails to connect on
// every call when refused is set.
type flakyProber struct {
	sleepyProber
	mu       *sync.Mutex
	calls    *int
	late     map[int]bool
	answered map[int]bool // the agent answers these with an error of its own
	refused  bool
}

func (p flakyProber) Probe(ctx context.Context, kind string, params, res any) error {
	p.mu.Lock()
	*p.calls++
	n := *p.calls
	p.mu.Unlock()
	switch {
	case p.refused:
		return fmt.Errorf("%w: hub:7411: connect: connection refused", agent.ErrUnreachable)
	case p.late[n]:
		time.Sleep(p.delay) // late calls in flight together come back together
		return fmt.Errorf("%w: hub:7411: %w: %w", agent.ErrUnreachable, agent.ErrNoAnswer, context.DeadlineExceeded)
	case p.answered[n]:
		return &agent.RemoteError{Status: 500, Code: "probe", Message: "the probe failed on the agent"}
	}
	return p.sleepyProber.Probe(ctx, kind, params, res)
}

// TestRunSlowAgentIsNotGone: an agent that answers one call late is still used for the rest;
// one that leaves three calls in a row unanswered, or refuses connections, is marked down and
// its remaining checks end at once. An error the agent sends is an answer; calls in flight
// together that come back late together count once.
func TestRunSlowAgentIsNotGone(t *testing.T) {
	lateFirst := func(n int) map[int]bool {
		m := map[int]bool{}
		for i := 1; i <= n; i++ {
			m[i] = true
		}
		return m
	}
	for _, tc := range []struct {
		name       string
		late       map[int]bool
		answered   map[int]bool
		perAgent   int
		refused    bool
		wantErrors int
		wantCalls  int
		wantDown   bool // the run reports the agent down (once)
	}{
		{"one late answer", map[int]bool{2: true}, nil, 1, false, 1, 10, false},
		{"late twice, then answers", map[int]bool{2: true, 3: true}, nil, 1, false, 2, 10, false},
		{"three late in a row", map[int]bool{2: true, 3: true, 4: true}, nil, 1, false, 9, 4, true},
		{"late, an error answer, late, late", map[int]bool{1: true, 3: true, 4: true}, map[int]bool{2: true}, 1, false, 4, 10, false},
		{"four in flight late together count once", lateFirst(4), nil, 4, false, 4, 10, false},
		{"refuses connections", nil, nil, 1, true, 10, 1, true},
	} {
		t.Run(tc.name, func(t *testing.T) {
			var mu sync.Mutex
			calls := 0
			fake := flakyProber{sleepyProber: sleepyProber{delay: 20 * time.Millisecond}, mu: &mu, calls: &calls, late: tc.late, answered: tc.answered, refused: tc.refused}
			var plan []Check
			for i := range 10 {
				plan = append(plan, Check{ID: fmt.Sprintf("route/hub/%d", i), Kind: result.CheckRoute, From: "hub", FromAgent: "hub:7411", Address: "127.0.0.1"})
			}
			r := &Runner{PerAgent: tc.perAgent, Dial: func(context.Context, string) (Prober, error) { return fake, nil }}
			errs := 0
			var downs []AgentState
			for e := range r.Run(context.Background(), plan) {
				if e.Result != nil && e.Result.Status == result.Error {
					errs++
				}
				if e.Agent != nil && !e.Agent.Up {
					downs = append(downs, *e.Agent)
				}
			}
			mu.Lock()
			defer mu.Unlock()
			if errs != tc.wantErrors || calls != tc.wantCalls {
				t.Errorf("%d errors after %d calls, want %d after %d", errs, calls, tc.wantErrors, tc.wantCalls)
			}
			switch {
			case !tc.wantDown && len(downs) > 0:
				t.Errorf("agent reported down: %+v", downs)
			case tc.wantDown && len(downs) != 1:
				t.Errorf("%d down events, want 1: %+v", len(downs), downs)
			case tc.wantDown && (downs[0].Addr != "hub:7411" || !slices.Equal(downs[0].Hosts, []string{"hub"}) || !errors.Is(downs[0].Err, agent.ErrUnreachable)):
				t.Errorf("down event %+v, want hub:7411 serving [hub] with the call's error", downs[0])
			}
		})
	}
}
