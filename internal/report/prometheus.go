package report

import (
	"fmt"
	"io"
	"math"
	"strings"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/common/expfmt"

	"github.com/netprobe/netprobe/internal/result"
)

// Prometheus writes node_exporter's textfile-collector format (the Prometheus text exposition
// format). Names and labels are a stable contract, documented in docs/results.md, and follow
// Prometheus's conventions (`promtool check metrics` is clean): base units (seconds, bytes),
// no reserved labels, and labels that carry only what identifies a check (never state, reason
// or message, which change between runs and would create new series every time). Every check
// of the run has its series whatever its outcome; a measurement is there when it was made.
type Prometheus struct {
	// FailingRuns holds, per check ID, how many runs in a row the check has failed, this run
	// included (history.FailingRuns). nil means no history was read: the series are then left
	// out rather than guessed from one run.
	FailingRuns map[string]int
}

func init() { registerFormat("prometheus", Prometheus{}) }

// StatusValue is the value of netprobe_check_status for a status. It grows with severity so
// that `netprobe_check_status >= 2` selects every check that is broken or could not run, and
// skip is negative so that it never trips a `> 0` alert.
func StatusValue(s result.Status) float64 {
	switch s {
	case result.Skip:
		return -1
	case result.Pass:
		return 0
	case result.Warn:
		return 1
	case result.Error:
		return 2
	case result.Fail:
		return 3
	}
	return -2 // unset: never produced by the engine
}

// rttPercentiles maps the latency metrics keys to the percentile label, idle and under load
// (the loaded figures come with the bandwidth test that made the load).
var (
	idlePercentiles = []struct{ key, p string }{{result.MetricMinMS, "0"}, {result.MetricP50MS, "50"}, {result.MetricP90MS, "90"},
		{result.MetricP95MS, "95"}, {result.MetricP99MS, "99"}, {result.MetricMaxMS, "100"}}
	loadedPercentiles = []struct{ key, p string }{{result.MetricLoadedP50MS, "50"}, {result.MetricLoadedP95MS, "95"}, {result.MetricLoadedP99MS, "99"}}
)

// promMetrics are the textfile's gauges, each with `topology` as its first label.
type promMetrics struct {
	reg                             *prometheus.Registry
	info, status, failing, duration *prometheus.GaugeVec // failing is nil without history
	rtt, jitter, loss               *prometheus.GaugeVec
	bw, required, headroom, resync  *prometheus.GaugeVec
	pmtu, blackhole                 *prometheus.GaugeVec
	agentUp, results                *prometheus.GaugeVec
	runDuration, runTime, interrupt *prometheus.GaugeVec
}

func newPromMetrics(withFailing bool) *promMetrics {
	m := &promMetrics{reg: prometheus.NewRegistry()}
	gauge := func(name, help string, labels ...string) *prometheus.GaugeVec {
		g := prometheus.NewGaugeVec(prometheus.GaugeOpts{Name: name, Help: help}, append([]string{"topology"}, labels...))
		m.reg.MustRegister(g)
		return g
	}
	checkLabels := []string{"id", "check", "rule", "phase", "from", "to"}
	latencyLabels := []string{"id", "check", "from", "to", "link"}
	pairLabels := []string{"id", "from", "to", "link"}
	m.info = gauge("netprobe_run_info", "Always 1; which netprobe version ran the last run and the SHA-256 of the topology file it was planned from.", "version", "topology_sha256")
	m.status = gauge("netprobe_check_status", "Result of each check: -1 skip, 0 pass, 1 warn, 2 error, 3 fail.", checkLabels...)
	if withFailing {
		m.failing = gauge("netprobe_check_failing_runs", "Runs in a row the check has failed, this one included (runs that could not judge it are passed over); 0 when it did not fail now. From the --history store.", checkLabels...)
	}
	m.duration = gauge("netprobe_check_duration_seconds", "How long each check took.", "id", "check")
	m.rtt = gauge("netprobe_latency_rtt_seconds", "Round-trip time percentiles (0 is the minimum, 100 the maximum) by UDP echo between agents; load=loaded is measured during the bandwidth test of the same check.", append(latencyLabels, "percentile", "load")...)
	m.jitter = gauge("netprobe_latency_jitter_seconds", "Mean absolute difference of consecutive RTT samples (RFC 3550 style), idle.", latencyLabels...)
	m.loss = gauge("netprobe_latency_loss_ratio", "Share of echo samples lost, 0 to 1, idle.", latencyLabels...)
	m.bw = gauge("netprobe_bandwidth_bytes_per_second", "Measured TCP throughput (x 8 for bits per second).", append(pairLabels, "streams")...)
	m.required = gauge("netprobe_bandwidth_required_bytes_per_second", "Throughput the replication needs: sum of churn x (1 + growth) / compression.", pairLabels...)
	m.headroom = gauge("netprobe_bandwidth_headroom_ratio", "Measured / required throughput, rounded down; below 1 the RPO will be missed, below 1.2 it is tight.", pairLabels...)
	m.resync = gauge("netprobe_resync_seconds", "Estimated time to resynchronise the used bytes at the measured rate.", pairLabels...)
	m.pmtu = gauge("netprobe_pmtu_bytes", "Path MTU found.", pairLabels...)
	m.blackhole = gauge("netprobe_pmtu_blackhole", "1 when large packets vanish without an ICMP answer (PMTU black hole).", pairLabels...)
	m.agentUp = gauge("netprobe_run_agent_up", "1 when the agent answered from the start to the end of the last run; 0 when it could not be reached or stopped answering.", "agent", "hosts")
	m.results = gauge("netprobe_run_results", "Number of results of the last run by status.", "status")
	m.runDuration = gauge("netprobe_run_duration_seconds", "Duration of the last run.")
	m.runTime = gauge("netprobe_run_timestamp_seconds", "Unix time the last run started.")
	m.interrupt = gauge("netprobe_run_interrupted", "1 when the last run was interrupted and its results are partial.")
	return m
}

