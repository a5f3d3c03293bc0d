package tui

import (
	"fmt"
	"slices"
	"strings"

	"github.com/charmbracelet/x/ansi"

	"github.com/netprobe/netprobe/internal/result"
)

// latencyKeys are the latency percentiles drawn as a profile, in order.
var latencyKeys = []string{"min_ms", "p50_ms", "p90_ms", "p95_ms", "p99_ms", "max_ms"}

// detailLines renders everything known about one check as lines of at most w cells:
// what was tested, what was seen, why, what to do, the ASR rule and where it comes from,
// the metrics, and charts for latency and bandwidth.
func detailLines(r *row, hist []float64, live []BandwidthSample, w int, st Styles) []string {
	if r == nil {
		return []string{st.Muted.Render("no check selected")}
	}
	res := r.res
	var out []string
	add := func(s string) { out = append(out, strings.Split(ansi.Wrap(s, w, " "), "\n")...) }
	field := func(label, v string) {
		if v != "" {
			add(st.Label.Render(label+": ") + v)
		}
	}

	word := strings.ToUpper(r.statusWord())
	stStyle := st.Status(res.Status)
	if !r.done || r.running {
		stStyle = st.Status(0)
	}
	add(stStyle.Render(word) + "  " + st.Title.Render(res.ID))
	what := res.From + " → " + res.To
	if res.Target != "" {
		what += "  " + res.Target
		if res.Proto != "" {
			what += "/" + res.Proto
		}
	}
	if res.Expect != "" {
		what += "  expect " + res.Expect
	}
	add(what)
	if r.running {
		add(st.Status(0).Render("re-running: the result below is the previous one"))
	}
	if !r.done {
		add(st.Muted.Render("waiting for a result"))
		return append(out, bandwidthChart(res, live, w, st)...)
	}
	obs := res.State
	if res.Reason != "" {
		obs += " (" + res.Reason + ")"
	}
	if s := stateCell(res); obs == "" {
		obs = s
	}
	field("Observed", obs)
	field("Message", res.Message)
	if res.Hint != "" {
		add(st.Label.Render("Fix: ") + st.Hint.Render(res.Hint))
	}
	rule := res.Rule
	if res.Phase != "" {
		rule += " · " + res.Phase
	}
	if res.Confidence != "" {
		rule += " · confidence " + res.Confidence
	}
	field("Rule", strings.TrimPrefix(rule, " · "))
	field("Source", res.Source)
	field("Answered", answerLine(res))
	field("Evidence", res.Evidence)

	if len(res.Metrics) > 0 {
		keys := make([]string, 0, len(res.Metrics))
		for k := range res.Metrics {
			keys = append(keys, k)
		}
		slices.Sort(keys)
		parts := make([]string, len(keys))
		for i, k := range keys {
			parts[i] = k + "=" + fmtMetric(res.Metrics[k])
		}
		field("Metrics", strings.Join(parts, "  "))
	}
	out = append(out, latencyChart(res, hist, w, st)...)
	out = append(out, bandwidthChart(res, live, w, st)...)
	return out
}

func fmtMetric(v any) string {
	switch v := v.(type) {
	case float64:
		if v == float64(int64(v)) {
			return fmt.Sprintf("%d", int64(v))
		}
		return fmt.Sprintf("%.3g", v)
	case []any:
		parts := make([]string, len(v))
		for i, x := range v {
			parts[i] = fmtMetric(x)
		}
		return strings.Join(parts, ",")
	case []string:
		return strings.Join(v, ",")
	}
	return fmt.Sprint(v)
}

// latencyChart draws the percentile profile of a latency result as bars, and the history of
// its p95 over re-runs as a sparkline, so an admin sees a change land.
func latencyChart(res result.Result, hist []float64, w int, st Styles) []string {
	if res.Check != result.CheckLatency {
		return nil
	}
	hi := 0.0
	for _, k := range latencyKeys {
		if v, ok := metricFloat(res.Metrics, k); ok {
			hi = max(hi, v)
		}
	}
	out := []string{st.PaneTitle.Render("Latency")}
	barW := max(4, w-16)
	for _, k := range latencyKeys {
		v, ok := metricFloat(res.Metrics, k)
		if !ok {
			continue
		}
		frac := 0.0
		if hi > 0 {
			frac = v / hi
		}
		full, empty := gauge(frac, barW)
		out = append(out, fmt.Sprintf("%-4s %8s ", strings.TrimSuffix(k, "_ms"), fmtMS(v))+
			st.Spark.Render(full)+st.GaugeEmpty.Render(empty))
	}
	if len(hist) > 1 {
		out = append(out, "p95 over runs "+st.Spark.Render(sparkline(hist, max(4, w-14))))
	}
	return out
}

// bandwidthChart draws the best rate against the requirement as a gauge, and the
// per-interval rates as a sparkline with the last few values written out.
func bandwidthChart(res result.Result, live []BandwidthSample, w int, st Styles) []string {
	// Live samples exist only while a test runs (the final result clears them), so they win
	// over the intervals of the previous result during a re-run.
	rates := slices.Clone(res.Intervals)
	if len(live) > 0 {
		rates = rates[:0]
		for _, s := range live {
			rates = append(rates, float64(s.Rate))
		}
	}
	if len(rates) == 0 && (res.Check != result.CheckBandwidth || res.Status == 0) {
		return nil
	}
	out := []string{st.PaneTitle.Render("Bandwidth")}
	best, _ := metricFloat(res.Metrics, "mbps")
	req, _ := metricFloat(res.Metrics, "required_mbps")
	if len(live) > 0 {
		best = float64(live[len(live)-1].Rate) / 1e6 // the rate now, not the old best
	} else if best == 0 && len(rates) > 0 {
		best = slices.Max(rates) / 1e6
	}
	if req == 0 && len(live) > 0 {
		req = float64(live[len(live)-1].Required) / 1e6
	}
	out = append(out, bwGauge(BitsPerSecond(best*1e6), BitsPerSecond(req*1e6), w, st))
	if len(rates) > 0 {
		out = append(out, "per second "+st.Spark.Render(sparkline(rates, max(4, w-11))))
		tail := rates[max(0, len(rates)-6):]
		parts := make([]string, len(tail))
		for i, v := range tail {
			parts[i] = fmt.Sprintf("%.0f", v/1e6)
		}
		out = append(out, st.Muted.Render(ansi.Truncate("last Mbit/s: "+strings.Join(parts, " "), w, "…")))
	}
	return out
}

// bwGauge is "[████░░░░] 412.0 Mbit/s of 500.0 Mbit/s (82%)"; without a requirement the bar
// is empty and only the rate is written.
func bwGauge(rate, required BitsPerSecond, w int, st Styles) string {
	text := rate.String()
	frac := 0.0
	if required > 0 {
		frac = float64(rate / required)
		text += fmt.Sprintf(" of %s (%.0f%%)", required.String(), frac*100)
	}
	barW := max(4, min(30, w-lenCells(text)-3))
	full, empty := gauge(frac, barW)
	return "[" + st.GaugeFull.Render(full) + st.GaugeEmpty.Render(empty) + "] " + text
}

func lenCells(s string) int { return ansi.StringWidth(s) }
