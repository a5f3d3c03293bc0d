package bwtest

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net"
	"sync"
	"time"

	"github.com/netprobe/netprobe/internal/probes"
)

// Limits bound what a client may ask of a server. Zero fields take the defaults.
type Limits struct {
	MaxDuration time.Duration
	MaxStreams  int
	// QueueWait bounds how long a test waits for the running one to finish before it is
	// refused with ErrBusy.
	QueueWait time.Duration
	// Admit, when set, decides whether a new test id may run (called once per test, on its
	// first stream). An agent hands out one-time ids on its authenticated control channel
	// (Tickets) so the unauthenticated data port serves only tests a coordinator asked for.
	// nil admits every test.
	Admit func(testID string) error
	// Logger receives one line per test; nil discards.
	Logger *slog.Logger
	// MaxConns bounds connections open at once (0: ConnsPerStream x MaxStreams); one over it
	// is closed at once. The data port is unauthenticated: without a bound, connections that
	// send no header would each hold a descriptor and a goroutine for headerTimeout.
	MaxConns int
}

// ConnsPerStream: the connections Serve keeps per allowed stream by default - the running
// test's and a queued test's, and as many again from peers that are not clients.
const ConnsPerStream = 4

func (l Limits) withDefaults() Limits {
	if l.MaxDuration <= 0 {
		l.MaxDuration = DefaultMaxDuration
	}
	if l.MaxStreams <= 0 {
		l.MaxStreams = MaxStreams
	}
	if l.QueueWait <= 0 {
		l.QueueWait = DefaultQueueWait
	}
	if l.MaxConns <= 0 {
		l.MaxConns = ConnsPerStream * l.MaxStreams
	}
	if l.Logger == nil {
		l.Logger = slog.New(slog.DiscardHandler)
	}
	return l
}

// server holds the tests in progress. mu guards sessions.
type server struct {
	lim  Limits
	slot chan struct{} // one token: one test runs at a time, the others queue

	mu       sync.Mutex
	sessions map[string]*session
}

// session is one test: its streams join it by test id.
type session struct {
	hdr   header        // the first stream's header; the others must agree with it
	ready chan struct{} // closed when the test holds the slot, or failed is set
	// failed and the fields below are guarded by server.mu.
	failed   error
	joined   map[int]bool
	finished int
	holding  bool // the session holds the slot
	released bool
	timer    *time.Timer
}

// Serve accepts bandwidth test connections on ln until ctx ends, then closes ln and every
// connection and returns ctx's error. One test runs at a time; a second waits for the first,
// up to lim.QueueWait, instead of failing.
func Serve(ctx context.Context, ln net.Listener, lim Limits) error {
	s := &server{lim: lim.withDefaults(), slot: make(chan struct{}, 1), sessions: map[string]*session{}}
	stop := context.AfterFunc(ctx, func() { ln.Close() })
	defer stop()
	var wg sync.WaitGroup
	defer wg.Wait()
	var retry probes.AcceptRetry
	conns := make(chan struct{}, s.lim.MaxConns)
	for {
		conn, err := ln.Accept()
		if err != nil {
			if ctx.Err() != nil {
				return ctx.Err()
			}
			// Out of file descriptors for a moment: wait it out, as net/http does, rather
			// than leave the port closed for the rest of the responder's life.
			if retry.Wait(ctx, err) {
				continue
			}
			if ctx.Err() != nil {
				return ctx.Err()
			}
			return fmt.Errorf("bandwidth server: accept: %w", err)
		}
		retry.Reset()
		select {
		case conns <- struct{}{}:
		default:
			conn.Close() // over the bound: refused at once rather than queued
			continue
		}
		wg.Add(1)
		go func() {
			defer wg.Done()
			defer func() { <-conns }()
			// Close the connection when the server stops, so no handler outlives Serve.
			unhook := context.AfterFunc(ctx, func() { conn.Close() })
			defer unhook()
			defer conn.Close()
			s.handle(ctx, conn)
		}()
	}
}

