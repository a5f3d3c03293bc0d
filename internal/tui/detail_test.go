package tui

import (
	"strings"
	"testing"

	"github.com/charmbracelet/x/ansi"

	"github.com/netprobe/netprobe/internal/result"
)

// TestDetailWrappedLinesKeepStyle: a hint that wraps over several lines of the pane is in the
// hint's colour on every one of them, and no text inside the pane takes the border's grey.
func TestDetailWrappedLinesKeepStyle(t *testing.T) {
	for name, keys := range map[string][]string{"pane": {"enter"}, "focused pane": {"enter", "enter"}} {
		t.Run(name, func(t *testing.T) {
			src := DemoSource(0)
			c := &clock{now: t0}
			m := New(t.Context(), src, DemoEstate(), Options{Now: c.Now})
			m, _ = send(t, m, windowSize(80, 40))
			m = drain(t, m, c, src.Run(t.Context(), nil))
			m = press(t, typeText(t, press(t, m, "/"), "bandwidth"), keys...)
			checkHintStyle(t, m)
		})
	}
}

func checkHintStyle(t *testing.T, m Model) {
	t.Helper()
	th := DefaultTheme()
	hint := colourSGR(th.Warn)
	grey := colourSGR(th.Border)
	wrapped := 0
	for _, l := range strings.Split(m.View().Content, "\n") {
		text := ansi.Strip(l)
		if strings.Contains(text, "Raise the VPN SKU") || strings.Contains(text, "31 hours") {
			wrapped++
			if !strings.Contains(l, hint) {
				t.Errorf("a line of the hint lost its colour: %q", l)
			}
		}
		// The border's grey may colour the border characters only.
		// (and the empty part of a gauge).
		for _, seg := range strings.Split(l, grey+"m")[1:] {
			if i := strings.Index(seg, "\x1b["); i > 0 && strings.Trim(ansi.Strip(seg[:i]), "│┃╭╮╰╯─━┏┓┗┛░ ") != "" {
				t.Errorf("text in the border's grey: %q in %q", ansi.Strip(seg[:i]), text)
			}
		}
	}
	if wrapped < 2 {
		t.Fatalf("the hint did not wrap (%d lines): the test proves nothing", wrapped)
	}
}

// colourSGR is the parameter part of the escape sequence lipgloss writes for c as foreground.
func colourSGR(c interface{ RGBA() (r, g, b, a uint32) }) string {
	r, g, b, _ := c.RGBA()
	return "38;2;" + itoa(int(r>>8)) + ";" + itoa(int(g>>8)) + ";" + itoa(int(b>>8))
}

func itoa(n int) string {
	if n == 0 {
		return "0"
	}
	s := ""
	for ; n > 0; n /= 10 {
		s = string(rune('0'+n%10)) + s
	}
	return s
}

func TestDetailMetricsInHumanUnits(t *testing.T) {
	tests := []struct {
		name    string
		res     result.Result
		want    []string
		notWant []string
	}{
		{name: "bandwidth",
			res: result.Result{ID: "bandwidth/ps-az/mt01/4", Check: result.CheckBandwidth, Status: result.Pass,
				Metrics: map[string]any{"mbps": 14000.0, "required_mbps": 57.6, "headroom": 243.06, "resync_hours": 0.03, "per_stream": []any{3500.0, 3499.5}, "streams": 4.0, "loaded_p95_ms": 1.82}},
			want:    []string{"best 14.0 Gbit/s", "required 57.6 Mbit/s", "headroom 243.06×", "resync 0.0 h", "per stream 3.50 Gbit/s, 3.50 Gbit/s", "streams 4", "loaded p95 1.82 ms"},
			notWant: []string{"e+", "mbps"}},
		{name: "open port answered after a second",
			res: result.Result{ID: "port/a/b/443/tcp", Check: result.CheckPort, Status: result.Pass, State: "open", Reason: "syn-ack",
				Metrics: map[string]any{"rtt_ms": 1000.0, "source_ip": "127.0.1.4", "answered_by": "responder"}},
			want: []string{"rtt 1.00 s", "source ip 127.0.1.4", "answered by responder"}, notWant: []string{"e+03", "rtt_ms"}},
		{name: "filtered port: no round trip",
			res: result.Result{ID: "port/a/b/9443/tcp", Check: result.CheckPort, Status: result.Fail, State: "filtered", Reason: "timeout",
				Metrics: map[string]any{"rtt_ms": 1015.55, "source_ip": "127.0.2.4"}},
			want: []string{"source ip 127.0.2.4"}, notWant: []string{"rtt", "1.02 s", "1015"}},
		{name: "latency",
			res: result.Result{ID: "latency/a/b", Check: result.CheckLatency, Status: result.Pass,
				Metrics: map[string]any{"p95_ms": 0.097024, "loss": 0.05, "samples": 20.0}},
			want: []string{"p95 0.10 ms", "loss 5.0 %", "samples 20"}},
		{name: "path",
			res: result.Result{ID: "path/a/s2s", Check: result.CheckPath, Status: result.Pass,
				Metrics: map[string]any{"hops": []any{"127.0.1.8", "127.0.1.9"}, "private": true}},
			want: []string{"hops 127.0.1.8, 127.0.1.9", "private yes"}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			st := DefaultStyles(DefaultTheme(), true)
			r := &row{}
			r.set(tc.res, true)
			got := strings.Join(detailLines(r, nil, nil, 200, st), "\n")
			metrics := got[strings.Index(got, "Metrics:"):]
			metrics = metrics[:strings.IndexByte(metrics+"\n", '\n')]
			for _, w := range tc.want {
				if !strings.Contains(metrics, w) {
					t.Errorf("metrics lack %q: %s", w, metrics)
				}
			}
			for _, w := range tc.notWant {
				if strings.Contains(metrics, w) {
					t.Errorf("metrics show %q: %s", w, metrics)
				}
			}
		})
	}
}

