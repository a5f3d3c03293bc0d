package engine

import (
	"flag"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"

	"github.com/netprobe/netprobe/internal/bwtest"
	"github.com/netprobe/netprobe/internal/capacity"
	"github.com/netprobe/netprobe/internal/result"
	"github.com/netprobe/netprobe/internal/topology"
)

var update = flag.Bool("update", false, "rewrite golden files")

// planLines renders a plan compactly: one line per check with what decides how it runs.
func planLines(plan []Check) []string {
	var out []string
	for _, c := range plan {
		line := fmt.Sprintf("%s rule=%s kind=%s target=%s from_agent=%s to_agent=%s", c.ID, c.Rule, c.Kind, c.Target(), c.FromAgent, c.ToAgent)
		if c.Expect != 0 {
			line += " expect=" + c.Expect.String()
		}
		if c.Pair != "" {
			line += " pair=" + c.Pair
		}
		if c.Link != "" {
			line += " link=" + c.Link
		}
		if c.ExpectSource != "" {
			line += " expect_source=" + c.ExpectSource
		}
		if c.ExpectedMTU > 0 {
			line += fmt.Sprintf(" expected_mtu=%d", c.ExpectedMTU)
		}
		if c.RequiredBps > 0 {
			line += fmt.Sprintf(" required_mbps=%.1f", c.RequiredBps/1e6)
		}
		if c.TLS {
			line += " tls"
		}
		if c.Kind == "path" {
			line += " link_kind=" + c.LinkKind.String()
			for _, r := range c.Ranges {
				line += " inside=" + r.Prefix.String() + "(" + r.Name + ")"
			}
		}
		if c.SkipReason != "" {
			line += " skip"
		}
		out = append(out, line)
	}
	return out
}

func TestPlanNormativeExample(t *testing.T) {
	tp, err := topology.Load("../topology/testdata/normative.yaml")
	if err != nil {
		t.Fatal(err)
	}
	got := planLines(Plan(tp, Options{}))
	golden := filepath.Join("testdata", "plan-normative.golden")
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
		t.Errorf("plan of the normative example (-want +got):\n%s", diff)
	}
}

func TestPlanOptions(t *testing.T) {
	tp, err := topology.Load("../../topologies/retained-ip-failback.yaml")
	if err != nil {
		t.Fatal(err)
	}
	all := Plan(tp, Options{})
	ids := map[string]Check{}
	for _, c := range all {
		if _, dup := ids[c.ID]; dup {
			t.Errorf("duplicate ID %s", c.ID)
		}
		ids[c.ID] = c
	}
	// cs01 is configuration server, process server and master target on-premises: only the
	// data direction from the Azure process server is judged against churn.
	for id, c := range ids {
		if c.Kind != "bandwidth" {
			continue
		}
		fromAzure := strings.HasPrefix(id, "bandwidth/ps-")
		if fromAzure != (c.RequiredBps > 0) {
			t.Errorf("%s: required %.0f bit/s; judged against churn must be the Azure PS -> MT direction only", id, c.RequiredBps)
		}
	}
	cases := []struct {
		name string
		opts Options
		keep func(Check) bool
	}{
		{"no bandwidth", Options{NoBandwidth: true}, func(c Check) bool { return c.Kind != "bandwidth" }},
		{"no host facts", Options{NoHostFacts: true}, func(c Check) bool { return c.Kind != "host" }},
		{"only glob", Options{Only: []string{"port/*/cs01/*"}}, func(c Check) bool {
			return c.Kind == "port" && c.To == "cs01"
		}},
		{"only substring", Options{Only: []string{"route"}}, func(c Check) bool { return strings.Contains(c.ID, "route") }},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			var want []string
			for _, c := range all {
				if tc.keep(c) {
					want = append(want, c.ID)
				}
			}
			var got []string
			for _, c := range Plan(tp, tc.opts) {
				got = append(got, c.ID)
			}
			if len(want) == 0 {
				t.Fatal("the case keeps nothing: it tests nothing")
			}
			if diff := cmp.Diff(want, got); diff != "" {
				t.Errorf("(-want +got):\n%s", diff)
			}
		})
	}
}

func TestConcurrencyFor(t *testing.T) {
	for n, want := range map[int]int{0: 64, 100: 64, 1024: 64, 2000: 125, 10009: 512, 100000: 512} {
		if got := concurrencyFor(n); got != want {
			t.Errorf("concurrencyFor(%d) = %d, want %d", n, got, want)
		}
	}
}

