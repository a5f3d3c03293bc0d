package topology

import (
	"fmt"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"
)

// estate is a small classic estate with two Azure sites, written inline so that each test
// says what it changes.
const estate = `version: 1
name: t
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
`

func parse(t *testing.T, yaml string) *Topology {
	t.Helper()
	top, err := Parse("estate.yaml", []byte(yaml))
	if err != nil {
		t.Fatalf("Parse: %v", err)
	}
	return top
}

// TestFailbackPairs: each process server / master target pair carries the churn of the VMs
// that fail back over it, and only theirs: the VM still replicating forward (fwd1) and the VM
// of the other Azure site (far1, served by ps-az2) do not count toward ps-az's pairs.
func TestFailbackPairs(t *testing.T) {
	top := parse(t, estate)
	type pair struct {
		PS, MT string
		VMs    []string
		Churn  []BitsPerSecond
	}
	var got []pair
	for _, p := range FailbackPairs(top) {
		var vms []string
		for _, vm := range p.VMs {
			vms = append(vms, vm.Name)
		}
		got = append(got, pair{p.PS.Name, p.MT.Name, vms, p.Churn()})
	}
	mb := func(n float64) BitsPerSecond { return BitsPerSecond(n * 8e6) }
	want := []pair{
		{"ps-az", "cs01", []string{"win1", "win2"}, []BitsPerSecond{mb(1), mb(2)}},
		{"ps-az", "mt-lnx", []string{"lnx1"}, []BitsPerSecond{mb(4)}},
		{"ps-az2", "cs01", []string{"far1"}, []BitsPerSecond{mb(8)}},
		// ps-az2 with mt-lnx carries no VM: not planned (its firewall rules need not exist)
	}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("pairs (-want +got):\n%s", diff)
	}
}

// TestBuiltinMasterTargetInUse: a Windows configuration server is a master target only where
// failback uses it. Pinned elsewhere, its data leg is not planned (it would only raise a false
// alarm); with no Windows VM and no other Windows master target, it is the estate's one.
func TestBuiltinMasterTargetInUse(t *testing.T) {
	names := func(top *Topology) string {
		var out []string
		for _, h := range MasterTargetsInUse(top) {
			out = append(out, h.Name)
		}
		return strings.Join(out, ",")
	}
	top := parse(t, estate)
	if got := names(top); got != "cs01,mt-lnx" {
		t.Errorf("in use: %s, want cs01,mt-lnx", got)
	}
	pinned := parse(t, strings.ReplaceAll(estate, "roles: [protected-vm], address: 10.20.2.1,", "roles: [protected-vm], master_target: mt-win, address: 10.20.2.1,")+
		"  mt-win: {site: onprem, os: windows, roles: [master-target], address: 10.10.0.9}\n")
	for _, vm := range []string{"win2", "far1"} {
		pinned.Hosts[vm].MasterTarget = "mt-win"
	}
	if got := names(pinned); got != "mt-lnx,mt-win" {
		t.Errorf("every Windows VM pinned to mt-win: in use %s, want mt-lnx,mt-win", got)
	}
	for _, f := range Flows(pinned) {
		if (f.From == "cs01" || f.To == "cs01") && (f.Rule == "FB-PS-MT" || f.Rule == "FB-MT-PS" || f.Rule == "FB-BW") {
			t.Errorf("unused built-in master target still gets %s %s -> %s", f.Rule, f.From, f.To)
		}
	}
	linuxOnly := parse(t, strings.Join(strings.Split(estate, "\n")[:14], "\n")+"\n")
	if got := names(linuxOnly); got != "cs01,mt-lnx" {
		t.Errorf("no VM at all: in use %s, want cs01,mt-lnx", got)
	}
}

// TestMasterTargetOwnDisks: a master target without disks: counts its OS and retention disks,
// so 59 one-disk VMs fill it past 60 (the VMs count one disk each the same way).
func TestMasterTargetOwnDisks(t *testing.T) {
	var b strings.Builder
	b.WriteString(strings.Join(strings.Split(estate, "\n")[:14], "\n") + "\n")
	for i := 1; i <= 59; i++ {
		fmt.Fprintf(&b, "  w%02d: {site: azure, os: windows, roles: [protected-vm], address: 10.20.3.%d}\n", i, i)
	}
	top := parse(t, b.String())
	var got []string
	for _, f := range Readiness(top) {
		if f.Rule == "RD-MT-DISKS" {
			got = append(got, f.Message)
		}
	}
	want := []string{"cs01 would carry 61 disks (its own 2, OS and retention, as disks: is not given + 59 of 59 VMs failing back to it); a master target carries at most 60"}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("RD-MT-DISKS (-want +got):\n%s", diff)
	}
}

