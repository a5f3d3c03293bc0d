package report

import (
	"bytes"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"golang.org/x/net/html"

	"github.com/netprobe/netprobe/internal/capacity"
	"github.com/netprobe/netprobe/internal/history"
	"github.com/netprobe/netprobe/internal/result"
	"github.com/netprobe/netprobe/internal/topology"
)

const historyDir = "testdata/history"

// fixtureInputs is the contoso estate of the design notes: one VPN, two protected VMs.
func fixtureInputs() Inputs {
	const gib = 1 << 30
	return Inputs{
		Topology: "contoso-failback", RPO: 15 * time.Minute, Growth: 0.30,
		Links:     []LinkInput{{Name: "s2s", Kind: "vpn", Sites: [2]string{"onprem", "azure"}, Bandwidth: 200e6, MTU: 1400}},
		Checklist: []string{"No VMware snapshots on master target mt01", "The vCenter account ASR uses is not read-only"},
		Provenance: Provenance{Version: "1.2.3", Commit: "abc1234", GeneratedAt: time.Date(2026, 11, 25, 9, 0, 0, 0, time.UTC),
			TopologyFile: "estate.yaml", TopologySHA256: "5e3c0ffee0000000000000000000000000000000000000000000000000000042"},
		VMs: []VMInput{
			{Name: "sql01", Group: "sql-tier", Disks: []DiskInput{{Size: 512 * gib, Churn: 32e6}, {Size: 128 * gib, Churn: 8e6}}},
			{Name: "web01", Disks: []DiskInput{{Size: 64 * gib, Churn: 4e6}}},
		},
	}
}

// fixtureRuns is three days of cron runs every three hours. The story it tells: the VPN
// carries 160 Mbit/s with 4 streams by day but drops to about 50 at 02:00 (backups share it);
// one stream is window-bound near 45; the path MTU is a black hole below the expected 1400;
// sql01 -> cs01 443 is blocked throughout; mt01 -> ps-az 9443 failed on the second day only.
func fixtureRuns() []result.Run {
	var runs []result.Run
	start := time.Date(2026, 11, 22, 2, 0, 0, 0, time.UTC)
	for day := range 3 {
		for slot := range 8 {
			at := start.Add(time.Duration(day)*24*time.Hour + time.Duration(slot)*3*time.Hour)
			h := at.Hour()
			wobble := float64((day*7+slot*3)%11) - 5 // deterministic variation, -5..5
			multi := 160 + wobble
			loadedP95 := 30 + wobble
			if h == 2 {
				multi, loadedP95 = 50+wobble, 45+wobble
			}
			st := func(ok bool) result.Status {
				if ok {
					return result.Pass
				}
				return result.Fail
			}
			required := 57.2
			rs := []result.Result{
				{ID: "bandwidth/ps-az/mt01/4/push", Check: "bandwidth", Rule: "FB-BANDWIDTH", Phase: "failback", From: "ps-az", To: "mt01",
					Status: st(multi >= required), Message: fmt.Sprintf("%.0f Mbps with 4 streams", multi),
					Metrics: map[string]any{"mbps": multi, "streams": 4.0, "direction": "push", "required_mbps": required, "headroom": multi / required}},
				{ID: "bandwidth/ps-az/mt01/1/push", Check: "bandwidth", Rule: "FB-BANDWIDTH", Phase: "failback", From: "ps-az", To: "mt01",
					Status: result.Pass, Message: "single stream", Metrics: map[string]any{"mbps": 45 + wobble/2, "streams": 1.0, "direction": "push", "required_mbps": required}},
				{ID: "bandwidth/ps-az/mt01/4/pull", Check: "bandwidth", Rule: "FB-BANDWIDTH", Phase: "failback", From: "ps-az", To: "mt01",
					Status: result.Pass, Message: "reverse direction", Metrics: map[string]any{"mbps": multi * 0.9, "streams": 4.0, "direction": "pull"}},
				{ID: "latency/ps-az/mt01", Check: "latency", Rule: "FB-LATENCY", Phase: "failback", From: "ps-az", To: "mt01",
					Status: result.Pass, Message: "p95 within 5ms",
					Metrics: map[string]any{"samples": 50.0, "loss": 0.0, "p50_ms": 3.1, "p95_ms": 4.2 + wobble/10, "loaded_p95_ms": loadedP95}},
				{ID: "pmtu/ps-az/s2s", Check: "pmtu", Rule: "FB-PMTU", Phase: "failback", From: "ps-az", To: "s2s", Status: result.Fail,
					Message: "packets above 1300 bytes vanish without ICMP", Hint: "Clamp the TCP MSS on the VPN gateway to 1260 or let ICMP type 3 code 4 through.",
					Metrics: map[string]any{"mtu": 1300.0, "expected_mtu": 1400.0, "blackhole": true}},
				{ID: "port/sql01/cs01/443/tcp", Check: "port", Rule: "FB-VM-CS", Phase: "failback", From: "sql01", To: "cs01", Target: "192.168.50.4:443",
					Proto: "tcp", Expect: "open", Status: result.Fail, State: "filtered", Reason: "timeout", Message: "sql01 cannot reach cs01 on 443/tcp",
					Hint: "Allow tcp 10.10.5.10 -> 192.168.50.4:443 (ASR error 95226)."},
				{ID: "port/web01/cs01/443/tcp", Check: "port", Rule: "FB-VM-CS", Phase: "failback", From: "web01", To: "cs01", Target: "192.168.50.4:443",
					Proto: "tcp", Expect: "open", Status: result.Pass, State: "open", Reason: "syn-ack", Message: "web01 reaches cs01 on 443/tcp"},
				{ID: "port/mt01/ps-az/9443/tcp", Check: "port", Rule: "FB-MT-PS", Phase: "failback", From: "mt01", To: "ps-az", Target: "10.20.1.4:9443",
					Proto: "tcp", Expect: "open", Status: st(day != 1), State: map[bool]string{true: "open", false: "filtered"}[day != 1],
					Message: "mt01 to ps-az on 9443/tcp", Hint: "Allow tcp 10.10.0.8 -> 10.20.1.4:9443 (process server data port)."},
			}
			runs = append(runs, result.NewRun("contoso-failback", at, 40*time.Second, rs))
		}
	}
	return runs
}

