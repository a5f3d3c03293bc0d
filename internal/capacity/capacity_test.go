package capacity

import (
	"errors"
	"math"
	"strings"
	"testing"
	"time"
)

// near compares rates within the profile search's precision.
func near(a, b, tol float64) bool { return math.Abs(a-b) <= tol }

func TestRequired(t *testing.T) {
	tests := []struct {
		name  string
		churn []BitsPerSecond
		plan  Plan
		want  BitsPerSecond
	}{
		// 2 disks at 1 MB/s and 1.5 MB/s: 2.5 MB/s = 20 Mbit/s, no growth, no compression.
		{"steady state", []BitsPerSecond{MBps(1), MBps(1.5)}, Plan{}, 20e6},
		// 20 Mbit/s * 1.3 = 26 Mbit/s.
		{"growth 30%", []BitsPerSecond{MBps(1), MBps(1.5)}, DefaultPlan(), 26e6},
		// 20 Mbit/s * 1.3 / 2 = 13 Mbit/s.
		{"growth and compression 2", []BitsPerSecond{MBps(1), MBps(1.5)}, Plan{Growth: 0.3, Compression: 2}, 13e6},
		{"no disks", nil, DefaultPlan(), 0},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := Required(tt.churn, tt.plan)
			if err != nil {
				t.Fatal(err)
			}
			if !near(float64(got), float64(tt.want), 1e-6) {
				t.Errorf("Required = %v, want %v", float64(got), float64(tt.want))
			}
		})
	}
}

func TestRequiredRejects(t *testing.T) {
	tests := []struct {
		name  string
		churn []BitsPerSecond
		plan  Plan
	}{
		{"negative churn", []BitsPerSecond{-1}, Plan{}},
		{"NaN churn", []BitsPerSecond{BitsPerSecond(math.NaN())}, Plan{}},
		{"negative growth", nil, Plan{Growth: -0.1}},
		{"compression below 1", nil, Plan{Compression: 0.5}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if _, err := Required(tt.churn, tt.plan); !errors.Is(err, ErrInput) {
				t.Errorf("err = %v, want ErrInput", err)
			}
		})
	}
}

func TestHeadroomAndJudge(t *testing.T) {
	tests := []struct {
		name               string
		measured, required BitsPerSecond
		headroom           float64
		verdict            Verdict
	}{
		{"twice enough", 100e6, 50e6, 2, Enough},
		{"exactly 1.2 is enough", 60e6, 50e6, 1.2, Enough},
		{"tight", 55e6, 50e6, 1.1, Tight},
		{"exactly 1 is tight", 50e6, 50e6, 1, Tight},
		{"short", 40e6, 50e6, 0.8, Short},
		{"nothing required", 1e6, 0, math.Inf(1), Enough},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			h := Headroom(tt.measured, tt.required)
			if !(h == tt.headroom || near(h, tt.headroom, 1e-12)) {
				t.Errorf("Headroom = %v, want %v", h, tt.headroom)
			}
			if v := Judge(h); v != tt.verdict {
				t.Errorf("Judge(%v) = %v, want %v", h, v, tt.verdict)
			}
		})
	}
}

func TestDrainTime(t *testing.T) {
	tests := []struct {
		name               string
		measured, required BitsPerSecond
		outage             time.Duration
		want               Drain
	}{
		// 1 h at 20 Mbit/s = 72 Gbit backlog; drains at 100-20 = 80 Mbit/s: 900 s.
		{"one hour outage", 100e6, 20e6, time.Hour, Drain{Backlog: 72e9, Time: 15 * time.Minute}},
		// 10 min at 50 Mbit/s = 30 Gbit; drains at 10 Mbit/s: 3000 s.
		{"little spare", 60e6, 50e6, 10 * time.Minute, Drain{Backlog: 30e9, Time: 50 * time.Minute}},
		{"link equals churn never drains", 50e6, 50e6, time.Minute, Drain{Backlog: 3e9, Never: true}},
		{"link below churn never drains", 40e6, 50e6, time.Minute, Drain{Backlog: 3e9, Never: true}},
		{"no outage", 40e6, 50e6, 0, Drain{}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := DrainTime(tt.measured, tt.required, tt.outage)
			if err != nil {
				t.Fatal(err)
			}
			if got != tt.want {
				t.Errorf("DrainTime = %+v, want %+v", got, tt.want)
			}
		})
	}
}

