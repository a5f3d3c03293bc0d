package engine

import (
	"cmp"
	"context"
	"log/slog"
	"slices"
	"sync"

	"golang.org/x/sync/errgroup"
	"golang.org/x/time/rate"

	"github.com/netprobe/netprobe/internal/agent"
)

// A run is a pipeline, not a barrier: each agent is made ready on its own - dialled, then
// asked for the responders the plan's checks need there - and each check is dispatched as
// soon as every agent it needs is ready. The first checks of a thousand-agent estate start
// after a few handshakes instead of after all of them and all the responders (about a
// second on 2 cores, make bench), and the dispatch overlaps the rest of the handshakes.

// agentSlot is what the run knows of one agent. prepare fills it once, before any check that
// needs the agent is dispatched; after that it is only read.
type agentSlot struct {
	hosts   []string // the hosts it serves, in plan order
	p       Prober   // nil when it could not be dialled
	err     error    // why not
	pace    *rate.Limiter
	respond map[agent.Listen]agent.ResponderStatus // what its responders got; nil when none were asked
	// features are the optional request fields it accepts (agent.Info.Features).
	features []string
}

// agentsNeeded lists the agents check c needs ready before it starts: its source's, its
// destination's when that takes part (kindSpec.toAgent), and those of the hosts that resolve
// names for it. A skipped check needs none.
func agentsNeeded(c Check) []agentNeed {
	if c.SkipReason != "" {
		return nil
	}
	var out []agentNeed
	if c.FromAgent != "" {
		out = append(out, agentNeed{c.FromAgent, c.From})
	}
	if c.ToAgent != "" && kinds[c.Kind].toAgent {
		out = append(out, agentNeed{c.ToAgent, c.To})
	}
	for _, rv := range c.Resolvers {
		if rv.Agent != "" {
			out = append(out, agentNeed{rv.Agent, rv.Host})
		}
	}
	return out
}

// agentNeed is an agent a check needs, and the host it needs it as.
type agentNeed struct{ addr, host string }

// agentsOnce is agentsNeeded with each agent once: a check between two hosts that one agent
// serves needs it once, and counts it once (newPipeline up, done down).
func agentsOnce(c Check) []agentNeed {
	needs := agentsNeeded(c)
	out := needs[:0:0]
	for _, n := range needs {
		if !slices.ContainsFunc(out, func(o agentNeed) bool { return o.addr == n.addr }) {
			out = append(out, n)
		}
	}
	return out
}

// pipeline is the bookkeeping of prepare: which checks wait for which agents.
type pipeline struct {
	order   []int            // plan indices in dispatch order (interleave)
	pos     []int            // plan index -> its place in order
	waiting []int            // plan index -> agents it still waits for
	waiters map[string][]int // agent -> plan indices waiting for it
	agents  []string         // the agents, in the order they are prepared
	want    map[string][]agent.Listen

	mu sync.Mutex // guards waiting
}

// newPipeline builds the run's agent slots (st.slots) and the pipeline of plan.
func (st *runState) newPipeline(plan []Check) *pipeline {
	pl := &pipeline{order: interleave(plan), pos: make([]int, len(plan)), waiting: make([]int, len(plan)),
		waiters: map[string][]int{}, want: wantedListens(plan)}
	for k, i := range pl.order {
		pl.pos[i] = k
	}
	uses := map[string]int{}
	first := map[string]int{}
	for _, i := range pl.order {
		needs := agentsNeeded(plan[i])
		for j, n := range needs {
			if slices.ContainsFunc(needs[:j], func(o agentNeed) bool { return o.addr == n.addr }) {
				if s := st.slots[n.addr]; !contains(s.hosts, n.host) {
					s.hosts = append(s.hosts, n.host)
				}
				continue // the same agent twice (a host's check of itself)
			}
			s := st.slots[n.addr]
			if s == nil {
				s = &agentSlot{}
				st.slots[n.addr] = s
				first[n.addr] = len(first)
				pl.agents = append(pl.agents, n.addr)
			}
			if !contains(s.hosts, n.host) {
				s.hosts = append(s.hosts, n.host)
			}
			pl.waiters[n.addr] = append(pl.waiters[n.addr], i)
			pl.waiting[i]++
			uses[n.addr]++
			st.uses[n.addr]++
		}
	}
	// The hubs first: an agent many checks wait for (the process server, the configuration
	// server) holds up more of the plan than a VM's.
	slices.SortStableFunc(pl.agents, func(a, b string) int {
		return cmp.Or(uses[b]-uses[a], first[a]-first[b])
	})
	return pl
}

// prepare makes every agent of the pipeline ready, dialConcurrency at a time, and sends each
// check's plan index to ready once all the agents it needs are: at once for those that need
// none. It closes ready when every agent was prepared (or ctx ended). ready must hold the
// whole plan, so that prepare never waits for the dispatch.
func (st *runState) prepare(ctx context.Context, plan []Check, pl *pipeline, rs *responderSets, log *slog.Logger, ready chan<- int) {
	defer close(ready)
	for _, i := range pl.order {
		if pl.waiting[i] == 0 {
			ready <- i
		}
	}
	var g errgroup.Group
	g.SetLimit(dialConcurrency)
	for _, addr := range pl.agents {
		if ctx.Err() != nil {
			break
		}
		g.Go(func() error {
			st.prepareAgent(ctx, addr, pl.want[addr], rs, log)
			pl.release(addr, ready)
			return nil
		})
	}
	_ = g.Wait()
}

// prepareAgent dials the agent at addr, says so, and opens the responders ls there.
func (st *runState) prepareAgent(ctx context.Context, addr string, ls []agent.Listen, rs *responderSets, log *slog.Logger) {
	s := st.slots[addr]
	st.dial(ctx, addr, s, log)
	st.send(Event{Agent: &AgentState{Addr: addr, Hosts: s.hosts, Up: s.err == nil, Err: s.err}})
	if s.p != nil && len(ls) > 0 {
		s.respond = rs.open(ctx, addr, s.p, ls)
	}
}

// release counts agent addr off the checks waiting for it and sends those it was the last
// for, in dispatch order.
func (pl *pipeline) release(addr string, ready chan<- int) {
	pl.mu.Lock()
	var now []int
	for _, i := range pl.waiters[addr] {
		if pl.waiting[i]--; pl.waiting[i] == 0 {
			now = append(now, i)
		}
	}
	pl.mu.Unlock()
	slices.SortFunc(now, func(a, b int) int { return pl.pos[a] - pl.pos[b] })
	for _, i := range now {
		ready <- i
	}
}
