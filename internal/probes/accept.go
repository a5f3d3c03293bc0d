package probes

import (
	"context"
	"errors"
	"net"
	"time"
)

// AcceptRetry is how a serving loop outlives a temporary accept or read error - the process
// out of file descriptors (EMFILE), the host out of them (ENFILE) or of buffers, a connection
// aborted before it was accepted - instead of closing its listener: it waits and tries again,
// as net/http's Server.Serve does, from 5 ms doubling to 1 s, and starts over after a success.
// A responder that closed its listener on such an error would leave its port closed while its
// agent still reported it open, and a check would read a firewall FAIL (issue 14).
type AcceptRetry struct {
	delay time.Duration
}

// Accept-retry waits: net/http's (5 ms doubling, at most 1 s).
const (
	acceptRetryFirst = 5 * time.Millisecond
	acceptRetryMost  = time.Second
)

// Temporary reports whether err is one to wait out rather than a dead socket: a timeout, or an
// error that says it is temporary (syscall.Errno does for EMFILE, ENFILE, ECONNRESET,
// ECONNABORTED and their Windows equivalents), as net/http decides.
func Temporary(err error) bool {
	var ne net.Error
	if errors.As(err, &ne) && ne.Timeout() {
		return true
	}
	var te interface{ Temporary() bool }
	return errors.As(err, &te) && te.Temporary()
}

// Wait sleeps before the next try after a temporary error and reports true; it reports false
// at once for an error that is not temporary, and when ctx ends.
func (a *AcceptRetry) Wait(ctx context.Context, err error) bool {
	if !Temporary(err) {
		return false
	}
	if a.delay == 0 {
		a.delay = acceptRetryFirst
	} else {
		a.delay = min(2*a.delay, acceptRetryMost)
	}
	t := time.NewTimer(a.delay)
	defer t.Stop()
	select {
	case <-ctx.Done():
		return false
	case <-t.C:
		return true
	}
}

// Reset starts the waits over after a success.
func (a *AcceptRetry) Reset() { a.delay = 0 }
