package report

import (
	"bytes"
	"encoding/json"
	"errors"
	"io"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/prometheus/common/expfmt"
	"github.com/prometheus/common/model"

	"github.com/netprobe/netprobe/internal/result"
)

// fixedRun is the fixed result set behind every golden file: one result of each status and
// each metric-carrying check kind, in an order the formatters must sort.
func fixedRun(t *testing.T) result.Run {
	t.Helper()
	b, err := os.ReadFile(filepath.Join("testdata", "run.json"))
	if err != nil {
		t.Fatal(err)
	}
	var run result.Run
	if err := json.Unmarshal(b, &run); err != nil {
		t.Fatalf("testdata/run.json: %v", err)
	}
	return run
}

func format(t *testing.T, name string, run result.Run) []byte {
	t.Helper()
	f, err := Lookup(name)
	if err != nil {
		t.Fatal(err)
	}
	var buf bytes.Buffer
	if err := f.Format(&buf, run); err != nil {
		t.Fatalf("%s: %v", name, err)
	}
	return buf.Bytes()
}

func TestGolden(t *testing.T) {
	run := fixedRun(t)
	for _, tc := range []struct{ format, file string }{
		{"text", "golden/run.txt"},
		{"junit", "golden/run.junit.xml"},
		{"tap", "golden/run.tap"},
		{"prometheus", "golden/run.prom"},
		{"json", "golden/run.json"},
		{"jsonl", "golden/run.jsonl"},
	} {
		t.Run(tc.format, func(t *testing.T) { golden(t, tc.file, format(t, tc.format, run)) })
	}
}

func TestLookupUnknown(t *testing.T) {
	_, err := Lookup("yaml")
	if !errors.Is(err, ErrUnknownFormat) {
		t.Fatalf("Lookup(yaml) = %v, want ErrUnknownFormat", err)
	}
	if !strings.Contains(err.Error(), "prometheus") {
		t.Errorf("error %q should list the known formats", err)
	}
	want := []string{"json", "jsonl", "junit", "prometheus", "tap", "text"}
	if got := Names(); strings.Join(got, ",") != strings.Join(want, ",") {
		t.Errorf("Names() = %v, want %v", got, want)
	}
}

// The text format is for pipes: exactly one line per non-passing result (plus its hint), and
// the summary last.
func TestTextShape(t *testing.T) {
	run := fixedRun(t)
	lines := strings.Split(strings.TrimSuffix(string(format(t, "text", run)), "\n"), "\n")
	if !strings.HasPrefix(lines[0], "FAIL ") {
		t.Errorf("first line %q: the worst news must come first", lines[0])
	}
	for _, l := range lines {
		if strings.HasPrefix(l, "PASS") {
			t.Errorf("passing results must not be listed: %q", l)
		}
	}
	last := lines[len(lines)-1]
	if !strings.Contains(last, "8 checks: 3 pass, 1 warn, 2 fail, 1 error, 1 skip") {
		t.Errorf("summary line %q", last)
	}
}

func TestTextEmptyRun(t *testing.T) {
	got := string(format(t, "text", result.Run{Topology: "empty"}))
	if got != "empty: 0 checks: 0 pass, 0 warn, 0 fail, 0 error, 0 skip in 0s\n" {
		t.Errorf("got %q", got)
	}
}