// TestFixtureHistory writes testdata/history with -update, through the real history store.
func TestFixtureHistory(t *testing.T) {
	if !*update {
		t.Skip("fixture history is regenerated only with -update")
	}
	os.RemoveAll(historyDir)
	s, err := history.Open(t.Context(), historyDir, history.Options{})
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	for _, r := range fixtureRuns() {
		if err := s.Append(t.Context(), r); err != nil {
			t.Fatal(err)
		}
	}
}

func fixtureReport(t *testing.T) Report {
	t.Helper()
	runs, warns := history.Load(historyDir)
	if len(warns) > 0 {
		t.Fatalf("fixture history: %v", warns)
	}
	if len(runs) != 24 {
		t.Fatalf("fixture history has %d runs, want 24", len(runs))
	}
	in := fixtureInputs()
	f, err := os.Open(filepath.Join("testdata", "churn.csv"))
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	prof, err := capacity.ParseProfile(f)
	if err != nil {
		t.Fatal(err)
	}
	in.Profile = &prof
	return Build(runs, in)
}

func TestMarkdownGolden(t *testing.T) {
	var buf bytes.Buffer
	if err := fixtureReport(t).Markdown(&buf); err != nil {
		t.Fatal(err)
	}
	golden(t, "golden/report.md", buf.Bytes())
}

// The HTML page must be well-formed, self-contained, and hold one chart per link.
func TestHTMLPage(t *testing.T) {
	rep := fixtureReport(t)
	var buf bytes.Buffer
	if err := rep.HTML(&buf); err != nil {
		t.Fatal(err)
	}
	if *update {
		os.WriteFile(filepath.Join("testdata", "golden", "report.html"), buf.Bytes(), 0o644)
	}
	doc, err := html.Parse(bytes.NewReader(buf.Bytes()))
	if err != nil {
		t.Fatal(err)
	}
	var (
		svgsPerSection []int
		inSection      = -1
		texts          strings.Builder
	)
	var walk func(n *html.Node)
	walk = func(n *html.Node) {
		if n.Type == html.ElementNode {
			switch n.Data {
			case "script", "iframe", "object", "embed":
				t.Errorf("<%s> in a page that must run no code", n.Data)
			case "section":
				svgsPerSection = append(svgsPerSection, 0)
				inSection = len(svgsPerSection) - 1
				defer func() { inSection = -1 }()
			case "svg":
				if inSection >= 0 {
					svgsPerSection[inSection]++
				}
			}
			for _, a := range n.Attr {
				if (a.Key == "src" || a.Key == "href") && !strings.HasPrefix(a.Val, "#") {
					t.Errorf("<%s %s=%q>: the page must not fetch anything", n.Data, a.Key, a.Val)
				}
			}
		}
		if n.Type == html.TextNode {
			texts.WriteString(n.Data)
		}
		for c := n.FirstChild; c != nil; c = c.NextSibling {
			walk(c)
		}
	}
	walk(doc)
	if len(svgsPerSection) != len(rep.Links) {
		t.Fatalf("%d link sections, want %d", len(svgsPerSection), len(rep.Links))
	}
	for i, n := range svgsPerSection {
		if n != 1 {
			t.Errorf("link %s has %d charts, want 1", rep.Links[i].Name, n)
		}
	}
	for _, want := range []string{"NO-GO", "not Microsoft's", "Allow tcp 10.10.5.10 -> 192.168.50.4:443", "@page", "required 57 Mbit/s"} {
		if !strings.Contains(texts.String(), want) {
			t.Errorf("page text lacks %q", want)
		}
	}
	if strings.Contains(buf.String(), "@import") || strings.Contains(buf.String(), "url(") {
		t.Error("CSS must not load anything")
	}
}