// TestProofOfConceptFlows: with no process server in Azure, the configuration server's own
// process server over ExpressRoute private peering serves the VMs: their data-port flow and
// latency are planned toward it (prepare-failback: "For proof-of-concept, you can use the
// on-premises process server, and ExpressRoute with private peering").
func TestProofOfConceptFlows(t *testing.T) {
	top := mustLoad(t, "testdata/readiness/ps-az-poc.yaml")
	var got []string
	for _, f := range Flows(top) {
		if f.Rule == "FB-VM-PS" || f.Rule == "FB-LAT" {
			got = append(got, fmt.Sprintf("%s %s %s->%s %d %s", f.Rule, f.Kind, f.From, f.To, f.Port, f.Confidence))
		}
	}
	want := []string{"FB-VM-PS port vm01->cs01 9443 inferred", "FB-LAT latency cs01->vm01 0 doc"}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("flows (-want +got):\n%s", diff)
	}
	// A VPN is no proof of concept: the same file over a VPN fails RD-PS-AZ and plans nothing.
	vpn := mustLoad(t, "testdata/readiness/ps-az-poc.yaml")
	vpn.Links[0].Kind = LinkVPN
	for _, f := range Flows(vpn) {
		if f.Rule == "FB-VM-PS" {
			t.Errorf("over a VPN the on-premises process server is no failback process server: %s -> %s planned", f.From, f.To)
		}
	}
}

// TestEndpointNames: without the vault's names, each wildcard gets a representative flagged as
// such; names under azure: replace the representative of their wildcard, and names no
// documented endpoint covers are tested as given.
func TestEndpointNames(t *testing.T) {
	top := parse(t, estate+`azure:
  cache_storage_accounts: [contosocache01]
  endpoints: [contoso.weu.backup.windowsazure.com, vault1-asr-pod01-srs1.weu.privatelink.siterecovery.windowsazure.com]
`)
	var got []string
	for _, f := range Flows(top) {
		if f.Rule == "FB-CS-AZ" {
			got = append(got, fmt.Sprintf("%s %d pattern=%s representative=%v", f.To, f.Port, f.Pattern, f.Representative))
		}
	}
	want := []string{
		"contoso.weu.backup.windowsazure.com 443 pattern=*.backup.windowsazure.com representative=false",
		"contosocache01.blob.core.windows.net 443 pattern=*.blob.core.windows.net representative=false",
		"hypervrecoverymanager.windowsazure.com 443 pattern=*.hypervrecoverymanager.windowsazure.com representative=true",
		"login.microsoftonline.com 443 pattern=login.microsoftonline.com representative=false",
		"servicebus.windows.net 443 pattern=*.servicebus.windows.net representative=true",
		"time.nist.gov 123 pattern=time.nist.gov representative=false",
		"time.windows.com 123 pattern=time.windows.com representative=false",
		"vault1-asr-pod01-srs1.weu.privatelink.siterecovery.windowsazure.com 443 pattern=vault1-asr-pod01-srs1.weu.privatelink.siterecovery.windowsazure.com representative=false",
	}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("endpoint flows (-want +got):\n%s", diff)
	}
}

// TestTwoOnPremSites: the VPN lands in dc1, the configuration server and master target live
// there, and dc2 (another vCenter, VMs still replicating) is joined to dc1 by a WAN: failback
// needs no private link to dc2. A master target in dc2 is reached through dc1, over the VPN.
func TestTwoOnPremSites(t *testing.T) {
	src := `version: 1
sites:
  dc1: {kind: onprem, networks: [10.10.0.0/16]}
  dc2: {kind: onprem, networks: [10.11.0.0/16]}
  azure: {kind: azure, networks: [10.20.0.0/16]}
links:
  - {name: s2s, kind: vpn, sites: [dc1, azure]}
  - {name: wan, kind: internet, sites: [dc1, dc2]}
hosts:
  cs01: {site: dc1, os: windows, roles: [configuration-server], address: 10.10.0.4}
  vc02: {site: dc2, roles: [vcenter], address: 10.11.0.2}
  ps-az: {site: azure, os: windows, roles: [process-server], address: 10.20.1.4}
  vm01: {site: azure, os: windows, roles: [protected-vm], address: 10.20.2.10}
`
	for _, f := range Readiness(parse(t, src)) {
		if f.Rule == "RD-LINK" {
			t.Errorf("a WAN-joined second datacenter needs no private link of its own: %s", f.Message)
		}
	}
	// The master target in dc2: reached over the VPN into dc1, then the WAN.
	top := parse(t, src+"  mt02: {site: dc2, os: windows, roles: [master-target], address: 10.11.0.8}\n")
	if l := LinkBetweenSites(top, "azure", "dc2"); l == nil || l.Name != "s2s" {
		t.Errorf("azure to dc2 crosses %v, want s2s", l)
	}
	for _, f := range Readiness(top) {
		if f.Rule == "RD-LINK" {
			t.Errorf("dc2 is reached over s2s and the WAN: %s", f.Message)
		}
	}
	// Without the WAN, dc2 is out of reach: RD-LINK names it.
	noWAN := parse(t, strings.Replace(src, "  - {name: wan, kind: internet, sites: [dc1, dc2]}\n", "", 1)+"  mt02: {site: dc2, os: windows, roles: [master-target], address: 10.11.0.8}\n")
	var got []string
	for _, f := range Readiness(noWAN) {
		if f.Rule == "RD-LINK" {
			got = append(got, f.Message)
		}
	}
	if len(got) != 1 || !strings.Contains(got[0], "to site dc2") {
		t.Errorf("RD-LINK without the WAN: %q", got)
	}
}
