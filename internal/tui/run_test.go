package tui

import (
	"context"
	"errors"
	"fmt"
	"io"
	"regexp"
	"strings"
	"testing"
	"time"

	tea "charm.land/bubbletea/v2"
)

func TestRunQuitAndCancel(t *testing.T) {
	tests := []struct {
		name    string
		act     func(cancel context.CancelFunc, in *io.PipeWriter)
		wantErr error
	}{
		{name: "q quits cleanly", act: func(_ context.CancelFunc, in *io.PipeWriter) { io.WriteString(in, "q") }},
		{name: "cancelled context", act: func(cancel context.CancelFunc, _ *io.PipeWriter) { cancel() }, wantErr: context.Canceled},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			ctx, cancel := context.WithCancel(t.Context())
			defer cancel()
			inR, inW := io.Pipe()
			t.Cleanup(func() { inW.Close(); inR.Close() })
			src := DemoSource(time.Millisecond)
			done := make(chan error, 1)
			go func() {
				_, err := Run(ctx, src, DemoEstate(), Options{Input: inR, Output: io.Discard, Width: 80, Height: 24})
				done <- err
			}()
			// Wait until the program has asked for its run, so it is up.
			for deadline := time.Now().Add(5 * time.Second); len(src.Calls()) == 0; {
				if time.Now().After(deadline) {
					t.Fatal("Run never started the source")
				}
				time.Sleep(5 * time.Millisecond)
			}
			tt.act(cancel, inW)
			select {
			case err := <-done:
				if tt.wantErr == nil && err != nil {
					t.Fatalf("Run: %v", err)
				}
				if tt.wantErr != nil && !errors.Is(err, tt.wantErr) {
					t.Fatalf("Run: %v, want %v", err, tt.wantErr)
				}
			case <-time.After(5 * time.Second):
				t.Fatal("Run did not return")
			}
		})
	}
}

var sgrColour = regexp.MustCompile(`\x1b\[[0-9;]*[34]8;`)

func TestNoColor(t *testing.T) {
	if got := applyEnv(Options{}, func(k string) string { return map[string]string{"NO_COLOR": "1"}[k] }); !got.NoColor {
		t.Error("NO_COLOR=1 does not turn colour off")
	}
	if got := applyEnv(Options{}, func(string) string { return "" }); got.NoColor {
		t.Error("colour is off without NO_COLOR")
	}
	for _, noColor := range []bool{false, true} {
		src := DemoSource(0)
		c := &clock{now: t0}
		m := New(context.Background(), src, DemoEstate(), Options{NoColor: noColor, Now: c.Now})
		m = drain(t, m, c, src.Run(context.Background(), nil))
		coloured := sgrColour.MatchString(m.View().Content)
		if coloured == noColor {
			t.Errorf("NoColor=%v: frame has colour codes = %v", noColor, coloured)
		}
	}
}

func TestTopologyScrollsOnNarrowScreen(t *testing.T) {
	m, _ := demoModel(t, 80, 12)
	m = press(t, m, "t")
	before := m.matrix.selected().res.ID
	m = press(t, m, "down", "down")
	if m.detailOffset != 2 {
		t.Errorf("down in the narrow topology view scrolled to %d, want 2", m.detailOffset)
	}
	if m.matrix.selected().res.ID != before {
		t.Error("down in the topology view moved the hidden matrix cursor")
	}
	for range 50 {
		m = press(t, m, "down")
	}
	if m.detailOffset > m.paneLines() {
		t.Errorf("scrolled past the end: offset %d of %d lines", m.detailOffset, m.paneLines())
	}
	checkFits(t, m, 80, 12)
}

// TestClassifyNamesNoCommand: the TUI does not know which command opened it (tui, check or
// demo take different flags), so its errors advise none; the caller names one that works.
func TestClassifyNamesNoCommand(t *testing.T) {
	for name, err := range map[string]error{
		"no terminal": errors.New("open /dev/tty: no such device or address"),
		"panic":       fmt.Errorf("%w: boom", tea.ErrProgramPanic),
	} {
		got := classify(t.Context(), err)
		if got == nil || strings.Contains(got.Error(), "--") || strings.Contains(got.Error(), "netprobe ") {
			t.Errorf("%s: %v, want an error that names no command or flag", name, got)
		}
	}
	if got := classify(t.Context(), errors.New("open /dev/tty: no such device or address")); !errors.Is(got, ErrNoTerminal) {
		t.Errorf("a terminal that cannot be opened: %v, want ErrNoTerminal", got)
	}
}
