package topology

import (
	"fmt"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"
)

// TestModernizedNoPathFromAzure: a healthy modernized estate with no link between the sites
// validates with no readiness failure, and none of its flows goes from an Azure host to an
// on-premises one (failback data goes through Azure Storage: asr-modernized.md 2.3).
func TestModernizedNoPathFromAzure(t *testing.T) {
	top := mustLoad(t, "../../topologies/modernized.yaml")
	if len(top.Links) != 0 {
		t.Fatalf("the example should have no link, has %d", len(top.Links))
	}
	for _, f := range Readiness(top) {
		if f.Severity == SevFail {
			t.Errorf("readiness failure on a healthy modernized estate: %s %s", f.Rule, f.Message)
		}
	}
	rules := map[string]int{}
	for _, f := range Flows(top) {
		rules[f.Rule]++
		from, to := top.Hosts[f.From], top.Hosts[f.To]
		if from != nil && to != nil && top.inAzure(from) && !top.inAzure(to) {
			t.Errorf("%s: a flow from Azure to on-premises (%s -> %s)", f.Rule, f.From, f.To)
		}
		if strings.HasPrefix(f.Rule, "FB-") || strings.HasPrefix(f.Rule, "FW-") {
			t.Errorf("classic rule %s in a modernized estate", f.Rule)
		}
	}
	for _, want := range []string{"MFB-VM-AZ", "MFB-VM-BLOB", "MFB-APL-AZ", "MFB-APL-BLOB", "MFB-APL-VC", "MFB-BW", "MFB-GROUP",
		"MFW-VM-APL", "MFW-VM-APL-DATA", "MFW-APL-AZ", "MFW-APL-BLOB", "MFW-APL-VC", "MFW-PUSH-LNX", "MFW-BW"} {
		if rules[want] == 0 {
			t.Errorf("no %s flow", want)
		}
	}
	notes := strings.Join(Notes(top), "\n")
	if !strings.Contains(notes, "needs no inbound connection and no private path from Azure to on-premises") {
		t.Errorf("notes do not say failback needs no path from Azure: %q", notes)
	}
	if strings.Contains(notes, "ended support for the classic") {
		t.Errorf("a modernized estate gets the classic notice: %q", notes)
	}
}

// TestModernizedEndpoints: the appliance tests the union of the support matrices, optional
// entries carry their impact, entries dropped in 2026 are uncertain (a warn), and the vault's
// own names replace the representatives under their wildcard only.
func TestModernizedEndpoints(t *testing.T) {
	top := mustLoad(t, "../../topologies/modernized.yaml")
	got := map[string]string{}
	for _, f := range Flows(top) {
		if f.From != "asr-appliance" || f.Kind != FlowEndpoint || f.Phase != PhaseFailback {
			continue
		}
		got[f.Pattern] = fmt.Sprintf("%s %s %s impact=%v representative=%v", f.Rule, f.To, f.Confidence, f.Impact != "", f.Representative)
	}
	for pattern, want := range map[string]string{
		"login.microsoftonline.com":         "MFB-APL-AZ login.microsoftonline.com doc impact=false representative=false",
		"aka.ms":                            "MFB-APL-AZ aka.ms doc impact=true representative=false",
		"*.servicebus.windows.net":          "MFB-APL-AZ servicebus.windows.net uncertain impact=false representative=true",
		"*.vault.azure.net":                 "MFB-APL-AZ fabrikam-asr-kv.vault.azure.net doc impact=false representative=false",
		"*.blob.core.windows.net":           "MFB-APL-BLOB fabrikamasrlog01.blob.core.windows.net inferred impact=false representative=false",
		"*.prod.migration.windowsazure.com": "MFB-APL-AZ prod.migration.windowsazure.com doc impact=false representative=true",
	} {
		if got[pattern] != want {
			t.Errorf("%s: %q, want %q", pattern, got[pattern], want)
		}
	}
	if _, ok := got["*.windows.net"]; ok {
		t.Error("the appliance tests the VM list's *.windows.net")
	}
}

