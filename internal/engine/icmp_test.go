package engine

import (
	"context"
	"strings"
	"testing"
	"time"

	"github.com/netprobe/netprobe/internal/agent"
	"github.com/netprobe/netprobe/internal/bwtest"
	"github.com/netprobe/netprobe/internal/probes"
	"github.com/netprobe/netprobe/internal/result"
	"github.com/netprobe/netprobe/internal/topology"
)

// confidences and expects read the tables' words as the Check's types.
var (
	confidences = map[string]topology.Confidence{"doc": topology.ConfDoc, "inferred": topology.ConfInferred, "uncertain": topology.ConfUncertain}
	expects     = map[string]topology.Expect{"open": topology.ExpectOpen, "closed": topology.ExpectClosed, "filtered": topology.ExpectFiltered, "blocked": topology.ExpectBlocked}
)

func icmpCheck(rule, conf string) Check {
	return Check{ID: "icmp/sql01/cs01", Kind: result.CheckICMP, Rule: rule, Phase: topology.PhaseFailback, From: "sql01", To: "cs01",
		Address: "192.168.50.4", Proto: topology.ProtoICMP, Expect: topology.ExpectOpen, Confidence: confidences[conf], ErrorCode: "95226",
		FromAddress: "10.10.5.10", Timeout: time.Second, JudgedWith: "port/sql01/cs01/443/tcp"}
}

// TestJudgeICMPWith: ASR does not use ICMP. An echo dropped while the 443 check between the
// same two hosts passes is a warning that says so, never a failure; when 443 fails too the
// ICMP failure stands (nothing shows the host is reachable); a partner not measured leaves it.
func TestJudgeICMPWith(t *testing.T) {
	dropped := JudgeICMP(icmpCheck("FB-VM-CS", "doc"), probes.ICMPResult{Sent: 3})
	if dropped.Status != result.Fail {
		t.Fatalf("a dropped echo judged alone: %v, want fail", dropped.Status)
	}
	psDropped := JudgeICMP(icmpCheck("FB-PS-CS", "inferred"), probes.ICMPResult{Sent: 3})
	replied := JudgeICMP(icmpCheck("FB-VM-CS", "doc"), probes.ICMPResult{Sent: 3, Received: 3, Avg: time.Millisecond})
	open := result.Result{ID: "port/sql01/cs01/443/tcp", Status: result.Pass, State: "open", Reason: "syn-ack"}
	natted := result.Result{ID: "port/sql01/cs01/443/tcp", Status: result.Fail, State: "open", Reason: "syn-ack", Metrics: map[string]any{"nat": true}}
	filtered := result.Result{ID: "port/sql01/cs01/443/tcp", Status: result.Fail, State: "filtered", Reason: "timeout"}
	errored := result.Result{ID: "port/sql01/cs01/443/tcp", Status: result.Error}
	cases := []struct {
		name string
		icmp result.Result
		port *result.Result
		want result.Status
		msg  string
	}{
		{"dropped, 443 answers", dropped, &open, result.Warn, "ping is dropped but 443 answers: ASR does not need ICMP, but the reprotect page asks for it; allow echo to be safe"},
		{"process server: dropped, 443 answers", psDropped, &open, result.Warn, "ping is dropped but 443 answers: ASR does not need ICMP"},
		{"dropped, 443 answers through NAT", dropped, &natted, result.Warn, "443 answers"},
		{"dropped, 443 dropped too", dropped, &filtered, result.Fail, "443 does not answer either"},
		{"dropped, 443 not measured", dropped, &errored, result.Fail, "443 check was not measured"},
		{"dropped, 443 not run", dropped, nil, result.Fail, "443 check was not measured"},
		{"replied", replied, &filtered, result.Pass, "3/3 replies"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			r := JudgeICMPWith(tc.icmp, tc.port)
			if r.Status != tc.want || !strings.Contains(r.Message, tc.msg) {
				t.Errorf("%v %q, want %v containing %q", r.Status, r.Message, tc.want, tc.msg)
			}
		})
	}
	if r := JudgeICMPWith(psDropped, &open); strings.Contains(r.Message, "reprotect page asks") {
		t.Errorf("FB-PS-CS's ping comes from a troubleshooting hint, not the reprotect page: %q", r.Message)
	}
}

// TestJudgeICMPExpectBlocked: a user flow that must stay closed to ping passes when nothing
// answers and fails when something does.
func TestJudgeICMPExpectBlocked(t *testing.T) {
	c := icmpCheck("USER-1", "doc")
	c.Expect, c.JudgedWith, c.ErrorCode = topology.ExpectBlocked, "", ""
	if r := JudgeICMP(c, probes.ICMPResult{Sent: 3}); r.Status != result.Pass {
		t.Errorf("dropped as expected: %v %s", r.Status, r.Message)
	}
	if r := JudgeICMP(c, probes.ICMPResult{Sent: 3, Received: 1, Loss: 2.0 / 3}); r.Status != result.Fail || r.Hint == "" {
		t.Errorf("answered though blocked: %v %s (hint %q)", r.Status, r.Message, r.Hint)
	}
}

