package report

import (
	"bytes"
	"fmt"
	"maps"
	"os"
	"path/filepath"
	"regexp"
	"slices"
	"sort"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"
	dto "github.com/prometheus/client_model/go"
	"github.com/prometheus/common/expfmt"
	"github.com/prometheus/common/model"

	"github.com/netprobe/netprobe/internal/promtool"
	"github.com/netprobe/netprobe/internal/result"
)

// parseProm parses textfile output as Prometheus does.
func parseProm(t *testing.T, out []byte) map[string]*dto.MetricFamily {
	t.Helper()
	p := expfmt.NewTextParser(model.UTF8Validation)
	mfs, err := p.TextToMetricFamilies(bytes.NewReader(out))
	if err != nil {
		t.Fatalf("textfile output does not parse: %v\n%s", err, out)
	}
	return mfs
}

func formatWith(t *testing.T, f Formatter, run result.Run) []byte {
	t.Helper()
	var buf bytes.Buffer
	if err := f.Format(&buf, run); err != nil {
		t.Fatal(err)
	}
	return buf.Bytes()
}

// seriesKeys lists every series of the output as name{label="value",...}, sorted.
func seriesKeys(mfs map[string]*dto.MetricFamily) []string {
	var out []string
	for name, mf := range mfs {
		for _, m := range mf.GetMetric() {
			var ls []string
			for _, lp := range m.GetLabel() {
				ls = append(ls, fmt.Sprintf("%s=%q", lp.GetName(), lp.GetValue()))
			}
			sort.Strings(ls)
			out = append(out, name+"{"+strings.Join(ls, ",")+"}")
		}
	}
	sort.Strings(out)
	return out
}

// TestPrometheusFailingRuns: with the history's counts every check has a failing-runs series,
// 0 unless it fails now; a failing check the history knows nothing of counts 1. Without a
// history the family is left out, not guessed.
func TestPrometheusFailingRuns(t *testing.T) {
	run := fixedRun(t)
	mfs := parseProm(t, formatWith(t, Prometheus{FailingRuns: map[string]int{
		"port/sql01/cs01/443/tcp":  5,
		"port/ps-az/mt01/9443/tcp": 7, // passes now: a stale count must not show
	}}, run))
	got := map[string]float64{}
	for _, m := range mfs["netprobe_check_failing_runs"].GetMetric() {
		labels := map[string]string{}
		for _, lp := range m.GetLabel() {
			labels[lp.GetName()] = lp.GetValue()
		}
		got[labels["id"]] = m.GetGauge().GetValue()
		if labels["rule"] == "" && labels["check"] != string(result.CheckLint) {
			t.Errorf("%s: no rule label: %v", labels["id"], labels)
		}
	}
	want := map[string]float64{}
	for _, r := range run.Results {
		want[r.ID] = 0
	}
	want["port/sql01/cs01/443/tcp"] = 5
	want["pmtu/ps-az/s2s"] = 1
	if !maps.Equal(got, want) {
		t.Errorf("failing runs %v, want %v", got, want)
	}

	if _, ok := parseProm(t, formatWith(t, Prometheus{}, run))["netprobe_check_failing_runs"]; ok {
		t.Error("netprobe_check_failing_runs written without a history")
	}
}

