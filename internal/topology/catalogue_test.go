package topology

import (
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"
)

// row is a flow without its prose (Source, Why), so the expected tables stay readable; the
// prose is checked separately.
type row struct {
	Rule, Phase, Kind, From, To, Addr, FromAddr string
	Port                                        int
	Proto, Expect, Conf, Code, Pair, NIC        string
}

func rows(fs []Flow) []row {
	out := make([]row, len(fs))
	for i, f := range fs {
		r := row{Rule: f.Rule, Phase: f.Phase.String(), Kind: f.Kind.String(), From: f.From, To: f.To, Addr: f.Address,
			FromAddr: f.FromAddress, Port: f.Port, Conf: f.Confidence.String(), Code: f.ErrorCode, Pair: f.Pair, NIC: f.SourceNIC}
		if f.Proto != 0 {
			r.Proto = f.Proto.String()
		}
		if f.Expect != 0 {
			r.Expect = f.Expect.String()
		}
		out[i] = r
	}
	return out
}

const (
	dataLeg   = "data-leg/ps-az/mt01"
	dataLegCS = "data-leg/ps-az/cs01"
)

// normativeFlows is the expansion of testdata/normative.yaml: the design's example estate.
var normativeFlows = []row{
	{"FB-VM-CS", "failback", "port", "sql01", "cs01", "192.168.50.4", "10.10.5.10", 443, "tcp", "open", "doc", "95226", "", ""},
	{"FB-VM-CS", "failback", "icmp", "sql01", "cs01", "192.168.50.4", "10.10.5.10", 0, "icmp", "open", "doc", "95226", "", ""},
	{"FB-VM-PS", "failback", "port", "sql01", "ps-az", "10.20.1.4", "10.10.5.10", 9443, "tcp", "open", "inferred", "", "", ""},
	{"FB-PS-CS", "failback", "port", "ps-az", "cs01", "192.168.50.4", "10.20.1.4", 443, "tcp", "open", "doc", "806", "", ""},
	{"FB-PS-CS", "failback", "icmp", "ps-az", "cs01", "192.168.50.4", "10.20.1.4", 0, "icmp", "open", "inferred", "806", "", ""},
	// cs01 is a Windows configuration server: the built-in master target sql01 fails back to.
	{"FB-MT-PS", "failback", "port", "cs01", "ps-az", "10.20.1.4", "192.168.50.4", 9443, "tcp", "open", "uncertain", "", dataLegCS, ""},
	{"FB-PS-MT", "failback", "port", "ps-az", "cs01", "192.168.50.4", "10.20.1.4", 9443, "tcp", "open", "uncertain", "", dataLegCS, ""},
	{"FB-CS-VC", "failback", "port", "cs01", "vcenter01", "10.10.0.2", "10.10.0.4", 443, "tcp", "open", "doc", "", "", ""},
	{"FB-CS-AZ", "failback", "endpoint", "cs01", "backup.windowsazure.com", "backup.windowsazure.com", "10.10.0.4", 443, "tcp", "open", "doc", "", "", ""},
	{"FB-CS-AZ", "failback", "endpoint", "cs01", "blob.core.windows.net", "blob.core.windows.net", "10.10.0.4", 443, "tcp", "open", "doc", "", "", ""},
	{"FB-CS-AZ", "failback", "endpoint", "cs01", "hypervrecoverymanager.windowsazure.com", "hypervrecoverymanager.windowsazure.com", "10.10.0.4", 443, "tcp", "open", "doc", "", "", ""},
	{"FB-CS-AZ", "failback", "endpoint", "cs01", "login.microsoftonline.com", "login.microsoftonline.com", "10.10.0.4", 443, "tcp", "open", "doc", "", "", ""},
	{"FB-CS-AZ", "failback", "endpoint", "cs01", "servicebus.windows.net", "servicebus.windows.net", "10.10.0.4", 443, "tcp", "open", "doc", "", "", ""},
	{"FB-CS-AZ", "failback", "endpoint", "cs01", "time.nist.gov", "time.nist.gov", "10.10.0.4", 123, "udp", "open", "doc", "", "", ""},
	{"FB-CS-AZ", "failback", "endpoint", "cs01", "time.windows.com", "time.windows.com", "10.10.0.4", 123, "udp", "open", "doc", "", "", ""},
	{"FB-LINK", "failback", "path", "ps-az", "s2s", "192.168.50.4", "10.20.1.4", 0, "", "", "doc", "", "", ""},
	{"FB-PMTU", "failback", "pmtu", "cs01", "ps-az", "10.20.1.4", "192.168.50.4", 0, "icmp", "", "inferred", "", "", ""},
	{"FB-PMTU", "failback", "pmtu", "cs01", "sql01", "10.10.5.10", "192.168.50.4", 0, "icmp", "", "inferred", "", "", ""},
	{"FB-PMTU", "failback", "pmtu", "ps-az", "cs01", "192.168.50.4", "10.20.1.4", 0, "icmp", "", "inferred", "", "", ""},
	{"FB-PMTU", "failback", "pmtu", "sql01", "cs01", "192.168.50.4", "10.10.5.10", 0, "icmp", "", "inferred", "", "", ""},
	{"FB-ROUTE", "failback", "route", "cs01", "ps-az", "10.20.1.4", "192.168.50.4", 0, "", "", "doc", "", "", "failback"},
	{"FB-ROUTE", "failback", "route", "cs01", "sql01", "10.10.5.10", "192.168.50.4", 0, "", "", "doc", "", "", "failback"},
	{"FB-LAT", "failback", "latency", "ps-az", "sql01", "10.10.5.10", "10.20.1.4", 0, "", "", "doc", "", "", ""},
	{"FB-BW", "failback", "bandwidth", "cs01", "ps-az", "10.20.1.4", "192.168.50.4", 0, "", "", "doc", "", "", ""},
	{"FB-BW", "failback", "bandwidth", "ps-az", "cs01", "192.168.50.4", "10.20.1.4", 0, "", "", "doc", "", "", ""},
	{"USER-1", "failback", "port", "sql01", "cs01", "192.168.50.4", "10.10.5.10", 1433, "tcp", "blocked", "doc", "", "", ""},
}