func TestBuildStory(t *testing.T) {
	rep := fixtureReport(t)
	if rep.Verdict != NoGo {
		t.Errorf("overall verdict %s, want NO-GO (443 blocked, PMTU black hole)", rep.Verdict)
	}
	if len(rep.Links) != 1 || rep.Links[0].Name != "s2s" {
		t.Fatalf("links %+v, want the one VPN", rep.Links)
	}
	l := rep.Links[0]
	if l.WorstHourAt != 2 {
		t.Errorf("worst hour %d, want 02:00 when backups share the link", l.WorstHourAt)
	}
	if l.WorstHeadroom >= 1 || l.Headroom < 2 {
		t.Errorf("headroom %.2f, worst %.2f: want comfortable overall and short at 02:00", l.Headroom, l.WorstHeadroom)
	}
	if got := len(l.Throughput); got != 3 {
		t.Errorf("%d throughput series, want 3 (4 and 1 streams push, 4 pull)", got)
	}
	if !l.Latency[0].HasLoaded || l.Latency[0].LoadedP95 <= l.Latency[0].P95 {
		t.Errorf("latency %+v: loaded p95 must be reported above idle", l.Latency[0])
	}
	byVM := map[string]VMReport{}
	for _, v := range rep.VMs {
		byVM[v.Name] = v
	}
	if byVM["sql01"].Verdict != NoGo {
		t.Errorf("sql01 %s, want NO-GO: its 443 to cs01 is blocked", byVM["sql01"].Verdict)
	}
	// web01's own flow passes, but the link is short at 02:00.
	if byVM["web01"].Verdict != NoGo || !strings.Contains(strings.Join(byVM["web01"].Reasons, " "), "02:00") {
		t.Errorf("web01 %s %v, want NO-GO because of the 02:00 headroom", byVM["web01"].Verdict, byVM["web01"].Reasons)
	}
	// 640 GiB at the ~160 Mbit/s median: 640*2^30*8/160e6/3600 = 9.5 h.
	if h := byVM["sql01"].ResyncHours; h < 9 || h > 10.5 {
		t.Errorf("sql01 resync %.1f h, want about 9.5", h)
	}
	if rep.Sizing == nil || rep.Sizing.Minutes != 120 || rep.Sizing.Always <= rep.Sizing.Mostly {
		t.Fatalf("sizing %+v: want RPO 100 %% above RPO 90 %% from 120 minutes of profile", rep.Sizing)
	}
	if !strings.Contains(strings.Join(l.Reasons, " "), "RPO 90 % needs") {
		t.Errorf("link reasons %q: the 02:00 throughput must be judged against the profile", l.Reasons)
	}
	var intermittent *FlowFinding
	for i, f := range rep.Failing {
		if f.ID == "port/mt01/ps-az/9443/tcp" {
			intermittent = &rep.Failing[i]
		}
	}
	if intermittent == nil || intermittent.Current || intermittent.FailedRuns != 8 || intermittent.Runs != 24 {
		t.Errorf("intermittent 9443 finding %+v, want failed 8 of 24, not current", intermittent)
	}
	if rep.Failing[0].Current != true {
		t.Error("current failures must be listed first")
	}
}

func TestBuildVerdicts(t *testing.T) {
	at := time.Date(2026, 11, 25, 10, 0, 0, 0, time.UTC)
	port := func(st result.Status) result.Result {
		return result.Result{ID: "port/vm1/cs01/443/tcp", Check: "port", From: "vm1", To: "cs01", Status: st, Message: "m"}
	}
	run := func(at time.Time, rs ...result.Result) result.Run { return result.NewRun("t", at, time.Second, rs) }
	in := Inputs{VMs: []VMInput{{Name: "vm1", Disks: []DiskInput{{Size: 1 << 30, Churn: 1e6}}}}, Window: -1} // coverage: TestReportCoverage
	for _, tc := range []struct {
		name string
		runs []result.Run
		want Verdict
	}{
		{"no runs", nil, Unknown},
		{"all pass", []result.Run{run(at, port(result.Pass))}, Go},
		{"fails now", []result.Run{run(at, port(result.Pass)), run(at.Add(time.Hour), port(result.Fail))}, NoGo},
		{"failed before, passes now", []result.Run{run(at, port(result.Fail)), run(at.Add(time.Hour), port(result.Pass))}, Caution},
		{"error now", []result.Run{run(at, port(result.Error))}, Caution},
		{"warn now", []result.Run{run(at, port(result.Warn))}, Caution},
		{"runs out of order: latest wins", []result.Run{run(at.Add(time.Hour), port(result.Pass)), run(at, port(result.Fail))}, Caution},
	} {
		t.Run(tc.name, func(t *testing.T) {
			rep := Build(tc.runs, in)
			if rep.Verdict != tc.want {
				t.Errorf("verdict %s, want %s (failing %+v)", rep.Verdict, tc.want, rep.Failing)
			}
		})
	}
}

