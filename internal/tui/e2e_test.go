package tui

import (
	"bytes"
	"context"
	"io"
	"strings"
	"sync"
	"testing"
	"time"

	tea "charm.land/bubbletea/v2"
	"github.com/charmbracelet/x/ansi"
	"github.com/google/go-cmp/cmp"

	"github.com/netprobe/netprobe/internal/result"
)

// gateSource hands each Run's channel to the test, which plays the engine by hand.
type gateSource struct{ runs chan gateRun }

type gateRun struct {
	ids []string
	ch  chan Event
}

func (s *gateSource) Run(ctx context.Context, ids []string) <-chan Event {
	ch := make(chan Event)
	s.runs <- gateRun{ids: ids, ch: ch}
	return ch
}

// recorder wraps the model to keep the last frame it drew, so the test can read the screen
// the program shows without a terminal emulator.
type recorder struct {
	Model
	frame *frameBox
}

type frameBox struct {
	mu   sync.Mutex // guards s
	s    string
	seen chan struct{} // signalled (without blocking) on every new frame
}

func (r recorder) Update(msg tea.Msg) (tea.Model, tea.Cmd) {
	nm, cmd := r.Model.Update(msg)
	return recorder{Model: nm.(Model), frame: r.frame}, cmd
}

func (r recorder) View() tea.View {
	v := r.Model.View()
	r.frame.mu.Lock()
	r.frame.s = ansi.Strip(v.Content)
	r.frame.mu.Unlock()
	select {
	case r.frame.seen <- struct{}{}:
	default:
	}
	return v
}

// waitScreen waits until the drawn frame contains want.
func (f *frameBox) waitScreen(t *testing.T, want string) string {
	t.Helper()
	deadline := time.After(5 * time.Second)
	for {
		f.mu.Lock()
		s := f.s
		f.mu.Unlock()
		if strings.Contains(s, want) {
			return s
		}
		select {
		case <-f.seen:
		case <-time.After(50 * time.Millisecond):
		case <-deadline:
			t.Fatalf("the screen never showed %q; last frame:\n%s", want, s)
		}
	}
}

// syncBuffer is the program's output; the renderer writes from its own goroutine.
type syncBuffer struct {
	mu sync.Mutex // guards b
	b  bytes.Buffer
}

func (s *syncBuffer) Write(p []byte) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.Write(p)
}

func (s *syncBuffer) String() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.String()
}

// TestEndToEnd drives the real program through pipes: start, a failure arrives, select it,
// read its hint, re-run it, see it pass, quit - and checks the exit is clean and the
// terminal is handed back (alternate screen left, cursor shown).
func TestEndToEnd(t *testing.T) {
	ctx, cancel := context.WithTimeout(t.Context(), 20*time.Second)
	defer cancel()
	src := &gateSource{runs: make(chan gateRun, 4)}
	inR, inW := io.Pipe()
	t.Cleanup(func() { inW.Close(); inR.Close() })
	out := &syncBuffer{}
	frame := &frameBox{seen: make(chan struct{}, 1)}
	opts := Options{NoColor: true, Input: inR, Output: out, Width: 100, Height: 30}
	model := recorder{Model: New(ctx, src, DemoEstate(), opts), frame: frame}

	type ended struct {
		final tea.Model
		err   error
	}
	done := make(chan ended, 1)
	go func() {
		final, err := tea.NewProgram(model, programOptions(ctx, opts)...).Run()
		done <- ended{final, err}
	}()
	keys := func(s string) {
		t.Helper()
		if _, err := io.WriteString(inW, s); err != nil {
			t.Fatalf("typing %q: %v", s, err)
		}
	}
	nextRun := func() gateRun {
		t.Helper()
		select {
		case r := <-src.runs:
			return r
		case <-ctx.Done():
			t.Fatal("the TUI never asked the source for a run")
		}
		return gateRun{}
	}
	emit := func(ch chan Event, ev Event) {
		t.Helper()
		select {
		case ch <- ev:
		case <-ctx.Done():
			t.Fatal("the TUI stopped reading events")
		}
	}

	// Start: the first run is a full one.
	first := nextRun()
	if first.ids != nil {
		t.Fatalf("first run asked for %v, want all checks", first.ids)
	}
	rs := DemoResults()
	fail, pass := rs[0], rs[1] // sql01 -> cs01 443 filtered; web01 -> cs01 443 open
	emit(first.ch, Event{Planned: []result.Result{{ID: pass.ID, From: pass.From, To: pass.To}, {ID: fail.ID, From: fail.From, To: fail.To}}})
	emit(first.ch, Event{Result: &pass})
	frame.waitScreen(t, "PASS 1")
	// A failure arrives.
	emit(first.ch, Event{Result: &fail})
	close(first.ch)
	frame.waitScreen(t, "FAIL 1")

	// Select it (home: failures sort first) and open its detail: the hint is there.
	keys("g")
	keys("\r")
	s := frame.waitScreen(t, "Allow tcp 10.20.2.10 -> 10.10.5.4:443")
	if !strings.Contains(s, "FAIL  "+fail.ID) {
		t.Errorf("the detail pane does not show the failed check:\n%s", s)
	}

	// Re-run it: the source is asked for exactly that check.
	keys("r")
	again := nextRun()
	if d := cmp.Diff([]string{fail.ID}, again.ids); d != "" {
		t.Errorf("re-run asked for (-want +got):\n%s", d)
	}
	frame.waitScreen(t, "RUN  "+fail.ID)
	fixed := fail
	fixed.Status, fixed.State, fixed.Reason, fixed.Hint = result.Pass, "open", "syn-ack", ""
	emit(again.ch, Event{Result: &fixed})
	close(again.ch)
	frame.waitScreen(t, "FAIL 0")
	frame.waitScreen(t, "PASS  "+fail.ID)

	// Quit.
	keys("q")
	var e ended
	select {
	case e = <-done:
	case <-ctx.Done():
		t.Fatal("the program did not exit after q")
	}
	if e.err != nil {
		t.Fatalf("program ended with %v", e.err)
	}
	rep := report(e.final.(recorder).Model)
	if !rep.Complete || rep.Summary.Pass != 2 || rep.Summary.Fail != 0 {
		t.Errorf("report = %+v, want complete with 2 passes", rep)
	}
	raw := out.String()
	const altOn, altOff, cursorOn = "\x1b[?1049h", "\x1b[?1049l", "\x1b[?25h"
	if strings.LastIndex(raw, altOff) < strings.LastIndex(raw, altOn) || !strings.Contains(raw, altOn) {
		t.Error("the alternate screen was not left on exit")
	}
	if !strings.Contains(raw[strings.LastIndex(raw, altOff):], cursorOn) && strings.LastIndex(raw, cursorOn) < strings.LastIndex(raw, "\x1b[?25l") {
		t.Error("the cursor was left hidden on exit")
	}
}
