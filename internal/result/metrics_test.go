package result

import (
	"encoding/json"
	"testing"
)

// TestMetricsRead: the accessors read a fresh result (Go values) and the same result read back
// from JSON alike, and a bool or a string is never a number.
func TestMetricsRead(t *testing.T) {
	fresh := Metrics{MetricStreams: 4, MetricMbps: 94.5, MetricBlackhole: true, MetricLink: "vpn1",
		MetricSizeBytes: int64(1 << 40), MetricAnswerHops: int32(2), "u": uint64(7), "f32": float32(0.5)}
	data, err := json.Marshal(fresh)
	if err != nil {
		t.Fatal(err)
	}
	var decoded Metrics
	if err := json.Unmarshal(data, &decoded); err != nil {
		t.Fatal(err)
	}
	for _, m := range []struct {
		name string
		m    Metrics
	}{{"fresh", fresh}, {"from JSON", decoded}} {
		for _, tc := range []struct {
			key    string
			want   float64
			wantOK bool
		}{
			{MetricStreams, 4, true},
			{MetricMbps, 94.5, true},
			{MetricSizeBytes, 1 << 40, true},
			{MetricAnswerHops, 2, true},
			{"u", 7, true},
			{"f32", 0.5, true},
			{MetricBlackhole, 0, false},
			{MetricLink, 0, false},
			{"missing", 0, false},
		} {
			if got, ok := m.m.Float(tc.key); got != tc.want || ok != tc.wantOK {
				t.Errorf("%s: Float(%q) = %v, %v; want %v, %v", m.name, tc.key, got, ok, tc.want, tc.wantOK)
			}
		}
		for key, want := range map[string]string{MetricStreams: "4", MetricMbps: "94.5", MetricLink: "vpn1", MetricBlackhole: "true", "missing": ""} {
			if got := m.m.String(key); got != want {
				t.Errorf("%s: String(%q) = %q, want %q", m.name, key, got, want)
			}
		}
		if !m.m.Bool(MetricBlackhole) || m.m.Bool(MetricStreams) || m.m.Bool("missing") {
			t.Errorf("%s: Bool reads only booleans", m.name)
		}
	}
}
