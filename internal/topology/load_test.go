package topology

import (
	"crypto/sha256"
	"encoding/hex"
	"net/netip"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	"github.com/google/go-cmp/cmp/cmpopts"
)

func mustLoad(t *testing.T, path string) *Topology {
	t.Helper()
	top, err := Load(path)
	if err != nil {
		t.Fatalf("Load(%s): %v", path, err)
	}
	return top
}

func TestLoadNormative(t *testing.T) {
	top := mustLoad(t, "testdata/normative.yaml")
	s, c := Defaults()
	c.DNS.Names = []string{"cs01.contoso.local"}
	want := &Topology{
		Version: 1, Name: "contoso-failback", Settings: s, Checks: c,
		File: "testdata/normative.yaml", SHA256: fileSHA256(t, "testdata/normative.yaml"),
		Sites: map[string]*Site{
			"onprem": {Name: "onprem", Kind: SiteOnPrem, Networks: []netip.Prefix{netip.MustParsePrefix("10.10.0.0/16"), netip.MustParsePrefix("192.168.50.0/24")}, DNS: []netip.Addr{netip.MustParseAddr("10.10.0.53")}},
			"azure":  {Name: "azure", Kind: SiteAzure, Networks: []netip.Prefix{netip.MustParsePrefix("10.20.0.0/16"), netip.MustParsePrefix("10.10.5.0/24")}},
		},
		Links: []*Link{{Name: "s2s", Kind: LinkVPN, Sites: [2]string{"onprem", "azure"}, Bandwidth: 200 * Mbps, MTU: 1400}},
		Hosts: map[string]*Host{
			"cs01": {Name: "cs01", Site: "onprem", OS: "windows", Roles: []Role{RoleConfigurationServer}, Address: "10.10.0.4",
				NICs:  []NIC{{Name: "source", Address: netip.MustParsePrefix("10.10.0.4/24")}, {Name: "failback", Address: netip.MustParsePrefix("192.168.50.4/24"), Toward: "azure"}},
				Agent: "10.10.0.4:7411"},
			"ps-az": {Name: "ps-az", Site: "azure", OS: "windows", Roles: []Role{RoleProcessServer}, Address: "10.20.1.4", Agent: "10.20.1.4:7411"},
			"mt01": {Name: "mt01", Site: "onprem", OS: "linux", Roles: []Role{RoleMasterTarget}, Address: "10.10.0.8", Agent: "10.10.0.8:7411",
				Retention: "/mnt/retention", Disks: []Disk{{Size: 100 * GiB}, {Size: 1 * TiB}}},
			"vcenter01": {Name: "vcenter01", Site: "onprem", Roles: []Role{RoleVCenter}, Address: "10.10.0.2"},
			"sql01": {Name: "sql01", Site: "azure", OS: "windows", Roles: []Role{RoleProtectedVM}, Address: "10.10.5.10", RetainedIP: true,
				Agent: "10.10.5.10:7411", Group: "sql-tier", Disks: []Disk{{Size: 512 * GiB, Churn: 32 * Mbps}, {Size: 128 * GiB, Churn: 8 * Mbps}},
				Platform: PlatformVMware},
		},
		Flows: []*FlowSpec{{From: "sql01", To: "cs01", Port: 1433, Proto: ProtoTCP, Expect: ExpectBlocked, Phase: PhaseFailback, Note: "SQL stays inside the datacenter"}},
		Azure: Azure{Cloud: CloudPublic},
	}
	if diff := cmp.Diff(want, top, cmpopts.IgnoreUnexported(Topology{}), cmpopts.EquateComparable(netip.Prefix{}, netip.Addr{})); diff != "" {
		t.Errorf("normative example (-want +got):\n%s", diff)
	}
	if top.Settings.Timeout != 2*time.Second || top.Settings.Growth != 0.30 {
		t.Errorf("settings = %+v", top.Settings)
	}
	// Positions: a scalar is found at its value, a collection at its key.
	for path, want := range map[string]Pos{
		"hosts.sql01.disks[1].churn": {76, 31},
		"sites.azure.networks":       {21, 5},
		"hosts.ps-az":                {43, 3},
	} {
		if got, _ := top.Position(path); got != want {
			t.Errorf("Position(%s) = %v, want %v", path, got, want)
		}
	}
}

func TestDefaultsWhenOmitted(t *testing.T) {
	top, err := Parse("min.yaml", []byte("version: 1\nsites:\n  a: {kind: onprem, networks: [10.0.0.0/8]}\nhosts:\n  h: {site: a, roles: [vcenter], address: 10.0.0.1}\n"))
	if err != nil {
		t.Fatal(err)
	}
	s, c := Defaults()
	if diff := cmp.Diff(s, top.Settings); diff != "" {
		t.Errorf("settings (-want +got):\n%s", diff)
	}
	if diff := cmp.Diff(c, top.Checks); diff != "" {
		t.Errorf("checks (-want +got):\n%s", diff)
	}
	if top.Name != "min" {
		t.Errorf("name = %q, want the file's base name", top.Name)
	}
	// What `sha256sum` prints for these bytes.
	if want := "efb7198b379a143927c896ff537fae6be0c3af0c0ca21bbe9cb3862fe7621332"; top.SHA256 != want {
		t.Errorf("SHA256 = %s, want %s", top.SHA256, want)
	}
}

func fileSHA256(t *testing.T, path string) string {
	t.Helper()
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	sum := sha256.Sum256(b)
	return hex.EncodeToString(sum[:])
}

func TestLoadMissingFile(t *testing.T) {
	_, err := Load(filepath.Join(t.TempDir(), "nope.yaml"))
	if err == nil || !strings.Contains(err.Error(), "give the file with -f") {
		t.Errorf("err = %v", err)
	}
	if _, ok := err.(ErrorList); ok {
		t.Error("a missing file is not an ErrorList")
	}
	_ = os.ErrNotExist
}

// TestDocExampleIsNormative: the example of docs/topology.md is the file the tests load, so
// what the docs show is what is tested (the design's example is the same block).
func TestDocExampleIsNormative(t *testing.T) {
	doc, err := os.ReadFile("../../docs/topology.md")
	if err != nil {
		t.Fatal(err)
	}
	_, rest, ok := strings.Cut(string(doc), "```yaml\n")
	block, _, ok2 := strings.Cut(rest, "```")
	if !ok || !ok2 {
		t.Fatal("docs/topology.md has no yaml block")
	}
	want, err := os.ReadFile("testdata/normative.yaml")
	if err != nil {
		t.Fatal(err)
	}
	if block != string(want) {
		t.Errorf("docs/topology.md's example differs from testdata/normative.yaml:\n%s", cmp.Diff(string(want), block))
	}
}