func (s *server) handle(ctx context.Context, conn net.Conn) {
	_ = conn.SetReadDeadline(time.Now().Add(headerTimeout))
	line, err := readLine(conn)
	if err != nil {
		return // not a client of ours, or gone: nothing to answer
	}
	h, err := parseHeader(line)
	if err != nil {
		writeAck(conn, ack{Code: "protocol", Error: err.Error()})
		return
	}
	if err := s.check(h); err != nil {
		writeAck(conn, ack{Code: codeOf(err), Error: err.Error()})
		return
	}
	sess, err := s.join(ctx, h)
	if err != nil {
		writeAck(conn, ack{Code: codeOf(err), Error: err.Error()})
		return
	}
	defer s.finish(h.Test, sess)

	// Wait in the queue; a client that gives up closes its connection, which we only notice
	// when the test starts (its first write or read fails): that costs at most a short stream.
	select {
	case <-sess.ready:
	case <-ctx.Done():
		return
	}
	s.mu.Lock()
	failed := sess.failed
	s.mu.Unlock()
	if failed != nil {
		writeAck(conn, ack{Code: codeOf(failed), Error: failed.Error()})
		return
	}
	if err := writeAck(conn, ack{OK: true}); err != nil {
		return
	}
	end := time.Now().Add(h.WarmUp + h.Duration + grace)
	_ = conn.SetDeadline(end)
	buf := make([]byte, BufSize)
	start := time.Now()
	var n int64
	if h.Dir == Send {
		n, err = drain(conn, buf)
	} else {
		// The client starts its clock after every stream is admitted, a little after this
		// one, and closes the connection when it is done; send until then, or the grace.
		n, err = sendUntil(conn, buf, end)
	}
	s.lim.Logger.Debug("bandwidth stream done", "test", h.Test, "stream", h.Stream, "dir", h.Dir.String(), "bytes", n, "elapsed", time.Since(start), "err", err)
}

// drain reads into buf until EOF or an error. Not io.Copy to io.Discard: Discard's ReadFrom
// reads 8 KiB at a time, sixteen times the syscalls of our buffer.
func drain(conn net.Conn, buf []byte) (int64, error) {
	var total int64
	for {
		n, err := conn.Read(buf)
		total += int64(n)
		if err == io.EOF {
			return total, nil
		}
		if err != nil {
			return total, err
		}
	}
}

// sendUntil writes buf repeatedly until the deadline (checked between writes, each of which
// takes well under a millisecond on any link we measure) or until the client closes.
func sendUntil(conn net.Conn, buf []byte, until time.Time) (int64, error) {
	var total int64
	for time.Now().Before(until) {
		n, err := conn.Write(buf)
		total += int64(n)
		if err != nil {
			return total, err
		}
	}
	if tc, ok := conn.(interface{ CloseWrite() error }); ok {
		_ = tc.CloseWrite()
	}
	return total, nil
}

// parseHeader decodes a client's header line strictly (unknown fields refused).
func parseHeader(line []byte) (header, error) {
	var h header
	dec := json.NewDecoder(bytes.NewReader(line))
	dec.DisallowUnknownFields()
	if err := dec.Decode(&h); err != nil {
		return header{}, fmt.Errorf("%w: bad header: %v", ErrProtocol, err)
	}
	return h, nil
}

func (s *server) check(h header) error {
	switch {
	case h.Version != protocolVersion:
		return fmt.Errorf("%w: protocol version %d, this agent speaks %d: use the same netprobe version on both agents", ErrProtocol, h.Version, protocolVersion)
	case h.Test == "" || len(h.Test) > 64:
		return fmt.Errorf("%w: test id must be 1..64 characters", ErrProtocol)
	case h.Dir != Send && h.Dir != Receive:
		return fmt.Errorf("%w: direction unset", ErrProtocol)
	case h.Streams < 1 || h.Streams > s.lim.MaxStreams:
		return fmt.Errorf("%w: %d streams; this agent allows 1..%d", ErrLimit, h.Streams, s.lim.MaxStreams)
	case h.Stream < 0 || h.Stream >= h.Streams:
		return fmt.Errorf("%w: stream %d of %d", ErrProtocol, h.Stream, h.Streams)
	case h.Duration <= 0 || !FitsIn(h.WarmUp, h.Duration, s.lim.MaxDuration):
		return fmt.Errorf("%w: warm-up %v + duration %v; this agent allows at most %v in all: shorten --duration", ErrLimit, h.WarmUp, h.Duration, s.lim.MaxDuration)
	}
	return nil
}

