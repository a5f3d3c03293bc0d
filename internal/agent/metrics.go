package agent

import (
	"context"
	"errors"
	"fmt"
	"net"
	"net/http"
	"runtime"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/collectors"
	"github.com/prometheus/client_golang/prometheus/promhttp"

	"github.com/netprobe/netprobe/internal/capacity"
)

// The agent's own metrics, for the estate's Prometheus: what the agent did (probes run,
// responders open, failed logins, bandwidth measured), not what a check concluded (that is
// `netprobe check --format prometheus`, docs/results.md). They are served by ServeMetrics on a
// separate plain-HTTP listener: read-only, unauthenticated by design, and off unless asked for.
//
// Labels hold only bounded sets: probe kinds, outcome codes, directions, and the bandwidth
// targets a coordinator named (one per data port measured toward).

// Metric names: stable, documented in docs/agent.md.
const (
	MetricBuildInfo       = "netprobe_agent_build_info"
	MetricProbes          = "netprobe_agent_probes_total"
	MetricProbeDuration   = "netprobe_agent_probe_duration_seconds"
	MetricRespondersOpen  = "netprobe_agent_responders_open"
	MetricAuthFailures    = "netprobe_agent_auth_failures_total"
	MetricAuthRateLimited = "netprobe_agent_auth_rate_limited_total"
	MetricBandwidthTests  = "netprobe_agent_bandwidth_tests_total"
	MetricBandwidthLast   = "netprobe_agent_bandwidth_last_bytes_per_second"
	MetricTicketsRefused  = "netprobe_agent_bandwidth_tickets_refused_total"
	MetricConnsOpen       = "netprobe_agent_connections_open"
	MetricConnsRefused    = "netprobe_agent_connections_refused_total"
	outcomeOK             = "ok"
	metricsHeaderTimeout  = 5 * time.Second // a scraper sends its headers at once
)

// probeBuckets span the probes' budgets: a loopback port probe answers in well under a
// millisecond, a 30-hop path trace takes up to the 30s cap (DefaultBounds.ProbeTimeout).
var probeBuckets = []float64{.0005, .001, .0025, .005, .01, .025, .05, .1, .25, .5, 1, 2.5, 5, 10, 30}

// metrics holds the agent's collectors; each is safe for concurrent use.
type metrics struct {
	reg            *prometheus.Registry
	probes         *prometheus.CounterVec   // kind, outcome
	probeDuration  *prometheus.HistogramVec // kind
	authFailures   prometheus.Counter
	authLimited    prometheus.Counter
	bwTests        *prometheus.CounterVec // direction, outcome
	bwLast         *prometheus.GaugeVec   // target, direction
	ticketsRefused prometheus.Counter
	connsRefused   *prometheus.CounterVec // scope
}

func newMetrics(version string, kinds []string, respondersOpen func() float64) *metrics {
	m := &metrics{
		reg: prometheus.NewRegistry(),
		probes: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: MetricProbes,
			Help: "Probes this agent ran, by kind and outcome (ok, or the error code: timeout, refused, unreachable, permission, unsupported, invalid, other; forbidden and bad_request for refused requests).",
		}, []string{"kind", "outcome"}),
		probeDuration: prometheus.NewHistogramVec(prometheus.HistogramOpts{
			Name:    MetricProbeDuration,
			Help:    "How long the probes this agent ran took, by kind.",
			Buckets: probeBuckets,
		}, []string{"kind"}),
		authFailures: prometheus.NewCounter(prometheus.CounterOpts{
			Name: MetricAuthFailures,
			Help: "Control requests refused because they did not authenticate (wrong token, replay, no header).",
		}),
		authLimited: prometheus.NewCounter(prometheus.CounterOpts{
			Name: MetricAuthRateLimited,
			Help: "Control requests refused with 429 because their source failed to authenticate too often.",
		}),
		bwTests: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: MetricBandwidthTests,
			Help: "Bandwidth tests this agent ran toward a responder, by direction and outcome (ok or an error code).",
		}, []string{"direction", "outcome"}),
		bwLast: prometheus.NewGaugeVec(prometheus.GaugeOpts{
			Name: MetricBandwidthLast,
			Help: "Rate of the last successful bandwidth test toward each target (host:port of the far agent's data port), bytes per second (x 8 for bits).",
		}, []string{"target", "direction"}),
		ticketsRefused: prometheus.NewCounter(prometheus.CounterOpts{
			Name: MetricTicketsRefused,
			Help: "Connections to this agent's bandwidth responders refused for an unknown, used or expired test ticket.",
		}),
		connsRefused: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: MetricConnsRefused,
			Help: "Control connections closed at once because their source (scope=source) or the agent (scope=total) was at its connection cap.",
		}, []string{"scope"}),
	}
	build := prometheus.NewGauge(prometheus.GaugeOpts{
		Name:        MetricBuildInfo,
		Help:        "Always 1; the labels say which netprobe build this agent runs.",
		ConstLabels: prometheus.Labels{"version": version, "goversion": runtime.Version(), "os": runtime.GOOS, "arch": runtime.GOARCH},
	})
	build.Set(1)
	open := prometheus.NewGaugeFunc(prometheus.GaugeOpts{
		Name: MetricRespondersOpen,
		Help: "Responder sockets open now (TCP, UDP echo and bandwidth listeners).",
	}, respondersOpen)
	m.reg.MustRegister(m.probes, m.probeDuration, m.authFailures, m.authLimited, m.bwTests, m.bwLast,
		m.ticketsRefused, m.connsRefused, build, open,
		collectors.NewGoCollector(), collectors.NewProcessCollector(collectors.ProcessCollectorOpts{}))
	// Series for every kind exist from the start, so a rate() over a fresh agent is 0, not absent.
	for _, scope := range []string{"source", "total"} {
		m.connsRefused.WithLabelValues(scope)
	}
	for _, k := range kinds {
		m.probes.WithLabelValues(k, outcomeOK)
		m.probeDuration.WithLabelValues(k)
	}
	return m
}

