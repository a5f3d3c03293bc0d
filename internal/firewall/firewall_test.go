package firewall

import (
	"bytes"
	"encoding/json"
	"flag"
	"fmt"
	"net/netip"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"

	"github.com/netprobe/netprobe/internal/engine"
	"github.com/netprobe/netprobe/internal/topology"
)

var update = flag.Bool("update", false, "rewrite the golden files in testdata/")

// normative is the normative example's input: ASR's flows, and netprobe's own for a
// coordinator on cs01.
func normative(t *testing.T) Input {
	t.Helper()
	return load(t, "../topology/testdata/normative.yaml", "cs01")
}

func load(t *testing.T, path string, coordinators ...string) Input {
	t.Helper()
	top, err := topology.Load(path)
	if err != nil {
		t.Fatal(err)
	}
	var coords []engine.Coordinator
	for _, c := range coordinators {
		co, err := engine.ParseCoordinator(top, c)
		if err != nil {
			t.Fatal(err)
		}
		coords = append(coords, co)
	}
	return Input{Topology: top, Flows: topology.Flows(top), Agent: engine.AgentFlows(top, engine.Plan(top, engine.Options{}), coords)}
}

func golden(t *testing.T, name string, got []byte) {
	t.Helper()
	path := filepath.Join("testdata", name)
	if *update {
		if err := os.WriteFile(path, got, 0o644); err != nil {
			t.Fatal(err)
		}
	}
	want, err := os.ReadFile(path)
	if err != nil {
		t.Fatalf("%v (run go test -update to create it)", err)
	}
	if diff := cmp.Diff(string(want), string(got)); diff != "" {
		t.Errorf("%s differs (-want +got; go test -update rewrites it):\n%s", name, diff)
	}
}

func TestGolden(t *testing.T) {
	in := normative(t)
	for _, f := range []Format{FormatIPTables, FormatNSG, FormatBicep, FormatTerraform, FormatPowerShell} {
		t.Run(f.String(), func(t *testing.T) {
			var b bytes.Buffer
			if err := Render(&b, in, f); err != nil {
				t.Fatal(err)
			}
			golden(t, "normative."+f.String(), b.Bytes())
		})
	}
}

// TestNoAny: every rule names both addresses, and netprobe's own rules are marked as such.
func TestNoAny(t *testing.T) {
	in := normative(t)
	var b bytes.Buffer
	if err := IPTables(&b, in); err != nil {
		t.Fatal(err)
	}
	asr, own := 0, 0
	for _, line := range strings.Split(b.String(), "\n") {
		if !strings.HasPrefix(line, "-A ") || strings.Contains(line, "-j "+AgentChain) {
			continue
		}
		if !strings.Contains(line, " -s ") || !strings.Contains(line, " -d ") || strings.Contains(line, "0.0.0.0/0") {
			t.Errorf("rule without explicit addresses: %s", line)
		}
		switch {
		case strings.HasPrefix(line, "-A "+Chain+" "):
			asr++
		case strings.HasPrefix(line, "-A "+AgentChain+" "):
			own++
			if !strings.Contains(line, `--comment "NP-`) {
				t.Errorf("a rule of netprobe's own chain names no NP- rule: %s", line)
			}
		}
	}
	// 8 port/icmp flows expected open in the example (the data leg to cs01's built-in master
	// target, the only one a VM fails back to); USER-1 is expected blocked.
	if asr != 8 || own == 0 {
		t.Errorf("%d ASR and %d own iptables rules, want 8 and some:\n%s", asr, own, b.String())
	}
	b.Reset()
	if err := NSG(&b, in); err != nil {
		t.Fatal(err)
	}
	var doc ARMTemplate
	if err := json.Unmarshal(b.Bytes(), &doc); err != nil {
		t.Fatal(err)
	}
	for _, res := range doc.Resources {
		for _, r := range res.Properties.SecurityRules {
			p := r.Properties
			for _, a := range append(append([]string{p.SourceAddressPrefix, p.DestinationAddressPrefix}, p.SourceAddressPrefixes...), p.DestinationAddressPrefixes...) {
				if a == "" {
					continue
				}
				if pf, err := netip.ParsePrefix(a); err != nil || pf.Bits() < 24 {
					t.Errorf("%s %s: %q is not an explicit address", res.Name, r.Name, a)
				}
			}
		}
	}
}

