package report

import (
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"github.com/netprobe/netprobe/internal/capacity"
	"github.com/netprobe/netprobe/internal/result"
)

// The steps of Build, each on its own. The story tests (cutover_test.go) and the golden files
// judge them together.

var t0 = time.Date(2026, 11, 22, 2, 0, 0, 0, time.UTC)

func run(topo string, at time.Time, rs ...result.Result) result.Run {
	return result.NewRun(topo, at, time.Second, rs)
}

func TestSelectRuns(t *testing.T) {
	runs := []result.Run{run("a", t0.Add(2*time.Hour)), run("b", t0.Add(time.Hour)), run("a", t0)}
	for _, tc := range []struct {
		name      string
		topology  string
		wantStart []time.Time
		wantOther int
	}{
		{"every run, oldest first", "", []time.Time{t0, t0.Add(time.Hour), t0.Add(2 * time.Hour)}, 0},
		{"one topology's runs", "a", []time.Time{t0, t0.Add(2 * time.Hour)}, 1},
		{"no run of it", "c", nil, 3},
	} {
		t.Run(tc.name, func(t *testing.T) {
			use, other := selectRuns(runs, tc.topology)
			var starts []time.Time
			for _, r := range use {
				starts = append(starts, r.StartedAt)
			}
			if diff := cmp.Diff(tc.wantStart, starts); diff != "" || other != tc.wantOther {
				t.Errorf("other %d, want %d; starts (-want +got):\n%s", other, tc.wantOther, diff)
			}
		})
	}
}

func TestTrackRuns(t *testing.T) {
	pass := result.Result{ID: "port/b", Status: result.Pass}
	fail := result.Result{ID: "port/b", Status: result.Fail, Message: "refused"}
	otherSite := result.Result{ID: "port/b", Status: result.Skip, Reason: result.ReasonOtherSite}
	errored := result.Result{ID: "dns/a", Status: result.Error}
	tracks := trackRuns([]result.Run{
		run("t", t0, pass, errored),
		run("t", t0.Add(time.Hour), fail),
		run("t", t0.Add(2*time.Hour), otherSite), // measured by the other site's coordinator: no result of the check
		run("t", t0.Add(3*time.Hour), pass),
	})
	type got struct {
		ID, Last, LastFail string
		Runs, Fails        int
	}
	var gots []got
	for _, tr := range tracks {
		gots = append(gots, got{tr.latest.ID, tr.latest.Status.String(), tr.lastFail.Message, tr.runs, tr.fails})
	}
	want := []got{{"dns/a", "error", "", 1, 1}, {"port/b", "pass", "refused", 3, 1}}
	if diff := cmp.Diff(want, gots); diff != "" {
		t.Errorf("tracks (-want +got):\n%s", diff)
	}
}

func TestRequiredRate(t *testing.T) {
	withRequired := func(mbps float64) *track {
		return &track{latest: result.Result{ID: "bandwidth/x", Metrics: result.Metrics{result.MetricRequiredMbps: mbps}}}
	}
	vms := []VMInput{{Name: "vm1", Disks: []DiskInput{{Churn: 10e6}, {Churn: 30e6}}}}
	for _, tc := range []struct {
		name     string
		in       Inputs
		plan     capacity.Plan
		tracks   []*track
		wantBps  float64
		wantFrom string
		wantNote string
	}{
		{"from the topology's churn with growth", Inputs{VMs: vms}, capacity.Plan{Growth: 0.5}, []*track{withRequired(999)}, 60e6, "topology", ""},
		{"from the results when no churn is given", Inputs{}, capacity.Plan{}, []*track{withRequired(40), withRequired(57.5)}, 57.5e6, "results", ""},
		{"unknown", Inputs{}, capacity.Plan{}, nil, 0, "", ""},
		{"a bad plan says why", Inputs{VMs: vms}, capacity.Plan{Growth: -1}, nil, 0, "", "Required bandwidth not computed"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			bps, from, note := requiredRate(tc.in, tc.plan, tc.tracks)
			if bps != tc.wantBps || from != tc.wantFrom || !strings.HasPrefix(note, tc.wantNote) || (tc.wantNote == "") != (note == "") {
				t.Errorf("got %v %q %q, want %v %q %q...", bps, from, note, tc.wantBps, tc.wantFrom, tc.wantNote)
			}
		})
	}
}

