package agent

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/netip"
	"testing"
	"time"

	dto "github.com/prometheus/client_model/go"
	"github.com/prometheus/common/expfmt"
	"github.com/prometheus/common/model"

	"github.com/netprobe/netprobe/internal/bwtest"
	"github.com/netprobe/netprobe/internal/probes"
	"github.com/netprobe/netprobe/internal/promtool"
)

// scrape serves srv's metrics on a loopback listener (as --metrics does), fetches /metrics
// once over plain HTTP and parses it as Prometheus does.
func scrape(t *testing.T, srv *Server) map[string]*dto.MetricFamily {
	t.Helper()
	raw := scrapeText(t, srv)
	p := expfmt.NewTextParser(model.UTF8Validation)
	mfs, err := p.TextToMetricFamilies(bytes.NewReader(raw))
	if err != nil {
		t.Fatalf("parse scrape: %v", err)
	}
	return mfs
}

// scrapeText is scrape's exposition as served, in the text format.
func scrapeText(t *testing.T, srv *Server) []byte {
	t.Helper()
	ln := listenLoopback(t)
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- srv.ServeMetrics(ctx, ln) }()
	defer func() {
		cancel()
		if err := <-done; err != nil {
			t.Errorf("ServeMetrics: %v", err)
		}
	}()
	resp, err := http.Get("http://" + ln.Addr().String() + "/metrics")
	if err != nil {
		t.Fatalf("scrape: %v", err)
	}
	defer resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		t.Fatalf("scrape: HTTP %d", resp.StatusCode)
	}
	raw, err := io.ReadAll(resp.Body)
	if err != nil {
		t.Fatalf("scrape: %v", err)
	}
	return raw
}

// metricValue is the value of the series of name whose labels include want; -1 if absent.
func metricValue(t *testing.T, mfs map[string]*dto.MetricFamily, name string, want map[string]string) float64 {
	t.Helper()
	mf, ok := mfs[name]
	if !ok {
		t.Errorf("metric %s not exposed", name)
		return -1
	}
series:
	for _, m := range mf.GetMetric() {
		labels := map[string]string{}
		for _, lp := range m.GetLabel() {
			labels[lp.GetName()] = lp.GetValue()
		}
		for k, v := range want {
			if labels[k] != v {
				continue series
			}
		}
		switch {
		case m.Counter != nil:
			return m.GetCounter().GetValue()
		case m.Gauge != nil:
			return m.GetGauge().GetValue()
		case m.Histogram != nil:
			return float64(m.GetHistogram().GetSampleCount())
		}
	}
	return -1
}

