package tui

import (
	"fmt"
	"strings"
	"testing"
	"time"

	tea "charm.land/bubbletea/v2"

	"github.com/netprobe/netprobe/internal/result"
)

// TestViewsGolden draws every view of the TUI at the smallest supported size and a large
// one, from the demo result set with a fixed clock, and compares with the golden files.
func TestViewsGolden(t *testing.T) {
	views := []struct {
		name string
		keys []string
		text string   // typed into the filter after keys
		then []string // keys after the text
	}{
		{name: "matrix"},
		{name: "detail", keys: []string{"enter"}},
		{name: "topology", keys: []string{"t"}},
		{name: "help", keys: []string{"?"}},
		{name: "filter", keys: []string{"/"}, text: "cs01"},
		{name: "latency", keys: []string{"/"}, text: "latency", then: []string{"enter", "enter"}},
		{name: "port-failure", keys: []string{"/"}, text: "sql01 filtered", then: []string{"enter", "enter"}},
		{name: "sorted-rtt", keys: []string{"s", "p"}},
	}
	for _, size := range [][2]int{{80, 24}, {160, 48}} {
		for _, v := range views {
			name := fmt.Sprintf("%s-%dx%d", v.name, size[0], size[1])
			t.Run(name, func(t *testing.T) {
				m, _ := demoModel(t, size[0], size[1])
				m = press(t, m, v.keys...)
				m = typeText(t, m, v.text)
				m = press(t, m, v.then...)
				checkFits(t, m, size[0], size[1])
				golden(t, name, screen(m))
			})
		}
	}
}

// TestViewLiveBandwidth draws a run in progress: a bandwidth test streaming per-interval
// rates shows a live gauge in the header and a sparkline in its detail.
func TestViewLiveBandwidth(t *testing.T) {
	for _, size := range [][2]int{{80, 24}, {160, 48}} {
		name := fmt.Sprintf("live-%dx%d", size[0], size[1])
		t.Run(name, func(t *testing.T) {
			c := &clock{now: t0}
			m := New(t.Context(), DemoSource(0), DemoEstate(), Options{NoColor: true, Now: c.Now})
			m, _ = send(t, m, windowSize(size[0], size[1]))
			m, _ = send(t, m, streamMsg{ch: make(chan Event)})
			rs := DemoResults()
			planned := make([]result.Result, len(rs))
			for i, r := range rs {
				planned[i] = result.Result{ID: r.ID, Check: r.Check, Rule: r.Rule, Phase: r.Phase, From: r.From, To: r.To, Target: r.Target, Proto: r.Proto}
			}
			m.apply(Event{Planned: planned})
			m.apply(Event{Result: &rs[0]})
			m.apply(Event{Result: &rs[2]})
			for i, bps := range []float64{98e6, 121e6, 135e6} {
				m.apply(Event{Interval: &BandwidthSample{ID: "bandwidth/ps-az01/cs01", Interval: i + 1, Rate: BitsPerSecond(bps), Required: 180e6}})
			}
			c.now = t0.Add(3 * time.Second)
			m = typeText(t, press(t, m, "/"), "bandwidth")
			m = press(t, m, "enter")
			checkFits(t, m, size[0], size[1])
			got := screen(m)
			golden(t, name, got)
			for _, want := range []string{"bw bandwidth/ps-az01/cs01", "135.0 Mbit/s of 180.0 Mbit/s (75%)", "WAIT"} {
				if !strings.Contains(got, want) {
					t.Errorf("live view lacks %q", want)
				}
			}
		})
	}
}

func windowSize(w, h int) tea.WindowSizeMsg { return tea.WindowSizeMsg{Width: w, Height: h} }
