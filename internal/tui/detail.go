package tui

import (
	"fmt"
	"slices"
	"strconv"
	"strings"

	"github.com/charmbracelet/x/ansi"

	"github.com/netprobe/netprobe/internal/result"
)

// latencyKeys are the latency percentiles drawn as a profile, in order.
var latencyKeys = []string{result.MetricMinMS, result.MetricP50MS, result.MetricP90MS, result.MetricP95MS, result.MetricP99MS, result.MetricMaxMS}

// detailLines renders everything known about one check as lines of at most w cells:
// what was tested, what was seen, why, what to do, the ASR rule and where it comes from,
// the metrics, and charts for latency and bandwidth.
func detailLines(r *row, hist []float64, live []BandwidthSample, w int, st Styles) []string {
	if r == nil {
		return []string{st.Muted.Render("no check selected")}
	}
	res := r.res
	var out []string
	add := func(spans ...span) { out = append(out, wrapSpans(w, spans...)...) }
	field := func(label, v string) {
		if v != "" {
			add(styled(st.Label, label+": "), plain(v))
		}
	}

	word := strings.ToUpper(r.statusWord())
	stStyle := st.Status(res.Status)
	if !r.done || r.running {
		stStyle = st.Status(0)
	}
	add(styled(stStyle, word), plain("  "), styled(st.Title, res.ID))
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
	add(plain(what))
	if r.running {
		add(styled(st.Status(0), "re-running: the result below is the previous one"))
	}
	if !r.done {
		add(styled(st.Muted, "waiting for a result"))
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
		add(styled(st.Label, "Fix: "), styled(st.Hint, res.Hint))
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
	if ms := metricSpans(res); len(ms) > 0 {
		add(append([]span{styled(st.Label, "Metrics: ")}, ms...)...)
	}
	out = append(out, latencyChart(res, hist, w, st)...)
	out = append(out, bandwidthChart(res, live, w, st)...)
	return out
}

// metricSpans are a result's metrics in human units, sorted by label, each label and value
// one span: "rtt 1.20 ms", "best 14.0 Gbit/s". A port that nothing answered has no round trip
// (its rtt_ms is the time it waited), so none is shown.
func metricSpans(res result.Result) []span {
	items := make([]string, 0, len(res.Metrics))
	for k, v := range res.Metrics {
		if k == result.MetricRTTMS && !answered(res) {
			continue
		}
		label, value := humanMetric(k, v)
		items = append(items, label+" "+value)
	}
	slices.Sort(items)
	var out []span
	for i, it := range items {
		if i > 0 {
			out = append(out, plain("  "))
		}
		out = append(out, wholeSpan(nil, it))
	}
	return out
}

// humanMetric names a metric and writes its value in the unit a person reads: the keys are
// those of docs/results.md, whose suffix names the unit of the number (_ms, mbps, _hours).
func humanMetric(k string, v any) (label, value string) {
	label, value = humanMetricRaw(k, v)
	return strings.ReplaceAll(label, "_", " "), value
}

func humanMetricRaw(k string, v any) (label, value string) {
	f, isNum := result.Number(v)
	switch {
	case isNum && (k == result.MetricMbps || strings.HasSuffix(k, "_mbps")):
		label = strings.TrimSuffix(strings.TrimSuffix(k, "mbps"), "_")
		if label == "" {
			label = "best"
		}
		return label, BitsPerSecond(f * 1e6).String()
	case k == result.MetricPerStream:
		if xs, ok := v.([]any); ok {
			parts := make([]string, len(xs))
			for i, x := range xs {
				xf, _ := result.Number(x)
				parts[i] = BitsPerSecond(xf * 1e6).String()
			}
			return "per stream", strings.Join(parts, ", ")
		}
		if xs, ok := v.([]float64); ok {
			parts := make([]string, len(xs))
			for i, x := range xs {
				parts[i] = BitsPerSecond(x * 1e6).String()
			}
			return "per stream", strings.Join(parts, ", ")
		}
	case isNum && strings.HasSuffix(k, "_ms"):
		return strings.TrimSuffix(k, "_ms"), fmtMS(f)
	case isNum && strings.HasSuffix(k, "_hours"):
		return strings.TrimSuffix(k, "_hours"), fmt.Sprintf("%.1f h", f)
	case isNum && k == result.MetricLoss:
		return k, fmt.Sprintf("%.1f %%", f*100)
	case isNum && k == result.MetricHeadroom:
		return k, fmt.Sprintf("%.2f×", f)
	}
	return k, fmtMetric(v)
}

// answered is false for a port, TLS or endpoint check that nothing answered: the docs'
// reasons for silence (docs/results.md), where a round trip was never measured.
func answered(res result.Result) bool {
	switch res.Reason {
	case "timeout", "no-response", "no-route", "network-down":
		return false
	}
	return true
}

func fmtMetric(v any) string {
	switch v := v.(type) {
	case float64:
		if v == float64(int64(v)) {
			return fmt.Sprintf("%d", int64(v))
		}
		return strconv.FormatFloat(v, 'f', -1, 64)
	case bool:
		if v {
			return "yes"
		}
		return "no"
	case []any:
		parts := make([]string, len(v))
		for i, x := range v {
			parts[i] = fmtMetric(x)
		}
		return strings.Join(parts, ", ")
	case []string:
		return strings.Join(v, ", ")
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
		if v, ok := res.Metrics.Float(k); ok {
			hi = max(hi, v)
		}
	}
	out := []string{st.PaneTitle.Render("Latency")}
	barW := max(4, w-16)
	for _, k := range latencyKeys {
		v, ok := res.Metrics.Float(k)
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
	best, _ := res.Metrics.Float(result.MetricMbps)
	req, _ := res.Metrics.Float(result.MetricRequiredMbps)
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

// bwGauge is "[████░░░░] 412.0 Mbit/s of 500.0 Mbit/s (82%)"; without a requirement there is
// nothing to fill a bar against (an empty one would read as 0 %), so only the rate is written.
func bwGauge(rate, required BitsPerSecond, w int, st Styles) string {
	text := rate.String()
	if required <= 0 {
		return text
	}
	frac := float64(rate / required)
	text += fmt.Sprintf(" of %s (%.0f%%)", required.String(), frac*100)
	barW := max(4, min(30, w-lenCells(text)-3))
	full, empty := gauge(frac, barW)
	return "[" + st.GaugeFull.Render(full) + st.GaugeEmpty.Render(empty) + "] " + text
}

func lenCells(s string) int { return ansi.StringWidth(s) }
