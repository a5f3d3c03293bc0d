package lab

import (
	"sync"
	"time"
)

// pendingSends are the delayed sends of a delay line: each runs after its delay unless the
// line is stopped first; stopping drops what is still pending, as a real path loses packets
// in flight when it goes down.
type pendingSends struct {
	mu      sync.Mutex // guards stopped and timers
	stopped bool
	timers  map[*time.Timer]struct{}
}

// after runs send after d; false once the line is stopped (send is dropped).
func (p *pendingSends) after(d time.Duration, send func()) bool {
	p.mu.Lock()
	defer p.mu.Unlock()
	if p.stopped {
		return false
	}
	if p.timers == nil {
		p.timers = map[*time.Timer]struct{}{}
	}
	var tm *time.Timer
	tm = time.AfterFunc(d, func() {
		p.mu.Lock()
		_, pending := p.timers[tm]
		delete(p.timers, tm)
		p.mu.Unlock()
		if pending {
			send()
		}
	})
	p.timers[tm] = struct{}{}
	return true
}

// stop drops every pending send and refuses new ones; it reports whether it was stopped
// already.
func (p *pendingSends) stop() (already bool) {
	p.mu.Lock()
	defer p.mu.Unlock()
	already = p.stopped
	p.stopped = true
	for tm := range p.timers {
		tm.Stop()
	}
	clear(p.timers)
	return already
}