func TestInterleave(t *testing.T) {
	plan := []Check{{ID: "a1", FromAgent: "a"}, {ID: "a2", FromAgent: "a"}, {ID: "a3", FromAgent: "a"}, {ID: "b1", FromAgent: "b"}, {ID: "c1", FromAgent: "c"}, {ID: "c2", FromAgent: "c"}}
	var got []string
	for _, i := range interleave(plan) {
		got = append(got, plan[i].ID)
	}
	// a's three at 1/6, 3/6, 5/6 of the way, b's one at 1/2, c's two at 1/4 and 3/4.
	if diff := cmp.Diff([]string{"a1", "c1", "a2", "b1", "c2", "a3"}, got); diff != "" {
		t.Errorf("(-want +got):\n%s", diff)
	}
	// A hub with many checks is spread over the whole run, not left at its end.
	plan = nil
	for i := range 100 {
		plan = append(plan, Check{ID: fmt.Sprintf("hub%d", i), FromAgent: "hub"})
		for j := range 3 {
			plan = append(plan, Check{ID: fmt.Sprintf("vm%d-%d", i, j), FromAgent: fmt.Sprintf("vm%d", i)})
		}
	}
	order := interleave(plan)
	for _, i := range order[:len(order)/10] {
		if plan[i].ID == "hub10" {
			return // the hub's 11th check is within the first tenth
		}
	}
	t.Errorf("the hub's 11th of 100 checks is not in the first tenth of the dispatch order")
}

func TestPlanDNSFollowsPhases(t *testing.T) {
	tp, err := topology.Load("../topology/testdata/normative.yaml")
	if err != nil {
		t.Fatal(err)
	}
	count := func(opts Options) int {
		n := 0
		for _, c := range Plan(tp, opts) {
			if c.Kind == "dns" {
				n++
			}
		}
		return n
	}
	if n := count(Options{}); n != 5 {
		t.Errorf("%d dns checks, want 4 hosts + 1 consistency", n)
	}
	if n := count(Options{Phases: []string{"forward"}}); n != 0 {
		t.Errorf("--phase forward keeps %d failback dns checks", n)
	}
}

// TestPlanRequiredPerPair: a process server / master target pair is judged against the churn
// of the VMs that fail back over it (with the 30 % growth allowance), not against every
// protected VM of the file: the VM still replicating forward and the VM of the other Azure
// site count nowhere near ps-az, and a pair no VM uses is measured, not judged.
func TestPlanRequiredPerPair(t *testing.T) {
	tp, err := topology.Parse("pairs.yaml", []byte(`version: 1
sites:
  onprem: {kind: onprem, networks: [10.10.0.0/16]}
  azure: {kind: azure, networks: [10.20.0.0/16]}
  azure2: {kind: azure, networks: [10.40.0.0/16]}
links:
  - {name: s2s, kind: vpn, sites: [onprem, azure]}
  - {name: s2s2, kind: vpn, sites: [onprem, azure2]}
hosts:
  cs01: {site: onprem, os: windows, roles: [configuration-server], address: 10.10.0.4, agent: 10.10.0.4}
  mt-lnx: {site: onprem, os: linux, roles: [master-target], address: 10.10.0.8, agent: 10.10.0.8}
  ps-az: {site: azure, os: windows, roles: [process-server], address: 10.20.1.4, agent: 10.20.1.4}
  ps-az2: {site: azure2, os: windows, roles: [process-server], address: 10.40.1.4, agent: 10.40.1.4}
  win1: {site: azure, os: windows, roles: [protected-vm], address: 10.20.2.1, disks: [{size: 100GiB, churn: 1MB/s}]}
  win2: {site: azure, os: windows, roles: [protected-vm], address: 10.20.2.2, disks: [{size: 100GiB, churn: 2MB/s}]}
  lnx1: {site: azure, os: linux, roles: [protected-vm], address: 10.20.2.3, disks: [{size: 100GiB, churn: 4MB/s}]}
  far1: {site: azure2, os: windows, roles: [protected-vm], address: 10.40.2.1, disks: [{size: 100GiB, churn: 8MB/s}]}
  fwd1: {site: onprem, os: windows, roles: [protected-vm], address: 10.10.3.1, disks: [{size: 100GiB, churn: 16MB/s}]}
`))
	if err != nil {
		t.Fatal(err)
	}
	got := map[string]string{}
	for _, c := range Plan(tp, Options{Only: []string{"bandwidth/*/4"}}) {
		got[c.ID] = fmt.Sprintf("%.1f Mbit/s, resync %d GiB", c.RequiredBps/1e6, c.UsedBytes>>30)
	}
	want := map[string]string{
		"bandwidth/ps-az/cs01/4":   "31.2 Mbit/s, resync 200 GiB", // win1 + win2: 3 MB/s x 8 x 1.3
		"bandwidth/ps-az/mt-lnx/4": "41.6 Mbit/s, resync 100 GiB", // lnx1
		"bandwidth/ps-az2/cs01/4":  "83.2 Mbit/s, resync 100 GiB", // far1
		"bandwidth/cs01/ps-az/4":   "0.0 Mbit/s, resync 0 GiB",    // the way back: measured, not judged
		"bandwidth/cs01/ps-az2/4":  "0.0 Mbit/s, resync 0 GiB",
		"bandwidth/mt-lnx/ps-az/4": "0.0 Mbit/s, resync 0 GiB",
		// ps-az2 with mt-lnx carries no VM (no Linux VM in azure2): not planned at all.
	}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("required per pair (-want +got):\n%s", diff)
	}
}