// TestGaugeOnlyAgainstARequirement: a rate with no requirement is a number, not an empty bar
// that reads as 0 %.
func TestGaugeOnlyAgainstARequirement(t *testing.T) {
	st := DefaultStyles(DefaultTheme(), true)
	if got := bwGauge(34.6e9, 0, 60, st); got != "34.6 Gbit/s" {
		t.Errorf("without a requirement: %q, want the rate alone", got)
	}
	if got := bwGauge(90e6, 180e6, 60, st); !strings.Contains(got, "█") || !strings.Contains(got, "░") || !strings.Contains(got, "90.0 Mbit/s of 180.0 Mbit/s (50%)") {
		t.Errorf("against a requirement: %q, want a half-full bar", got)
	}
}

// TestRTTColumnEmptyWhenNothingAnswered: a filtered port's rtt_ms is how long the probe
// waited; the RTT column leaves it out.
func TestRTTColumnEmptyWhenNothingAnswered(t *testing.T) {
	for _, tc := range []struct {
		state, reason string
		want          bool
	}{
		{"filtered", "timeout", false},
		{"open|filtered", "no-response", false},
		{"unreachable", "no-route", false},
		{"open", "syn-ack", true},
		{"closed", "reset", true},
		{"filtered", "icmp-admin-prohibited", true}, // a router answered: that round trip is real
	} {
		r := &row{}
		r.set(result.Result{ID: "port/a/b/1/tcp", Check: result.CheckPort, Status: result.Fail, State: tc.state, Reason: tc.reason,
			Metrics: map[string]any{"rtt_ms": 1001.0}}, true)
		if _, ok := r.rtt(); ok != tc.want {
			t.Errorf("%s (%s): rtt shown %v, want %v", tc.state, tc.reason, ok, tc.want)
		}
		line := ansi.Strip(new(matrix).renderRow(r, layoutColumns(100, 4, 4), DefaultStyles(DefaultTheme(), true), false))
		if shown := strings.Contains(line, "1.00 s"); shown != tc.want {
			t.Errorf("%s (%s): row %q, RTT shown %v, want %v", tc.state, tc.reason, line, shown, tc.want)
		}
	}
}

func TestWrapSpans(t *testing.T) {
	tests := []struct {
		name  string
		w     int
		spans []span
		want  []string
	}{
		{name: "breaks at spaces", w: 10, spans: []span{plain("one two three four")}, want: []string{"one two", "three four"}},
		{name: "a whole span moves to the next line", w: 12, spans: []span{plain("ab  "), wholeSpan(nil, "rtt 1.00 s"), plain("  "), wholeSpan(nil, "mtu 1500")},
			want: []string{"ab", "rtt 1.00 s", "mtu 1500"}},
		{name: "a word wider than the line is cut", w: 4, spans: []span{plain("abcdefghij k")}, want: []string{"abcd", "efgh", "ij k"}},
		{name: "empty", w: 5, want: []string{""}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			got := wrapSpans(tc.w, tc.spans...)
			if strings.Join(got, "|") != strings.Join(tc.want, "|") {
				t.Errorf("wrapSpans = %q, want %q", got, tc.want)
			}
			for _, l := range got {
				if ansi.StringWidth(l) > tc.w {
					t.Errorf("line %q wider than %d", l, tc.w)
				}
			}
		})
	}
}