// TestMetricsScrape drives an agent through each thing it counts, then scrapes /metrics
// over HTTP and checks every documented series.
func TestMetricsScrape(t *testing.T) {
	a := startAgent(t, Config{Version: "1.2.3", Allow: []netip.Prefix{netip.MustParsePrefix("127.0.0.1/32")}})
	c := dialAgent(t, a, ClientConfig{})
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()

	// Port probes: one open, one closed (both measured: outcome ok), one the probe cannot run
	// (outcome invalid), one outside the allowlist (refused before anything is sent).
	ln := listenLoopback(t)
	if _, err := c.Port(ctx, probes.PortRequest{Proto: "tcp", Address: ln.Addr().String()}); err != nil {
		t.Fatalf("port probe: %v", err)
	}
	closed := netip.AddrPortFrom(netip.MustParseAddr("127.0.0.1"), uint16(freePort(t, "tcp"))).String()
	if r, err := c.Port(ctx, probes.PortRequest{Proto: "tcp", Address: closed}); err != nil || r.State != probes.Closed {
		t.Fatalf("port probe of a closed port: %+v %v", r, err)
	}
	if _, err := c.Port(ctx, probes.PortRequest{Proto: "sctp", Address: closed}); !errors.Is(err, probes.ErrInvalid) {
		t.Fatalf("port probe with a bad proto: %v, want probes.ErrInvalid", err)
	}
	if _, err := c.Port(ctx, probes.PortRequest{Proto: "tcp", Address: "127.0.0.2:1"}); !errors.Is(err, ErrRefused) {
		t.Fatalf("probe outside --allow: %v, want a refusal", err)
	}
	// One failed login.
	if _, err := Dial(ctx, a.addr, ClientConfig{Token: []byte("not-the-token-0123456789")}); !errors.Is(err, ErrAuth) {
		t.Fatalf("wrong token: %v", err)
	}
	// Responders: a bandwidth one, open while scraping, and a test through it.
	addr, ticket := openBandwidth(t, c)
	bw, err := c.Bandwidth(ctx, addr, bwtest.Params{Streams: 1, Duration: 200 * time.Millisecond, NoWarmUp: true, Interval: 100 * time.Millisecond, TestID: ticket})
	if err != nil {
		t.Fatalf("bandwidth: %v", err)
	}

	mfs := scrape(t, a.srv)
	// Every family has a series now: Prometheus's linter sees them all.
	t.Run("promtool check metrics", func(t *testing.T) { promtool.CheckMetrics(t, scrapeText(t, a.srv)) })
	cases := []struct {
		name   string
		labels map[string]string
		check  func(float64) bool
		want   string
	}{
		{MetricBuildInfo, map[string]string{"version": "1.2.3"}, eq(1), "1"},
		{MetricProbes, map[string]string{"kind": "port", "outcome": "ok"}, eq(2), "2"},
		{MetricProbes, map[string]string{"kind": "port", "outcome": "invalid"}, eq(1), "1"},
		{MetricProbes, map[string]string{"kind": "port", "outcome": "forbidden"}, eq(1), "1"},
		{MetricProbes, map[string]string{"kind": "pmtu", "outcome": "ok"}, eq(0), "0 (present before any pmtu probe)"},
		{MetricProbeDuration, map[string]string{"kind": "port"}, eq(4), "4 observations"},
		{MetricRespondersOpen, nil, eq(1), "1"},
		{MetricAuthFailures, nil, eq(1), "1"},
		{MetricAuthRateLimited, nil, eq(0), "0"},
		{MetricBandwidthTests, map[string]string{"direction": "send", "outcome": "ok"}, eq(1), "1"},
		{MetricBandwidthLast, map[string]string{"target": addr, "direction": "send"}, eq(float64(bw.Rate) / 8), fmt.Sprintf("the test's %.0f bit/s in bytes", float64(bw.Rate))},
		{MetricTicketsRefused, nil, eq(0), "0"},
		{"go_goroutines", nil, func(v float64) bool { return v > 0 }, "> 0"},
	}
	for _, tc := range cases {
		if got := metricValue(t, mfs, tc.name, tc.labels); !tc.check(got) {
			t.Errorf("%s%v = %v, want %s", tc.name, tc.labels, got, tc.want)
		}
	}
	if mf := mfs[MetricProbeDuration]; mf != nil && mf.GetType() != dto.MetricType_HISTOGRAM {
		t.Errorf("%s is a %v, want a histogram", MetricProbeDuration, mf.GetType())
	}
}

func eq(want float64) func(float64) bool { return func(v float64) bool { return v == want } }

// TestMetricsOnlyMetrics: the metrics listener exposes nothing of the control API.
func TestMetricsOnlyMetrics(t *testing.T) {
	a := startAgent(t, Config{})
	h := a.srv.MetricsHandler()
	for _, path := range []string{PathHello, PathProbe, PathRespondersOpen, "/"} {
		req, _ := http.NewRequest(http.MethodPost, "http://agent"+path, nil)
		rec := &statusRecorder{header: http.Header{}}
		h.ServeHTTP(rec, req)
		if rec.status != http.StatusNotFound {
			t.Errorf("POST %s on the metrics listener: HTTP %d, want 404", path, rec.status)
		}
	}
}

type statusRecorder struct {
	header http.Header
	status int
}

func (r *statusRecorder) Header() http.Header { return r.header }
func (r *statusRecorder) Write(b []byte) (int, error) {
	if r.status == 0 {
		r.status = http.StatusOK
	}
	return len(b), nil
}
func (r *statusRecorder) WriteHeader(s int) { r.status = s }