func TestBuildOtherTopologyLeftOut(t *testing.T) {
	runs := []result.Run{
		result.NewRun("a", time.Unix(0, 0), 0, []result.Result{{ID: "x", Check: "port", Status: result.Fail, Message: "m"}}),
		result.NewRun("b", time.Unix(1, 0), 0, []result.Result{{ID: "x", Check: "port", Status: result.Pass, Message: "m"}}),
	}
	rep := Build(runs, Inputs{Topology: "b", Window: -1})
	if rep.Runs != 1 || rep.Verdict != Go || !strings.Contains(strings.Join(rep.Notes, " "), "1 runs of other topologies") {
		t.Errorf("runs %d verdict %s notes %v", rep.Runs, rep.Verdict, rep.Notes)
	}
}

func TestInputsFromTopology(t *testing.T) {
	src := `version: 1
name: mini
settings: {rpo: 30m, growth: 50%}
sites:
  onprem: {kind: onprem, networks: [10.10.0.0/16]}
  azure: {kind: azure, networks: [10.20.0.0/16]}
links:
  - {name: er, kind: expressroute-private, sites: [onprem, azure], bandwidth: 1Gbps}
hosts:
  vm1:
    site: azure
    os: linux
    roles: [protected-vm]
    address: 10.20.0.5
    disks: [{size: 100GiB, churn: 2MB/s}]
  cs01:
    site: onprem
    os: windows
    roles: [configuration-server]
    address: 10.10.0.4
`
	topo, err := topology.Parse("mini.yaml", []byte(src))
	if err != nil {
		t.Fatal(err)
	}
	in := InputsFromTopology(topo)
	if in.Topology != "mini" || in.RPO != 30*time.Minute || in.Growth != 0.5 {
		t.Errorf("settings %+v", in)
	}
	if len(in.Links) != 1 || in.Links[0].Bandwidth != 1e9 || in.Links[0].Kind != "expressroute-private" {
		t.Errorf("links %+v", in.Links)
	}
	if len(in.VMs) != 1 || in.VMs[0].Name != "vm1" || in.VMs[0].Disks[0].Churn != 16e6 || in.VMs[0].Disks[0].Size != 100<<30 {
		t.Errorf("vms %+v", in.VMs)
	}
}

// TestInputsFromTopologyFailbackVMs: the report's VMs are those that fail back, each with the
// link its data crosses; a VM still replicating forward takes no failback bandwidth.
func TestInputsFromTopologyFailbackVMs(t *testing.T) {
	top, err := topology.Parse("pairs.yaml", []byte(`version: 1
sites:
  onprem: {kind: onprem, networks: [10.10.0.0/16]}
  azure: {kind: azure, networks: [10.20.0.0/16]}
  azure2: {kind: azure, networks: [10.40.0.0/16]}
links:
  - {name: s2s, kind: vpn, sites: [onprem, azure]}
  - {name: er, kind: expressroute-private, sites: [onprem, azure2]}
hosts:
  cs01: {site: onprem, os: windows, roles: [configuration-server], address: 10.10.0.4}
  ps-az: {site: azure, os: windows, roles: [process-server], address: 10.20.1.4}
  ps-az2: {site: azure2, os: windows, roles: [process-server], address: 10.40.1.4}
  win1: {site: azure, os: windows, roles: [protected-vm], address: 10.20.2.1, disks: [{size: 100GiB, churn: 1MB/s}]}
  far1: {site: azure2, os: windows, roles: [protected-vm], address: 10.40.2.1, disks: [{size: 100GiB, churn: 8MB/s}]}
  fwd1: {site: onprem, os: windows, roles: [protected-vm], address: 10.10.3.1, disks: [{size: 100GiB, churn: 16MB/s}]}
`))
	if err != nil {
		t.Fatal(err)
	}
	in := InputsFromTopology(top)
	var got []string
	for _, vm := range in.VMs {
		got = append(got, vm.Name+"@"+vm.Link)
	}
	if strings.Join(got, " ") != "far1@er win1@s2s" {
		t.Errorf("VMs %v, want far1@er win1@s2s (fwd1 replicates forward)", got)
	}
}