func TestResyncTime(t *testing.T) {
	disks := []ResyncDisk{
		{Used: 400e9, Changed: 10e9},
		{Used: 100e9, Changed: 5e9},
		{Used: 300e9, Changed: 30e9},
		{Used: 100e9, Changed: 0},
	}
	tests := []struct {
		name   string
		target Target
		bytes  Bytes
		hours  float64
	}{
		// 45 GB = 360 Gbit at 100 Mbit/s = 3600 s = 1 h.
		{"original location sends changes", Original, 45e9, 1},
		// 900 GB = 7200 Gbit at 100 Mbit/s = 72000 s = 20 h.
		{"alternate location sends used bytes", Alternate, 900e9, 20},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			r, err := ResyncTime(tt.target, disks, 100e6)
			if err != nil {
				t.Fatal(err)
			}
			if r.Bytes != tt.bytes || !near(r.Hours, tt.hours, 1e-9) || r.Time != time.Duration(tt.hours*float64(time.Hour)) {
				t.Errorf("ResyncTime = %+v, want %d bytes, %v h", r, tt.bytes, tt.hours)
			}
			// 4 disks, three at a time: two rounds.
			if r.Waves != 2 || !strings.Contains(r.Note, "3 disks") {
				t.Errorf("waves %d, note %q", r.Waves, r.Note)
			}
		})
	}
	if _, err := ResyncTime(Original, disks, 0); !errors.Is(err, ErrInput) {
		t.Errorf("zero bandwidth: err = %v, want ErrInput", err)
	}
	if _, err := ResyncTime(0, disks, 1e6); !errors.Is(err, ErrInput) {
		t.Errorf("unset target: err = %v, want ErrInput", err)
	}
}

func TestSimulate(t *testing.T) {
	// Churn 16, 0, 8 Mbit/s drained at 8 Mbit/s, no growth:
	// Q1 = 60*(16-8) = 480 Mbit; Q2 = max(0, 480 - 480) = 0; Q3 = max(0, 0 + 60*(8-8)) = 0.
	q, err := Simulate([]BitsPerSecond{16e6, 0, 8e6}, Plan{}, 8e6)
	if err != nil {
		t.Fatal(err)
	}
	want := []float64{480e6, 0, 0}
	for i := range want {
		if !near(q[i], want[i], 1e-3) {
			t.Fatalf("Q = %v, want %v", q, want)
		}
	}
}

