package firewall

import (
	"bytes"
	"encoding/json"
	"flag"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"
	"github.com/netprobe/netprobe/internal/topology"
)

var update = flag.Bool("update", false, "rewrite the golden files in testdata/")

func normative(t *testing.T) (*topology.Topology, []topology.Flow) {
	t.Helper()
	top, err := topology.Load("../topology/testdata/normative.yaml")
	if err != nil {
		t.Fatal(err)
	}
	return top, topology.Flows(top)
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
	top, flows := normative(t)
	for _, f := range []Format{FormatIPTables, FormatNSG, FormatPowerShell} {
		t.Run(f.String(), func(t *testing.T) {
			var b bytes.Buffer
			if err := Render(&b, top, flows, f); err != nil {
				t.Fatal(err)
			}
			golden(t, "normative."+f.String(), b.Bytes())
		})
	}
}

// TestNoAny: every rule in every format names both addresses.
func TestNoAny(t *testing.T) {
	top, flows := normative(t)
	var b bytes.Buffer
	if err := IPTables(&b, top, flows); err != nil {
		t.Fatal(err)
	}
	n := 0
	for _, line := range strings.Split(b.String(), "\n") {
		if strings.HasPrefix(line, "-A ") {
			n++
			if !strings.Contains(line, " -s ") || !strings.Contains(line, " -d ") || strings.Contains(line, "0.0.0.0/0") {
				t.Errorf("rule without explicit addresses: %s", line)
			}
		}
	}
	// 12 port/icmp flows expected open in the example (the data leg to both master targets,
	// cs01's built-in one included); USER-1 is expected blocked.
	if n != 12 {
		t.Errorf("%d iptables rules, want 12:\n%s", n, b.String())
	}
	b.Reset()
	if err := NSG(&b, top, flows); err != nil {
		t.Fatal(err)
	}
	var doc NSGDocument
	if err := json.Unmarshal(b.Bytes(), &doc); err != nil {
		t.Fatal(err)
	}
	prios := map[int]bool{}
	for _, r := range doc.SecurityRules {
		p := r.Properties
		if !strings.HasSuffix(p.SourceAddressPrefix, "/32") || !strings.HasSuffix(p.DestinationAddressPrefix, "/32") {
			t.Errorf("%s: %s -> %s is not host to host", r.Name, p.SourceAddressPrefix, p.DestinationAddressPrefix)
		}
		if prios[p.Priority] || p.Priority < 100 || p.Priority > 4096 {
			t.Errorf("%s: priority %d reused or out of range", r.Name, p.Priority)
		}
		prios[p.Priority] = true
		if len(r.Name) > 80 {
			t.Errorf("name too long: %s", r.Name)
		}
	}
	if len(doc.SecurityRules) == 0 {
		t.Error("no NSG rules")
	}
}

func TestRuleFor(t *testing.T) {
	_, flows := normative(t)
	byID := map[string]topology.Flow{}
	for _, f := range flows {
		byID[f.ID()] = f
	}
	tests := []struct{ name, id, want string }{
		{"port toward the failback NIC", "FB-VM-CS/port/sql01/cs01/443/tcp", "allow tcp 10.10.5.10 -> 192.168.50.4:443"},
		{"icmp echo", "FB-PS-CS/icmp/ps-az/cs01", "allow icmp echo 10.20.1.4 -> 192.168.50.4"},
		{"data port", "FB-PS-MT/port/ps-az/mt01/9443/tcp", "allow tcp 10.20.1.4 -> 10.10.0.8:9443"},
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
	top, flows := normative(t)
	var b bytes.Buffer
	if err := IPTables(&b, top, flows); err != nil {
		t.Fatal(err)
	}
	large, err := topology.Load("../../topologies/large-estate.yaml")
	if err != nil {
		t.Fatal(err)
	}
	var lb bytes.Buffer
	if err := IPTables(&lb, large, topology.Flows(large)); err != nil {
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
