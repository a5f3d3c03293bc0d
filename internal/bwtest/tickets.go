package bwtest

import (
	"errors"
	"sync"
	"time"
)

// Tickets are one-time test ids. An agent issues one on its authenticated control channel when
// a coordinator asks for a test, and passes Admit as Limits.Admit, so its bandwidth data port
// (which carries bulk data and is not MACed per byte) runs only tests it agreed to.
type Tickets struct {
	ttl time.Duration
	now func() time.Time

	mu     sync.Mutex // guards issued
	issued map[string]time.Time
}

// DefaultTicketTTL: the coordinator opens the streams right after it gets the ticket; a
// minute covers a slow control round trip and the far agent's connect.
const DefaultTicketTTL = time.Minute

// ErrTicket is why Admit refuses a test.
var ErrTicket = errors.New("unknown or expired test ticket: ask the agent for a new test")

// NewTickets returns an empty set whose tickets expire after ttl (0: DefaultTicketTTL). now is
// the clock (nil: time.Now).
func NewTickets(ttl time.Duration, now func() time.Time) *Tickets {
	if ttl <= 0 {
		ttl = DefaultTicketTTL
	}
	if now == nil {
		now = time.Now
	}
	return &Tickets{ttl: ttl, now: now, issued: map[string]time.Time{}}
}

// Issue returns a new ticket, to be used as Params.TestID.
func (t *Tickets) Issue() string {
	id := newID()
	t.mu.Lock()
	defer t.mu.Unlock()
	now := t.now()
	for k, exp := range t.issued { // expired tickets go on every issue: the map stays small
		if now.After(exp) {
			delete(t.issued, k)
		}
	}
	t.issued[id] = now.Add(t.ttl)
	return id
}

// Admit consumes a ticket: it admits id once, before it expires.
func (t *Tickets) Admit(id string) error {
	t.mu.Lock()
	defer t.mu.Unlock()
	exp, ok := t.issued[id]
	delete(t.issued, id)
	if !ok || t.now().After(exp) {
		return ErrTicket
	}
	return nil
}
