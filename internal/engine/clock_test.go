package engine

import (
	"context"
	"strings"
	"testing"
	"time"

	"github.com/netprobe/netprobe/internal/agent"
	"github.com/netprobe/netprobe/internal/probes/probetest"
	"github.com/netprobe/netprobe/internal/result"
	"github.com/netprobe/netprobe/internal/topology"
)

func clockCheck(host, dateFrom string) Check {
	c := Check{ID: "clock/" + host, Kind: result.CheckClock, Rule: "FB-CLOCK", Phase: topology.PhaseFailback, From: host, To: host,
		FromAgent: host + ":7411", Confidence: topology.ConfInferred, Timeout: time.Second}
	if dateFrom != "" {
		c.Address, c.Port, c.Proto = dateFrom, 443, topology.ProtoTCP
	}
	return c
}

// sample is an exchange of rtt with an agent whose clock is skew ahead of the coordinator's.
func sample(at time.Time, skew, rtt time.Duration) ClockSample {
	return ClockSample{Sent: at, Remote: at.Add(rtt / 2).Add(skew), Received: at.Add(rtt)}
}

// dateReading is an HTTPS answer from a server whose clock is the agent's minus skew.
func dateReading(at time.Time, skew time.Duration) *DateReading {
	server := at.Add(5 * time.Millisecond).Add(-skew)
	return &DateReading{From: "login.microsoftonline.com", Sent: at, Received: at.Add(10 * time.Millisecond), Date: server.Truncate(time.Second)}
}

// TestJudgeClock: warn past a minute, fail past five (Entra ID's token clock skew and
// Kerberos's tolerance), always on what the error bar makes certain; Azure's Date decides
// where it was read, the coordinator's clock otherwise.
func TestJudgeClock(t *testing.T) {
	at := time.Date(2026, 12, 5, 10, 0, 0, 0, time.UTC)
	ms := time.Millisecond
	cases := []struct {
		name    string
		c       Check
		samples []ClockSample
		date    *DateReading
		want    result.Status
		msg     []string
	}{
		{"in step", clockCheck("sql01", ""), []ClockSample{sample(at, 2*ms, 4*ms)}, nil, result.Pass, []string{"2.0ms ahead of the coordinator's clock (±2.0ms)"}},
		{"90s behind", clockCheck("sql01", ""), []ClockSample{sample(at, -90*time.Second, 4*ms)}, nil, result.Warn, []string{"1m30s behind", "more than 1m0s off"}},
		{"6 minutes ahead", clockCheck("sql01", ""), []ClockSample{sample(at, 6*time.Minute, 4*ms)}, nil, result.Fail, []string{"6m0s ahead", "past the 5m0s"}},
		{"best sample counts", clockCheck("sql01", ""), []ClockSample{sample(at, 50*time.Second, 3*time.Minute), sample(at, 10*ms, 2*ms)}, nil, result.Pass, []string{"±1.0ms"}},
		{"too coarse to tell", clockCheck("sql01", ""), []ClockSample{sample(at, 2*time.Minute, 8*time.Minute)}, nil, result.Warn, []string{"too coarse"}},
		{"Azure agrees", clockCheck("cs01", "login.microsoftonline.com"), []ClockSample{sample(at, 3*ms, 2*ms)}, dateReading(at, 300*ms), result.Pass, []string{"Azure's (the Date login.microsoftonline.com sent", "the coordinator's clock"}},
		{"Azure 6 minutes behind the host", clockCheck("cs01", "login.microsoftonline.com"), []ClockSample{sample(at, 3*ms, 2*ms)}, dateReading(at, 6*time.Minute), result.Fail, []string{"6m0s ahead of Azure's", "past the 5m0s"}},
		{"the coordinator is off, the host is right", clockCheck("cs01", "login.microsoftonline.com"), []ClockSample{sample(at, 7*time.Minute, 2*ms)}, dateReading(at, 0), result.Pass, []string{"the coordinator's own clock is 7m0s behind Azure's"}},
		{"Azure unreadable", clockCheck("cs01", "login.microsoftonline.com"), []ClockSample{sample(at, 6*time.Minute, 2*ms)}, &DateReading{From: "login.microsoftonline.com", Err: "no such host"}, result.Fail, []string{"could not be read", "no such host"}},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			r := JudgeClock(tc.c, tc.samples, tc.date)
			if r.Status != tc.want {
				t.Errorf("status %v, want %v: %s", r.Status, tc.want, r.Message)
			}
			for _, m := range tc.msg {
				if !strings.Contains(r.Message, m) {
					t.Errorf("message %q lacks %q", r.Message, m)
				}
			}
			if r.Status != result.Pass && !strings.Contains(r.Hint, "coordinator's own clock") {
				t.Errorf("hint %q does not say the coordinator may be the one off", r.Hint)
			}
		})
	}
}

