package tui

import (
	"context"
	"fmt"

	"github.com/netprobe/netprobe/internal/result"
)

// Source is what the TUI reads results from. The engine implements it for real runs;
// ReplaySource implements it for tests and demos. The TUI never runs probes itself: it only
// asks a Source to (re-)run checks and shows what comes back.
type Source interface {
	// Run starts a run (all checks when ids is empty, otherwise only those checks) and
	// streams events until the run is over, then closes the channel. Cancelling ctx ends the
	// run; the Source still closes the channel.
	Run(ctx context.Context, ids []string) <-chan Event
}

// Event is one thing that happened during a run. Exactly one of the pointer/slice fields is
// usually set; Done marks the end of the run (the channel closes right after).
type Event struct {
	// Result is a finished check, keyed by Result.ID.
	Result *result.Result
	// Planned lists checks that will run, with Status 0 (pending), so progress can be shown
	// before any result arrives.
	Planned []result.Result
	// Agent reports that an agent came up or went away.
	Agent *AgentStatus
	// Interval is one per-interval rate of a bandwidth test that is still running.
	Interval *BandwidthSample
	// Done marks the end of the run.
	Done bool
	// Err is a run-level failure (not a check failure), shown in the header.
	Err error
}

// AgentStatus is the state of the agent on one host.
type AgentStatus struct {
	Host string
	Addr string
	Up   bool
	// Detail says why an agent is down ("connection refused", "auth failed"), or its version
	// when up.
	Detail string
}

// BandwidthSample is one interval of a bandwidth test in progress.
type BandwidthSample struct {
	// ID is the check's result ID.
	ID string
	// Interval counts from 1.
	Interval int
	Rate     BitsPerSecond
	// Required is what the RPO needs, 0 when unknown; the gauge is drawn against it.
	Required BitsPerSecond
}

// BitsPerSecond is a data rate.
type BitsPerSecond float64

// String prints the rate with a decimal SI unit, as network engineers quote link speeds:
// "14.0 Gbit/s", "1.25 Gbit/s", "142.0 Mbit/s".
func (b BitsPerSecond) String() string {
	v := float64(b)
	switch {
	case v >= 10e9:
		return fmt.Sprintf("%.1f Gbit/s", v/1e9)
	case v >= 1e9:
		return fmt.Sprintf("%.2f Gbit/s", v/1e9)
	case v >= 1e6:
		return fmt.Sprintf("%.1f Mbit/s", v/1e6)
	case v >= 1e3:
		return fmt.Sprintf("%.1f kbit/s", v/1e3)
	}
	return fmt.Sprintf("%.0f bit/s", v)
}

// Estate is the declared topology as the TUI shows it: plain strings, so the TUI does not
// depend on the topology package's types (the caller converts).
type Estate struct {
	Name  string
	Sites []Site
	Links []Link
	Hosts []Host
}

// Site is one site of the estate.
type Site struct {
	Name string
	// Kind is "onprem" or "azure", as in the topology file.
	Kind     string
	Networks []string
}

// Link joins two sites.
type Link struct {
	Name      string
	Kind      string
	Sites     [2]string
	Bandwidth BitsPerSecond
	MTU       int
}

// Host is one host of the estate.
type Host struct {
	Name  string
	Site  string
	Roles []string
	// Agent is the agent's "host:port", empty when the host has no agent.
	Agent string
}
