package engine

import (
	"fmt"
	"net/netip"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"

	"github.com/netprobe/netprobe/internal/result"
	"github.com/netprobe/netprobe/internal/topology"
)

func agentFlowLines(flows []topology.Flow) []string {
	var out []string
	for _, f := range flows {
		port := ""
		if f.Port != 0 {
			port = fmt.Sprintf(" %d", f.Port)
		}
		out = append(out, fmt.Sprintf("%s %s %s -> %s %s%s %s", f.Rule, f.From, f.FromAddress, f.To, f.Address, port, f.Proto))
	}
	return out
}

// TestAgentFlowsNormative: what netprobe itself needs to run the normative example from a
// coordinator on cs01 (golden: go test -update rewrites it).
func TestAgentFlowsNormative(t *testing.T) {
	tp, err := topology.Load("../topology/testdata/normative.yaml")
	if err != nil {
		t.Fatal(err)
	}
	coord, err := ParseCoordinator(tp, "cs01")
	if err != nil {
		t.Fatal(err)
	}
	got := agentFlowLines(AgentFlows(tp, Plan(tp, Options{}), []Coordinator{coord}))
	golden := filepath.Join("testdata", "agentflows-normative.golden")
	if *update {
		if err := os.WriteFile(golden, []byte(strings.Join(got, "\n")+"\n"), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	want, err := os.ReadFile(golden)
	if err != nil {
		t.Fatal(err)
	}
	if diff := cmp.Diff(strings.Split(strings.TrimSpace(string(want)), "\n"), got); diff != "" {
		t.Errorf("agent flows of the normative example (-want +got):\n%s", diff)
	}
}

// TestAgentFlowsCoverThePlan: every agent the run dials gets the control port from the
// coordinator, and every pair of agents that measure each other gets what its check sends;
// a host without an agent sends nothing.
func TestAgentFlowsCoverThePlan(t *testing.T) {
	tp, err := topology.Load("../../topologies/retained-ip-failback.yaml")
	if err != nil {
		t.Fatal(err)
	}
	plan := Plan(tp, Options{})
	flows := AgentFlows(tp, plan, []Coordinator{{Address: mustAddr(t, "10.99.0.7")}})
	has := func(rule, from, to string, port int, proto topology.Proto) bool {
		for _, f := range flows {
			if f.Rule == rule && f.From == from && f.To == to && f.Port == port && f.Proto == proto {
				return true
			}
		}
		return false
	}
	dialed := map[string]string{}
	for _, c := range plan {
		if c.SkipReason != "" {
			continue
		}
		dialed[c.FromAgent] = c.From
		switch c.Kind {
		case result.CheckLatency:
			if !has(RuleEcho, c.From, c.To, echoPort(c.ToAgent), topology.ProtoUDP) {
				t.Errorf("%s: no UDP echo rule %s -> %s", c.ID, c.From, c.To)
			}
		case result.CheckPMTU:
			if !has(RulePMTU, c.From, c.To, 0, topology.ProtoICMP) {
				t.Errorf("%s: no ICMP rule %s -> %s", c.ID, c.From, c.To)
			}
		case result.CheckBandwidth:
			if !has(RuleBandwidth, c.From, c.To, c.Port, topology.ProtoTCP) {
				t.Errorf("%s: no data port rule %s -> %s", c.ID, c.From, c.To)
			}
		}
	}
	if len(dialed) == 0 {
		t.Fatal("the plan dials no agent: the test tests nothing")
	}
	for addr, host := range dialed {
		port := echoPort(addr)
		if !has(RuleControl, "coordinator", host, port, topology.ProtoTCP) {
			t.Errorf("agent %s on %s: no control rule from the coordinator", addr, host)
		}
	}
	for _, f := range flows {
		if f.FromAddress == "" || f.Address == "" || f.Expect != topology.ExpectOpen || !strings.HasPrefix(f.Rule, "NP-") {
			t.Errorf("flow %+v: want both addresses, expect open and an NP- rule", f)
		}
		if h := tp.Hosts[f.From]; h != nil && h.Agent == "" {
			t.Errorf("%s: %s has no agent and sends nothing", f.ID(), f.From)
		}
	}
	none := AgentFlows(tp, plan, nil)
	for _, f := range none {
		if f.Rule == RuleControl {
			t.Errorf("no coordinator given, but %s", f.ID())
		}
	}
	if len(none) == 0 {
		t.Error("without a coordinator the agents still measure each other: no flows")
	}
}

func mustAddr(t *testing.T, s string) netip.Addr {
	t.Helper()
	a, err := netip.ParseAddr(s)
	if err != nil {
		t.Fatal(err)
	}
	return a
}

func TestParseCoordinator(t *testing.T) {
	tp, err := topology.Load("../topology/testdata/normative.yaml")
	if err != nil {
		t.Fatal(err)
	}
	for in, want := range map[string]string{"cs01": "host cs01", "10.1.2.3": "10.1.2.3", "::ffff:10.1.2.3": "10.1.2.3", "nohost": "error"} {
		c, err := ParseCoordinator(tp, in)
		got := "error"
		switch {
		case err != nil:
		case c.Host != "":
			got = "host " + c.Host
		default:
			got = c.Address.String()
		}
		if got != want {
			t.Errorf("ParseCoordinator(%q) = %s (%v), want %s", in, got, err, want)
		}
	}
}