// TestRunClock: real agents on loopback, one with a clock 7 minutes fast, and a configuration
// server that reads a loopback HTTPS stand-in for Azure whose clock is right.
func TestRunClock(t *testing.T) {
	fast := func() time.Time { return time.Now().Add(7 * time.Minute) }
	skewed := startAgentWith(t, "127.0.61.10", agent.Config{Now: fast})
	right := startAgent(t, "127.0.61.4")
	cert := probetest.NewTLSCert(t, "Azure Stand-in CA", "login.example.test", time.Hour)
	azure := probetest.HTTPSServer(t, cert, time.Now)
	cs := clockCheck("cs01", "127.0.0.1")
	cs.Port, cs.FromAgent = int(azure.Port()), right
	vm := clockCheck("sql01", "")
	vm.FromAgent = skewed
	r := &Runner{Dial: AgentDialer(agent.ClientConfig{Token: testToken})}
	rs, _, _ := collect(t, r.Run(context.Background(), []Check{cs, vm}))
	if got := rs["clock/sql01"]; got.Status != result.Fail || !strings.Contains(got.Message, "ahead of the coordinator's clock") {
		t.Errorf("the fast host: %v %q, want fail, ahead of the coordinator", got.Status, got.Message)
	}
	if got := rs["clock/cs01"]; got.Status != result.Pass || got.Metrics["azure_skew_ms"] == nil {
		t.Errorf("the configuration server: %v %q (metrics %v), want pass against the stand-in's Date", got.Status, got.Message, got.Metrics)
	}
}

// TestPlanClock: every host with an agent gets FB-CLOCK; the configuration server reads
// Azure's Date only when the ASR endpoints are tested.
func TestPlanClock(t *testing.T) {
	tp, err := topology.Load("../topology/testdata/normative.yaml")
	if err != nil {
		t.Fatal(err)
	}
	got := map[string]string{}
	for _, c := range Plan(tp, Options{Only: []string{"clock/"}}) {
		got[c.ID] = c.Target()
	}
	want := map[string]string{"clock/cs01": "login.microsoftonline.com:443", "clock/mt01": "", "clock/ps-az": "", "clock/sql01": ""}
	if len(got) != len(want) {
		t.Errorf("clock checks %v, want %v", got, want)
	}
	for id, w := range want {
		if got[id] != w {
			t.Errorf("%s target %q, want %q", id, got[id], w)
		}
	}
	tp.Settings.AzureEndpoints = false
	for _, c := range Plan(tp, Options{Only: []string{"clock/"}}) {
		if c.Address != "" {
			t.Errorf("%s reads %s with the ASR endpoints off", c.ID, c.Target())
		}
	}
}

// oldAgent refuses the clock kind as an agent of an earlier version does.
type oldAgent struct{ sleepyProber }

func (oldAgent) Probe(context.Context, string, any, any) error {
	return &agent.RemoteError{Status: 501, Code: agent.CodeUnsupported, Message: `unsupported probe kind "clock" on this agent`}
}

func TestRunClockOldAgent(t *testing.T) {
	r := &Runner{Dial: func(context.Context, string) (Prober, error) { return oldAgent{}, nil }}
	rs, _, _ := collect(t, r.Run(context.Background(), []Check{clockCheck("sql01", "")}))
	if got := rs["clock/sql01"]; got.Status != result.Skip || !strings.Contains(got.Message, "upgrade") {
		t.Errorf("an agent without the clock kind: %v %q, want skip saying to upgrade it", got.Status, got.Message)
	}
}