// connsOpen registers the gauge of control connections open, read from count.
func (m *metrics) connsOpen(count func() float64) {
	m.reg.MustRegister(prometheus.NewGaugeFunc(prometheus.GaugeOpts{
		Name: MetricConnsOpen,
		Help: "Control connections open now.",
	}, count))
}

func (m *metrics) probe(kind, outcome string, took time.Duration) {
	m.probes.WithLabelValues(kind, outcome).Inc()
	m.probeDuration.WithLabelValues(kind).Observe(took.Seconds())
}

// bandwidth counts a test; rate is in bits per second, as bwtest measures, and is exposed in
// bytes, Prometheus's base unit.
func (m *metrics) bandwidth(target, direction, outcome string, rate capacity.BitsPerSecond) {
	m.bwTests.WithLabelValues(direction, outcome).Inc()
	if outcome == outcomeOK {
		m.bwLast.WithLabelValues(target, direction).Set(float64(rate) / 8)
	}
}

// MetricsHandler serves the agent's metrics in the Prometheus exposition format. It exposes
// no control: mount it on a listener of its own (ServeMetrics), never behind the control API.
func (s *Server) MetricsHandler() http.Handler {
	mux := http.NewServeMux()
	mux.Handle("/metrics", promhttp.HandlerFor(s.metrics.reg, promhttp.HandlerOpts{}))
	mux.HandleFunc("/", func(w http.ResponseWriter, r *http.Request) {
		http.Error(w, "netprobe agent: only /metrics is served here", http.StatusNotFound)
	})
	return mux
}

// ServeMetrics serves MetricsHandler over plain HTTP on ln until ctx is cancelled. The
// metrics are unauthenticated (they reveal counts and the bandwidth targets measured, and
// control nothing): bind ln to loopback or a management network.
func (s *Server) ServeMetrics(ctx context.Context, ln net.Listener) error {
	srv := &http.Server{
		Handler:           s.MetricsHandler(),
		ReadHeaderTimeout: metricsHeaderTimeout,
		ReadTimeout:       10 * time.Second,
		WriteTimeout:      10 * time.Second, // a scrape is small; a stuck scraper must not pin a goroutine
		MaxHeaderBytes:    8 << 10,
	}
	errc := make(chan error, 1)
	go func() { errc <- srv.Serve(ln) }()
	s.log.Info("agent metrics listening", "addr", ln.Addr().String(), "path", "/metrics", "auth", "none")
	select {
	case err := <-errc:
		return fmt.Errorf("agent: metrics: %w", err)
	case <-ctx.Done():
	}
	sctx, cancel := context.WithTimeout(context.Background(), time.Second)
	defer cancel()
	if err := srv.Shutdown(sctx); err != nil {
		_ = srv.Close()
	}
	if err := <-errc; err != nil && !errors.Is(err, http.ErrServerClosed) {
		return fmt.Errorf("agent: metrics: %w", err)
	}
	return nil
}