func (p Prometheus) Format(w io.Writer, run result.Run) error {
	m := newPromMetrics(p.FailingRuns != nil)
	topo := run.Topology
	for _, r := range sortedResults(run) {
		m.check(topo, r, p.FailingRuns)
	}
	m.info.WithLabelValues(topo, run.Version, run.TopologySHA256).Set(1)
	for _, a := range run.Agents {
		m.agentUp.WithLabelValues(topo, a.Address, strings.Join(a.Hosts, ",")).Set(boolFloat(a.Up))
	}
	s := summaryOf(run)
	for _, st := range []struct {
		name string
		n    int
	}{{"pass", s.Pass}, {"warn", s.Warn}, {"fail", s.Fail}, {"error", s.Error}, {"skip", s.Skip}} {
		m.results.WithLabelValues(topo, st.name).Set(float64(st.n))
	}
	m.runDuration.WithLabelValues(topo).Set(float64(run.DurationMS) / 1000)
	if !run.StartedAt.IsZero() {
		m.runTime.WithLabelValues(topo).Set(float64(run.StartedAt.UnixMilli()) / 1000)
	}
	m.interrupt.WithLabelValues(topo).Set(boolFloat(run.Interrupted))

	mfs, err := m.reg.Gather()
	if err != nil {
		return fmt.Errorf("prometheus output: %w (two results share an ID?)", err)
	}
	for _, mf := range mfs {
		if _, err := expfmt.MetricFamilyToText(w, mf); err != nil {
			return err
		}
	}
	return nil
}

// check sets the series of one result: its status (every result), then what it measured.
func (m *promMetrics) check(topo string, r result.Result, failingRuns map[string]int) {
	m.status.WithLabelValues(topo, r.ID, string(r.Check), r.Rule, r.Phase, r.From, r.To).Set(StatusValue(r.Status))
	if m.failing != nil {
		n := 0
		if r.Status == result.Fail {
			n = max(failingRuns[r.ID], 1) // it fails now, whatever the history lacks
		}
		m.failing.WithLabelValues(topo, r.ID, string(r.Check), r.Rule, r.Phase, r.From, r.To).Set(float64(n))
	}
	m.duration.WithLabelValues(topo, r.ID, string(r.Check)).Set(float64(r.DurationMS) / 1000)
	mx := r.Metrics
	link := mx.String(result.MetricLink)
	pair := []string{topo, r.ID, r.From, r.To, link}
	switch r.Check {
	case result.CheckLatency, result.CheckBandwidth:
		// A bandwidth test measures the idle RTT before and the loaded RTT during its load.
		lat := []string{topo, r.ID, string(r.Check), r.From, r.To, link}
		for _, q := range idlePercentiles {
			if v, ok := mx.Float(q.key); ok {
				m.rtt.WithLabelValues(append(lat, q.p, "idle")...).Set(msToSeconds(v))
			}
		}
		for _, q := range loadedPercentiles {
			if v, ok := mx.Float(q.key); ok {
				m.rtt.WithLabelValues(append(lat, q.p, "loaded")...).Set(msToSeconds(v))
			}
		}
		if v, ok := mx.Float(result.MetricJitterMS); ok {
			m.jitter.WithLabelValues(lat...).Set(msToSeconds(v))
		}
		if v, ok := mx.Float(result.MetricLoss); ok {
			m.loss.WithLabelValues(lat...).Set(v)
		}
	}
	switch r.Check {
	case result.CheckBandwidth, result.CheckBlob: // a blob test's link is azure-storage
		if v, ok := mx.Float(result.MetricMbps); ok {
			m.bw.WithLabelValues(append(pair, mx.String(result.MetricStreams))...).Set(mbpsToBytes(v))
		}
		if v, ok := mx.Float(result.MetricRequiredMbps); ok {
			m.required.WithLabelValues(pair...).Set(mbpsToBytes(v))
		}
		if v, ok := mx.Float(result.MetricHeadroom); ok {
			m.headroom.WithLabelValues(pair...).Set(v)
		}
		if v, ok := mx.Float(result.MetricResyncHours); ok {
			m.resync.WithLabelValues(pair...).Set(math.Round(v * 3600))
		}
	case result.CheckPMTU:
		if v, ok := mx.Float(result.MetricMTU); ok {
			m.pmtu.WithLabelValues(pair...).Set(v)
		}
		if _, ok := mx[result.MetricBlackhole]; ok {
			m.blackhole.WithLabelValues(pair...).Set(boolFloat(mx.Bool(result.MetricBlackhole)))
		}
	}
}

// msToSeconds converts without float noise (5.1 ms -> 0.0051, not 0.0050999999999999995):
// the textfile is read by people too. Nanosecond resolution is far below what is measured.
func msToSeconds(ms float64) float64 { return math.Round(ms*1e6) / 1e9 }

// mbpsToBytes converts Mbit/s to bytes per second: 125,000 per Mbit/s. The results carry
// Mbit/s to two decimals, 1,250 bytes/s, so whole bytes lose nothing and show no float noise.
func mbpsToBytes(mbps float64) float64 { return math.Round(mbps * 125000) }

func boolFloat(b bool) float64 {
	if b {
		return 1
	}
	return 0
}