// TestPrometheusSeriesStable: two runs of the same plan with different outcomes, messages and
// figures have exactly the same series; only values change. A label holding state would
// make a new series every run.
func TestPrometheusSeriesStable(t *testing.T) {
	run := fixedRun(t)
	other := fixedRun(t)
	other.StartedAt = other.StartedAt.Add(3600e9)
	other.DurationMS *= 2
	other.Interrupted = true
	rotate := map[result.Status]result.Status{result.Pass: result.Fail, result.Fail: result.Warn, result.Warn: result.Error, result.Error: result.Pass, result.Skip: result.Skip}
	for i := range other.Results {
		r := &other.Results[i]
		r.Status = rotate[r.Status]
		r.Message, r.Hint, r.State, r.Reason = "something else", "do something else", "closed", "reset"
		r.DurationMS += 17
		for k, v := range r.Metrics {
			if f, ok := v.(float64); ok && k != "streams" {
				r.Metrics[k] = f*1.5 + 1
			}
		}
		if _, ok := r.Metrics["blackhole"]; ok {
			r.Metrics["blackhole"] = false
		}
	}
	for i := range other.Agents {
		other.Agents[i].Up = !other.Agents[i].Up
		other.Agents[i].Error = "another error"
	}
	counts := map[string]int{"port/sql01/cs01/443/tcp": 2}
	a := seriesKeys(parseProm(t, formatWith(t, Prometheus{FailingRuns: counts}, run)))
	b := seriesKeys(parseProm(t, formatWith(t, Prometheus{FailingRuns: counts}, other)))
	if !slices.Equal(a, b) {
		t.Errorf("series differ between runs of the same plan:\nfirst only: %v\nsecond only: %v", minus(a, b), minus(b, a))
	}
	if len(a) < 50 {
		t.Errorf("only %d series: the fixture should exercise every family", len(a))
	}
}

func minus(a, b []string) []string {
	var out []string
	for _, x := range a {
		if !slices.Contains(b, x) {
			out = append(out, x)
		}
	}
	return out
}

// withHistory is the textfile a cron run with --history writes for the fixed run: the
// failing check of the port rule has failed 4 runs in a row, the black hole is new.
func withHistory(t *testing.T) []byte {
	t.Helper()
	return formatWith(t, Prometheus{FailingRuns: map[string]int{"port/sql01/cs01/443/tcp": 4}}, fixedRun(t))
}

func TestGoldenWithHistory(t *testing.T) {
	golden(t, "golden/run.history.prom", withHistory(t))
}

// TestPrometheusDocumented: docs/results.md lists exactly the families the textfile holds,
// each with exactly its labels (besides topology).
func TestPrometheusDocumented(t *testing.T) {
	b, err := os.ReadFile(filepath.Join("..", "..", "docs", "results.md"))
	if err != nil {
		t.Fatal(err)
	}
	doc := string(b)
	start := strings.Index(doc, "| metric | labels (besides `topology`) | value |")
	if start < 0 {
		t.Fatal("docs/results.md has no metrics table")
	}
	row := regexp.MustCompile("^\\| `(netprobe_[a-z_]+)` \\| ?([^|]*) \\|")
	paren := regexp.MustCompile(`\([^)]*\)`)
	tick := regexp.MustCompile("`([a-z_0-9]+)`")
	documented := map[string][]string{}
	for _, line := range strings.Split(doc[start:], "\n")[2:] {
		if !strings.HasPrefix(line, "|") {
			break
		}
		m := row.FindStringSubmatch(line)
		if m == nil {
			t.Errorf("unreadable row: %s", line)
			continue
		}
		var labels []string
		for _, l := range tick.FindAllStringSubmatch(paren.ReplaceAllString(m[2], ""), -1) {
			labels = append(labels, l[1])
		}
		sort.Strings(labels)
		documented[m[1]] = labels
	}
	emitted := map[string][]string{}
	for name, mf := range parseProm(t, withHistory(t)) {
		var labels []string
		for _, lp := range mf.GetMetric()[0].GetLabel() {
			if lp.GetName() != "topology" {
				labels = append(labels, lp.GetName())
			}
		}
		sort.Strings(labels)
		emitted[name] = labels
	}
	if diff := cmp.Diff(documented, emitted); diff != "" {
		t.Errorf("docs/results.md (-) and the textfile (+) differ:\n%s", diff)
	}
}

// TestPromtoolCheckMetrics: Prometheus's own linter finds nothing to say about the textfile,
// with and without the history's series.
func TestPromtoolCheckMetrics(t *testing.T) {
	t.Run("with history", func(t *testing.T) { promtool.CheckMetrics(t, withHistory(t)) })
	t.Run("without", func(t *testing.T) { promtool.CheckMetrics(t, format(t, "prometheus", fixedRun(t))) })
}