// TestApplianceDisks: 61 disks failing back through one appliance fail RDM-APL-DISKS; a
// physical server in Azure fails RDM-PHYSICAL (fixture rdm-physical).
func TestApplianceDisks(t *testing.T) {
	var b strings.Builder
	b.WriteString(`version: 1
settings: {architecture: modernized}
sites:
  onprem: {kind: onprem, networks: [10.30.0.0/16]}
  azure: {kind: azure, networks: [10.40.0.0/16]}
hosts:
  apl01: {site: onprem, os: windows, roles: [replication-appliance], address: 10.30.0.10, fqdn: apl01.contoso.local}
  big01: {site: azure, os: windows, roles: [protected-vm], address: 10.40.1.1, disks: [{size: 1GiB}, {size: 1GiB}]}
`)
	for i := 1; i <= 59; i++ {
		fmt.Fprintf(&b, "  w%02d: {site: azure, os: windows, roles: [protected-vm], address: 10.40.3.%d}\n", i, i)
	}
	top := parse(t, b.String())
	var got []string
	for _, f := range Readiness(top) {
		got = append(got, f.Rule+" "+f.Severity.String()+": "+f.Message)
	}
	want := []string{"RDM-APL-DISKS fail: apl01 would have 61 disks attached (60 VMs failing back through it); an appliance takes at most 60"}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("findings (-want +got):\n%s", diff)
	}
}

// TestMigrationBothCatalogues: a migration estate expands the classic rules for the VM that
// failed over under classic and both forward catalogues for the VMs still replicating.
func TestMigrationBothCatalogues(t *testing.T) {
	top := mustLoad(t, "../../topologies/migration.yaml")
	rules := map[string]bool{}
	for _, f := range Flows(top) {
		rules[f.Rule+" "+f.From+"->"+f.To] = true
	}
	for _, want := range []string{"FB-VM-CS app01->cs01", "FB-PS-MT ps-az->cs01", "FW-VM-CS files01->cs01", "FW-VM-PS files01->cs01",
		"MFW-VM-APL files01->asr-appliance", "MFW-VM-APL-DATA files01->asr-appliance", "MFW-APL-BLOB asr-appliance->northwindasrcache.blob.core.windows.net"} {
		if !rules[want] {
			t.Errorf("missing %s", want)
		}
	}
	for r := range rules {
		if strings.HasPrefix(r, "MFB-VM") {
			t.Errorf("app01 fails back with classic, yet %s", r)
		}
	}
	if len(ManualChecklist(top)) < 10 {
		t.Errorf("a migration estate needs both checklists: %d items", len(ManualChecklist(top)))
	}
}

// TestMigrationNeedsArchitecture: in a migration estate a failed-over VM must say which
// architecture it fails back with (failed-over items cannot be migrated); on premises the
// VMs being moved need not.
func TestMigrationNeedsArchitecture(t *testing.T) {
	src := `version: 1
settings: {architecture: migration}
sites:
  onprem: {kind: onprem, networks: [10.60.0.0/16]}
  azure: {kind: azure, networks: [10.70.0.0/16]}
hosts:
  cs01: {site: onprem, os: windows, roles: [configuration-server], address: 10.60.0.4}
  apl: {site: onprem, os: windows, roles: [replication-appliance], address: 10.60.0.10, fqdn: apl.contoso.local}
  moving: {site: onprem, os: windows, roles: [protected-vm], address: 10.60.5.10}
  srv01: {site: azure, os: windows, roles: [protected-vm], platform: physical, address: 10.70.2.10}
`
	_, err := Parse("m.yaml", []byte(src))
	if err == nil || !strings.Contains(err.Error(), "hosts.srv01: srv01 is in Azure in a migration estate: say which architecture it fails back with") {
		t.Fatalf("err = %v", err)
	}
	top := parse(t, strings.Replace(src, "platform: physical,", "platform: physical, architecture: classic,", 1))
	for _, f := range Readiness(top) {
		if f.Rule == "RDM-PHYSICAL" {
			t.Errorf("a physical server that failed over under classic fails back with classic: %s", f.Message)
		}
	}
	for _, f := range Flows(top) {
		if strings.HasPrefix(f.Rule, "MFB-VM") {
			t.Errorf("srv01 fails back with classic, yet %s %s -> %s", f.Rule, f.From, f.To)
		}
	}
}