func TestLinkOf(t *testing.T) {
	one := []LinkInput{{Name: "vpn1"}}
	two := []LinkInput{{Name: "vpn1"}, {Name: "er1"}}
	for _, tc := range []struct {
		name  string
		r     result.Result
		links []LinkInput
		want  string
	}{
		{"named by its metrics", result.Result{Check: result.CheckLatency, From: "a", To: "b", Metrics: result.Metrics{result.MetricLink: "er1"}}, two, "er1"},
		{"a PMTU check's destination is the link", result.Result{Check: result.CheckPMTU, From: "a", To: "vpn1"}, two, "vpn1"},
		{"the only link", result.Result{Check: result.CheckLatency, From: "a", To: "b"}, one, "vpn1"},
		{"else the host pair, in name order", result.Result{Check: result.CheckLatency, From: "z", To: "b"}, two, "b ↔ z"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			if got := linkOf(tc.r, tc.links); got != tc.want {
				t.Errorf("linkOf = %q, want %q", got, tc.want)
			}
		})
	}
}

func TestCollectLinks(t *testing.T) {
	bw := func(mbps, streams float64, dir string, required bool) result.Result {
		m := result.Metrics{result.MetricMbps: mbps, result.MetricStreams: streams, result.MetricDirection: dir}
		if required {
			m[result.MetricRequiredMbps] = 50.0
		}
		return result.Result{ID: "bandwidth/ps/mt", Check: result.CheckBandwidth, From: "ps", To: "mt", Status: result.Pass, Metrics: m}
	}
	lat := result.Result{ID: "latency/ps/mt", Check: result.CheckLatency, From: "ps", To: "mt", Status: result.Pass,
		Metrics: result.Metrics{result.MetricP50MS: 3.0, result.MetricP95MS: 4.0, result.MetricLink: "er1"}}
	pmtu := func(mtu float64) result.Result {
		return result.Result{ID: "pmtu/ps/vpn1", Check: result.CheckPMTU, From: "ps", To: "vpn1", Status: result.Warn,
			Metrics: result.Metrics{result.MetricMTU: mtu, result.MetricExpectedMTU: 1400.0, result.MetricBlackhole: mtu < 1300}}
	}
	errored := result.Result{ID: "bandwidth/ps/mt", Check: result.CheckBandwidth, From: "ps", To: "mt", Status: result.Error,
		Metrics: result.Metrics{result.MetricMbps: 1.0}}
	runs := []result.Run{
		run("t", t0, bw(100, 4, "push", true), bw(40, 1, "push", true), bw(90, 4, "pull", false), lat, pmtu(1350), errored),
		run("t", t0.Add(time.Hour), bw(80, 4, "push", true), pmtu(1200)),
	}
	links := collectLinks(runs, Inputs{Links: []LinkInput{{Name: "vpn1", Kind: "vpn", Bandwidth: 200e6}}})

	type series struct {
		Label string
		Repl  bool
		Hours int
		Med   float64
	}
	var names []string
	var got []series
	for _, lr := range links {
		names = append(names, lr.Name)
		for _, s := range lr.Throughput {
			got = append(got, series{s.Label(), s.Replication, len(s.Hours), s.All.Median})
		}
	}
	if diff := cmp.Diff([]string{"vpn1", "er1"}, names); diff != "" {
		t.Errorf("links: the inputs', then those the results name (-want +got):\n%s", diff)
	}
	want := []series{
		{"ps → mt (push), multi-stream ×4", true, 2, 90},
		{"ps → mt (push), single stream ×1", true, 1, 40},
		{"ps → mt (pull), multi-stream ×4", false, 1, 90},
	}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("series: replication first, more streams first; an errored result counts for nothing (-want +got):\n%s", diff)
	}
	if lr := links[0]; lr.Kind != "vpn" || lr.Bandwidth != 200e6 || lr.Verdict != Unknown || lr.WorstHourAt != -1 {
		t.Errorf("vpn1 = %+v, want its kind and bandwidth from the inputs, not judged yet", lr)
	}
	wantMTU := []PMTURow{{From: "ps", To: "vpn1", MTU: 1200, Min: 1200, Expect: 1400, Blackhole: true, Runs: 2, Status: result.Warn}}
	if diff := cmp.Diff(wantMTU, links[0].PMTU); diff != "" {
		t.Errorf("PMTU rows (-want +got):\n%s", diff)
	}
	if len(links[1].Latency) != 1 || links[1].Latency[0].P95 != 4 {
		t.Errorf("er1 latency = %+v, want the one row its metrics name it for", links[1].Latency)
	}
}