// TestPlanClockAppliance: a modernized appliance compares its clock with Azure's at the portal,
// where its configuration manager's time-sync check looks, through its proxy.
func TestPlanClockAppliance(t *testing.T) {
	tp, err := topology.Load("../../topologies/modernized.yaml")
	if err != nil {
		t.Fatal(err)
	}
	plan := Plan(tp, Options{Only: []string{"clock/asr-appliance"}})
	if len(plan) != 1 {
		t.Fatalf("%d clock checks on the appliance, want 1", len(plan))
	}
	if c := plan[0]; c.Target() != "portal.azure.com:443" || c.Proxy != "http://proxy.fabrikam.local:3128" {
		t.Errorf("%s reads %s through %q, want portal.azure.com:443 through the appliance's proxy", c.ID, c.Target(), c.Proxy)
	}
}

// TestRemapPortsClock: the demo shifts the appliance's read of the portal's Date off 443 like
// every endpoint check, so its stand-in listens where the check goes.
func TestRemapPortsClock(t *testing.T) {
	tp, err := topology.Load("../../topologies/modernized.yaml")
	if err != nil {
		t.Fatal(err)
	}
	plan := RemapPorts(Plan(tp, Options{Only: []string{"clock/"}}), 20000)
	for _, c := range plan {
		switch {
		case c.From == "asr-appliance" && (c.Target() != "portal.azure.com:20443" || c.ID != "clock/asr-appliance"):
			t.Errorf("%s reads %s, want portal.azure.com:20443 under its own ID", c.ID, c.Target())
		case c.From != "asr-appliance" && c.Port != 0:
			t.Errorf("%s has port %d: only the appliance reads a Date", c.ID, c.Port)
		}
	}
}

// TestJudgeClockWith: the coordinator is 6 minutes behind Azure. Seen from the coordinator
// every host is 6 minutes ahead; the configuration server reads Azure's Date and is in step
// with it, so a host 6 minutes ahead of the coordinator is in step too (pass), and one 12
// minutes ahead is 6 minutes off Azure (fail).
func TestJudgeClockWith(t *testing.T) {
	sixMin := float64(6 * time.Minute / time.Millisecond)
	ref := result.Result{ID: "clock/cs01", Check: result.CheckClock, From: "cs01", Status: result.Pass,
		Metrics: map[string]any{"skew_ms": sixMin, "skew_error_ms": 1.0, "azure_skew_ms": 0.0, "azure_skew_error_ms": 600.0}}
	held := func(skew float64) result.Result {
		return result.Result{ID: "clock/mt01", Check: result.CheckClock, From: "mt01", Status: result.Fail, Message: "off",
			Metrics: map[string]any{"skew_ms": skew, "skew_error_ms": 1.0}}
	}
	if r := JudgeClockWith(held(sixMin), &ref); r.Status != result.Pass || !strings.Contains(r.Message, "whose own clock is") {
		t.Errorf("in step with Azure: %s %q", r.Status, r.Message)
	}
	if r := JudgeClockWith(held(2*sixMin), &ref); r.Status != result.Fail {
		t.Errorf("6 minutes off Azure: %s %q", r.Status, r.Message)
	}
	if r := JudgeClockWith(held(2*sixMin), nil); r.Status != result.Fail || r.Message != "off" {
		t.Errorf("no reference: the verdict stands: %s %q", r.Status, r.Message)
	}
	tp, err := topology.Load("../topology/testdata/normative.yaml")
	if err != nil {
		t.Fatal(err)
	}
	for _, c := range Plan(tp, Options{Only: []string{"clock/"}}) {
		if c.ID != "clock/cs01" && c.JudgedWith != "clock/cs01" {
			t.Errorf("%s judged with %q, want clock/cs01", c.ID, c.JudgedWith)
		}
	}
}