// TestReportRequiredPerLink: each link's headroom is judged against the churn of the VMs
// failing back over it, not the estate's total; the estate's figure stays the sum.
func TestReportRequiredPerLink(t *testing.T) {
	in := Inputs{Topology: "t", RPO: 15 * time.Minute,
		Links: []LinkInput{{Name: "s2s", Kind: "vpn"}, {Name: "er", Kind: "expressroute-private"}},
		VMs: []VMInput{
			{Name: "win1", Link: "s2s", Disks: []DiskInput{{Size: 1 << 30, Churn: 8e6}}},
			{Name: "far1", Link: "er", Disks: []DiskInput{{Size: 1 << 30, Churn: 64e6}}},
		}}
	at := time.Date(2026, 12, 1, 10, 0, 0, 0, time.UTC)
	bw := func(from, to, link string, mbps float64) result.Result {
		return result.Result{ID: "bandwidth/" + from + "/" + to + "/4", Check: result.CheckBandwidth, Rule: "FB-BW", From: from, To: to, Status: result.Pass,
			Metrics: map[string]any{"mbps": mbps, "streams": 4.0, "direction": "push", "required_mbps": 1.0, "link": link}}
	}
	// 20 Mbit/s on s2s carries win1's 8 (headroom 2.5) but would be short of the 72 total.
	runs := []result.Run{{Topology: "t", StartedAt: at, Results: []result.Result{bw("ps-az", "cs01", "s2s", 20), bw("ps-az2", "cs01", "er", 100)}}}
	rep := Build(runs, in)
	if rep.Required != 72e6 {
		t.Errorf("estate required %.0f, want 72e6", rep.Required)
	}
	for _, lr := range rep.Links {
		want := map[string]float64{"s2s": 8e6, "er": 64e6}[lr.Name]
		if lr.Required != want {
			t.Errorf("link %s required %.0f, want %.0f", lr.Name, lr.Required, want)
		}
	}
	if rep.Links[0].Name != "s2s" || rep.Links[0].Headroom != 2.5 || rep.Links[0].Verdict == NoGo {
		t.Errorf("s2s: headroom %.2f verdict %s, want 2.50 and not NO-GO", rep.Links[0].Headroom, rep.Links[0].Verdict)
	}
}

// TestReportFixedFailbackRPO: a what-if RPO is used for the sums, and the report says ASR's
// failback policy does not follow it.
func TestReportFixedFailbackRPO(t *testing.T) {
	in := fixtureInputs()
	in.RPO = 30 * time.Minute
	rep := Build(fixtureRuns(), in)
	if !strings.Contains(strings.Join(rep.Notes, "\n"), "ASR's failback policy cannot be edited and measures the RPO against 15 minutes") {
		t.Errorf("no note on the fixed failback RPO: %q", rep.Notes)
	}
	if rep := Build(fixtureRuns(), fixtureInputs()); strings.Contains(strings.Join(rep.Notes, "\n"), "cannot be edited") {
		t.Errorf("note with the default RPO: %q", rep.Notes)
	}
}

// TestReportCoverage: two minutes of history judged for a 24-hour window is a caveat that says
// so; a day of runs is not.
func TestReportCoverage(t *testing.T) {
	at := time.Date(2026, 11, 25, 10, 0, 0, 0, time.UTC)
	pass := []result.Result{{ID: "port/vm1/cs01/443/tcp", Check: "port", From: "vm1", To: "cs01", Status: result.Pass, Message: "m"}}
	short := Build([]result.Run{result.NewRun("t", at, 0, pass), result.NewRun("t", at.Add(2*time.Minute), 0, pass)}, Inputs{})
	if short.Verdict != Caution || len(short.Caveats) != 1 || !strings.Contains(short.Caveats[0], "covers 2 min (2 runs") || !strings.Contains(short.Caveats[0], "24 h window") {
		t.Errorf("2 minutes of history: %s, caveats %q", short.Verdict, short.Caveats)
	}
	day := Build([]result.Run{result.NewRun("t", at, 0, pass), result.NewRun("t", at.Add(24*time.Hour), 0, pass)}, Inputs{})
	if day.Verdict != Go || len(day.Caveats) != 0 {
		t.Errorf("a day of history: %s, caveats %q", day.Verdict, day.Caveats)
	}
}

// TestReportPlausibility: a link measured faster than it is provisioned, a path MTU above the
// declared one, or a round trip too short for a link between sites means the test did not
// cross the link: a caveat with that sentence, never a plain pass.
func TestReportPlausibility(t *testing.T) {
	at := time.Date(2026, 11, 25, 10, 0, 0, 0, time.UTC)
	in := Inputs{Topology: "t", Window: -1, Links: []LinkInput{{Name: "s2s", Kind: "vpn", Bandwidth: 200e6, MTU: 1400}}}
	rs := []result.Result{
		{ID: "bandwidth/ps-az/mt01/4", Check: result.CheckBandwidth, From: "ps-az", To: "mt01", Status: result.Pass,
			Metrics: map[string]any{"mbps": 30000.0, "streams": 4.0, "direction": "push", "link": "s2s"}},
		{ID: "pmtu/ps-az/mt01", Check: result.CheckPMTU, From: "ps-az", To: "mt01", Status: result.Pass, Metrics: map[string]any{"mtu": 1500.0, "link": "s2s"}},
		{ID: "latency/ps-az/sql01", Check: result.CheckLatency, From: "ps-az", To: "sql01", Status: result.Pass,
			Metrics: map[string]any{"samples": 50.0, "p50_ms": 0.03, "p95_ms": 0.05, "link": "s2s"}},
	}
	rep := Build([]result.Run{result.NewRun("t", at, 0, rs)}, in)
	l := rep.Links[0]
	why := strings.Join(l.Reasons, "\n")
	for _, want := range []string{"Measured 30 Gbit/s on a link declared as 200 Mbit/s", "Path MTU 1500 from ps-az to mt01 on a link declared with MTU 1400",
		"Round trip ps-az to sql01 of 0.030 ms", "the test probably did not cross the link"} {
		if !strings.Contains(why, want) {
			t.Errorf("link reasons lack %q:\n%s", want, why)
		}
	}
	if l.Verdict != Caution || rep.Verdict != Caution {
		t.Errorf("link %s, estate %s: want GO WITH CAVEATS", l.Verdict, rep.Verdict)
	}
	ok := Build([]result.Run{result.NewRun("t", at, 0, []result.Result{{ID: "bandwidth/ps-az/mt01/4", Check: result.CheckBandwidth, From: "ps-az", To: "mt01",
		Status: result.Pass, Metrics: map[string]any{"mbps": 150.0, "streams": 4.0, "direction": "push", "link": "s2s"}}})}, in)
	if ok.Links[0].Verdict != Go {
		t.Errorf("150 Mbit/s on a 200 Mbit/s link: %s %q", ok.Links[0].Verdict, ok.Links[0].Reasons)
	}
}

