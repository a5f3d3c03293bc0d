package main

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net/netip"
	"os"
	"os/exec"
	"path/filepath"
	"sort"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"github.com/netprobe/netprobe/internal/lab"
	"github.com/netprobe/netprobe/internal/result"
)

// labTopology describes the failback lab of internal/lab (design/lab.md) as a user would.
const labTopology = `version: 1
name: lab-failback
settings: {timeout: 1s, azure_endpoints: false}
sites:
  onprem: {kind: onprem, networks: [10.10.0.0/24, 192.168.50.0/24]}
  azure: {kind: azure, networks: [10.20.0.0/16, 10.10.5.0/24]}
links:
  - {name: s2s, kind: vpn, sites: [onprem, azure], bandwidth: 50Mbps, mtu: 1400}
hosts:
  cs01:
    site: onprem
    os: linux
    roles: [configuration-server]
    nics:
      - {name: source, address: 10.10.0.4/24}
      - {name: failback, address: 192.168.50.4/24, toward: azure}
    agent: 10.10.0.4
  mt01: {site: onprem, os: linux, roles: [master-target], address: 10.10.0.8, agent: 10.10.0.8}
  ps-az: {site: azure, os: linux, roles: [process-server], address: 10.20.1.4, agent: 10.20.1.4}
  sql01:
    site: azure
    os: linux
    roles: [protected-vm]
    address: 10.10.5.10
    retained_ip: true
    agent: 10.10.5.10
    group: app-tier
    disks: [{size: 64GiB, churn: 1MB/s}]
  app01:
    site: azure
    os: linux
    roles: [protected-vm]
    address: 10.10.5.11
    retained_ip: true
    agent: 10.10.5.11
    group: app-tier
    disks: [{size: 32GiB, churn: 256KB/s}]
checks:
  # generous thresholds: the lab shares 2 loaded cores with the rest of make test
  latency: {samples: 10, interval: 10ms, warn_p95: 100ms, fail_p95: 500ms}
  bandwidth: {duration: 1s, streams: [2]}
`

// labEstate builds the failback lab, starts a real agent on every host and returns the lab,
// the netprobe binary and the topology and token files.
func labEstate(t *testing.T) (l *lab.Lab, bin, topo, token string) {
	return labEstateWith(t, labTopology)
}

func labEstateWith(t *testing.T, topology string) (l *lab.Lab, bin, topo, token string) {
	l, bin, topo, token, _ = labEstateAgents(t, topology)
	return l, bin, topo, token
}

