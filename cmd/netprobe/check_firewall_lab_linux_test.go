package main

import (
	"context"
	"os/exec"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"github.com/netprobe/netprobe/internal/firewall"
	"github.com/netprobe/netprobe/internal/lab"
	"github.com/netprobe/netprobe/internal/result"
)

// labFirewallTopology is the lab estate with one flow that must stay closed: the generated
// rules must not open it, and with nothing else open it is filtered.
const labFirewallTopology = labTopology + `flows:
  - {from: sql01, to: cs01, port: 1433, proto: tcp, expect: blocked, note: SQL stays inside the datacenter}
`

// generatedRules runs `netprobe flows --format iptables` on the topology file.
func generatedRules(t *testing.T, bin, topo string, args ...string) string {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	out, err := exec.CommandContext(ctx, bin, append([]string{"flows", "-f", topo, "--format", "iptables"}, args...)...).Output()
	if err != nil {
		t.Fatalf("netprobe flows: %v", err)
	}
	return string(out)
}

// TestCheckLabGeneratedFirewall: the rules `netprobe flows --format iptables` generates,
// netprobe's own included, loaded into every host (INPUT) and router (FORWARD) of the lab
// behind a default-drop policy, carry a full `netprobe check`: every flow passes, the one
// that must stay closed is filtered, and no agent port is blocked (no error). Without
// netprobe's own rules the same network blocks the agents: the test can fail.
func TestCheckLabGeneratedFirewall(t *testing.T) {
	l, bin, topo, token := labEstateWith(t, labFirewallTopology)

	rules := generatedRules(t, bin, topo, "--coordinator", lab.CS01)
	if !strings.Contains(rules, ":"+firewall.AgentChain) || !strings.Contains(rules, "NP-ECHO") {
		t.Fatalf("the generated rules lack netprobe's own chain:\n%s", rules)
	}
	remove := l.Apply(t, lab.Firewall{Rules: rules, Chain: firewall.Chain})
	run, code := labCheck(t, l, bin, topo, token)
	if diff := cmp.Diff(map[string]string{}, verdicts(run)); diff != "" {
		for _, r := range run.Results {
			if r.Status != result.Pass {
				t.Logf("%s: %s | %s", r.ID, r.Message, r.Hint)
			}
		}
		t.Errorf("non-passing results behind the generated firewall (-want +got):\n%s", diff)
	}
	if code != 0 {
		t.Errorf("exit %d, want 0", code)
	}
	kinds := map[result.Kind]int{}
	for _, r := range run.Results {
		kinds[r.Check]++
		if r.ID == "port/sql01/cs01/1433/tcp" && (r.Status != result.Pass || r.State != "filtered") {
			t.Errorf("%s: %v %s, want pass with the port filtered", r.ID, r.Status, r.State)
		}
	}
	for _, k := range []result.Kind{result.CheckPort, result.CheckICMP, result.CheckLatency, result.CheckPMTU, result.CheckPath, result.CheckBandwidth, result.CheckRoute} {
		if kinds[k] == 0 {
			t.Errorf("no %s check ran: the firewall was not tested against it", k)
		}
	}
	remove()

	// The same network with ASR's rules only: the agents cannot be reached or measured.
	l.Apply(t, lab.Firewall{Rules: generatedRules(t, bin, topo, "--no-agent-rules"), Chain: firewall.Chain})
	run, code = labCheck(t, l, bin, topo, token, "--only", "latency/", "--only", "port/ps-az/")
	errs := 0
	for _, r := range run.Results {
		if r.Status == result.Error {
			errs++
		}
	}
	if errs == 0 || code == 0 {
		t.Errorf("without netprobe's own rules: %d errors, exit %d; want the agents blocked", errs, code)
	}
}
