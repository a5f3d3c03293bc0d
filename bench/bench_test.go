//go:build linux

package main

import (
	"bytes"
	"errors"
	"flag"
	"fmt"
	"net/netip"
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"github.com/netprobe/netprobe/internal/engine"
	"github.com/netprobe/netprobe/internal/result"
	"github.com/netprobe/netprobe/internal/topology"
)

var update = flag.Bool("update", false, "rewrite the golden files in testdata/")

func TestVerdicts(t *testing.T) {
	tests := []struct {
		name string
		row  Row
		want Verdict
	}{
		{"throughput at target", ratioAtLeast(Row{Netprobe: 95, Reference: 100}, 0.95), Pass},
		{"throughput below target", ratioAtLeast(Row{Netprobe: 94, Reference: 100}, 0.95), Miss},
		{"throughput without reference", ratioAtLeast(Row{Netprobe: 94}, 0.95), Miss},
		{"wall time equal to nmap", ratioAtMost(Row{Netprobe: 1.3, Reference: 1.3}, 1, ""), Pass},
		{"wall time slower than nmap", ratioAtMost(Row{Netprobe: 2.0, Reference: 1.3}, 1, ""), Miss},
		{"wall time within 3x", ratioAtMost(Row{Netprobe: 6, Reference: 2}, 3, ""), Pass},
		{"wall time over 3x", ratioAtMost(Row{Netprobe: 6.1, Reference: 2}, 3, ""), Miss},
		{"rtt within 20 us", within(Row{Netprobe: 80, Reference: 61, Unit: "us"}, 20, 0.05), Pass},
		{"rtt 21 us off at 61 us", within(Row{Netprobe: 82, Reference: 61, Unit: "us"}, 20, 0.05), Miss},
		{"rtt 5 % of a long path", within(Row{Netprobe: 10400, Reference: 10000, Unit: "us"}, 20, 0.05), Pass},
		{"rtt faster than ping counts too", within(Row{Netprobe: 30, Reference: 61, Unit: "us"}, 20, 0.05), Miss},
		{"rtt without reference", within(Row{Netprobe: 30, Unit: "us"}, 20, 0.05), Miss},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if tt.row.Verdict != tt.want {
				t.Errorf("verdict %s, want %s (row %+v)", tt.row.Verdict, tt.want, tt.row)
			}
		})
	}
}