func TestSize(t *testing.T) {
	// A ten-minute profile: one VM changes 2 MB/s (16 Mbit/s) in the first minute, then
	// nothing. RPO 60 s, no growth, no compression.
	//
	// RPO 100 %: Q1 = 60*(16e6 - B) must satisfy Q1/B <= 60, so 16e6 - B <= B, B >= 8e6.
	//   At B = 8e6, Q2 = max(0, 480e6 - 480e6) = 0, and every later minute is 0: 8 Mbit/s.
	// RPO 90 %: 9 of 10 minutes must be within RPO, so minute 1 may miss it. Q2 =
	//   60*(16e6 - 2B) must satisfy Q2/B <= 60, so 16e6 - 2B <= B, B >= 16e6/3 = 5.333 Mbit/s;
	//   then Q3 = max(0, 60*(16e6 - 3B)) = 0. Answer 5.333 Mbit/s.
	// Growth 50 % and compression 2 scale the wire rate by 1.5/2 = 0.75: 6 and 4 Mbit/s.
	csv := "timestamp,vm,churn_mbps\n2026-11-20T09:00:00Z,sql01,2\n2026-11-20T09:09:00Z,sql01,0\n"
	p, err := ParseProfile(strings.NewReader(csv))
	if err != nil {
		t.Fatal(err)
	}
	if len(p.Churn) != 10 || p.Filled != 8 {
		t.Fatalf("profile has %d minutes, %d filled; want 10 and 8", len(p.Churn), p.Filled)
	}
	tests := []struct {
		name           string
		plan           Plan
		always, mostly float64
	}{
		{"no growth", Plan{}, 8e6, 16e6 / 3},
		{"growth and compression", Plan{Growth: 0.5, Compression: 2}, 6e6, 4e6},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			s, err := Size(p, tt.plan, time.Minute)
			if err != nil {
				t.Fatal(err)
			}
			if !near(float64(s.Always), tt.always, sizingPrecision) || !near(float64(s.Mostly), tt.mostly, sizingPrecision) {
				t.Errorf("Size = 100%%: %v, 90%%: %v; want %v and %v", float64(s.Always), float64(s.Mostly), tt.always, tt.mostly)
			}
			if s.Always < BitsPerSecond(tt.always) {
				t.Errorf("RPO 100%% answer %v is below the exact %v: the search must err on the safe side", float64(s.Always), tt.always)
			}
		})
	}
}

func TestSizeSteadyChurn(t *testing.T) {
	// Constant churn needs exactly that rate for both targets: any less and the queue grows
	// without bound.
	p := Profile{Churn: []BitsPerSecond{10e6, 10e6, 10e6, 10e6, 10e6, 10e6, 10e6, 10e6, 10e6, 10e6, 10e6, 10e6}}
	s, err := Size(p, Plan{}, 15*time.Minute)
	if err != nil {
		t.Fatal(err)
	}
	// Minutes: Q(t) = 60 t (10e6 - B), Q/B <= 900 at t = 12 -> 720(10e6-B) <= 900B -> B >= 4.44e6.
	// The queue does not need to drain, only to stay within the RPO over the profile's 12 min.
	if !near(float64(s.Always), 720*10e6/1620, sizingPrecision) {
		t.Errorf("Always = %v, want %v", float64(s.Always), 720*10e6/1620)
	}
}

func TestParseProfile(t *testing.T) {
	tests := []struct {
		name    string
		in      string
		churn   []BitsPerSecond
		vms     int
		wantErr bool
	}{
		{"no header, two VMs summed", "2026-11-20T09:00:00Z,a,1\n2026-11-20T09:00:30Z,b,0.5\n2026-11-20T09:01:00Z,a,0.25\n", []BitsPerSecond{12e6, 2e6}, 2, false},
		{"header and comment and space layout", "# from the profiler\ntime,vm,MB/s\n2026-11-20 09:00,a,1\n", []BitsPerSecond{8e6}, 1, false},
		{"two columns", "2026-11-20T09:00:00Z,1\n", nil, 0, true},
		{"negative churn", "2026-11-20T09:00:00Z,a,-1\n", nil, 0, true},
		{"bad timestamp after header", "t,vm,c\nyesterday,a,1\n", nil, 0, true},
		{"header only", "timestamp,vm,churn_mbps\n", nil, 0, true},
		{"spans a year", "2025-11-20T09:00:00Z,a,1\n2026-11-20T09:00:00Z,a,1\n", nil, 0, true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			p, err := ParseProfile(strings.NewReader(tt.in))
			if tt.wantErr {
				if !errors.Is(err, ErrInput) {
					t.Errorf("err = %v, want ErrInput", err)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if len(p.Churn) != len(tt.churn) || p.VMs != tt.vms {
				t.Fatalf("got %v (%d VMs), want %v (%d VMs)", p.Churn, p.VMs, tt.churn, tt.vms)
			}
			for i := range tt.churn {
				if !near(float64(p.Churn[i]), float64(tt.churn[i]), 1e-6) {
					t.Errorf("minute %d: %v, want %v", i, p.Churn[i], tt.churn[i])
				}
			}
		})
	}
}
