package engine

import (
	"context"
	"errors"
	"fmt"
	"sync"
	"time"

	"github.com/netprobe/netprobe/internal/agent"
)

// A check toward a responder judges the firewall only when the responder was listening. An
// agent re-opens a responder whose socket failed and says so (agent.PathResponderStatus): a
// probe that found the port closed or silent is checked against that before its verdict
// stands, and becomes an error - netprobe's own failure, naming the agent - when the
// responder was down for any part of it, or when its agent cannot say (issue 14).

// statusTimeout bounds one responder status call: it reads the agent's own state, so a loaded
// agent answers in milliseconds; 5 s is the responder-open call's margin.
const statusTimeout = 5 * time.Second

// responderSeen is the last status an agent gave for one responder port, with when (on this
// coordinator's clock) it was asked and answered.
type responderSeen struct {
	asked, answered time.Time
	health          agent.ResponderHealth
}

// listenedThrough reports whether this status, asked after a probe that ran from start to
// end, shows the responder listening for all of it: open when asked, and its last outage (if
// any) over before the probe started. The outage ended no later than answered - UpForMS by
// the agent's own monotonic clock, so no two clocks are compared.
func (s responderSeen) listenedThrough(start, end time.Time) bool {
	if s.asked.Before(end) || s.health.Status != agent.Opened {
		return false
	}
	if s.health.Outages == 0 {
		return true
	}
	lastUp := s.answered.Add(-time.Duration(s.health.UpForMS) * time.Millisecond)
	return lastUp.Before(start)
}

// responderSeenCache keeps each agent's last status per port, so checks of one port that ran
// before one status answer share it.
type responderSeenCache struct {
	mu   sync.Mutex // guards seen
	seen map[string]map[agent.Listen]responderSeen
}

func (c *responderSeenCache) get(addr string, l agent.Listen) (responderSeen, bool) {
	c.mu.Lock()
	defer c.mu.Unlock()
	s, ok := c.seen[addr][l]
	return s, ok
}

func (c *responderSeenCache) put(addr string, l agent.Listen, s responderSeen) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.seen == nil {
		c.seen = map[string]map[agent.Listen]responderSeen{}
	}
	if c.seen[addr] == nil {
		c.seen[addr] = map[agent.Listen]responderSeen{}
	}
	if old, ok := c.seen[addr][l]; !ok || s.asked.After(old.asked) {
		c.seen[addr][l] = s
	}
}

// errResponderDown: the responder a check needed was not listening while it ran.
var errResponderDown = errors.New("the responder was not listening during the check")

// responderListened returns nil when the responder on l of the agent at agentAddr (on host to)
// listened for the whole of a probe that ran from start to end, and otherwise an error that
// says so, naming the agent, wrapping errResponderDown (or the control error when the agent
// could not be asked).
func (st *runState) responderListened(ctx context.Context, to, agentAddr string, l agent.Listen, start, end time.Time) error {
	if s, ok := st.respSeen.get(agentAddr, l); ok && s.listenedThrough(start, end) {
		return nil
	}
	p := st.prober(agentAddr)
	if p == nil {
		return fmt.Errorf("%w: the agent on %s (%s) is not connected, so its responder on %d/%s cannot be confirmed", errResponderDown, to, agentAddr, l.Port, l.Proto)
	}
	asked := time.Now()
	sctx, cancel := context.WithTimeout(ctx, statusTimeout)
	hs, err := p.ResponderStatus(sctx, []agent.Listen{l})
	cancel()
	if err != nil {
		return fmt.Errorf("the agent on %s (%s) did not say whether its responder on %d/%s was listening: %w", to, agentAddr, l.Port, l.Proto, err)
	}
	s := responderSeen{asked: asked, answered: time.Now(), health: hs[0]}
	st.respSeen.put(agentAddr, l, s)
	if s.listenedThrough(start, end) {
		return nil
	}
	h := s.health
	switch h.Status {
	case agent.Down:
		return fmt.Errorf("%w: agent %s on %s reports its responder on %d/%s down (%s)", errResponderDown, agentAddr, to, l.Port, l.Proto, h.Detail)
	case agent.Opened:
		return fmt.Errorf("%w: agent %s on %s re-opened its responder on %d/%s while the check ran (%s)", errResponderDown, agentAddr, to, l.Port, l.Proto, h.Detail)
	}
	return fmt.Errorf("%w: agent %s on %s has no responder on %d/%s any more (%s)", errResponderDown, agentAddr, to, l.Port, l.Proto, h.Detail)
}

// responderHint is the hint of a check that errored because its responder was down.
func responderHint(c Check) string {
	return fmt.Sprintf("netprobe's own failure, not the network's: the responder on %s was not listening (see the agent's log for event=responder_down). Run the check again.", c.To)
}