// TestWriteTable: the table people read is golden (go test ./bench -update rewrites it).
func TestWriteTable(t *testing.T) {
	rows := []Row{
		ratioAtLeast(Row{Name: "throughput 1 stream(s), unshaped veth", RefName: "iperf3 -P1", Unit: "bit/s", Netprobe: 17.8e9, Reference: 14.9e9}, 0.95),
		ratioAtLeast(Row{Name: "throughput 4 stream(s), tbf 50 Mbit/s", RefName: "iperf3 -P4", Unit: "bit/s", Netprobe: 47.6e6, Reference: 40.2e6}, 0.95),
		ratioAtMost(Row{Name: "port scan wall time", RefName: "nmap -sT -Pn", Unit: "s", Netprobe: 2.02, Reference: 1.33}, 1, "<= nmap's"),
		within(Row{Name: "RTT p50, ICMP echo (probes.ICMP)", RefName: "ping -i 0.01", Unit: "us", Netprobe: 90, Reference: 61}, 20, 0.05),
		ratioAtMost(Row{Name: "estate coordinator peak RSS", RefName: "budget", Unit: "MB", Netprobe: 26.9, Reference: 200, Note: "1000 VMs"}, 1, "<= 200 MB"),
		failedRow("idle agent RSS", "budget", errors.New("idle agent did not come up")),
	}
	var b bytes.Buffer
	WriteTable(&b, rows)
	golden := filepath.Join("testdata", "table.golden")
	if *update {
		if err := os.WriteFile(golden, b.Bytes(), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	want, err := os.ReadFile(golden)
	if err != nil {
		t.Fatalf("%v (go test ./bench -update writes it)", err)
	}
	if diff := cmp.Diff(string(want), b.String()); diff != "" {
		t.Errorf("table (-golden +got):\n%s", diff)
	}
}

func TestParsePing(t *testing.T) {
	out := []byte(`PING 10.20.1.4 (10.20.1.4) 56(84) bytes of data.
64 bytes from 10.20.1.4: icmp_seq=1 ttl=62 time=0.071 ms
64 bytes from 10.20.1.4: icmp_seq=2 ttl=62 time=0.054 ms
64 bytes from 10.20.1.4: icmp_seq=3 ttl=62 time=1.20 ms

--- 10.20.1.4 ping statistics ---
3 packets transmitted, 3 received, 0% packet loss, time 20ms
rtt min/avg/max/mdev = 0.054/0.441/1.200/0.537 ms
`)
	want := []time.Duration{71 * time.Microsecond, 54 * time.Microsecond, 1200 * time.Microsecond}
	if diff := cmp.Diff(want, parsePing(out)); diff != "" {
		t.Errorf("parsePing (-want +got):\n%s", diff)
	}
}

func TestParseNmap(t *testing.T) {
	xml := []byte(`<?xml version="1.0"?><nmaprun><host><ports>
<port protocol="tcp" portid="9443"><state state="open" reason="syn-ack"/></port>
<port protocol="tcp" portid="9444"><state state="closed" reason="conn-refused"/></port>
<port protocol="tcp" portid="9450"><state state="filtered" reason="no-response"/></port>
</ports></host></nmaprun>`)
	got, err := parseNmap(xml)
	if err != nil {
		t.Fatal(err)
	}
	if diff := cmp.Diff(map[int]string{9443: "open", 9444: "closed", 9450: "filtered"}, got); diff != "" {
		t.Errorf("parseNmap (-want +got):\n%s", diff)
	}
	if _, err := parseNmap([]byte(`<nmaprun></nmaprun>`)); err == nil {
		t.Error("a scan without a host parsed without error")
	}
}

func TestNmapWord(t *testing.T) {
	for in, want := range map[string]string{"open": "open", "closed": "closed", "filtered": "filtered", "unreachable": "filtered"} {
		if got := nmapWord(in); got != want {
			t.Errorf("nmapWord(%q) = %q, want %q", in, got, want)
		}
	}
}

func TestPortSetCoversEveryRejectType(t *testing.T) {
	seen := map[string]bool{}
	ports := map[int]bool{}
	for _, pc := range portSet() {
		if ports[pc.port] {
			t.Errorf("port %d twice", pc.port)
		}
		ports[pc.port] = true
		if pc.fault != nil {
			seen[pc.fault.String()] = true
		}
	}
	if len(seen) != 6 {
		t.Errorf("%d distinct faults, want 2 drops and 4 reject types: %v", len(seen), seen)
	}
}

func benchConfig() Config {
	return Config{VMs: 1000, VMsPerNS: 250, DropPct: 10, Timeout: 2 * time.Second}
}

// TestEstateTopology: the generated estate loads, has the VMs it says, several thousand
// checks, and hosts sharing an agent.
func TestEstateTopology(t *testing.T) {
	c := benchConfig()
	top, err := topology.Parse("estate.yaml", estateYAML(c))
	if err != nil {
		t.Fatalf("generated estate does not load: %v", err)
	}
	vms, agents := 0, map[string]int{}
	addrs := map[string]bool{}
	for _, h := range top.Hosts {
		if h.Site == "azure" && h.Name != "ps-az" {
			vms++
			if addrs[h.Address] {
				t.Errorf("address %s twice", h.Address)
			}
			addrs[h.Address] = true
			agents[h.Agent]++
		}
	}
	if vms != c.VMs {
		t.Errorf("%d VMs, want %d", vms, c.VMs)
	}
	if len(agents) != c.VMs {
		t.Errorf("%d VM agent addresses, want one per VM (%d)", len(agents), c.VMs)
	}
	c.SharedAgents = true
	shared, err := topology.Parse("estate.yaml", estateYAML(c))
	if err != nil {
		t.Fatalf("estate with shared agents does not load: %v", err)
	}
	agents = map[string]int{}
	for _, h := range shared.Hosts {
		if h.Site == "azure" && h.Name != "ps-az" {
			agents[h.Agent]++
		}
	}
	if len(agents) != vmNamespaces(c) {
		t.Errorf("-shared-agents: %d VM agent addresses, want one per namespace (%d)", len(agents), vmNamespaces(c))
	}
	plan := engine.Plan(top, planOptions(c))
	if len(plan) < 3000 {
		t.Errorf("%d checks planned, want several thousand", len(plan))
	}
}

func TestVMAddr(t *testing.T) {
	c := benchConfig()
	vms := netip.MustParsePrefix(vmNet)
	tests := []struct {
		i    int
		want string
		ns   int
	}{{0, "10.30.0.2", 0}, {249, "10.30.0.251", 0}, {250, "10.30.1.2", 1}, {999, "10.30.3.251", 3}}
	for _, tt := range tests {
		a := vmAddr(c, tt.i)
		if a.String() != tt.want || !vms.Contains(a) || nsOf(c, a.String()) != tt.ns {
			t.Errorf("vmAddr(%d) = %s (namespace %d), want %s in namespace %d", tt.i, a, nsOf(c, a.String()), tt.want, tt.ns)
		}
	}
	for i, want := range map[int]string{0: "10.30.0.2:7411", 1: "10.30.0.3:7412", 249: "10.30.0.251:7660", 250: "10.30.1.2:7411"} {
		if got := vmAgent(c, i); got != want {
			t.Errorf("vmAgent(%d) = %s, want %s", i, got, want)
		}
	}
	if err := checkEstate(Config{VMs: 16001, VMsPerNS: 250}); err == nil {
		t.Error("16001 VMs fit 64 namespaces of 250")
	}
	if err := checkEstate(Config{VMs: 10000, VMsPerNS: 250}); err != nil {
		t.Errorf("the 10,000-VM row does not fit: %v", err)
	}
	if err := checkEstate(Config{VMs: 10, VMsPerNS: 251}); err == nil {
		t.Error("251 VMs fit a namespace's /24")
	}
}

// TestChooseDrops: the drops hit at least the asked share of the checks, barely more, and
// are spread over every VM namespace.
func TestChooseDrops(t *testing.T) {
	c := benchConfig()
	top, err := topology.Parse("estate.yaml", estateYAML(c))
	if err != nil {
		t.Fatal(err)
	}
	plan := engine.Plan(top, planOptions(c))
	for _, pct := range []float64{1, 10, 25} {
		drops, hit := chooseDrops(plan, pct)
		need := pct / 100 * float64(len(plan))
		if float64(hit) < need || float64(hit) > need+4 {
			t.Errorf("%g %%: %d checks hit, want %.0f..%.0f", pct, hit, need, need+4)
		}
		sum := 0
		perNS := map[int]int{}
		for _, d := range drops {
			sum += d.Checks
			perNS[nsOf(c, d.Addr)]++
		}
		if sum != hit {
			t.Errorf("%g %%: targets add up to %d checks, reported %d", pct, sum, hit)
		}
		if pct >= 10 && len(perNS) != vmNamespaces(c) {
			t.Errorf("%g %%: drops in %d of %d namespaces: %v", pct, len(perNS), vmNamespaces(c), perNS)
		}
	}
}

// BenchmarkPlanEstate plans the generated estate as `netprobe check` does before it probes:
// load, readiness findings, plan. It once took 1.9 s at 1,000 VMs and 35 s at 10,000 (a pass
// over every host per VM); go test -bench PlanEstate ./bench shows where it stands.
func BenchmarkPlanEstate(b *testing.B) {
	for _, vms := range []int{1000, 10000} {
		b.Run(fmt.Sprint(vms), func(b *testing.B) {
			c := Config{VMs: vms, VMsPerNS: 250, Timeout: 2 * time.Second}
			p := filepath.Join(b.TempDir(), "estate.yaml")
			if err := os.WriteFile(p, estateYAML(c), 0o644); err != nil {
				b.Fatal(err)
			}
			for b.Loop() {
				t, err := topology.Load(p)
				if err != nil {
					b.Fatal(err)
				}
				engine.Findings(t)
				engine.Plan(t, planOptions(c))
			}
		})
	}
}

// TestCompareVerdicts: a port check that differs is the adaptive wait's error; another kind's
// difference is noted apart; a check missing from the full-wait run counts as a port error.
func TestCompareVerdicts(t *testing.T) {
	port := func(id string, st result.Status, state string) result.Result {
		return result.Result{ID: id, Check: result.CheckPort, Status: st, State: state}
	}
	icmp := result.Result{ID: "icmp/vm1/cs01", Check: result.CheckICMP, Status: result.Pass, State: "open"}
	icmpLoss := icmp
	icmpLoss.Status = result.Warn
	a := result.Run{Results: []result.Result{port("p1", result.Pass, "open"), port("p2", result.Fail, "filtered"), port("p3", result.Pass, "open"), icmp,
		{ID: "lint", Check: result.CheckLint}}}
	b := result.Run{Results: []result.Result{port("p1", result.Pass, "open"), port("p2", result.Pass, "open"), icmpLoss}}
	d := compareVerdicts(a, b)
	if d.agree != 1 || d.total != 4 || len(d.port) != 2 || len(d.other) != 1 {
		t.Errorf("agree %d of %d, port %v, other %v; want 1 of 4, 2 port (p2 differs, p3 missing), 1 other", d.agree, d.total, d.port, d.other)
	}
}
