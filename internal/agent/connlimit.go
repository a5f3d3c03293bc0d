package agent

import (
	"log/slog"
	"net"
	"sync"
	"time"
)

// Control connections are capped per source address and in total, before TLS: a client
// that opens connections and sends nothing holds memory and a file descriptor each until the
// read timeout (issue 14: 2,000 such TLS connections held 121 MB for 30 s, and with a 1,024
// descriptor limit new clients failed for 10 s). A connection over a cap is closed at once,
// counted, and logged - once per source per connLogEvery, so a flood cannot fill the journal.

// connLogEvery: one conn_limited line per source (and one for the total) per 10 s.
const connLogEvery = 10 * time.Second

// connLimiter counts open control connections.
type connLimiter struct {
	total, perSource int
	log              *slog.Logger
	now              func() time.Time
	refused          func(scope string) // metrics; nil does nothing

	mu       sync.Mutex // guards open, bySource, logged
	open     int
	bySource map[string]int
	logged   map[string]time.Time // source ("" for the total cap) -> last log line
}

func newConnLimiter(total, perSource int, log *slog.Logger, now func() time.Time) *connLimiter {
	return &connLimiter{total: total, perSource: perSource, log: log, now: now,
		bySource: map[string]int{}, logged: map[string]time.Time{}}
}

// acquire takes a slot for a connection from src, or says which cap it is over.
func (l *connLimiter) acquire(src string) (scope string, ok bool) {
	l.mu.Lock()
	defer l.mu.Unlock()
	switch {
	case l.open >= l.total:
		return "total", false
	case l.bySource[src] >= l.perSource:
		return "source", false
	}
	l.open++
	l.bySource[src]++
	return "", true
}

func (l *connLimiter) release(src string) {
	l.mu.Lock()
	defer l.mu.Unlock()
	l.open--
	if l.bySource[src]--; l.bySource[src] <= 0 {
		delete(l.bySource, src)
	}
}

// count is the number of control connections open now.
func (l *connLimiter) count() int {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.open
}

// refuse counts c, logs it unless this source (or the total) was logged less than
// connLogEvery ago, and closes it (after the log line, so whoever sees the close finds it
// logged).
func (l *connLimiter) refuse(c net.Conn, src, scope string) {
	defer c.Close()
	if l.refused != nil {
		l.refused(scope)
	}
	key := src
	if scope == "total" {
		key = ""
	}
	now := l.now()
	l.mu.Lock()
	last, seen := l.logged[key]
	logIt := !seen || now.Sub(last) >= connLogEvery
	if logIt {
		l.logged[key] = now
		if len(l.logged) > maxBuckets { // bounded like the auth limiter: forget the oldest lines
			for k, t := range l.logged {
				if now.Sub(t) >= connLogEvery {
					delete(l.logged, k)
				}
			}
		}
	}
	open, bySrc := l.open, l.bySource[src]
	l.mu.Unlock()
	if logIt {
		l.log.Warn("agent connection refused: too many connections", "event", "conn_limited", "scope", scope, "remote", src,
			"open", open, "from_remote", bySrc, "max_conns", l.total, "max_conns_per_source", l.perSource)
	}
}

// limitListener applies a connLimiter to the connections it accepts.
type limitListener struct {
	net.Listener
	l *connLimiter
}

func (ll limitListener) Accept() (net.Conn, error) {
	for {
		c, err := ll.Listener.Accept()
		if err != nil {
			return nil, err
		}
		src := hostOf(c.RemoteAddr())
		if scope, ok := ll.l.acquire(src); !ok {
			ll.l.refuse(c, src, scope)
			continue
		}
		return &limitedConn{Conn: c, release: sync.OnceFunc(func() { ll.l.release(src) })}, nil
	}
}

// limitedConn gives its slot back when it is closed, once.
type limitedConn struct {
	net.Conn
	release func()
}

func (c *limitedConn) Close() error {
	err := c.Conn.Close()
	c.release()
	return err
}

func hostOf(a net.Addr) string {
	host, _, err := net.SplitHostPort(a.String())
	if err != nil {
		return a.String()
	}
	return host
}
