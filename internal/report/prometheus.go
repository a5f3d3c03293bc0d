package report

import (
	"fmt"
	"io"
	"math"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/common/expfmt"

	"github.com/netprobe/netprobe/internal/result"
)

// Prometheus writes node_exporter's textfile-collector format (the Prometheus text exposition
// format). Names and labels are a stable contract, documented in docs/results.md: labels carry
// only what identifies a check (never state, reason or message, which change between runs and
// would create new series every time).
type Prometheus struct{}

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

// latency quantiles: metrics key -> quantile label, idle and under load.
var (
	idleQuantiles   = []struct{ key, q string }{{"min_ms", "0"}, {"p50_ms", "0.5"}, {"p90_ms", "0.9"}, {"p95_ms", "0.95"}, {"p99_ms", "0.99"}, {"max_ms", "1"}}
	loadedQuantiles = []struct{ key, q string }{{"loaded_p50_ms", "0.5"}, {"loaded_p95_ms", "0.95"}, {"loaded_p99_ms", "0.99"}}
)

func (Prometheus) Format(w io.Writer, run result.Run) error {
	reg := prometheus.NewRegistry()
	gauge := func(name, help string, labels ...string) *prometheus.GaugeVec {
		g := prometheus.NewGaugeVec(prometheus.GaugeOpts{Name: name, Help: help}, append([]string{"topology"}, labels...))
		reg.MustRegister(g)
		return g
	}
	checkLabels := []string{"id", "check", "rule", "phase", "from", "to"}
	pairLabels := []string{"id", "from", "to"}
	var (
		status   = gauge("netprobe_check_status", "Result of each check: -1 skip, 0 pass, 1 warn, 2 error, 3 fail.", checkLabels...)
		duration = gauge("netprobe_check_duration_seconds", "How long each check took.", "id", "check")
		latency  = gauge("netprobe_latency_seconds", "Round-trip time percentiles by UDP echo; load=loaded is measured during the bandwidth test.", append(pairLabels, "quantile", "load")...)
		jitter   = gauge("netprobe_latency_jitter_seconds", "Mean absolute difference of consecutive RTT samples (RFC 3550 style).", pairLabels...)
		loss     = gauge("netprobe_latency_loss_ratio", "Share of echo samples lost, 0 to 1.", pairLabels...)
		bw       = gauge("netprobe_bandwidth_bits_per_second", "Measured TCP throughput.", append(pairLabels, "direction", "streams")...)
		required = gauge("netprobe_bandwidth_required_bits_per_second", "Bandwidth the replication needs: sum of churn x (1 + growth) / compression.", pairLabels...)
		headroom = gauge("netprobe_bandwidth_headroom_ratio", "Measured / required bandwidth; below 1 the RPO will be missed.", pairLabels...)
		resync   = gauge("netprobe_resync_seconds", "Estimated time to resynchronise the used bytes at the measured rate.", pairLabels...)
		pmtu     = gauge("netprobe_pmtu_bytes", "Path MTU found.", pairLabels...)
		black    = gauge("netprobe_pmtu_blackhole", "1 when large packets vanish without an ICMP answer (PMTU black hole).", pairLabels...)
		results  = gauge("netprobe_run_results", "Number of results of the last run by status.", "status")
		runDur   = gauge("netprobe_run_duration_seconds", "Duration of the last run.")
		runTime  = gauge("netprobe_run_timestamp_seconds", "Unix time the last run started.")
		interr   = gauge("netprobe_run_interrupted", "1 when the last run was interrupted and its results are partial.")
	)
	topo := run.Topology
	for _, r := range sortedResults(run) {
		status.WithLabelValues(topo, r.ID, r.Check, r.Rule, r.Phase, r.From, r.To).Set(StatusValue(r.Status))
		if r.DurationMS > 0 {
			duration.WithLabelValues(topo, r.ID, r.Check).Set(float64(r.DurationMS) / 1000)
		}
		pair := []string{topo, r.ID, r.From, r.To}
		m := r.Metrics
		switch r.Check {
		case result.CheckLatency:
			for _, q := range idleQuantiles {
				if v, ok := metricFloat(m, q.key); ok {
					latency.WithLabelValues(append(pair, q.q, "idle")...).Set(msToSeconds(v))
				}
			}
			for _, q := range loadedQuantiles {
				if v, ok := metricFloat(m, q.key); ok {
					latency.WithLabelValues(append(pair, q.q, "loaded")...).Set(msToSeconds(v))
				}
			}
			if v, ok := metricFloat(m, "jitter_ms"); ok {
				jitter.WithLabelValues(pair...).Set(msToSeconds(v))
			}
			if v, ok := metricFloat(m, "loss"); ok {
				loss.WithLabelValues(pair...).Set(v)
			}
		case result.CheckBandwidth:
			if v, ok := metricFloat(m, "mbps"); ok {
				streams := metricString(m, "streams")
				bw.WithLabelValues(append(pair, metricString(m, "direction"), streams)...).Set(v * 1e6)
			}
			if v, ok := metricFloat(m, "required_mbps"); ok {
				required.WithLabelValues(pair...).Set(v * 1e6)
			}
			if v, ok := metricFloat(m, "headroom"); ok {
				headroom.WithLabelValues(pair...).Set(v)
			}
			if v, ok := metricFloat(m, "resync_hours"); ok {
				resync.WithLabelValues(pair...).Set(v * 3600)
			}
		case result.CheckPMTU:
			if v, ok := metricFloat(m, "mtu"); ok {
				pmtu.WithLabelValues(pair...).Set(v)
			}
			if _, ok := m["blackhole"]; ok {
				black.WithLabelValues(pair...).Set(boolFloat(metricBool(m, "blackhole")))
			}
		}
	}
	s := summaryOf(run)
	for _, st := range []struct {
		name string
		n    int
	}{{"pass", s.Pass}, {"warn", s.Warn}, {"fail", s.Fail}, {"error", s.Error}, {"skip", s.Skip}} {
		results.WithLabelValues(topo, st.name).Set(float64(st.n))
	}
	runDur.WithLabelValues(topo).Set(float64(run.DurationMS) / 1000)
	if !run.StartedAt.IsZero() {
		runTime.WithLabelValues(topo).Set(float64(run.StartedAt.UnixMilli()) / 1000)
	}
	interr.WithLabelValues(topo).Set(boolFloat(run.Interrupted))

	mfs, err := reg.Gather()
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

// msToSeconds converts without float noise (5.1 ms -> 0.0051, not 0.0050999999999999995):
// the textfile is read by people too. Nanosecond resolution is far below what is measured.
func msToSeconds(ms float64) float64 { return math.Round(ms*1e6) / 1e9 }

func boolFloat(b bool) float64 {
	if b {
		return 1
	}
	return 0
}
