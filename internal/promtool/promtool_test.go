package promtool

import (
	"strings"
	"testing"
)

// The linter must be able to say no, or a clean result proves nothing: the names netprobe
// wrote before it followed the conventions are rejected, for the reasons promtool gives.
func TestCheckMetricsRejects(t *testing.T) {
	old := `# HELP netprobe_bandwidth_bits_per_second Measured TCP throughput.
# TYPE netprobe_bandwidth_bits_per_second gauge
netprobe_bandwidth_bits_per_second{id="b"} 1.624e+08
# HELP netprobe_latency_seconds RTT percentiles.
# TYPE netprobe_latency_seconds gauge
netprobe_latency_seconds{id="l",quantile="0.95"} 0.0079
`
	out, err := Run(t, []byte(old), "check", "metrics")
	if err == nil {
		t.Fatalf("promtool accepted the old names:\n%s", out)
	}
	for _, want := range []string{`use base unit "bytes" instead of "bits"`, `should not have "quantile" label`} {
		if !strings.Contains(out, want) {
			t.Errorf("promtool output lacks %q:\n%s", want, out)
		}
	}
	ok := "# HELP netprobe_pmtu_bytes Path MTU found.\n# TYPE netprobe_pmtu_bytes gauge\nnetprobe_pmtu_bytes{id=\"p\"} 1300\n"
	CheckMetrics(t, []byte(ok))
}
