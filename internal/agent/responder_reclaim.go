package agent

import (
	"fmt"
	"slices"
	"sync"
	"time"

	"github.com/netprobe/netprobe/internal/bwtest"
)

// A TCP port that one of this agent's own responders holds is netprobe's, not a service's:
// a request for it is answered InUse rather than Held (which a coordinator reads as "ASR is
// installed"), and a bandwidth responder whose run is over - its ticket never used, or its
// one test long finished, as when a coordinator hung or was killed before closing it - is
// reclaimed for the new request instead of blocking the port until its TTL (issue 14).

// bwAbandonAfter: a coordinator connects to a bandwidth responder seconds after it gets the
// ticket (half a second of idle latency first); one whose ticket is still unused after the
// ticket lifetime bwtest uses by default (a minute) was left by a run that stopped.
const bwAbandonAfter = bwtest.DefaultTicketTTL

// bwUse is when a bandwidth responder's ticket was issued and its test admitted.
type bwUse struct {
	mu       sync.Mutex // guards issued, admitted
	issued   time.Time
	admitted time.Time
}

func (u *bwUse) issue(now time.Time) {
	u.mu.Lock()
	defer u.mu.Unlock()
	u.issued = now
}

func (u *bwUse) admit(now time.Time) {
	u.mu.Lock()
	defer u.mu.Unlock()
	u.admitted = now
}

// over reports whether the responder's run is done with it: its ticket unused for
// bwAbandonAfter, or its test admitted longer ago than the longest test the bounds allow
// (warm-up + duration, and BandwidthSlack for the streams to be cut). It says why, or what
// keeps it.
func (u *bwUse) over(now time.Time, b Bounds) (bool, string) {
	u.mu.Lock()
	defer u.mu.Unlock()
	if u.admitted.IsZero() {
		idle := now.Sub(u.issued)
		if idle >= bwAbandonAfter {
			return true, fmt.Sprintf("its ticket unused for %s", idle.Round(time.Second))
		}
		return false, fmt.Sprintf("its ticket was issued %s ago and may still be used; try again in %s", idle.Round(time.Second), (bwAbandonAfter - idle).Round(time.Second))
	}
	ran := now.Sub(u.admitted)
	if longest := b.BandwidthDuration + BandwidthSlack; ran >= longest {
		return true, fmt.Sprintf("its test started %s ago and is over", ran.Round(time.Second))
	}
	return false, fmt.Sprintf("its test started %s ago and may still run", ran.Round(time.Second))
}

// reclaimOwn frees port from this agent's own bandwidth responder when its run is over, and
// returns "" then, or when no responder of ours holds the port. Otherwise it says which of
// ours holds it: a bandwidth test still in use, or a TCP responder (shared with the runs
// that asked for it, and closed by them).
func (m *responderManager) reclaimOwn(port int) string {
	now := m.now()
	m.mu.Lock()
	for id, set := range m.sets {
		for _, l := range set.ports {
			if l.Port != port || l.Proto == "udp" {
				continue
			}
			if l.Proto == "tcp" {
				m.mu.Unlock()
				return fmt.Sprintf("a TCP responder of this agent (set %s, for another run's port checks) holds the port: netprobe's own, not a service; run again when that run ends", id)
			}
			use := set.bw[l]
			over, why := use.over(now, m.bounds)
			if !over {
				m.mu.Unlock()
				return fmt.Sprintf("a bandwidth responder of this agent (set %s, for another run) holds the port: %s", id, why)
			}
			slots := m.dropPortLocked(set, l)
			m.mu.Unlock()
			for _, s := range slots {
				_ = s.Close()
			}
			m.log.Info("bandwidth responder reclaimed", "event", "responder_reclaimed", "id", id, "port", port, "why", why)
			return ""
		}
	}
	m.mu.Unlock()
	return ""
}

// dropPortLocked removes l from set and returns its sockets to close; the caller holds mu.
func (m *responderManager) dropPortLocked(set *responderSet, l Listen) []*socketSlot {
	set.ports = slices.DeleteFunc(set.ports, func(x Listen) bool { return x == l })
	delete(set.health, l)
	delete(set.bw, l)
	slots := set.slots[l]
	delete(set.slots, l)
	set.n--
	m.open_--
	return slots
}
