package lab

import (
	"sync/atomic"
	"testing"
	"time"
)

// TestPendingSends: a send runs after its delay; stopping drops what is pending and refuses
// what comes after; a second stop says it was stopped already.
func TestPendingSends(t *testing.T) {
	var p pendingSends
	ran := make(chan struct{})
	if !p.after(time.Millisecond, func() { close(ran) }) {
		t.Fatal("after refused before stop")
	}
	select {
	case <-ran:
	case <-time.After(5 * time.Second):
		t.Fatal("the send did not run")
	}
	var late atomic.Bool
	p.after(time.Hour, func() { late.Store(true) })
	if p.stop() {
		t.Error("first stop says stopped already")
	}
	if p.after(0, func() { late.Store(true) }) {
		t.Error("after accepted a send once stopped")
	}
	time.Sleep(10 * time.Millisecond)
	if late.Load() {
		t.Error("a send ran after stop")
	}
	if !p.stop() {
		t.Error("second stop does not say stopped already")
	}
	if len(p.timers) != 0 {
		t.Errorf("%d timers left", len(p.timers))
	}
}