// TestPlanPathRanges: FB-LINK's path check knows its link's kind and every range that counts
// as inside: the sites' networks and the link's own peering.
func TestPlanPathRanges(t *testing.T) {
	tp, err := topology.Parse("er.yaml", []byte(`version: 1
settings: {azure_endpoints: false}
sites:
  onprem: {kind: onprem, networks: [10.10.0.0/16]}
  azure: {kind: azure, networks: [10.20.0.0/16]}
links:
  - {name: er1, kind: expressroute-private, sites: [onprem, azure], peering: [203.0.113.0/30, 203.0.113.4/30]}
hosts:
  cs01: {site: onprem, os: windows, roles: [configuration-server, process-server, master-target], address: 10.10.0.4, agent: 10.10.0.4}
  ps-az: {site: azure, os: windows, roles: [process-server], address: 10.20.1.4, agent: 10.20.1.4}
  vm01: {site: azure, os: windows, roles: [protected-vm], address: 10.20.2.10, agent: 10.20.2.10}
`))
	if err != nil {
		t.Fatal(err)
	}
	got := planLines(Plan(tp, Options{Only: []string{"path/"}}))
	want := []string{"path/ps-az/er1 rule=FB-LINK kind=path target=10.10.0.4 from_agent=10.20.1.4:7411 to_agent= link=er1 link_kind=expressroute-private" +
		" inside=10.20.0.0/16(sites.azure) inside=10.10.0.0/16(sites.onprem) inside=203.0.113.0/30(links.er1.peering) inside=203.0.113.4/30(links.er1.peering)"}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("path checks (-want +got):\n%s", diff)
	}
}

// TestBandwidthSingleStreamIsAdvice: ASR moves failback data with several threads, so only the
// test with the most streams is judged; a window-bound single stream below the churn is shown
// with the requirement beside it, not failed.
func TestBandwidthSingleStreamIsAdvice(t *testing.T) {
	tp, err := topology.Load("../topology/testdata/normative.yaml")
	if err != nil {
		t.Fatal(err)
	}
	advice := map[string]bool{}
	for _, c := range Plan(tp, Options{Only: []string{"bandwidth/ps-az/cs01/"}}) {
		advice[c.ID] = c.AdviceOnly
		r := JudgeBandwidth(c, bwtest.Result{Streams: c.Streams, Rate: capacity.BitsPerSecond(c.RequiredBps / 2)}, c.From)
		switch {
		case c.AdviceOnly && r.Status != result.Pass:
			t.Errorf("%s (advice) at half the churn: %s", c.ID, r.Status)
		case !c.AdviceOnly && r.Status != result.Fail:
			t.Errorf("%s (judged) at half the churn: %s", c.ID, r.Status)
		}
	}
	if !advice["bandwidth/ps-az/cs01/1"] || advice["bandwidth/ps-az/cs01/4"] {
		t.Errorf("advice %v: the 1-stream test is advice, the 4-stream one judged", advice)
	}
}