// TestPlanICMPJudgedWith443: each catalogue ICMP check names the 443 check between the same
// two hosts, also when --only leaves that check out of the plan; user ICMP flows name none.
func TestPlanICMPJudgedWith443(t *testing.T) {
	tp, err := topology.Load("../topology/testdata/normative.yaml")
	if err != nil {
		t.Fatal(err)
	}
	got := map[string]string{}
	for _, c := range Plan(tp, Options{Only: []string{"icmp/"}}) {
		got[c.ID] = c.JudgedWith
	}
	want := map[string]string{"icmp/sql01/cs01": "port/sql01/cs01/443/tcp", "icmp/ps-az/cs01": "port/ps-az/cs01/443/tcp"}
	for id, w := range want {
		if got[id] != w {
			t.Errorf("%s judged with %q, want %q", id, got[id], w)
		}
	}
	remapped := RemapPorts(Plan(tp, Options{}), 20000)
	ids := map[string]bool{}
	for _, c := range remapped {
		ids[c.ID] = true
	}
	for _, c := range remapped {
		if c.JudgedWith != "" && !ids[c.JudgedWith] {
			t.Errorf("%s is judged with %s, which RemapPorts renamed away", c.ID, c.JudgedWith)
		}
	}
}

// echoProber answers every ICMP echo with silence and every port with open or filtered, after
// a delay per kind, so the run must hold the ICMP result for its 443 partner either way round.
type echoProber struct {
	sleepyProber
	port           probes.PortState
	icmpAt, portAt time.Duration
}

func (p echoProber) Probe(ctx context.Context, kind string, params, res any) error {
	d := p.portAt
	if kind == agent.KindICMP {
		d = p.icmpAt
	}
	select {
	case <-time.After(d):
	case <-ctx.Done():
		return ctx.Err()
	}
	switch r := res.(type) {
	case *probes.ICMPResult:
		*r = probes.ICMPResult{Sent: 3}
	case *probes.PortResult:
		*r = probes.PortResult{State: p.port, Reason: probes.SynAck}
		if p.port != probes.Open {
			r.Reason = probes.Timeout
		}
	}
	return nil
}
func (echoProber) Bandwidth(context.Context, string, bwtest.Params) (bwtest.Result, error) {
	return bwtest.Result{}, nil
}

func TestRunJudgesICMPWith443(t *testing.T) {
	plan := []Check{
		icmpCheck("FB-VM-CS", "doc"),
		{ID: "port/sql01/cs01/443/tcp", Kind: result.CheckPort, Rule: "FB-VM-CS", From: "sql01", To: "cs01", Address: "192.168.50.4",
			Port: 443, Proto: topology.ProtoTCP, Expect: topology.ExpectOpen, Confidence: topology.ConfDoc, Timeout: time.Second},
	}
	for i := range plan {
		plan[i].FromAgent = "sql01:7411"
	}
	cases := []struct {
		name           string
		port           probes.PortState
		icmpAt, portAt time.Duration
		want           result.Status
	}{
		{"ICMP first, 443 open", probes.Open, 0, 30 * time.Millisecond, result.Warn},
		{"443 first, open", probes.Open, 30 * time.Millisecond, 0, result.Warn},
		{"443 filtered", probes.Filtered, 0, 30 * time.Millisecond, result.Fail},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			fake := echoProber{port: tc.port, icmpAt: tc.icmpAt, portAt: tc.portAt}
			r := &Runner{Dial: func(context.Context, string) (Prober, error) { return fake, nil }}
			rs, _, _ := collect(t, r.Run(context.Background(), plan))
			if len(rs) != 2 {
				t.Fatalf("%d results, want 2: %v", len(rs), rs)
			}
			if got := rs["icmp/sql01/cs01"]; got.Status != tc.want {
				t.Errorf("ICMP %v (%s), want %v", got.Status, got.Message, tc.want)
			}
		})
	}
	// Run alone (--only icmp/), the ICMP check is judged without its partner: it says so.
	fake := echoProber{port: probes.Open}
	r := &Runner{Dial: func(context.Context, string) (Prober, error) { return fake, nil }}
	rs, _, _ := collect(t, r.Run(context.Background(), plan[:1]))
	if got := rs["icmp/sql01/cs01"]; got.Status != result.Fail || !strings.Contains(got.Message, "not measured") {
		t.Errorf("ICMP alone: %v %q, want fail saying 443 was not measured", got.Status, got.Message)
	}
}

// TestSelectAddsPartner: re-running an ICMP check (the TUI's re-run) also runs the 443 check
// it is judged with, so the verdict is the same as in the full run.
func TestSelectAddsPartner(t *testing.T) {
	plan := []Check{{ID: "a"}, {ID: "icmp/x/y", JudgedWith: "port/x/y/443/tcp"}, {ID: "port/x/y/443/tcp"}}
	var got []string
	for _, c := range Select(plan, []string{"icmp/x/y"}) {
		got = append(got, c.ID)
	}
	if strings.Join(got, " ") != "icmp/x/y port/x/y/443/tcp" {
		t.Errorf("Select = %v", got)
	}
}
