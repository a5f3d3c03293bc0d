package tui

import (
	"fmt"
	"testing"

	"github.com/netprobe/netprobe/internal/result"
)

// TestWaitEventBatches: events already waiting come in one message, in order, at most
// maxBatch at a time, and the stream's end still comes as its own message.
func TestWaitEventBatches(t *testing.T) {
	const n = maxBatch + 88
	ch := make(chan Event, n)
	for i := range n {
		ch <- Event{Result: &result.Result{ID: fmt.Sprintf("port/a/b/%04d/tcp", i)}}
	}
	close(ch)
	var got []string
	var sizes []int
	for {
		msg := waitEvent(ch)()
		em, ok := msg.(eventMsg)
		if !ok {
			if _, ok := msg.(streamClosedMsg); !ok {
				t.Fatalf("got %T, want eventMsg or streamClosedMsg", msg)
			}
			break
		}
		sizes = append(sizes, 1+len(em.more))
		for _, ev := range append([]Event{em.ev}, em.more...) {
			got = append(got, ev.Result.ID)
		}
	}
	if len(sizes) != 2 || sizes[0] != maxBatch || sizes[1] != 88 {
		t.Errorf("batches %v, want [%d 88]", sizes, maxBatch)
	}
	for i, id := range got {
		if want := fmt.Sprintf("port/a/b/%04d/tcp", i); id != want {
			t.Fatalf("event %d is %s, want %s (order lost)", i, id, want)
		}
	}
}
