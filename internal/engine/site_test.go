package engine

import (
	"net/netip"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"

	"github.com/netprobe/netprobe/internal/result"
	"github.com/netprobe/netprobe/internal/topology"
)

func loadTopology(t *testing.T, path string) *topology.Topology {
	t.Helper()
	tp, err := topology.Load(path)
	if err != nil {
		t.Fatal(err)
	}
	return tp
}

func TestSelfContained(t *testing.T) {
	for _, tc := range []struct {
		name, file string
		want       map[string]bool
	}{
		// No flow of a modernized estate crosses between the sites: each is checked from inside.
		{"modernized", "../../topologies/modernized.yaml", map[string]bool{"onprem": true, "azure": true}},
		// Classic failback runs between the Azure VMs and the on-premises servers over the VPN.
		{"classic", "../topology/testdata/normative.yaml", map[string]bool{"onprem": false, "azure": false}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			tp := loadTopology(t, tc.file)
			got := SelfContained(tp, Plan(tp, Options{}))
			if diff := cmp.Diff(tc.want, got); diff != "" {
				t.Errorf("(-want +got):\n%s", diff)
			}
		})
	}
}

func TestForSite(t *testing.T) {
	tp := loadTopology(t, "../../topologies/modernized.yaml")
	plan := Plan(tp, Options{})
	got := ForSite(tp, plan, "onprem")
	if len(got) != len(plan) {
		t.Fatalf("%d checks, want the plan's %d", len(got), len(plan))
	}
	var ran, left int
	for i, c := range got {
		if plan[i].SkipReason != "" {
			if c.SkipReason != plan[i].SkipReason || c.RunFrom != "" {
				t.Errorf("%s: a check skipped already changed: %q run from %q", c.ID, c.SkipReason, c.RunFrom)
			}
			continue
		}
		switch site := tp.Hosts[c.From].Site; site {
		case "onprem":
			ran++
			if c.SkipReason != "" {
				t.Errorf("%s: the site's own check skipped: %s", c.ID, c.SkipReason)
			}
		case "azure":
			left++
			if c.RunFrom != "azure" || !strings.HasPrefix(c.SkipReason, "run from site azure (netprobe check --site azure") {
				t.Errorf("%s: run from %q, skip %q; want run from site azure", c.ID, c.RunFrom, c.SkipReason)
			}
			if r := Skipped(c, c.SkipReason); r.Status != result.Skip || r.Reason != result.ReasonOtherSite || r.Metrics["run_from"] != "azure" {
				t.Errorf("%s: skipped result %+v, want skip with reason %s run from azure", c.ID, r, result.ReasonOtherSite)
			}
		default:
			t.Errorf("%s: source in unexpected site %q", c.ID, site)
		}
		if plan[i].SkipReason != "" || plan[i].RunFrom != "" {
			t.Errorf("%s: ForSite changed the plan it was given", c.ID)
		}
	}
	if ran == 0 || left == 0 {
		t.Errorf("%d checks run on premises and %d left to Azure: the example has both", ran, left)
	}
}

// TestForSiteDNSConsistency: a check that compares the sites' DNS answers needs agents in both
// sites, which a coordinator inside one cannot reach: a plain skip (no site runs it alone), and
// the per-host DNS checks go to their own site.
func TestForSiteDNSConsistency(t *testing.T) {
	tp := loadTopology(t, "../../topologies/modernized.yaml")
	tp.Checks.DNS.Names = []string{"app.fabrikam.local"}
	plan := Plan(tp, Options{Only: []string{"dns/"}})
	got := map[string]string{}
	for _, c := range ForSite(tp, plan, "azure") {
		got[c.ID] = c.RunFrom + "|" + c.SkipReason
	}
	want := map[string]string{
		"dns/app.fabrikam.local":               "|compares the answers of sites azure and onprem: run it without --site, from a coordinator that reaches an agent in each",
		"dns/asr-appliance/app.fabrikam.local": "onprem|run from site onprem (netprobe check --site onprem, by a coordinator inside it); this run checks site azure",
		"dns/db01/app.fabrikam.local":          "onprem|run from site onprem (netprobe check --site onprem, by a coordinator inside it); this run checks site azure",
		"dns/web01/app.fabrikam.local":         "|",
		"dns/web02/app.fabrikam.local":         "|",
	}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("(-want +got):\n%s", diff)
	}
}

func TestLeaveToSite(t *testing.T) {
	tp := loadTopology(t, "../../topologies/modernized.yaml")
	plan := Plan(tp, Options{})
	got := LeaveToSite(tp, plan, "azure", "no agent of site azure answers here")
	for i, c := range got {
		want := plan[i].SkipReason == "" && tp.Hosts[c.From].Site == "azure"
		if (c.RunFrom == "azure") != want {
			t.Errorf("%s: run from %q, want it left to azure: %v", c.ID, c.RunFrom, want)
		}
		if want && !strings.HasSuffix(c.SkipReason, ": no agent of site azure answers here") {
			t.Errorf("%s: %q does not say why", c.ID, c.SkipReason)
		}
	}
	if agents := SourceAgents(tp, got, "azure"); len(agents) != 0 {
		t.Errorf("agents still running Azure's checks: %v", agents)
	}
	if diff := cmp.Diff([]string{"10.40.2.10:7411", "10.40.2.11:7411"}, SourceAgents(tp, plan, "azure")); diff != "" {
		t.Errorf("Azure's agents (-want +got):\n%s", diff)
	}
}

func TestSiteOfAddrs(t *testing.T) {
	tp := loadTopology(t, "../../topologies/modernized.yaml")
	a := netip.MustParseAddr
	for _, tc := range []struct {
		name  string
		addrs []netip.Addr
		want  string
	}{
		{"on premises", []netip.Addr{a("127.0.0.1"), a("10.30.0.10")}, "onprem"},
		{"in Azure", []netip.Addr{a("10.40.2.10")}, "azure"},
		{"IPv4-mapped", []netip.Addr{a("::ffff:10.40.2.10")}, "azure"},
		{"outside every site", []netip.Addr{a("192.0.2.7")}, ""},
		{"in both: cannot tell", []netip.Addr{a("10.30.0.10"), a("10.40.2.10")}, ""},
		{"none", nil, ""},
	} {
		t.Run(tc.name, func(t *testing.T) {
			if got := SiteOfAddrs(tp, tc.addrs); got != tc.want {
				t.Errorf("site %q, want %q", got, tc.want)
			}
		})
	}
}