// join adds a stream to its test, creating the test (and its place in the queue) on the first
// stream.
func (s *server) join(ctx context.Context, h header) (*session, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if sess, ok := s.sessions[h.Test]; ok {
		p := sess.hdr
		if p.Streams != h.Streams || p.Dir != h.Dir || p.Duration != h.Duration || p.WarmUp != h.WarmUp {
			return nil, fmt.Errorf("%w: stream %d of test %s disagrees with the test's first stream", ErrProtocol, h.Stream, h.Test)
		}
		if sess.joined[h.Stream] || sess.released {
			// A test id is good for one test: a second stream 0 is a replay or a reused id.
			return nil, fmt.Errorf("%w: stream %d of test %s joined twice: a test id runs once", ErrLimit, h.Stream, h.Test)
		}
		sess.joined[h.Stream] = true
		return sess, nil
	}
	if s.lim.Admit != nil {
		if err := s.lim.Admit(h.Test); err != nil {
			return nil, fmt.Errorf("%w: test %s not admitted: %w", ErrLimit, h.Test, err)
		}
	}
	sess := &session{hdr: h, ready: make(chan struct{}), joined: map[int]bool{h.Stream: true}}
	s.sessions[h.Test] = sess
	wait := s.lim.QueueWait
	if h.Wait > 0 && h.Wait < wait {
		wait = h.Wait
	}
	go s.acquire(ctx, h.Test, sess, wait)
	return sess, nil
}

// acquire waits for the slot, then arms the timer that frees it if a stream never finishes.
func (s *server) acquire(ctx context.Context, id string, sess *session, maxWait time.Duration) {
	wait := time.NewTimer(maxWait)
	defer wait.Stop()
	queued := time.Now()
	select {
	case s.slot <- struct{}{}:
		s.mu.Lock()
		if sess.released {
			// Every stream left while queued (shutdown): hand the slot straight back.
			s.mu.Unlock()
			<-s.slot
			break
		}
		sess.holding = true
		// Every stream is cut at warm-up + duration + grace; the slot follows a little later.
		sess.timer = time.AfterFunc(sess.hdr.WarmUp+sess.hdr.Duration+2*grace, func() { s.release(id, sess) })
		s.mu.Unlock()
		s.lim.Logger.Info("bandwidth test starts", "test", id, "streams", sess.hdr.Streams, "dir", sess.hdr.Dir.String(), "queued", time.Since(queued).Round(time.Millisecond))
	case <-wait.C:
		s.mu.Lock()
		sess.failed = fmt.Errorf("%w: another test held this agent for %v; retry when it ends", ErrBusy, maxWait)
		sess.released = true
		delete(s.sessions, id)
		s.mu.Unlock()
	case <-ctx.Done():
		s.mu.Lock()
		sess.failed = fmt.Errorf("%w: agent shutting down", ErrBusy)
		sess.released = true
		delete(s.sessions, id)
		s.mu.Unlock()
	}
	close(sess.ready)
}

// finish records one stream's end; the last one frees the slot.
func (s *server) finish(id string, sess *session) {
	s.mu.Lock()
	sess.finished++
	last := sess.finished == sess.hdr.Streams
	s.mu.Unlock()
	if last {
		s.release(id, sess)
	}
}

// release frees the slot once per test.
func (s *server) release(id string, sess *session) {
	s.mu.Lock()
	if sess.released {
		s.mu.Unlock()
		return
	}
	sess.released = true
	if s.sessions[id] == sess {
		delete(s.sessions, id)
	}
	if sess.timer != nil {
		sess.timer.Stop()
	}
	holding := sess.holding
	sess.holding = false
	s.mu.Unlock()
	if holding {
		<-s.slot
	}
}

// FitsIn reports whether warm-up plus duration, both from a peer, fit in bound without
// computing a sum that could overflow: a header of two int64 maximums wraps to a negative
// total and would pass a plain "w+d > bound". Negative values never fit.
func FitsIn(warmUp, duration, bound time.Duration) bool {
	return warmUp >= 0 && duration >= 0 && warmUp <= bound && duration <= bound-warmUp
}

func codeOf(err error) string {
	switch {
	case errors.Is(err, ErrTicket):
		return "ticket"
	case errors.Is(err, ErrBusy):
		return "busy"
	case errors.Is(err, ErrLimit):
		return "limit"
	}
	return "protocol"
}

func writeAck(conn net.Conn, a ack) error {
	b, _ := json.Marshal(a)
	_ = conn.SetWriteDeadline(time.Now().Add(headerTimeout))
	_, err := conn.Write(append(b, '\n'))
	_ = conn.SetWriteDeadline(time.Time{})
	return err
}

// readLine reads one '\n'-terminated line of at most maxLine bytes, a byte at a time so that
// nothing after the line is consumed (the data stream follows it on the same connection).
func readLine(r io.Reader) ([]byte, error) {
	var line []byte
	var b [1]byte
	for len(line) < maxLine {
		if _, err := io.ReadFull(r, b[:]); err != nil {
			return nil, err
		}
		if b[0] == '\n' {
			return line, nil
		}
		line = append(line, b[0])
	}
	return nil, fmt.Errorf("%w: line longer than %d bytes", ErrProtocol, maxLine)
}