func TestJudgeLink(t *testing.T) {
	series := func(all float64, hours ...HourStat) []Series {
		return []Series{{From: "ps", To: "mt", Streams: 4, Replication: true, Hours: hours, All: HourStat{Median: all}}}
	}
	check := func(id string, st result.Status, runs, fails int) *track {
		return &track{latest: result.Result{ID: id, Check: result.CheckLatency, Status: st, Message: "m", Metrics: result.Metrics{result.MetricLink: "vpn1"}}, runs: runs, fails: fails}
	}
	vms := []VMInput{{Name: "vm1", Link: "vpn1", Disks: []DiskInput{{Churn: 50e6}}}}
	for _, tc := range []struct {
		name        string
		throughput  []Series
		tracks      []*track
		in          Inputs
		wantVerdict Verdict
		wantWhy     string
		wantHead    float64
	}{
		{"passing checks, nothing required", nil, []*track{check("latency/a", result.Pass, 3, 0)}, Inputs{}, Go, "", 0},
		{"a check that failed before", nil, []*track{check("latency/a", result.Pass, 3, 1)}, Inputs{}, Caution, "failed in 1 of 3 runs", 0},
		{"another link's checks do not count", nil, []*track{{latest: result.Result{ID: "latency/b", Check: result.CheckLatency, Status: result.Fail, Metrics: result.Metrics{result.MetricLink: "er1"}}}}, Inputs{}, Unknown, "", 0},
		{"required but not measured", nil, nil, Inputs{VMs: vms}, Caution, "no multi-stream test", 0},
		{"enough headroom", series(100, HourStat{Hour: 2, Median: 80}, HourStat{Hour: 3, Median: 120}), nil, Inputs{VMs: vms}, Unknown, "", 2},
		{"tight at the worst hour", series(100, HourStat{Hour: 2, Median: 55}), nil, Inputs{VMs: vms}, Caution, "At 02:00 the headroom is only 1.10×", 2},
		{"short at the worst hour", series(100, HourStat{Hour: 2, Median: 40}), nil, Inputs{VMs: vms}, NoGo, "At 02:00 the median throughput (40 Mbit/s) is below the required 50 Mbit/s", 2},
	} {
		t.Run(tc.name, func(t *testing.T) {
			lr := LinkReport{Name: "vpn1", Verdict: Unknown, WorstHourAt: -1, Throughput: tc.throughput}
			judgeLink(&lr, tc.tracks, tc.in, capacity.Plan{}, 0)
			why := strings.Join(lr.Reasons, " | ")
			if lr.Verdict != tc.wantVerdict || !strings.Contains(why, tc.wantWhy) || (tc.wantWhy == "") != (why == "") || lr.Headroom != tc.wantHead {
				t.Errorf("verdict %v, headroom %v, reasons %q; want %v, %v, %q", lr.Verdict, lr.Headroom, why, tc.wantVerdict, tc.wantHead, tc.wantWhy)
			}
		})
	}
}

func TestApplyProfile(t *testing.T) {
	// One hour of a steady 20 Mbit/s: RPO 100 % and 90 % both need about 20 Mbit/s.
	minutes := make([]capacity.BitsPerSecond, 60)
	for i := range minutes {
		minutes[i] = 20e6
	}
	profile := &capacity.Profile{Churn: minutes}
	for _, tc := range []struct {
		name        string
		in          Inputs
		worstHour   float64
		wantVerdict Verdict
		wantNote    string
		wantSizing  bool
	}{
		{"no profile: nothing to do", Inputs{RPO: 15 * time.Minute}, 10e6, Go, "", false},
		{"a profile without an RPO says so", Inputs{Profile: profile}, 10e6, Go, "no RPO", false},
		{"the worst hour carries it", Inputs{Profile: profile, RPO: 15 * time.Minute}, 100e6, Go, "", true},
		{"the worst hour misses the RPO", Inputs{Profile: profile, RPO: 15 * time.Minute}, 5e6, NoGo, "", true},
	} {
		t.Run(tc.name, func(t *testing.T) {
			rep := Report{Inputs: tc.in, Verdict: Go, Links: []LinkReport{{Name: "vpn1", Verdict: Go, WorstHour: tc.worstHour, WorstHourAt: 2}}}
			rep.applyProfile(capacity.Plan{})
			notes := strings.Join(rep.Notes, " | ")
			if rep.Links[0].Verdict != tc.wantVerdict || rep.Verdict != tc.wantVerdict || !strings.Contains(notes, tc.wantNote) || (rep.Sizing != nil) != tc.wantSizing {
				t.Errorf("link %v, estate %v, notes %q, sizing %v; want %v, %q, sizing %v", rep.Links[0].Verdict, rep.Verdict, notes, rep.Sizing != nil, tc.wantVerdict, tc.wantNote, tc.wantSizing)
			}
		})
	}
}

