package main

import (
	"sort"

	"github.com/netprobe/netprobe/internal/engine"
	"github.com/netprobe/netprobe/internal/result"
	"github.com/netprobe/netprobe/internal/topology"
)

// agentLog keeps what the engine reported of each agent during a run, for the run document.
type agentLog map[string]engine.AgentState

// add records a report; an agent once down stays down for the run (its checks are errors).
func (l agentLog) add(a engine.AgentState) {
	if old, ok := l[a.Addr]; ok && !old.Up {
		return
	}
	l[a.Addr] = a
}

// list is the log as the run document holds it, sorted by address.
func (l agentLog) list() []result.Agent {
	out := make([]result.Agent, 0, len(l))
	for _, a := range l {
		ra := result.Agent{Address: a.Addr, Hosts: append([]string(nil), a.Hosts...), Up: a.Up}
		sort.Strings(ra.Hosts)
		if a.Err != nil {
			ra.Error = a.Err.Error()
		}
		out = append(out, ra)
	}
	sort.Slice(out, func(i, j int) bool { return out[i].Address < out[j].Address })
	return out
}

// stampRun records how a run came about: this netprobe's version, the topology file the plan
// came from, and the agents it needed.
func stampRun(run *result.Run, t *topology.Topology, agents agentLog) {
	run.Version = currentBuild().Version
	run.TopologySHA256 = t.SHA256
	run.Agents = agents.list()
}