// TestChartOneRun: the chart of a single run labels its points with their values.
func TestChartOneRun(t *testing.T) {
	at := time.Date(2026, 11, 25, 10, 0, 0, 0, time.UTC)
	rs := []result.Result{{ID: "bandwidth/ps-az/mt01/4", Check: result.CheckBandwidth, From: "ps-az", To: "mt01", Status: result.Pass,
		Metrics: map[string]any{"mbps": 42.5, "streams": 4.0, "direction": "push", "required_mbps": 20.0, "link": "s2s"}}}
	rep := Build([]result.Run{result.NewRun("t", at, 0, rs)}, Inputs{Topology: "t", Links: []LinkInput{{Name: "s2s", Kind: "vpn"}}})
	svg := string(rep.Links[0].Chart(rep.Required))
	if !strings.Contains(svg, `r="5.0"`) || !strings.Contains(svg, ">42.5<") {
		t.Errorf("a one-run chart should draw a large, labelled point:\n%s", svg)
	}
}

// TestReportUnmeasured: a documented check the latest run skipped (the data port held on both
// ends, so no bandwidth test could run), and a link whose VMs need bandwidth that no test
// measured, are no GO: the board must know what nobody looked at.
func TestReportUnmeasured(t *testing.T) {
	at := time.Date(2026, 11, 25, 10, 0, 0, 0, time.UTC)
	in := Inputs{Topology: "t", Window: -1, Links: []LinkInput{{Name: "s2s", Kind: "vpn"}},
		VMs: []VMInput{{Name: "vm1", Link: "s2s", Disks: []DiskInput{{Size: 1 << 30, Churn: 100e6}}}}}
	rs := []result.Result{
		{ID: "port/vm1/cs01/443/tcp", Check: "port", From: "vm1", To: "cs01", Status: result.Pass, Confidence: "doc", Message: "m"},
		{ID: "bandwidth/ps-az/cs01/4", Check: result.CheckBandwidth, Rule: "FB-BW", From: "ps-az", To: "cs01", Status: result.Skip, Confidence: "doc",
			Message: "port 9443 is held by a service on both ps-az and cs01", Metrics: map[string]any{"link": "s2s"}},
	}
	rep := Build([]result.Run{result.NewRun("t", at, 0, rs)}, in)
	if rep.Verdict != Caution || len(rep.Caveats) == 0 || !strings.Contains(rep.Caveats[0], "bandwidth/ps-az/cs01/4") {
		t.Errorf("verdict %s caveats %q: a skipped FB-BW must be a caveat", rep.Verdict, rep.Caveats)
	}
	if l := rep.Links[0]; l.Verdict != Caution || !strings.Contains(strings.Join(l.Reasons, " "), "no multi-stream test") {
		t.Errorf("link %s %q: required but never measured", l.Verdict, l.Reasons)
	}
	// An undocumented check that was skipped says nothing either way.
	rs[1].Confidence = "uncertain"
	in.VMs[0].Link = ""
	if rep := Build([]result.Run{result.NewRun("t", at, 0, rs[:1])}, Inputs{Topology: "t", Window: -1, VMs: in.VMs}); rep.Verdict != Go {
		t.Errorf("a passing estate: %s %q", rep.Verdict, rep.Caveats)
	}
}