func withoutRules(rs []row, rules ...string) []row {
	var out []row
	for _, r := range rs {
		drop := false
		for _, rule := range rules {
			drop = drop || r.Rule == rule
		}
		if !drop {
			out = append(out, r)
		}
	}
	return out
}

func TestFlows(t *testing.T) {
	tests := []struct {
		name string
		edit func(t *Topology)
		want []row
	}{
		{name: "normative example", want: normativeFlows},
		{name: "azure endpoints off", edit: func(t *Topology) { t.Settings.AzureEndpoints = false },
			want: withoutRules(normativeFlows, "FB-CS-AZ")},
		{name: "configuration server without a failback nic targets its primary address and gets no route check",
			edit: func(t *Topology) { t.Hosts["cs01"].NICs = t.Hosts["cs01"].NICs[:1] },
			want: func() []row {
				var out []row
				for _, r := range withoutRules(normativeFlows, "FB-ROUTE") {
					if r.Addr == "192.168.50.4" {
						r.Addr = "10.10.0.4"
					}
					if r.FromAddr == "192.168.50.4" {
						r.FromAddr = "10.10.0.4"
					}
					out = append(out, r)
				}
				return out
			}()},
		{name: "forward phase only: a VM still on premises, pushed to by the configuration server",
			edit: func(t *Topology) {
				t.Settings.Phases = []Phase{PhaseForward}
				t.Settings.AzureEndpoints = false
				t.Flows = nil
				h := t.Hosts["sql01"]
				h.Site, h.RetainedIP, h.OS = "onprem", false, "linux"
				t.Hosts["ps01"] = &Host{Name: "ps01", Site: "onprem", OS: "windows", Roles: []Role{RoleProcessServer}, Address: "10.10.0.5"}
			},
			want: []row{
				{"FW-VM-CS", "forward", "port", "sql01", "cs01", "10.10.0.4", "10.10.5.10", 443, "tcp", "open", "doc", "78174", "", ""},
				{"FW-VM-PS", "forward", "port", "sql01", "ps01", "10.10.0.5", "10.10.5.10", 9443, "tcp", "open", "doc", "78186", "", ""},
				{"FW-PSO-CS", "forward", "port", "ps01", "cs01", "10.10.0.4", "10.10.0.5", 443, "tcp", "open", "doc", "", "", ""},
				{"FW-CS-VC", "forward", "port", "cs01", "vcenter01", "10.10.0.2", "10.10.0.4", 443, "tcp", "open", "doc", "", "", ""},
				{"FW-PUSH-LNX", "forward", "port", "cs01", "sql01", "10.10.5.10", "10.10.0.4", 22, "tcp", "open", "doc", "95108", "", ""},
				{"FW-PUSH-LNX", "forward", "port", "ps01", "sql01", "10.10.5.10", "10.10.0.5", 22, "tcp", "open", "doc", "95108", "", ""},
			}},
		{name: "a group of two VMs reaches each other both ways",
			edit: func(t *Topology) {
				t.Settings.AzureEndpoints = false
				t.Flows = nil
				t.Hosts["sql02"] = &Host{Name: "sql02", Site: "azure", OS: "windows", Roles: []Role{RoleProtectedVM}, Address: "10.20.5.11", Group: "sql-tier"}
			},
			want: nil, // checked below by rule
		},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			top := mustLoad(t, "testdata/normative.yaml")
			if tc.edit != nil {
				tc.edit(top)
			}
			got := Flows(top)
			if tc.want == nil {
				var group []row
				for _, r := range rows(got) {
					if r.Rule == "FB-GROUP" {
						group = append(group, r)
					}
				}
				want := []row{
					{"FB-GROUP", "failback", "port", "sql01", "sql02", "10.20.5.11", "10.10.5.10", 20004, "tcp", "open", "uncertain", "", "", ""},
					{"FB-GROUP", "failback", "port", "sql02", "sql01", "10.10.5.10", "10.20.5.11", 20004, "tcp", "open", "uncertain", "", "", ""},
				}
				if diff := cmp.Diff(want, group); diff != "" {
					t.Errorf("group flows (-want +got):\n%s", diff)
				}
				return
			}
			if diff := cmp.Diff(tc.want, rows(got)); diff != "" {
				t.Errorf("flows (-want +got):\n%s", diff)
			}
			// Deterministic: the same input gives the same list.
			if diff := cmp.Diff(got, Flows(top)); diff != "" {
				t.Errorf("second expansion differs:\n%s", diff)
			}
		})
	}
}

