package bwtest

import (
	"context"
	"errors"
	"net"
	"os"
	"sync/atomic"
	"syscall"
	"testing"
	"time"
)

// emfileListener fails its first accepts with EMFILE, as a process out of file descriptors
// does, then accepts normally.
type emfileListener struct {
	net.Listener
	fail atomic.Int32
}

func (l *emfileListener) Accept() (net.Conn, error) {
	if l.fail.Add(-1) >= 0 {
		return nil, &net.OpError{Op: "accept", Net: "tcp", Err: os.NewSyscallError("accept4", syscall.EMFILE)}
	}
	return l.Listener.Accept()
}

// TestServeOutlivesFDShortage: a bandwidth responder whose accepts fail for a moment with
// EMFILE keeps serving (issue 14, item 3: it returned on the first accept error, and its port
// stayed dead while the agent reported it open).
func TestServeOutlivesFDShortage(t *testing.T) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	el := &emfileListener{Listener: ln}
	el.fail.Store(5)
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- Serve(ctx, el, Limits{}) }()
	t.Cleanup(func() {
		cancel()
		if err := <-done; !errors.Is(err, context.Canceled) {
			t.Errorf("Serve returned %v, want context.Canceled", err)
		}
	})
	rctx, rcancel := context.WithTimeout(ctx, 10*time.Second)
	defer rcancel()
	if _, err := Run(rctx, TCPDialer(ln.Addr().String()), short(Send, 1)); err != nil {
		t.Fatalf("a test after the accept errors: %v", err)
	}
}

// TestServeBoundsConnections: connections that send no header are bounded (Limits.MaxConns):
// one over the bound is closed at once, and a real test still runs once they go.
func TestServeBoundsConnections(t *testing.T) {
	addr, _ := startServer(t, Limits{MaxStreams: 1, MaxConns: 3})
	var idle []net.Conn
	for range 3 {
		c, err := net.Dial("tcp", addr)
		if err != nil {
			t.Fatal(err)
		}
		idle = append(idle, c)
	}
	time.Sleep(50 * time.Millisecond)
	over, err := net.Dial("tcp", addr)
	if err != nil {
		t.Fatal(err)
	}
	defer over.Close()
	_ = over.SetReadDeadline(time.Now().Add(time.Second))
	if _, err := over.Read(make([]byte, 1)); err == nil || isTimeout(err) {
		t.Errorf("a fourth idle connection over a bound of 3 was kept (read: %v)", err)
	}
	for _, c := range idle {
		c.Close()
	}
	time.Sleep(50 * time.Millisecond)
	p := short(Send, 1)
	if _, err := Run(t.Context(), TCPDialer(addr), p); err != nil {
		t.Errorf("a test after the idle connections closed: %v", err)
	}
}

func isTimeout(err error) bool {
	var ne net.Error
	return errors.As(err, &ne) && ne.Timeout()
}