// The textfile output must be readable by node_exporter: parse it with Prometheus' own parser
// and check the values that alerting depends on.
func TestPrometheusParses(t *testing.T) {
	out := format(t, "prometheus", fixedRun(t))
	p := expfmt.NewTextParser(model.UTF8Validation)
	mfs, err := p.TextToMetricFamilies(bytes.NewReader(out))
	if err != nil {
		t.Fatalf("textfile output does not parse: %v\n%s", err, out)
	}
	value := func(name string, labels map[string]string) (float64, bool) {
		mf, ok := mfs[name]
		if !ok {
			return 0, false
		}
	next:
		for _, m := range mf.GetMetric() {
			have := map[string]string{}
			for _, lp := range m.GetLabel() {
				have[lp.GetName()] = lp.GetValue()
			}
			for k, v := range labels {
				if have[k] != v {
					continue next
				}
			}
			return m.GetGauge().GetValue(), true
		}
		return 0, false
	}
	for _, tc := range []struct {
		name   string
		metric string
		labels map[string]string
		want   float64
	}{
		{"fail is 3", "netprobe_check_status", map[string]string{"id": "port/sql01/cs01/443/tcp", "rule": "FB-VM-CS", "topology": "contoso-failback"}, 3},
		{"pass is 0", "netprobe_check_status", map[string]string{"id": "port/ps-az/mt01/9443/tcp"}, 0},
		{"error is 2", "netprobe_check_status", map[string]string{"id": "port/mt01/ps-az/9443/tcp"}, 2},
		{"skip is -1", "netprobe_check_status", map[string]string{"id": "port/vcenter01/cs01/443/tcp"}, -1},
		{"p95 idle in seconds", "netprobe_latency_rtt_seconds", map[string]string{"id": "latency/ps-az/mt01", "check": "latency", "percentile": "95", "load": "idle", "link": "s2s"}, 0.0079},
		{"min is percentile 0", "netprobe_latency_rtt_seconds", map[string]string{"id": "latency/ps-az/mt01", "percentile": "0", "load": "idle"}, 0.0051},
		{"max is percentile 100", "netprobe_latency_rtt_seconds", map[string]string{"id": "latency/ps-az/mt01", "percentile": "100", "load": "idle"}, 0.0125},
		{"p95 before the bandwidth test", "netprobe_latency_rtt_seconds", map[string]string{"check": "bandwidth", "percentile": "95", "load": "idle"}, 0.0074},
		{"p95 under the bandwidth test's load", "netprobe_latency_rtt_seconds", map[string]string{"check": "bandwidth", "percentile": "95", "load": "loaded"}, 0.0315},
		{"jitter", "netprobe_latency_jitter_seconds", map[string]string{"check": "latency"}, 0.0008},
		{"loss", "netprobe_latency_loss_ratio", map[string]string{"check": "latency"}, 0.02},
		{"bandwidth in bytes", "netprobe_bandwidth_bytes_per_second", map[string]string{"streams": "4", "link": "s2s"}, 162.4e6 / 8},
		{"required in bytes", "netprobe_bandwidth_required_bytes_per_second", nil, 65e6 / 8},
		{"headroom", "netprobe_bandwidth_headroom_ratio", nil, 2.49},
		{"resync in seconds", "netprobe_resync_seconds", nil, 9.4 * 3600},
		{"blackhole", "netprobe_pmtu_blackhole", map[string]string{"to": "s2s"}, 1},
		{"mtu", "netprobe_pmtu_bytes", nil, 1300},
		{"info", "netprobe_run_info", map[string]string{"version": "1.4.0", "topology_sha256": "5b2c6f0e1d7a43c8a9e4f1b2d3c4e5f60718293a4b5c6d7e8f90a1b2c3d4e5f6"}, 1},
		{"agent down", "netprobe_run_agent_up", map[string]string{"agent": "10.10.0.8:7411", "hosts": "mt01"}, 0},
		{"agent up", "netprobe_run_agent_up", map[string]string{"agent": "10.20.1.4:7411", "hosts": "ps-az"}, 1},
		{"a check that ran in under a millisecond", "netprobe_check_duration_seconds", map[string]string{"id": "port/mt01/ps-az/9443/tcp"}, 0},
		{"fail count", "netprobe_run_results", map[string]string{"status": "fail"}, 2},
		{"run timestamp", "netprobe_run_timestamp_seconds", nil, float64(time.Date(2026, 11, 25, 14, 0, 0, 0, time.UTC).Unix())},
		{"run duration", "netprobe_run_duration_seconds", nil, 4.18},
	} {
		t.Run(tc.name, func(t *testing.T) {
			got, ok := value(tc.metric, tc.labels)
			if !ok {
				t.Fatalf("%s%v not in output", tc.metric, tc.labels)
			}
			if diff := got - tc.want; diff > 1e-9*max(1, tc.want) || diff < -1e-9*max(1, tc.want) {
				t.Errorf("%s%v = %v, want %v", tc.metric, tc.labels, got, tc.want)
			}
		})
	}
	// Labels that change run to run would create a new series every run.
	for _, mf := range mfs {
		for _, m := range mf.GetMetric() {
			for _, lp := range m.GetLabel() {
				switch lp.GetName() {
				case "state", "reason", "message", "hint", "status_text":
					t.Errorf("%s has unstable label %q", mf.GetName(), lp.GetName())
				}
			}
		}
	}
}

func TestJSONLOneResultPerLine(t *testing.T) {
	run := fixedRun(t)
	out := format(t, "jsonl", run)
	lines := strings.Split(strings.TrimSuffix(string(out), "\n"), "\n")
	if len(lines) != len(run.Results) {
		t.Fatalf("%d lines for %d results", len(lines), len(run.Results))
	}
	for i, l := range lines {
		var r result.Result
		if err := json.Unmarshal([]byte(l), &r); err != nil {
			t.Fatalf("line %d: %v", i+1, err)
		}
		if r.ID == "" || r.Status == 0 {
			t.Errorf("line %d lost its id or status: %s", i+1, l)
		}
	}
	f, _ := Lookup("jsonl")
	if _, ok := f.(StreamFormatter); !ok {
		t.Error("jsonl must be a StreamFormatter")
	}
}

// failWriter fails after n bytes, like a full disk.
type failWriter struct{ n int }

func (f *failWriter) Write(p []byte) (int, error) {
	if len(p) > f.n {
		return 0, errors.New("disk full")
	}
	f.n -= len(p)
	return len(p), nil
}

func TestWriteErrorsReported(t *testing.T) {
	run := fixedRun(t)
	for _, name := range Names() {
		t.Run(name, func(t *testing.T) {
			f, _ := Lookup(name)
			if err := f.Format(&failWriter{n: 10}, run); err == nil {
				t.Error("a failing writer must make Format fail")
			}
		})
	}
}

func TestWriteFileAtomic(t *testing.T) {
	dir := t.TempDir()
	path := filepath.Join(dir, "netprobe.prom")
	if err := os.WriteFile(path, []byte("old\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	// A failing write leaves the old file whole and no temporary file behind.
	err := WriteFileAtomic(path, func(w io.Writer) error {
		io.WriteString(w, "half")
		return errors.New("probe crashed")
	})
	if err == nil {
		t.Fatal("want the write function's error")
	}
	if b, _ := os.ReadFile(path); string(b) != "old\n" {
		t.Errorf("after a failed write the file holds %q, want the old content", b)
	}
	if err := WriteFileAtomic(path, func(w io.Writer) error {
		_, err := io.WriteString(w, "new\n")
		return err
	}); err != nil {
		t.Fatal(err)
	}
	if b, _ := os.ReadFile(path); string(b) != "new\n" {
		t.Errorf("file holds %q, want new content", b)
	}
	ents, _ := os.ReadDir(dir)
	if len(ents) != 1 {
		t.Errorf("directory holds %d entries, want only the output (temporary files leaked)", len(ents))
	}
	if err := WriteFileAtomic(filepath.Join(dir, "missing", "x"), func(io.Writer) error { return nil }); err == nil {
		t.Error("writing into a missing directory must fail")
	}
}
