package main

import (
	"bytes"
	"context"
	"io"
	"testing"
	"time"

	"github.com/prometheus/common/expfmt"
	"github.com/prometheus/common/model"

	"github.com/netprobe/netprobe/internal/demo"
	"github.com/netprobe/netprobe/internal/promtool"
)

// TestDemoPrometheus runs the demo as `netprobe demo --headless --format prometheus` does (on
// loopback addresses of its own) and lints the textfile with Prometheus's promtool: real
// results of every check kind the demo plans, agents and all.
func TestDemoPrometheus(t *testing.T) {
	if testing.Short() {
		t.Skip("runs the whole demo estate, bandwidth tests included (about 20 s)")
	}
	promtool.Path(t) // before 20 s of demo
	ctx, cancel := context.WithTimeout(context.Background(), 3*time.Minute)
	defer cancel()
	var out bytes.Buffer
	n := demo.Net{OnPrem: "127.0.71", Azure: "127.0.72", Failback: "127.0.73"}
	if err := runDemo(ctx, &out, io.Discard, demoFlags{headless: true, formatSet: true, format: "prometheus"}, demoEnv{net: n}); err != nil {
		t.Fatalf("demo: %v", err)
	}
	promtool.CheckMetrics(t, out.Bytes())

	p := expfmt.NewTextParser(model.UTF8Validation)
	mfs, err := p.TextToMetricFamilies(bytes.NewReader(out.Bytes()))
	if err != nil {
		t.Fatal(err)
	}
	// The demo measures every kind the metrics describe, so the lint saw them all.
	for _, name := range []string{"netprobe_run_info", "netprobe_check_status", "netprobe_run_agent_up",
		"netprobe_latency_rtt_seconds", "netprobe_bandwidth_bytes_per_second", "netprobe_bandwidth_headroom_ratio",
		"netprobe_pmtu_bytes", "netprobe_pmtu_blackhole", "netprobe_resync_seconds"} {
		if len(mfs[name].GetMetric()) == 0 {
			t.Errorf("the demo's textfile has no %s", name)
		}
	}
	for _, m := range mfs["netprobe_run_agent_up"].GetMetric() {
		if m.GetGauge().GetValue() != 1 {
			t.Errorf("demo agent %v did not answer", m.GetLabel())
		}
	}
}
