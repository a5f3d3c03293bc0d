package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"net/netip"
	"slices"
	"sort"
	"strings"
	"sync/atomic"
	"time"

	"golang.org/x/sync/errgroup"

	"github.com/netprobe/netprobe/internal/engine"
	"github.com/netprobe/netprobe/internal/probes"
	"github.com/netprobe/netprobe/internal/topology"
)

// siteReachTimeout bounds the look at another site's agents before a run: an agent that
// answers does so within a round trip; a site the coordinator has no path to stays silent (or
// answers "unreachable") whatever the wait. Three seconds covers an intercontinental round
// trip many times over.
const siteReachTimeout = 3 * time.Second

// siteScope decides which sites a check run covers (architecture.md, "Estates without a
// private path between the sites"). Its fields are seams; nil means the real thing.
type siteScope struct {
	// LocalAddrs lists this machine's addresses (where the coordinator stands).
	LocalAddrs func() ([]netip.Addr, error)
	// NoPath reports whether this machine has no path to an agent's control address: silence,
	// "unreachable", or a name that does not resolve here. An agent that refuses the
	// connection is reachable (its host answered; the agent is not running: an error).
	NoPath func(ctx context.Context, addr string) bool
}

// named narrows plan to what a coordinator inside site checks (check --site NAME): the checks
// whose source is in another site become skips "run from site X". It does no I/O.
func (siteScope) named(t *topology.Topology, plan []engine.Check, site string) ([]engine.Check, error) {
	if t.Sites[site] == nil {
		return nil, exitWith(ExitUsage, fmt.Errorf("--site %q: the topology has no such site (its sites: %s)", site, strings.Join(sortedSites(t), ", ")))
	}
	return engine.ForSite(t, plan, site), nil
}

// auto decides, without --site, which sites this coordinator checks, and returns the plan and
// the site it checked from inside ("" for the whole estate; the sites that answered,
// comma-separated, when the coordinator's own site is unknown). A site that needs no private
// path to the others (every check starts and ends in it or goes to Azure's public endpoints)
// and none of whose agents can be reached from here is left to a coordinator inside it, as
// --site does, and stderr says so: that is how such an estate is built, not a network failure.
// The coordinator's own site is never left out, nor is any site when no agent at all answers
// (the run then reports the agents as errors): a dead fleet must not pass as "checked
// elsewhere". It looks at the agents of those sites for up to siteReachTimeout.
func (s siteScope) auto(ctx context.Context, t *topology.Topology, plan []engine.Check, stderr io.Writer) ([]engine.Check, string) {
	own := ""
	if addrs, err := s.localAddrs(); err == nil {
		own = engine.SiteOfAddrs(t, addrs)
	}
	contained := engine.SelfContained(t, plan)
	var candidates []string
	for _, name := range sortedSites(t) {
		if name != own && contained[name] && len(engine.SourceAgents(t, plan, name)) > 0 {
			candidates = append(candidates, name)
		}
	}
	if len(candidates) == 0 {
		return plan, ""
	}
	silent := s.silentSites(ctx, t, plan, candidates)
	if len(silent) == 0 || ctx.Err() != nil {
		return plan, "" // an interrupted look proves nothing
	}
	if own == "" && !s.othersAnswer(ctx, t, plan, silent) {
		return plan, ""
	}
	checked := own
	if checked == "" {
		// Where the coordinator stands is unknown: the run covers the sites that answered.
		var answered []string
		for _, name := range sortedSites(t) {
			if !slices.Contains(silent, name) && len(engine.SourceAgents(t, plan, name)) > 0 {
				answered = append(answered, name)
			}
		}
		checked = strings.Join(answered, ",")
	}
	for _, name := range silent {
		from := "this coordinator"
		if own != "" {
			from += " (site " + own + ")"
		}
		why := fmt.Sprintf("no agent of site %s answers %s, and the estate needs no private path to site %s", name, from, name)
		plan = engine.LeaveToSite(t, plan, name, why)
		fmt.Fprintf(stderr, "netprobe: %s; its checks are left to a coordinator inside it (netprobe check --site %s)\n", why, name)
	}
	return plan, checked
}

// silentSites are the candidates none of whose agents can be reached from here, in order.
func (s siteScope) silentSites(ctx context.Context, t *topology.Topology, plan []engine.Check, candidates []string) []string {
	var out []string
	for _, name := range candidates {
		if s.allSilent(ctx, engine.SourceAgents(t, plan, name)) {
			out = append(out, name)
		}
	}
	return out
}

// othersAnswer reports whether some agent outside the silent sites can be reached: proof that
// the coordinator is somewhere in the estate, when its addresses did not say where.
func (s siteScope) othersAnswer(ctx context.Context, t *topology.Topology, plan []engine.Check, silent []string) bool {
	for _, name := range sortedSites(t) {
		if slices.Contains(silent, name) {
			continue
		}
		if agents := engine.SourceAgents(t, plan, name); len(agents) > 0 && !s.allSilent(ctx, agents) {
			return true
		}
	}
	return false
}

// siteLookers bounds the agents looked at at once: a site of a thousand VMs is looked at in
// batches, like the engine's dials (dialConcurrency), and the first that answers ends the look.
const siteLookers = 64

// allSilent reports whether none of agents can be reached from here.
func (s siteScope) allSilent(ctx context.Context, agents []string) bool {
	ctx, cancel := context.WithCancel(ctx)
	defer cancel()
	var reached atomic.Bool
	g, gctx := errgroup.WithContext(ctx)
	g.SetLimit(siteLookers)
	for _, a := range agents {
		if gctx.Err() != nil {
			break
		}
		g.Go(func() error {
			if gctx.Err() == nil && !s.noPath(gctx, a) && gctx.Err() == nil {
				reached.Store(true)
				cancel()
			}
			return nil
		})
	}
	_ = g.Wait()
	return !reached.Load()
}

func (s siteScope) localAddrs() ([]netip.Addr, error) {
	if s.LocalAddrs != nil {
		return s.LocalAddrs()
	}
	ifAddrs, err := net.InterfaceAddrs()
	if err != nil {
		return nil, err
	}
	var out []netip.Addr
	for _, a := range ifAddrs {
		if p, err := netip.ParsePrefix(a.String()); err == nil {
			out = append(out, p.Addr())
		}
	}
	return out, nil
}

func (s siteScope) noPath(ctx context.Context, addr string) bool {
	if s.NoPath != nil {
		return s.NoPath(ctx, addr)
	}
	ctx, cancel := context.WithTimeout(ctx, siteReachTimeout)
	defer cancel()
	m, err := probes.Port(ctx, nil, probes.PortRequest{Proto: "tcp", Address: addr})
	switch {
	case errors.Is(err, probes.ErrNoName):
		return true
	case err != nil:
		return false // could not look (a bad address): let the run report it
	}
	return m.State == probes.Filtered || m.State == probes.Unreachable
}

func sortedSites(t *topology.Topology) []string {
	out := make([]string, 0, len(t.Sites))
	for name := range t.Sites {
		out = append(out, name)
	}
	sort.Strings(out)
	return out
}
