package main

import (
	"errors"
	"testing"

	"github.com/google/go-cmp/cmp"

	"github.com/netprobe/netprobe/internal/engine"
	"github.com/netprobe/netprobe/internal/result"
)

// An agent that went down during the run stays down in its record, whatever came after; the
// list is sorted by address with sorted hosts.
func TestAgentLog(t *testing.T) {
	l := agentLog{}
	l.add(engine.AgentState{Addr: "b:7411", Hosts: []string{"mt01"}, Up: true})
	l.add(engine.AgentState{Addr: "a:7411", Hosts: []string{"ps-az", "cs01"}, Up: true})
	l.add(engine.AgentState{Addr: "b:7411", Hosts: []string{"mt01"}, Err: errors.New("connection reset")})
	l.add(engine.AgentState{Addr: "b:7411", Hosts: []string{"mt01"}, Up: true})
	want := []result.Agent{
		{Address: "a:7411", Hosts: []string{"cs01", "ps-az"}, Up: true},
		{Address: "b:7411", Hosts: []string{"mt01"}, Error: "connection reset"},
	}
	if diff := cmp.Diff(want, l.list()); diff != "" {
		t.Errorf("agents (-want +got):\n%s", diff)
	}
}