// TestReportVMOwnLink: a VM is judged against the link its failback crosses, not another one
// that is short; a VM whose link is unknown still meets every link.
func TestReportVMOwnLink(t *testing.T) {
	at := time.Date(2026, 11, 25, 10, 0, 0, 0, time.UTC)
	bw := func(from, link string, mbps, required float64) result.Result {
		return result.Result{ID: "bandwidth/" + from + "/mt/4", Check: result.CheckBandwidth, From: from, To: "mt", Status: result.Pass, Confidence: "doc",
			Metrics: map[string]any{"mbps": mbps, "streams": 4.0, "direction": "push", "required_mbps": required, "link": link}}
	}
	in := Inputs{Topology: "t", Window: -1, Links: []LinkInput{{Name: "west"}, {Name: "east"}},
		VMs: []VMInput{
			{Name: "west1", Link: "west", Disks: []DiskInput{{Size: 1 << 30, Churn: 10e6}}},
			{Name: "east1", Link: "east", Disks: []DiskInput{{Size: 1 << 30, Churn: 100e6}}},
		}}
	rep := Build([]result.Run{result.NewRun("t", at, 0, []result.Result{bw("ps-w", "west", 100, 10), bw("ps-e", "east", 50, 100)})}, in)
	verdicts := map[string]Verdict{}
	for _, v := range rep.VMs {
		verdicts[v.Name] = v.Verdict
	}
	if verdicts["west1"] == NoGo || verdicts["east1"] != NoGo {
		t.Errorf("VM verdicts %v: west1 crosses only the healthy west link, east1 the short east one", verdicts)
	}
}

// TestReportExpressRouteBurst: ExpressRoute may carry up to twice its bandwidth; a VPN may not.
func TestReportExpressRouteBurst(t *testing.T) {
	at := time.Date(2026, 11, 25, 10, 0, 0, 0, time.UTC)
	rs := []result.Result{{ID: "bandwidth/ps/mt/4", Check: result.CheckBandwidth, From: "ps", To: "mt", Status: result.Pass,
		Metrics: map[string]any{"mbps": 1800.0, "streams": 4.0, "direction": "push", "link": "er"}}}
	for _, tc := range []struct {
		kind string
		want Verdict
	}{{"expressroute-private", Go}, {"vpn", Caution}} {
		rep := Build([]result.Run{result.NewRun("t", at, 0, rs)}, Inputs{Topology: "t", Window: -1, Links: []LinkInput{{Name: "er", Kind: tc.kind, Bandwidth: 1e9}}})
		if rep.Links[0].Verdict != tc.want {
			t.Errorf("1.8 Gbit/s on a 1 Gbit/s %s: %s %q", tc.kind, rep.Links[0].Verdict, rep.Links[0].Reasons)
		}
	}
}

// TestInputsPerAppliance: a modernized VM's failback comes down Azure Storage to its own
// appliance: each appliance is a link of its own in the report, carrying its VMs' churn.
func TestInputsPerAppliance(t *testing.T) {
	top, err := topology.Parse("m.yaml", []byte(`version: 1
settings: {architecture: modernized}
sites:
  onprem: {kind: onprem, networks: [10.30.0.0/16]}
  azure: {kind: azure, networks: [10.40.0.0/16]}
hosts:
  apl1: {site: onprem, os: windows, roles: [replication-appliance], address: 10.30.0.10, fqdn: apl1.contoso.local}
  apl2: {site: onprem, os: windows, roles: [replication-appliance], address: 10.30.0.11, fqdn: apl2.contoso.local}
  a: {site: azure, os: windows, roles: [protected-vm], appliance: apl1, address: 10.40.2.1, disks: [{size: 1GiB, churn: 50Mbps}]}
  b: {site: azure, os: windows, roles: [protected-vm], appliance: apl2, address: 10.40.2.2, disks: [{size: 1GiB, churn: 50Mbps}]}
`))
	if err != nil {
		t.Fatal(err)
	}
	in := InputsFromTopology(top)
	in.Window = -1
	at := time.Date(2026, 11, 25, 10, 0, 0, 0, time.UTC)
	blob := func(apl string) result.Result {
		return result.Result{ID: "blob/" + apl + "/azure-storage/down/4", Check: result.CheckBlob, From: apl, To: "azure-storage", Status: result.Pass,
			Metrics: map[string]any{"mbps": 100.0, "streams": 4.0, "direction": "down", "required_mbps": 65.0, "link": topology.StorageLink(apl)}}
	}
	rep := Build([]result.Run{result.NewRun("m", at, 0, []result.Result{blob("apl1"), blob("apl2")})}, in)
	for _, l := range rep.Links {
		if l.Required != 65e6 || l.Verdict == NoGo {
			t.Errorf("%s: required %.0f, verdict %s %q: each appliance carries only its own VM", l.Name, l.Required, l.Verdict, l.Reasons)
		}
	}
	if len(rep.Links) != 2 {
		t.Errorf("%d links, want one per appliance", len(rep.Links))
	}
}