func TestVMReports(t *testing.T) {
	const gib = 1 << 30
	in := Inputs{VMs: []VMInput{
		{Name: "sql01", Link: "er1", Disks: []DiskInput{{Size: 100 * gib, Churn: 8e6}, {Size: 28 * gib, Churn: 2e6}}},
		{Name: "web01", Disks: []DiskInput{{Size: 64 * gib}}},
	}}
	links := []LinkReport{
		{Name: "vpn1", Measured: 100e6, WorstHeadroom: 0.5, WorstHourAt: 2},
		{Name: "er1", Measured: 1e9, WorstHeadroom: 3},
	}
	tracks := []*track{
		{latest: result.Result{ID: "port/sql01/cs01", From: "sql01", To: "cs01", Status: result.Pass}, runs: 2},
		{latest: result.Result{ID: "port/web01/cs01", From: "web01", To: "cs01", Status: result.Warn, Message: "slow"}, runs: 2},
	}
	vms := vmReports(in, links, tracks, capacity.Plan{Growth: 0.5})
	if len(vms) != 2 {
		t.Fatalf("%d VM reports, want 2", len(vms))
	}
	sql, web := vms[0], vms[1]
	if sql.Verdict != Go || sql.Churn != 10e6 || sql.Required != 15e6 || sql.Disks != 2 || sql.Flows.Pass != 1 {
		t.Errorf("sql01 = %+v, want GO over er1 with 10 Mbit/s churn needing 15 with growth", sql)
	}
	// 128 GiB at 1 Gbit/s (its own link) and 64 GiB at 100 Mbit/s (the slowest, its link unknown).
	if sql.ResyncHours >= web.ResyncHours || sql.ResyncHours <= 0 {
		t.Errorf("resync: sql01 %.2f h over er1, web01 %.2f h over the slowest link", sql.ResyncHours, web.ResyncHours)
	}
	if web.Verdict != NoGo || len(web.Reasons) != 2 || !strings.Contains(web.Reasons[1], "Link vpn1: headroom 0.50× at 02:00") {
		t.Errorf("web01 = %v %q, want NO-GO: its flow warns and, with no link of its own, vpn1 is short", web.Verdict, web.Reasons)
	}
}

func TestFailingFlows(t *testing.T) {
	tracks := []*track{
		{latest: result.Result{ID: "a", Status: result.Pass}, runs: 3},
		{latest: result.Result{ID: "b", Status: result.Pass}, lastFail: result.Result{ID: "b", Message: "was refused", Hint: "allow it"}, runs: 3, fails: 1},
		{latest: result.Result{ID: "c", Status: result.Error}, lastFail: result.Result{ID: "c", Message: "agent down"}, runs: 3, fails: 3},
		{latest: result.Result{ID: "d", Status: result.Fail}, lastFail: result.Result{ID: "d", Message: "refused", Metrics: result.Metrics{result.MetricAnswerFrom: "device"}}, runs: 3, fails: 2},
	}
	type row struct {
		ID, Message, AnswerFrom string
		Current                 bool
		Status                  result.Status
		Failed                  int
	}
	var got []row
	for _, f := range failingFlows(tracks) {
		got = append(got, row{f.ID, f.Message, f.AnswerFrom, f.Current, f.Status, f.FailedRuns})
	}
	want := []row{
		{"d", "refused", "device", true, result.Fail, 2},
		{"c", "agent down", "", true, result.Error, 3},
		{"b", "was refused", "", false, result.Pass, 1},
	}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("failing flows: current first, worst first, what was seen from the last failure (-want +got):\n%s", diff)
	}
}

func TestUnchecked(t *testing.T) {
	skipped := func(id, conf string) *track {
		return &track{latest: result.Result{ID: id, Status: result.Skip, Confidence: conf}}
	}
	rep := Report{Verdict: Go, Inputs: Inputs{VMs: []VMInput{{Name: "a", Disks: []DiskInput{{Churn: 1e6}}}, {Name: "b"}}}}
	rep.unchecked([]*track{skipped("port/1", "doc"), skipped("port/2", "uncertain"), skipped("port/3", "inferred")})
	want := []string{
		"2 documented checks were not run in the latest run (port/1, port/3): their flows are unproven; the failing-flows table and each check's message say why.",
		"1 of 2 failing-back VMs have no churn in the topology: the required bandwidth leaves them out, so headroom looks better than it is.",
	}
	if diff := cmp.Diff(want, rep.Caveats); diff != "" || rep.Verdict != Caution {
		t.Errorf("verdict %v, want GO WITH CAVEATS; caveats (-want +got):\n%s", rep.Verdict, diff)
	}
}
