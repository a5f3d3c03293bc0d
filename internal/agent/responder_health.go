package agent

import (
	"context"
	"errors"
	"io"
	"net/http"
	"sync"
	"time"
)

// A responder that loses its socket (an accept or read error that is not temporary: the
// temporary ones, such as running out of file descriptors, are waited out by the serving loop
// itself) is re-opened on the same address with a backoff, for as long as its set lives. While
// it is down the agent says so: PathResponderStatus reports each port's state and its outages,
// and a set that borrows a port that is down reports it Down, so a coordinator never judges a
// firewall against a responder the agent knows is not listening (issue 14).

// Re-open backoff: 100 ms doubling to 5 s. A port taken meanwhile by someone else is tried
// again every 5 s, a few hundred binds over a responder's 10-minute life at most.
const (
	reopenFirst = 100 * time.Millisecond
	reopenMost  = 5 * time.Second
)

// maxStatusPorts bounds one status request: as many ports as a host may have responders.
const maxStatusPorts = 1024

// portHealth is the state of one opened responder port, shared by its listeners on every
// responder address.
type portHealth struct {
	mu      sync.Mutex // guards the fields below
	down    int        // listeners of the port down now
	outages int        // times a listener went down since the port opened
	upAt    time.Time  // when the last outage ended; zero while none has
	detail  string     // why the last listener went down, or why re-opening fails
}

func (h *portHealth) fail(detail string) {
	h.mu.Lock()
	defer h.mu.Unlock()
	h.down++
	h.outages++
	h.detail = detail
}

func (h *portHealth) retrying(detail string) {
	h.mu.Lock()
	defer h.mu.Unlock()
	h.detail = detail
}

func (h *portHealth) recover(now time.Time) {
	h.mu.Lock()
	defer h.mu.Unlock()
	h.down--
	if h.down == 0 {
		h.upAt = now
	}
}

// report is the port's state as the status endpoint tells it.
func (h *portHealth) report(l Listen, now time.Time) ResponderHealth {
	h.mu.Lock()
	defer h.mu.Unlock()
	r := ResponderHealth{Proto: l.Proto, Port: l.Port, Status: Opened, Outages: h.outages}
	switch {
	case h.down > 0:
		r.Status, r.Detail = Down, h.detail
	case h.outages > 0:
		r.UpForMS = max(now.Sub(h.upAt).Milliseconds(), 0)
		r.Detail = "re-opened after: " + h.detail
	}
	return r
}

func (h *portHealth) isDown() bool {
	h.mu.Lock()
	defer h.mu.Unlock()
	return h.down > 0
}

// socketSlot holds a responder's current socket, so its set can close whichever one is live
// and a re-open after the set closed closes its new socket at once.
type socketSlot struct {
	mu     sync.Mutex // guards c, closed
	c      io.Closer
	closed bool
}

// set installs c, closing the socket it replaces; it reports false (and closes c) when the
// slot was closed meanwhile.
func (s *socketSlot) set(c io.Closer) bool {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.closed {
		_ = c.Close()
		return false
	}
	if s.c != nil {
		_ = s.c.Close()
	}
	s.c = c
	return true
}

func (s *socketSlot) isClosed() bool {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.closed
}

// drop closes the current socket, leaving the slot open for a re-open.
func (s *socketSlot) drop() {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.c != nil {
		_ = s.c.Close()
		s.c = nil
	}
}

// Close closes the slot and its socket for good.
func (s *socketSlot) Close() error {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.closed = true
	if s.c != nil {
		err := s.c.Close()
		s.c = nil
		return err
	}
	return nil
}

// serving is one responder listener: serve runs it until ctx ends or its socket fails;
// reopen binds the address again and returns the next serving, registered in the slot.
type serving struct {
	serve  func(ctx context.Context) error
	reopen func(ctx context.Context) (serving, error)
}

// supervise serves l on addr until ctx ends, re-opening it whenever its socket fails.
func (m *responderManager) supervise(ctx context.Context, l Listen, addr string, h *portHealth, slot *socketSlot, s serving) {
	for {
		err := s.serve(ctx)
		if ctx.Err() != nil || slot.isClosed() {
			return
		}
		if err == nil {
			err = errors.New("stopped serving")
		}
		slot.drop()
		h.fail(err.Error())
		m.log.Warn("responder down, re-opening", "event", "responder_down", "proto", l.Proto, "port", l.Port, "addr", addr, "err", err.Error())
		delay := reopenFirst
		for {
			t := time.NewTimer(delay)
			select {
			case <-ctx.Done():
				t.Stop()
				return
			case <-t.C:
			}
			next, err := s.reopen(ctx)
			if err == nil {
				s = next
				break
			}
			if ctx.Err() != nil || slot.isClosed() {
				return // the set closed, or the port was reclaimed
			}
			h.retrying("re-opening: " + err.Error())
			delay = min(2*delay, reopenMost)
		}
		h.recover(m.now())
		m.log.Info("responder re-opened", "event", "responder_reopened", "proto", l.Proto, "port", l.Port, "addr", addr)
	}
}

// ResponderStatusRequest asks how the agent's responders on Ports are doing.
type ResponderStatusRequest struct {
	V     int      `json:"v"`
	Ports []Listen `json:"ports"`
}

func (r *ResponderStatusRequest) version() int { return r.V }

// ResponderStatusResponse answers it, one entry per asked port, in order.
type ResponderStatusResponse struct {
	V     int               `json:"v"`
	Ports []ResponderHealth `json:"ports"`
}

// ResponderHealth is one responder port's state: Opened (listening), Down (it failed and the
// agent is re-opening it) or Gone (no responder of this agent listens there: never opened,
// closed, or expired). Outages counts the times it went down since it opened; UpForMS, after
// an outage, is how long ago it came back, so a caller can tell whether an outage overlapped
// a probe it sent without comparing clocks: the outage ended no later than the answer's
// arrival minus UpForMS.
type ResponderHealth struct {
	Proto   string          `json:"proto"`
	Port    int             `json:"port"`
	Status  ResponderStatus `json:"status"`
	Outages int             `json:"outages,omitempty"`
	UpForMS int64           `json:"up_for_ms,omitempty"`
	Detail  string          `json:"detail,omitempty"`
}

// status reports the health of each port in ls: that of the set listening on it.
func (m *responderManager) status(ls []Listen) []ResponderHealth {
	now := m.now()
	out := make([]ResponderHealth, 0, len(ls))
	m.mu.Lock()
	defer m.mu.Unlock()
	for _, l := range ls {
		r := ResponderHealth{Proto: l.Proto, Port: l.Port, Status: Gone, Detail: "no responder of this agent listens there (never opened, closed, or expired)"}
		for _, set := range m.sets {
			if h := set.health[l]; h != nil {
				r = h.report(l, now)
				break
			}
		}
		out = append(out, r)
	}
	return out
}

func (s *Server) handleResponderStatus(_ context.Context, _ *http.Request, body []byte) (any, *apiError) {
	var req ResponderStatusRequest
	if e := decode(body, &req); e != nil {
		return nil, e
	}
	if len(req.Ports) == 0 || len(req.Ports) > maxStatusPorts {
		return nil, refuse(http.StatusBadRequest, CodeBadRequest, "responder status: ask for 1..%d ports, not %d", maxStatusPorts, len(req.Ports))
	}
	return ResponderStatusResponse{V: Version, Ports: s.resp.status(req.Ports)}, nil
}