func TestRuleFor(t *testing.T) {
	flows := normative(t).Flows
	byID := map[string]topology.Flow{}
	for _, f := range flows {
		byID[f.ID()] = f
	}
	tests := []struct{ name, id, want string }{
		{"port toward the failback NIC", "FB-VM-CS/port/sql01/cs01/443/tcp", "allow tcp 10.10.5.10 -> 192.168.50.4:443"},
		{"icmp echo", "FB-PS-CS/icmp/ps-az/cs01", "allow icmp echo 10.20.1.4 -> 192.168.50.4"},
		{"data port", "FB-PS-MT/port/ps-az/cs01/9443/tcp", "allow tcp 10.20.1.4 -> 192.168.50.4:9443"},
		{"endpoint by name", "FB-CS-AZ/endpoint/cs01/login.microsoftonline.com/443/tcp", "allow tcp 10.10.0.4 -> login.microsoftonline.com:443"},
		{"expected blocked", "USER-1/port/sql01/cs01/1433/tcp", "block tcp 10.10.5.10 -> 192.168.50.4:1433"},
		{"route has no rule", "FB-ROUTE/route/cs01/sql01", ""},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			f, ok := byID[tc.id]
			if !ok {
				t.Fatalf("no flow %s", tc.id)
			}
			if got := RuleFor(f); got != tc.want {
				t.Errorf("RuleFor = %q, want %q", got, tc.want)
			}
		})
	}
	if got, want := IPTablesRule(byID["FB-VM-CS/port/sql01/cs01/443/tcp"]), `-I FORWARD -s 10.10.5.10/32 -d 192.168.50.4/32 -p tcp -m tcp --dport 443 -m comment --comment "FB-VM-CS sql01->cs01" -j ACCEPT`; got != want {
		t.Errorf("IPTablesRule = %q, want %q", got, want)
	}
}

// TestIPTablesRestore: the kernel's own parser accepts the output. It runs in a network
// namespace the test creates and deletes, so the host's firewall is never touched.
func TestIPTablesRestore(t *testing.T) {
	need := func(reason string) {
		if os.Getenv("NETPROBE_LAB_REQUIRED") == "1" {
			t.Fatalf("cannot run: %s (NETPROBE_LAB_REQUIRED=1)", reason)
		}
		t.Skipf("skip: %s", reason)
	}
	if os.Geteuid() != 0 {
		need("needs root to create a network namespace")
	}
	for _, bin := range []string{"ip", "iptables-restore"} {
		if _, err := exec.LookPath(bin); err != nil {
			need(bin + " is not installed")
		}
	}
	ns := fmt.Sprintf("np-%d-fw", os.Getpid())
	if out, err := exec.Command("ip", "netns", "add", ns).CombinedOutput(); err != nil {
		need(fmt.Sprintf("ip netns add: %v: %s", err, out))
	}
	t.Cleanup(func() {
		if out, err := exec.Command("ip", "netns", "del", ns).CombinedOutput(); err != nil {
			t.Errorf("ip netns del %s: %v: %s", ns, err, out)
		}
	})
	var b bytes.Buffer
	if err := IPTables(&b, normative(t)); err != nil {
		t.Fatal(err)
	}
	var lb bytes.Buffer
	if err := IPTables(&lb, load(t, "../../topologies/large-estate.yaml", "cs01")); err != nil {
		t.Fatal(err)
	}
	if n := strings.Count(lb.String(), "\n-A "); n < 1000 {
		t.Errorf("large estate: %d rules, want 1000+", n)
	}
	cases := []struct {
		name  string
		input string
		ok    bool
	}{
		{"normative example", b.String(), true},
		{"240-VM estate", lb.String(), true},
		// The check must be able to fail: a broken rule is refused.
		{"broken rule is refused", strings.Replace(b.String(), "--dport 443", "--dport 99999", 1), false},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			cmd := exec.Command("ip", "netns", "exec", ns, "iptables-restore", "--test", "--noflush")
			cmd.Stdin = strings.NewReader(tc.input)
			out, err := cmd.CombinedOutput()
			if tc.ok && err != nil {
				t.Errorf("iptables-restore --test refused it: %v\n%s\ninput:\n%s", err, out, tc.input)
			}
			if !tc.ok && err == nil {
				t.Errorf("iptables-restore --test accepted a broken rule")
			}
		})
	}
}

// TestPowerShellIdempotent: every rule has a -Name of its own on its host and is removed just
// before it is added, so running a block twice leaves the same rules.
func TestPowerShellIdempotent(t *testing.T) {
	var b bytes.Buffer
	if err := PowerShell(&b, load(t, "../../topologies/large-estate.yaml", "cs01")); err != nil {
		t.Fatal(err)
	}
	nameRE := regexp.MustCompile(`-Name '([^']+)'`)
	names := map[string]bool{}
	prev, rules := "", 0
	for line := range strings.Lines(b.String()) {
		switch {
		case strings.HasPrefix(line, "# --- on "):
			names = map[string]bool{}
		case strings.HasPrefix(line, "New-NetFirewallRule "):
			rules++
			m := nameRE.FindStringSubmatch(line)
			if m == nil {
				t.Fatalf("a rule without -Name: %s", line)
			}
			if names[m[1]] {
				t.Errorf("-Name %s twice on one host", m[1])
			}
			names[m[1]] = true
			if prev != "Remove-NetFirewallRule -Name '"+m[1]+"' -ErrorAction SilentlyContinue\n" {
				t.Errorf("rule %s is not removed first (line before: %q)", m[1], prev)
			}
			if !strings.Contains(line, "-Group 'netprobe ") {
				t.Errorf("rule %s has no netprobe group", m[1])
			}
		}
		prev = line
	}
	if rules == 0 {
		t.Fatal("no rules: the test tests nothing")
	}
}