// TestBuildMergesSites: an estate without a private path between its sites is checked by a
// coordinator in each; each run skips the other site's checks as run from there. The report
// takes every check from the run that measured it, in either order of the runs: the appliance's
// blob throughput (measured on premises) and the Azure VM's failing endpoint (measured in
// Azure) both count, and neither site's skips hide the other's results.
func TestBuildMergesSites(t *testing.T) {
	at := time.Date(2026, 11, 25, 10, 0, 0, 0, time.UTC)
	other := func(id string, check result.Kind, from, site string) result.Result {
		return result.Result{ID: id, Check: check, From: from, Status: result.Skip, Reason: result.ReasonOtherSite,
			Message: "run from site " + site, Metrics: map[string]any{"run_from": site}}
	}
	blob := result.Result{ID: "blob/apl01/azure-storage/down/4", Check: "blob", Rule: "MFB-BW", From: "apl01", To: "azure-storage", Status: result.Pass,
		Message: "41 Mbit/s", Metrics: map[string]any{"mbps": 41.0, "streams": 4.0, "direction": "down", "required_mbps": 27.3, "link": "azure-storage"}}
	vmEndpoint := result.Result{ID: "endpoint/web01/labasrlog01.blob.core.windows.net/443/tcp", Check: "endpoint", Rule: "MFB-VM-BLOB",
		From: "web01", To: "labasrlog01.blob.core.windows.net", Status: result.Fail, Message: "web01 cannot reach it", Hint: "allow it"}
	onprem := result.NewRun("lab-modernized", at, time.Second, []result.Result{blob, other(vmEndpoint.ID, "endpoint", "web01", "azure")})
	onprem.Site = "onprem"
	azure := result.NewRun("lab-modernized", at.Add(time.Minute), time.Second, []result.Result{other(blob.ID, "blob", "apl01", "onprem"), vmEndpoint})
	azure.Site = "azure"
	in := Inputs{VMs: []VMInput{{Name: "web01", Disks: []DiskInput{{Size: 1 << 30, Churn: 1e6}}}}}
	for _, tc := range []struct {
		name string
		runs []result.Run
	}{
		{"on premises first", []result.Run{onprem, azure}},
		{"Azure first", []result.Run{withStart(azure, at), withStart(onprem, at.Add(time.Minute))}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			rep := Build(tc.runs, in)
			if rep.Verdict != NoGo || len(rep.Failing) != 1 || rep.Failing[0].ID != vmEndpoint.ID || !rep.Failing[0].Current || rep.Failing[0].Runs != 1 {
				t.Errorf("verdict %s, failing %+v: want NO-GO for the Azure VM's endpoint, current, measured in 1 run", rep.Verdict, rep.Failing)
			}
			var storage *LinkReport
			for i := range rep.Links {
				if rep.Links[i].Name == "azure-storage" {
					storage = &rep.Links[i]
				}
			}
			if storage == nil || storage.Verdict != Go || len(storage.Throughput) != 1 || storage.Throughput[0].All.N != 1 {
				t.Errorf("azure-storage link %+v: want GO with the appliance's one download", storage)
			}
			if len(rep.VMs) != 1 || rep.VMs[0].Verdict != NoGo || rep.VMs[0].Flows.Skip != 0 || rep.VMs[0].Flows.Fail != 1 {
				t.Errorf("web01 %+v: want NO-GO from its failing endpoint and no skip", rep.VMs)
			}
		})
	}
}

// TestBuildOneSiteOnly: the history of one site's coordinator alone, with the other site's
// checks all skipped as run from there, is no GO for them: a caveat names the site and what
// to run, and the verdict is GO WITH CAVEATS, never a plain GO (a false GO for Azure's flows).
func TestBuildOneSiteOnly(t *testing.T) {
	at := time.Date(2026, 11, 25, 10, 0, 0, 0, time.UTC)
	pass := result.Result{ID: "port/db01/apl01/443/tcp", Check: "port", From: "db01", To: "apl01", Status: result.Pass, Confidence: "doc", Message: "ok"}
	left := result.Result{ID: "endpoint/web01/labasrlog01.blob.core.windows.net/443/tcp", Check: "endpoint", From: "web01", Status: result.Skip,
		Reason: result.ReasonOtherSite, Message: "run from site azure", Metrics: map[string]any{"run_from": "azure"}}
	onprem := result.NewRun("m", at, time.Second, []result.Result{pass, left})
	rep := Build([]result.Run{onprem}, Inputs{Window: -1})
	if rep.Verdict != Caution || len(rep.Caveats) != 1 || !strings.Contains(rep.Caveats[0], "1 checks were left to site azure's coordinator") ||
		!strings.Contains(rep.Caveats[0], "netprobe check --site azure") || !strings.Contains(rep.Caveats[0], left.ID) {
		t.Errorf("one site's history: verdict %s, caveats %q; want GO WITH CAVEATS naming site azure", rep.Verdict, rep.Caveats)
	}
	// With the Azure run in the history the check is measured, and the caveat goes.
	measured := left
	measured.Status, measured.Reason, measured.Message, measured.Metrics = result.Pass, "", "ok", nil
	azure := result.NewRun("m", at.Add(time.Minute), time.Second, []result.Result{measured})
	if rep := Build([]result.Run{onprem, azure}, Inputs{Window: -1}); rep.Verdict != Go || len(rep.Caveats) != 0 {
		t.Errorf("both sites: verdict %s, caveats %q; want GO", rep.Verdict, rep.Caveats)
	}
}

func withStart(r result.Run, at time.Time) result.Run {
	r.StartedAt = at
	return r
}
