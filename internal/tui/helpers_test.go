package tui

import (
	"context"
	"flag"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	tea "charm.land/bubbletea/v2"
	"github.com/charmbracelet/x/ansi"
	"github.com/google/go-cmp/cmp"
)

var update = flag.Bool("update", false, "rewrite the golden files in testdata/")

// t0 is the fixed clock of every test: elapsed times in goldens never change.
var t0 = time.Date(2026, 11, 25, 14, 0, 0, 0, time.UTC)

// clock is a settable fake clock.
type clock struct{ now time.Time }

func (c *clock) Now() time.Time { return c.now }

// send feeds one message to the model and returns the model and its command.
func send(t testing.TB, m Model, msg tea.Msg) (Model, tea.Cmd) {
	t.Helper()
	nm, cmd := m.Update(msg)
	out, ok := nm.(Model)
	if !ok {
		t.Fatalf("Update returned %T, want Model", nm)
	}
	return out, cmd
}

func keyMsg(s string) tea.KeyPressMsg {
	switch s {
	case "enter":
		return tea.KeyPressMsg{Code: tea.KeyEnter}
	case "esc":
		return tea.KeyPressMsg{Code: tea.KeyEscape}
	case "tab":
		return tea.KeyPressMsg{Code: tea.KeyTab}
	case "down":
		return tea.KeyPressMsg{Code: tea.KeyDown}
	case "up":
		return tea.KeyPressMsg{Code: tea.KeyUp}
	case "ctrl+c":
		return tea.KeyPressMsg{Code: 'c', Mod: tea.ModCtrl}
	}
	r := []rune(s)[0]
	return tea.KeyPressMsg{Code: r, Text: s}
}

// press sends keys one by one; each "word" of keys is one key press.
func press(t testing.TB, m Model, keys ...string) Model {
	t.Helper()
	for _, k := range keys {
		m, _ = send(t, m, keyMsg(k))
	}
	return m
}

// typeText sends every rune of s as a key press (for the filter input).
func typeText(t testing.TB, m Model, s string) Model {
	t.Helper()
	for _, r := range s {
		m, _ = send(t, m, tea.KeyPressMsg{Code: r, Text: string(r)})
	}
	return m
}

// drain runs a whole stream of src through the model synchronously, as the program would,
// advancing the fake clock by 4s over the run.
func drain(t testing.TB, m Model, c *clock, ch <-chan Event) Model {
	t.Helper()
	// The stream's command may batch the elapsed-time tick, which would wait a real second:
	// read the stream directly instead, as that command would.
	m, _ = send(t, m, streamMsg{ch: ch})
	cmd := waitEvent(ch)
	for cmd != nil {
		msg := cmd()
		if _, ok := msg.(streamClosedMsg); ok {
			c.now = c.now.Add(4 * time.Second)
		}
		m, cmd = send(t, m, msg)
	}
	return m
}

// demoModel is the TUI after a full run of the demo source, at w x h, without colour.
func demoModel(t testing.TB, w, h int) (Model, *ReplaySource) {
	t.Helper()
	src := DemoSource(0)
	c := &clock{now: t0}
	m := New(context.Background(), src, DemoEstate(), Options{NoColor: true, Now: c.Now})
	m, _ = send(t, m, tea.WindowSizeMsg{Width: w, Height: h})
	m = drain(t, m, c, src.Run(context.Background(), nil))
	return m, src
}

// screen is the model's frame with ANSI stripped and trailing blanks cut, as a user reads it.
func screen(m Model) string {
	lines := strings.Split(ansi.Strip(m.View().Content), "\n")
	for i, l := range lines {
		lines[i] = strings.TrimRight(l, " ")
	}
	return strings.Join(lines, "\n")
}

// golden compares got with testdata/name.golden, or rewrites it with -update.
func golden(t *testing.T, name, got string) {
	t.Helper()
	path := filepath.Join("testdata", name+".golden")
	if *update {
		if err := os.WriteFile(path, []byte(got), 0o644); err != nil {
			t.Fatal(err)
		}
		return
	}
	want, err := os.ReadFile(path)
	if err != nil {
		t.Fatalf("%v (run go test ./internal/tui -update to create it)", err)
	}
	if d := cmp.Diff(string(want), got); d != "" {
		t.Errorf("%s differs from the golden file (-want +got); if the change is intended, run go test ./internal/tui -update:\n%s", path, d)
	}
}

// checkFits fails when the raw frame is not exactly h lines of at most w cells.
func checkFits(t *testing.T, m Model, w, h int) {
	t.Helper()
	lines := strings.Split(m.View().Content, "\n")
	if len(lines) != h {
		t.Errorf("%dx%d: frame has %d lines, want %d", w, h, len(lines), h)
	}
	for i, l := range lines {
		if lw := ansi.StringWidth(l); lw > w {
			t.Errorf("%dx%d: line %d is %d cells wide: %q", w, h, i, lw, ansi.Strip(l))
		}
	}
}