// labEstateAgents is labEstateWith that also returns each host's agent process.
func labEstateAgents(t *testing.T, topology string) (l *lab.Lab, bin, topo, token string, agents map[string]*lab.Process) {
	lab.Require(t)
	bin = lab.GoBinary(t, "github.com/netprobe/netprobe/cmd/netprobe")
	dir := t.TempDir()
	token = filepath.Join(dir, "token")
	topo = filepath.Join(dir, "lab-failback.yaml")
	if err := os.WriteFile(token, []byte("lab-token-0123456789abcdef0123456789\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(topo, []byte(topology), 0o644); err != nil {
		t.Fatal(err)
	}
	l = lab.Build(t, lab.Failback())
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	defer cancel()
	agents = map[string]*lab.Process{}
	for _, h := range []string{lab.CS01, lab.MT01, lab.PSAz, lab.SQL01, lab.App01} {
		agents[h] = l.Host(h).Start(t, bin, "agent", "--listen", ":7411", "--token-file", token)
	}
	for _, a := range []string{lab.AddrCS01, lab.AddrMT01, lab.AddrPSAz, lab.AddrSQL01, lab.AddrApp01} {
		if err := l.Host(lab.CS01).WaitTCP(ctx, a+":7411"); err != nil {
			t.Fatalf("agent on %s did not come up: %v", a, err)
		}
	}
	return l, bin, topo, token, agents
}

// labCheck runs `netprobe check` in cs01's namespace (the coordinator on the configuration
// server) and returns the JSON document and the exit code.
func labCheck(t *testing.T, l *lab.Lab, bin, topo, token string, extra ...string) (result.Run, int) {
	t.Helper()
	run, code, stderr := checkIn(t, l.Host(lab.CS01), bin, topo, token, extra...)
	if len(stderr) > 0 {
		t.Logf("stderr:\n%s", stderr)
	}
	return run, code
}

// checkIn runs `netprobe check` with JSON output inside host's namespace and returns the run,
// the exit code and what it wrote on stderr.
func checkIn(t *testing.T, host *lab.Host, bin, topo, token string, extra ...string) (result.Run, int, string) {
	t.Helper()
	out := filepath.Join(t.TempDir(), "run.json")
	args := append([]string{"netns", "exec", host.Netns(), bin, "check", "-f", topo,
		"--token-file", token, "--format", "json", "-o", out, "--no-host-facts"}, extra...)
	ctx, cancel := context.WithTimeout(context.Background(), 3*time.Minute)
	defer cancel()
	stderr, err := exec.CommandContext(ctx, "ip", args...).CombinedOutput()
	code := 0
	var ee *exec.ExitError
	if errors.As(err, &ee) {
		code = ee.ExitCode()
	} else if err != nil {
		t.Fatalf("netprobe check: %v\n%s", err, stderr)
	}
	data, err := os.ReadFile(out)
	if err != nil {
		t.Fatalf("no JSON written (exit %d): %v\n%s", code, err, stderr)
	}
	var run result.Run
	if err := json.Unmarshal(data, &run); err != nil {
		t.Fatalf("JSON output: %v", err)
	}
	return run, code, string(stderr)
}

// verdicts maps "status state/reason" per check for the non-passing results.
func verdicts(run result.Run) map[string]string {
	m := map[string]string{}
	for _, r := range run.Results {
		if r.Status == result.Pass {
			continue
		}
		v := r.Status.String()
		if r.State != "" {
			v += " " + r.State + "/" + r.Reason
		}
		if r.Check == result.CheckPMTU && r.Metrics["blackhole"] == true {
			v += " blackhole"
		}
		m[r.ID] = v
	}
	return m
}

func TestCheckLabNoFaults(t *testing.T) {
	l, bin, topo, token := labEstate(t)
	run, code := labCheck(t, l, bin, topo, token)
	if diff := cmp.Diff(map[string]string{}, verdicts(run)); diff != "" {
		for _, r := range run.Results {
			if r.Status != result.Pass {
				t.Logf("%s: %s", r.ID, r.Message)
			}
		}
		t.Errorf("non-passing results in a healthy lab (-want +got):\n%s", diff)
	}
	if code != 0 {
		t.Errorf("exit %d, want 0", code)
	}
	ids := map[string]bool{}
	for _, r := range run.Results {
		ids[r.ID] = true
	}
	for _, want := range []string{"port/sql01/cs01/443/tcp", "route/cs01/sql01", "pmtu/mt01/ps-az", "latency/ps-az/sql01",
		"bandwidth/ps-az/mt01/2", "path/ps-az/s2s", "port/sql01/app01/20004/tcp", "clock/ps-az", "clock/cs01"} {
		if !ids[want] {
			t.Errorf("check %s missing from the run", want)
		}
	}
	for _, r := range run.Results {
		switch r.ID {
		case "pmtu/mt01/ps-az":
			if r.Metrics["mtu"] != float64(lab.VPNMTU) {
				t.Errorf("%s: mtu %v, want %d", r.ID, r.Metrics["mtu"], lab.VPNMTU)
			}
		case "route/cs01/sql01":
			if r.Metrics["source_ip"] != lab.AddrCS01FB {
				t.Errorf("%s: source %v, want the failback NIC %s", r.ID, r.Metrics["source_ip"], lab.AddrCS01FB)
			}
		case "bandwidth/ps-az/mt01/2":
			// The VPN is shaped to 50 Mbit/s.
			if mbps, _ := r.Metrics["mbps"].(float64); mbps < 35 || mbps > 55 {
				t.Errorf("%s: %v Mbit/s over a 50 Mbit/s VPN", r.ID, mbps)
			}
		}
	}
}

// labFaults are the faults TestCheckLabFaults plants, and labFaultVerdicts what a check run
// (without bandwidth) must find with them: its non-passing results, everything else passing.
func labFaults() lab.Faults {
	pfx := netip.MustParsePrefix
	return lab.Faults{
		// The data leg between the process server and the master target, both ways.
		lab.DropPort{Via: lab.OnPrem, Proto: lab.TCP, Port: 9443},
		// The configuration server's 443 refused.
		lab.RejectPort{Host: lab.CS01, Proto: lab.TCP, Port: 443, With: lab.TCPReset},
		// The configuration server's failback routes missing.
		lab.DelRoute{Host: lab.CS01, Prefix: pfx(lab.NetAzure)},
		lab.DelRoute{Host: lab.CS01, Prefix: pfx(lab.NetRetained)},
		// The VPN eats large packets and says nothing.
		lab.DropFragNeeded{Router: lab.OnPrem},
		lab.DropFragNeeded{Router: lab.Azure},
		// Multi-VM consistency blocked inside the group.
		lab.DropPort{Host: lab.App01, Proto: lab.TCP, Port: 20004},
	}
}

func labFaultVerdicts() map[string]string {
	return map[string]string{
		"port/mt01/ps-az/9443/tcp": "fail filtered/timeout",
		"port/ps-az/mt01/9443/tcp": "fail filtered/timeout",
		"port/sql01/cs01/443/tcp":  "fail closed/reset",
		"port/app01/cs01/443/tcp":  "fail closed/reset",
		"port/ps-az/cs01/443/tcp":  "fail closed/reset",
		"port/mt01/cs01/443/tcp":   "fail closed/reset",
		"route/cs01/ps-az":         "fail",
		"route/cs01/sql01":         "fail",
		"route/cs01/app01":         "fail",
		"pmtu/cs01/sql01":          "fail blackhole",
		"pmtu/cs01/app01":          "fail blackhole",
		"pmtu/sql01/cs01":          "fail blackhole",
		"pmtu/app01/cs01":          "fail blackhole",
		"pmtu/mt01/ps-az":          "fail blackhole",
		"pmtu/ps-az/mt01":          "fail blackhole",
		// FB-GROUP is documented for forward replication only: for failback a blocked
		// group port is a warning (design/asr-flows.md, confidence uncertain).
		"port/sql01/app01/20004/tcp": "warn filtered/timeout",
	}
}

func TestCheckLabFaults(t *testing.T) {
	l, bin, topo, token := labEstate(t)
	l.Apply(t, labFaults())
	run, code := labCheck(t, l, bin, topo, token, "--no-bandwidth")
	want := labFaultVerdicts()
	got := verdicts(run)
	if diff := cmp.Diff(want, got); diff != "" {
		var ids []string
		for id := range got {
			ids = append(ids, id)
		}
		sort.Strings(ids)
		for _, r := range run.Results {
			if _, ok := got[r.ID]; ok {
				t.Logf("%s: %s | %s", r.ID, r.Message, r.Hint)
			}
		}
		t.Errorf("verdicts (-want +got):\n%s", diff)
	}
	if code != 1 {
		t.Errorf("exit %d, want 1", code)
	}
	for _, r := range run.Results {
		if r.Status == result.Fail && (r.Rule == "" || r.Hint == "") {
			t.Errorf("%s: a failure without rule or hint: %+v", r.ID, r)
		}
	}
	rules := map[string]string{"port/ps-az/mt01/9443/tcp": "FB-PS-MT", "port/sql01/cs01/443/tcp": "FB-VM-CS",
		"route/cs01/sql01": "FB-ROUTE", "pmtu/mt01/ps-az": "FB-PMTU"}
	for _, r := range run.Results {
		if w, ok := rules[r.ID]; ok && r.Rule != w {
			t.Errorf("%s: rule %s, want %s", r.ID, r.Rule, w)
		}
	}
	_ = fmt.Sprint
	_ = strings.TrimSpace
}

// TestCheckLabPingDropped: the configuration server drops ping (a Windows firewall's default)
// while its 443 answers. ASR does not use ICMP: the ICMP checks toward it are warnings that say
// so, nothing fails, and the run exits 0.
func TestCheckLabPingDropped(t *testing.T) {
	l, bin, topo, token := labEstate(t)
	l.Apply(t, lab.DropEcho{Host: lab.CS01})
	run, code := labCheck(t, l, bin, topo, token, "--only", "icmp/", "--only", "port/")
	want := map[string]string{
		"icmp/sql01/cs01": "warn filtered/timeout",
		"icmp/app01/cs01": "warn filtered/timeout",
		"icmp/ps-az/cs01": "warn filtered/timeout",
	}
	if diff := cmp.Diff(want, verdicts(run)); diff != "" {
		for _, r := range run.Results {
			if r.Status != result.Pass {
				t.Logf("%s: %s", r.ID, r.Message)
			}
		}
		t.Errorf("verdicts (-want +got):\n%s", diff)
	}
	for _, r := range run.Results {
		if _, ok := want[r.ID]; ok && !strings.Contains(r.Message, "ping is dropped but 443 answers") {
			t.Errorf("%s: %q does not say that 443 answers", r.ID, r.Message)
		}
	}
	if code != 0 {
		t.Errorf("exit %d, want 0 (warnings only)", code)
	}
}

// TestCheckLabBandwidthShort: over the VPN shaped to 50 Mbit/s, VMs whose churn needs more
// fail in the replication direction with the headroom the figures give.
func TestCheckLabBandwidthShort(t *testing.T) {
	// sql01 8 MB/s + app01 256 KB/s = 66.048 Mbit/s, with 30 % growth 85.86 Mbit/s.
	topo := strings.Replace(labTopology, "churn: 1MB/s", "churn: 8MB/s", 1)
	l, bin, topoFile, token := labEstateWith(t, topo)
	run, code := labCheck(t, l, bin, topoFile, token, "--only", "bandwidth/")
	if code != 1 {
		t.Errorf("exit %d, want 1", code)
	}
	var seen int
	for _, r := range run.Results {
		if r.Check != result.CheckBandwidth {
			continue
		}
		seen++
		mbps, _ := r.Metrics["mbps"].(float64)
		if mbps < 40 || mbps > 55 {
			t.Errorf("%s: %.1f Mbit/s over a 50 Mbit/s VPN", r.ID, mbps)
		}
		switch r.ID {
		case "bandwidth/ps-az/mt01/2":
			req, _ := r.Metrics["required_mbps"].(float64)
			head, _ := r.Metrics["headroom"].(float64)
			if r.Status != result.Fail || req != 85.86 {
				t.Errorf("%s: %v with required %v, want fail with 85.86: %s", r.ID, r.Status, req, r.Message)
			}
			if want := mbps / req; head < want-0.01 || head > want+0.01 {
				t.Errorf("%s: headroom %v, want %.2f", r.ID, head, want)
			}
			// The shaper queues: latency under load exceeds idle latency, both reported.
			idle, _ := r.Metrics["p95_ms"].(float64)
			loaded, _ := r.Metrics["loaded_p95_ms"].(float64)
			if idle <= 0 || loaded <= idle {
				t.Errorf("%s: idle p95 %v ms, loaded p95 %v ms: want both, loaded above idle", r.ID, idle, loaded)
			} else {
				t.Logf("%s: %.1f Mbit/s, headroom %.2f, p95 idle %.2f ms, loaded %.2f ms", r.ID, mbps, head, idle, loaded)
			}
		case "bandwidth/mt01/ps-az/2":
			if r.Status != result.Pass {
				t.Errorf("%s: the way back is not judged against churn: %v %s", r.ID, r.Status, r.Message)
			}
		}
	}
	if seen != 2 {
		t.Errorf("%d bandwidth results, want 2", seen)
	}
}

// commonTopology is the lab as the most common classic estate is built: a Windows
// configuration server that is also the on-premises process server and, by default, the
// master target of the Windows VMs; no separate master target; a process server in Azure.
// (The lab's hosts run Linux; the topology's os only decides roles, and host facts are off.)
const commonTopology = `version: 1
name: lab-common
settings: {timeout: 1s, azure_endpoints: false}
sites:
  onprem: {kind: onprem, networks: [10.10.0.0/24, 192.168.50.0/24]}
  azure: {kind: azure, networks: [10.20.0.0/16, 10.10.5.0/24]}
links:
  - {name: s2s, kind: vpn, sites: [onprem, azure], bandwidth: 50Mbps, mtu: 1400}
hosts:
  cs01:
    site: onprem
    os: windows
    roles: [configuration-server, process-server]
    nics:
      - {name: source, address: 10.10.0.4/24}
      - {name: failback, address: 192.168.50.4/24, toward: azure}
    agent: 10.10.0.4
  ps-az: {site: azure, os: windows, roles: [process-server], address: 10.20.1.4, agent: 10.20.1.4}
  sql01: {site: azure, os: windows, roles: [protected-vm], address: 10.10.5.10, retained_ip: true, agent: 10.10.5.10, disks: [{size: 64GiB, churn: 1MB/s}]}
  app01: {site: azure, os: windows, roles: [protected-vm], address: 10.10.5.11, retained_ip: true, agent: 10.10.5.11, disks: [{size: 32GiB, churn: 256KB/s}]}
checks:
  latency: {samples: 10, interval: 10ms, warn_p95: 100ms, fail_p95: 500ms}
  bandwidth: {duration: 1s, streams: [2]}
`

// TestCheckLabCommonEstate: the textbook classic estate, checked end to end in a healthy lab,
// raises no false alarm; the data leg, the bandwidth test and the path MTU run between the
// process server in Azure and the configuration server's failback NIC, and the bandwidth is
// judged against the two VMs' churn.
func TestCheckLabCommonEstate(t *testing.T) {
	l, bin, topo, token := labEstateWith(t, commonTopology)
	if code, out, stderr := runCLI(t, "validate", "-f", topo); code != ExitOK {
		t.Fatalf("validate: exit %d\n%s%s", code, out, stderr)
	}
	run, code := labCheck(t, l, bin, topo, token)
	if diff := cmp.Diff(map[string]string{}, verdicts(run)); diff != "" {
		for _, r := range run.Results {
			if r.Status != result.Pass {
				t.Logf("%s: %s", r.ID, r.Message)
			}
		}
		t.Errorf("non-passing results in a healthy lab (-want +got):\n%s", diff)
	}
	if code != 0 {
		t.Errorf("exit %d, want 0", code)
	}
	byID := map[string]result.Result{}
	for _, r := range run.Results {
		byID[r.ID] = r
	}
	for _, want := range []string{"port/ps-az/cs01/9443/tcp", "port/cs01/ps-az/9443/tcp", "pmtu/ps-az/cs01", "pmtu/cs01/ps-az",
		"bandwidth/ps-az/cs01/2", "bandwidth/cs01/ps-az/2", "path/ps-az/s2s"} {
		if _, ok := byID[want]; !ok {
			t.Errorf("check %s missing from the run", want)
		}
	}
	if r := byID["port/ps-az/cs01/9443/tcp"]; r.Target != lab.AddrCS01FB+":9443" {
		t.Errorf("data leg targets %s, want the failback NIC %s:9443", r.Target, lab.AddrCS01FB)
	}
	// 1 MB/s + 256 KB/s = 10.048 Mbit/s, with 30 % growth 13.06 Mbit/s.
	if req, _ := byID["bandwidth/ps-az/cs01/2"].Metrics["required_mbps"].(float64); req != 13.06 {
		t.Errorf("bandwidth/ps-az/cs01/2: required %v Mbit/s, want 13.06", req)
	}
}
