package main

import (
	"bytes"
	"context"
	"errors"
	"net/netip"
	"slices"
	"strings"
	"sync"
	"testing"

	"github.com/netprobe/netprobe/internal/engine"
	"github.com/netprobe/netprobe/internal/topology"
)

// fakeReach answers NoPath from a set of silent agents and records which agents were looked at.
type fakeReach struct {
	mu     sync.Mutex // guards looked
	silent []string
	looked []string
}

func (f *fakeReach) noPath(_ context.Context, addr string) bool {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.looked = append(f.looked, addr)
	return slices.Contains(f.silent, addr)
}

// leftTo counts the plan's checks per site they are left to ("" for those this run runs).
func leftTo(plan []engine.Check) map[string]int {
	out := map[string]int{}
	for _, c := range plan {
		if c.SkipReason == "" || c.RunFrom != "" {
			out[c.RunFrom]++
		}
	}
	return out
}

func TestSiteScopeAuto(t *testing.T) {
	modern, err := topology.Load("../../topologies/modernized.yaml")
	if err != nil {
		t.Fatal(err)
	}
	classic, err := topology.Load("../../internal/topology/testdata/normative.yaml")
	if err != nil {
		t.Fatal(err)
	}
	onpremAgents := []string{"10.30.0.10:7411", "10.30.5.20:7411"}
	azureAgents := []string{"10.40.2.10:7411", "10.40.2.11:7411"}
	a := netip.MustParseAddr
	for _, tc := range []struct {
		name     string
		t        *topology.Topology
		local    []netip.Addr
		silent   []string
		wantSite string
		// wantLeft: the sites whose checks are left to their own coordinator.
		wantLeft []string
		wantSaid string
	}{
		{name: "on premises, Azure unreachable: left to Azure", t: modern, local: []netip.Addr{a("10.30.0.10")}, silent: azureAgents,
			wantSite: "onprem", wantLeft: []string{"azure"},
			wantSaid: "no agent of site azure answers this coordinator (site onprem), and the estate needs no private path to site azure"},
		{name: "on premises, one Azure agent answers: all run", t: modern, local: []netip.Addr{a("10.30.0.10")}, silent: azureAgents[:1]},
		{name: "on premises, Azure reachable", t: modern, local: []netip.Addr{a("10.30.0.10")}},
		// The coordinator's own site is never left out: its dead agents are errors.
		{name: "own site silent too", t: modern, local: []netip.Addr{a("10.30.0.10")}, silent: append(slices.Clone(onpremAgents), azureAgents...),
			wantSite: "onprem", wantLeft: []string{"azure"}},
		{name: "coordinator outside the sites, on-premises answers", t: modern, local: []netip.Addr{a("192.0.2.9")}, silent: azureAgents,
			wantSite: "onprem", wantLeft: []string{"azure"}},
		// Nothing answers and nothing says where the coordinator is: a dead fleet, not "elsewhere".
		{name: "coordinator outside the sites, nothing answers", t: modern, local: []netip.Addr{a("192.0.2.9")}, silent: append(slices.Clone(onpremAgents), azureAgents...)},
		// Classic failback needs the VPN: an unreachable Azure agent stays an error.
		{name: "classic estate", t: classic, local: []netip.Addr{a("10.10.0.4")}, silent: []string{"10.20.1.4:7411", "10.10.5.10:7411", "10.10.5.11:7411"}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			plan := engine.Plan(tc.t, engine.Options{})
			reach := &fakeReach{silent: tc.silent}
			var stderr bytes.Buffer
			s := siteScope{LocalAddrs: func() ([]netip.Addr, error) { return tc.local, nil }, NoPath: reach.noPath}
			got, site := s.auto(context.Background(), tc.t, plan, &stderr)
			if site != tc.wantSite {
				t.Errorf("site %q, want %q", site, tc.wantSite)
			}
			left := leftTo(got)
			var gotLeft []string
			for name := range left {
				if name != "" {
					gotLeft = append(gotLeft, name)
				}
			}
			slices.Sort(gotLeft)
			if !slices.Equal(gotLeft, tc.wantLeft) {
				t.Errorf("left to %v, want %v", gotLeft, tc.wantLeft)
			}
			if left[""] == 0 {
				t.Errorf("no check left to run here")
			}
			if tc.wantSaid != "" && !strings.Contains(stderr.String(), tc.wantSaid) {
				t.Errorf("stderr %q does not say %q", stderr.String(), tc.wantSaid)
			}
			if len(tc.wantLeft) == 0 && stderr.Len() > 0 {
				t.Errorf("stderr %q, want nothing said", stderr.String())
			}
			if tc.t == classic && len(reach.looked) > 0 {
				t.Errorf("looked at %v in a classic estate: no site there needs no private path", reach.looked)
			}
		})
	}
}

func TestSiteScopeNamed(t *testing.T) {
	tp, err := topology.Load("../../topologies/modernized.yaml")
	if err != nil {
		t.Fatal(err)
	}
	plan := engine.Plan(tp, engine.Options{})
	got, err := siteScope{}.named(tp, plan, "azure")
	if err != nil {
		t.Fatal(err)
	}
	if left := leftTo(got); left["onprem"] == 0 || left[""] == 0 || len(left) != 2 {
		t.Errorf("checks per site left to: %v; want some run here and the rest left to onprem", left)
	}
	_, err = siteScope{}.named(tp, plan, "dublin")
	var ee *exitError
	if !errors.As(err, &ee) || ee.code != ExitUsage || !strings.Contains(err.Error(), "its sites: azure, onprem") {
		t.Errorf("unknown site: %v, want a usage error listing the sites", err)
	}
}

// TestCheckSiteUnknown: --site names a site the topology lacks: exit 2, nothing probed.
func TestCheckSiteUnknown(t *testing.T) {
	code, _, stderr := runCLI(t, "check", "-f", "../../topologies/modernized.yaml", "--site", "dublin", "--format", "json")
	if code != ExitUsage || !strings.Contains(stderr, `--site "dublin"`) {
		t.Errorf("exit %d, stderr %q; want 2 naming the site", code, stderr)
	}
}

// TestSiteScopeNoPathRefused: an agent's host that refuses the connection answered: there is a
// path, the agent is just not running (an error for the run, not a site left to itself).
func TestSiteScopeNoPathRefused(t *testing.T) {
	addr := freeLoopbackAddr(t)
	if (siteScope{}).noPath(context.Background(), addr) {
		t.Errorf("%s refused the connection and counts as no path", addr)
	}
}