// TestFlowProse: every catalogue flow says where its rule comes from and why it exists.
func TestFlowProse(t *testing.T) {
	top := mustLoad(t, "testdata/normative.yaml")
	top.Settings.Phases = []Phase{PhaseFailback, PhaseForward}
	ids := map[string]bool{}
	for _, f := range Flows(top) {
		if f.Why == "" {
			t.Errorf("%s has no Why", f.ID())
		}
		if !strings.Contains(f.Source, "https://learn.microsoft.com/azure/") && !strings.HasPrefix(f.Source, "topology: ") {
			t.Errorf("%s: source %q is not a learn.microsoft.com page", f.ID(), f.Source)
		}
		if ids[f.ID()] {
			t.Errorf("duplicate flow ID %s", f.ID())
		}
		ids[f.ID()] = true
		if f.Kind == FlowEndpoint && f.To != "login.microsoftonline.com" && !strings.HasPrefix(f.To, "time.") &&
			!strings.Contains(f.Why, "representative") {
			t.Errorf("%s tests a representative name but does not say so: %q", f.ID(), f.Why)
		}
	}
	if got := top.Flows[0]; got.Index != 0 {
		t.Errorf("flow index = %d", got.Index)
	}
	f := Flows(top)
	last := f[len(f)-1]
	if last.Rule != "USER-1" || last.Source != "topology: testdata/normative.yaml:85" {
		t.Errorf("user flow = %s from %q", last.Rule, last.Source)
	}
}
