package report

import (
	"fmt"
	"math"
	"sort"
	"strings"
	"time"

	"github.com/netprobe/netprobe/internal/capacity"
	"github.com/netprobe/netprobe/internal/result"
)

// Inputs are what the pre-cutover report needs from the topology besides the measurements:
// the RPO, the growth allowance, the links and the protected VMs with their disks. They are
// printed in the report so the board can check the arithmetic. InputsFromTopology fills them
// from a topology file; the zero value builds a report from the history alone.
type Inputs struct {
	Topology string
	RPO      time.Duration
	// Growth is the churn growth allowance as a fraction (0.30 for 30 %).
	Growth float64
	// Compression is the ratio k of the required-bandwidth formula; 0 means 1 (none).
	Compression float64
	Links       []LinkInput
	VMs         []VMInput
	// Location is the time zone of the hour-of-day buckets; nil means UTC.
	Location *time.Location
	// Profile is an optional per-minute churn profile (capacity.ParseProfile); with an RPO it
	// sizes the link for RPO 100 % and 90 % with netprobe's queue model.
	Profile *capacity.Profile
	// Window is the span of the day the verdict is judged for (24 hours: the worst hour of the
	// day); a history that covers less of it is a caveat. 0 means DefaultWindow; a negative
	// window judges no coverage.
	Window time.Duration
	// Checklist is what no agent can see, to confirm by hand (topology.ManualChecklist).
	Checklist []string
	// Provenance says what made the report.
	Provenance Provenance
}

// Provenance is what made a report: the netprobe that wrote it, when, and the topology file
// it judged against. The runs it used are in the Report.
type Provenance struct {
	Version, Commit string
	GeneratedAt     time.Time
	TopologyFile    string
	TopologySHA256  string
}

// DefaultWindow: the report judges the worst hour of the day, so a day of runs covers it.
const DefaultWindow = 24 * time.Hour

// minLinkRTT is the shortest round trip a test across a link between two sites can plausibly
// take: a VPN gateway's encryption and any distance add more; 0.1 ms is what one host's
// loopback or one switch gives (the design's lab is 10 to 50 µs on loopback).
const minLinkRTT = 0.1 // ms

// LinkInput is a link of the topology.
type LinkInput struct {
	Name, Kind string
	Sites      [2]string
	// Bandwidth is the provisioned capacity in bits per second, 0 when not given.
	Bandwidth float64
	MTU       int
}

// VMInput is a protected VM of the topology that fails back.
type VMInput struct {
	Name, Group string
	Disks       []DiskInput
	// Link is the link its failback data crosses (from its process server in Azure to its
	// master target), "" when not known: the VM then counts toward every link.
	Link string
}

// DiskInput is one disk: provisioned size in bytes and 95th-percentile churn in bits per second.
type DiskInput struct {
	Size  int64
	Churn float64
}

// FailbackRPO is the RPO threshold of ASR's failback policy, which cannot be edited
// (topology.FailbackRPO; the report takes no topology import for it to stay pure data).
const FailbackRPO = 15 * time.Minute

// Verdict is the report's answer for a VM, a link, or the whole estate.
type Verdict int

const (
	// Go: everything that applies passed in the latest run and never failed before.
	Go Verdict = iota + 1
	// Caution: works now, but warned, failed in earlier runs, or could not be fully checked.
	Caution
	// NoGo: something the failback needs fails now.
	NoGo
	// Unknown: nothing was measured.
	Unknown
)

var verdictNames = [...]string{Go: "GO", Caution: "GO WITH CAVEATS", NoGo: "NO-GO", Unknown: "NOT MEASURED"}

func (v Verdict) String() string {
	if v <= 0 || int(v) >= len(verdictNames) {
		return fmt.Sprintf("verdict(%d)", int(v))
	}
	return verdictNames[v]
}

// worse returns the more severe verdict; Unknown yields to anything measured.
func worse(a, b Verdict) Verdict {
	rank := func(v Verdict) int {
		switch v {
		case NoGo:
			return 3
		case Caution:
			return 2
		case Go:
			return 1
		}
		return 0
	}
	if rank(b) > rank(a) {
		return b
	}
	return a
}

// Report is the pre-cutover report as data; Markdown and HTML render it.
type Report struct {
	Topology string
	// First and Last are the start times of the first and last run read.
	First, Last time.Time
	Runs        int
	Inputs      Inputs
	Verdict     Verdict
	// Required is the steady-state bandwidth the VMs need, bits per second (0 when unknown),
	// and RequiredFrom says where the figure comes from.
	Required     float64
	RequiredFrom string
	Links        []LinkReport
	VMs          []VMReport
	// Failing lists every flow that failed or errored in the latest run, and those that failed
	// in an earlier one, worst first.
	Failing []FlowFinding
	// Sizing is the churn-profile model's answer, nil without a profile.
	Sizing *capacity.Sizing
	// Notes are problems with the inputs (skipped runs, missing measurements).
	Notes []string
	// Caveats are reasons the estate's verdict is at best GO WITH CAVEATS that belong to no
	// link or VM: a history that covers too little of the window.
	Caveats []string
	// Versions and TopologySHAs are those the runs recorded, sorted: more than one of either
	// means the runs were not all made alike.
	Versions, TopologySHAs []string
}

// LinkReport is what the report says about one link.
type LinkReport struct {
	Name, Kind string
	Verdict    Verdict
	Reasons    []string
	// Bandwidth is the provisioned capacity from the topology (bits per second), 0 if unknown.
	Bandwidth  float64
	Throughput []Series
	Latency    []LatencyRow
	PMTU       []PMTURow
	// Measured is the median multi-stream throughput in the replication direction (bits per
	// second); WorstHour is the lowest hourly median of it, at hour WorstHourAt.
	Measured, WorstHour float64
	WorstHourAt         int
	// Required is the bandwidth the churn of the VMs failing back over this link needs (bits
	// per second; 0 when unknown): the sum over the process server / master target pairs that
	// cross it, since they share it.
	Required float64
	// Headroom and WorstHeadroom are Measured and WorstHour over Required; 0 when the
	// requirement is unknown.
	Headroom, WorstHeadroom float64
}

// Series is the throughput of one kind of bandwidth test over the hours of the day.
type Series struct {
	From, To  string
	Direction string
	Streams   int
	// Replication is true when the results carry a required bandwidth: the engine attaches
	// it to tests in the direction replication flows.
	Replication bool
	// Hours holds one entry per hour of the day with data, in hour order.
	Hours []HourStat
	// All is the statistic over every sample regardless of hour.
	All HourStat
}

// Label names the series in tables and chart legends.
func (s Series) Label() string {
	kind := "multi-stream"
	if s.Streams == 1 {
		kind = "single stream"
	}
	dir := s.From + " → " + s.To
	if s.Direction != "" {
		dir += " (" + s.Direction + ")"
	}
	return fmt.Sprintf("%s, %s ×%d", dir, kind, s.Streams)
}

// HourStat summarises throughput samples in megabits per second.
type HourStat struct {
	Hour             int
	N                int
	Min, Median, P95 float64
}

// LatencyRow is idle and loaded latency between two hosts over the history (milliseconds).
type LatencyRow struct {
	From, To string
	Runs     int
	// Medians over runs of each run's percentile, and the worst run's value.
	P50, P95, P95Worst, LoadedP95, LoadedP95Worst float64
	HasLoaded                                     bool
	LossMax                                       float64
	Status                                        result.Status
}

// PMTURow is the path MTU found between a host and a link.
type PMTURow struct {
	From, To         string
	MTU, Min, Expect int
	Blackhole        bool
	Runs             int
	Status           result.Status
}

// VMReport is what the report says about one protected VM.
type VMReport struct {
	Name, Group string
	Verdict     Verdict
	Reasons     []string
	// Churn is the sum of the disks' churn and Required the bandwidth it needs with growth
	// and compression, bits per second.
	Churn, Required float64
	Size            int64
	// ResyncHours is the time to send every provisioned byte at the link's measured
	// throughput (the worst case: failback to an alternate location); 0 when not measured.
	ResyncHours float64
	Disks       int
	Flows       result.Summary
}

// FlowFinding is a flow that failed, with what to do about it.
type FlowFinding struct {
	ID, Check, Rule, From, To, Target, State, Reason, Message, Hint string
	Status                                                          result.Status
	// FailedRuns of Runs runs failed (or errored); Current is true when the latest did.
	FailedRuns, Runs int
	Current          bool
	// AnswerFrom (host, device, unknown), AnswerIP and AnswerHops say who refused a port
	// check; Evidence is the pcapng file of its packets (evidence.go).
	AnswerFrom, AnswerIP string
	AnswerHops           int
	Evidence             string
}

// Build turns the history into the report. Runs of another topology than in.Topology (when
// set) are left out with a note. Build is pure: the same runs and inputs give the same report.
func Build(runs []result.Run, in Inputs) Report {
	loc := in.Location
	if loc == nil {
		loc = time.UTC
	}
	rep := Report{Topology: in.Topology, Inputs: in}
	var use []result.Run
	other := 0
	for _, r := range runs {
		if in.Topology != "" && r.Topology != in.Topology {
			other++
			continue
		}
		use = append(use, r)
	}
	if other > 0 {
		rep.Notes = append(rep.Notes, fmt.Sprintf("%d runs of other topologies were left out.", other))
	}
	sort.SliceStable(use, func(i, j int) bool { return use[i].StartedAt.Before(use[j].StartedAt) })
	rep.Runs = len(use)
	if len(use) == 0 {
		rep.Verdict = Unknown
		rep.Notes = append(rep.Notes, "No runs in the history: nothing was measured.")
		return rep
	}
	rep.First, rep.Last = use[0].StartedAt, use[len(use)-1].StartedAt
	if rep.Topology == "" {
		rep.Topology = use[len(use)-1].Topology
	}
	rep.provenance(use)

	// Per check ID: the latest result, and how often it failed. An estate without a private
	// path between its sites is checked by a coordinator in each, and each run skips the other
	// sites' checks as run from there: those skips are no result of the check, so the runs of
	// the sites merge into one picture and a check is judged by the runs that measured it.
	type track struct {
		latest, lastFail result.Result
		runs, fails      int
	}
	byID := map[string]*track{}
	var ids []string
	for _, run := range use {
		for _, r := range run.Results {
			if r.Status == result.Skip && r.Reason == result.ReasonOtherSite {
				continue
			}
			tr := byID[r.ID]
			if tr == nil {
				tr = &track{}
				byID[r.ID] = tr
				ids = append(ids, r.ID)
			}
			tr.latest = r
			tr.runs++
			if r.Status == result.Fail || r.Status == result.Error {
				tr.fails++
				tr.lastFail = r
			}
		}
	}
	sort.Strings(ids)

	// Required bandwidth: from the VMs' churn when the topology gives it, else the largest
	// figure the engine attached to a bandwidth result.
	var churn []capacity.BitsPerSecond
	for _, vm := range in.VMs {
		for _, d := range vm.Disks {
			churn = append(churn, capacity.BitsPerSecond(d.Churn))
		}
	}
	plan := capacity.Plan{Growth: in.Growth, Compression: in.Compression}
	if req, err := capacity.Required(churn, plan); err == nil && req > 0 {
		rep.Required, rep.RequiredFrom = float64(req), "topology"
	} else if err != nil {
		rep.Notes = append(rep.Notes, fmt.Sprintf("Required bandwidth not computed: %v.", err))
	}
	if rep.Required == 0 {
		for _, id := range ids {
			if v, ok := byID[id].latest.Metrics.Float(result.MetricRequiredMbps); ok && v*1e6 > rep.Required {
				rep.Required, rep.RequiredFrom = v*1e6, "results"
			}
		}
	}

	// Links: every link of the inputs, plus any the results name.
	linkIdx := map[string]int{}
	addLink := func(name string) *LinkReport {
		if i, ok := linkIdx[name]; ok {
			return &rep.Links[i]
		}
		linkIdx[name] = len(rep.Links)
		rep.Links = append(rep.Links, LinkReport{Name: name, Verdict: Unknown, WorstHourAt: -1})
		return &rep.Links[len(rep.Links)-1]
	}
	for _, l := range in.Links {
		lr := addLink(l.Name)
		lr.Kind, lr.Bandwidth = l.Kind, l.Bandwidth
	}
	linkOf := func(r result.Result) string {
		if s := r.Metrics.String(result.MetricLink); s != "" {
			return s
		}
		if r.Check == result.CheckPMTU || r.Check == result.CheckPath {
			return r.To
		}
		if len(in.Links) == 1 {
			return in.Links[0].Name
		}
		a, b := r.From, r.To
		if b < a {
			a, b = b, a
		}
		return a + " ↔ " + b
	}

	// Collect per-link samples over all runs.
	type seriesKey struct {
		link, from, to, dir string
		streams             int
	}
	samples := map[seriesKey]map[int][]float64{}
	replication := map[seriesKey]bool{}
	type pairKey struct{ link, from, to string }
	lat := map[pairKey]*latAcc{}
	mtu := map[pairKey]*PMTURow{}
	for _, run := range use {
		hour := run.StartedAt.In(loc).Hour()
		for _, r := range run.Results {
			if r.Status == result.Skip || r.Status == result.Error {
				continue
			}
			m := r.Metrics
			switch r.Check {
			case result.CheckBandwidth, result.CheckBlob:
				v, ok := m.Float(result.MetricMbps)
				if !ok {
					continue
				}
				st, _ := m.Float(result.MetricStreams)
				k := seriesKey{linkOf(r), r.From, r.To, m.String(result.MetricDirection), int(st)}
				if samples[k] == nil {
					samples[k] = map[int][]float64{}
				}
				samples[k][hour] = append(samples[k][hour], v)
				// The failback direction: classic's process server to master target carries the
				// requirement; a blob upload is the forward direction.
				if _, ok := m[result.MetricRequiredMbps]; ok && m.String(result.MetricDirection) != "up" {
					replication[k] = true
				}
			case result.CheckLatency:
				k := pairKey{linkOf(r), r.From, r.To}
				if lat[k] == nil {
					lat[k] = &latAcc{}
				}
				lat[k].add(r)
			case result.CheckPMTU:
				v, ok := m.Float(result.MetricMTU)
				if !ok {
					continue
				}
				k := pairKey{linkOf(r), r.From, r.To}
				row := mtu[k]
				if row == nil {
					row = &PMTURow{From: r.From, To: r.To, Min: int(v)}
					mtu[k] = row
				}
				row.Runs++
				row.MTU, row.Status = int(v), r.Status
				row.Min = min(row.Min, int(v))
				if e, ok := m.Float(result.MetricExpectedMTU); ok {
					row.Expect = int(e)
				}
				row.Blackhole = row.Blackhole || m.Bool(result.MetricBlackhole)
			}
		}
	}
	var sks []seriesKey
	for k := range samples {
		sks = append(sks, k)
	}
	sort.Slice(sks, func(i, j int) bool {
		a, b := sks[i], sks[j]
		if a.link != b.link {
			return a.link < b.link
		}
		if replication[a] != replication[b] {
			return replication[a]
		}
		if a.from+a.to+a.dir != b.from+b.to+b.dir {
			return a.from+"\x00"+a.to+"\x00"+a.dir < b.from+"\x00"+b.to+"\x00"+b.dir
		}
		return a.streams > b.streams
	})
	for _, k := range sks {
		s := Series{From: k.from, To: k.to, Direction: k.dir, Streams: k.streams, Replication: replication[k]}
		var all []float64
		for h := range 24 {
			if v := samples[k][h]; len(v) > 0 {
				s.Hours = append(s.Hours, stat(h, v))
				all = append(all, v...)
			}
		}
		s.All = stat(-1, all)
		lr := addLink(k.link)
		lr.Throughput = append(lr.Throughput, s)
	}
	for k, a := range lat {
		lr := addLink(k.link)
		lr.Latency = append(lr.Latency, a.row(k.from, k.to))
	}
	for k, row := range mtu {
		lr := addLink(k.link)
		lr.PMTU = append(lr.PMTU, *row)
	}

	// Verdicts: a link from the latest status of its checks, their history, and headroom.
	linkChecks := map[string]bool{result.CheckBandwidth: true, result.CheckBlob: true, result.CheckLatency: true, result.CheckPMTU: true, result.CheckPath: true}
	for i := range rep.Links {
		lr := &rep.Links[i]
		sort.Slice(lr.Latency, func(a, b int) bool { return lr.Latency[a].From+lr.Latency[a].To < lr.Latency[b].From+lr.Latency[b].To })
		sort.Slice(lr.PMTU, func(a, b int) bool { return lr.PMTU[a].From+lr.PMTU[a].To < lr.PMTU[b].From+lr.PMTU[b].To })
		for _, id := range ids {
			tr := byID[id]
			if !linkChecks[tr.latest.Check] || linkOf(tr.latest) != lr.Name {
				continue
			}
			v, why := judgeTrack(tr.latest, tr.runs, tr.fails)
			lr.Verdict = worse(lr.Verdict, v)
			if why != "" {
				lr.Reasons = append(lr.Reasons, why)
			}
		}
		// Headroom from the best multi-stream replication series.
		for _, s := range lr.Throughput {
			if !s.Replication || s.Streams < 2 {
				continue
			}
			worst, at := math.Inf(1), -1
			for _, h := range s.Hours {
				if h.Median < worst {
					worst, at = h.Median, h.Hour
				}
			}
			if s.All.Median*1e6 > lr.Measured {
				lr.Measured, lr.WorstHour, lr.WorstHourAt = s.All.Median*1e6, worst*1e6, at
			}
		}
		lr.Required = linkRequired(lr.Name, in, plan, rep.Required)
		if lr.Required > 0 && lr.Measured == 0 {
			lr.Verdict = worse(lr.Verdict, Caution)
			lr.Reasons = append(lr.Reasons, fmt.Sprintf("The VMs failing back over it need %s, but no multi-stream test in the replication direction measured the link.", mbps(lr.Required)))
		}
		if lr.Required > 0 && lr.Measured > 0 {
			lr.Headroom = lr.Measured / lr.Required
			lr.WorstHeadroom = lr.WorstHour / lr.Required
			switch capacity.Judge(lr.WorstHeadroom) {
			case capacity.Short:
				lr.Verdict = NoGo
				lr.Reasons = append(lr.Reasons, fmt.Sprintf("At %02d:00 the median throughput (%s) is below the required %s: the RPO will be missed at that hour.",
					lr.WorstHourAt, mbps(lr.WorstHour), mbps(lr.Required)))
			case capacity.Tight:
				lr.Verdict = worse(lr.Verdict, Caution)
				lr.Reasons = append(lr.Reasons, fmt.Sprintf("At %02d:00 the headroom is only %.2f× (less than 20 %% to spare).", lr.WorstHourAt, lr.WorstHeadroom))
			}
		}
		rep.Verdict = worse(rep.Verdict, lr.Verdict)
	}

	for i := range rep.Links {
		rep.plausible(&rep.Links[i])
	}

	// The churn profile, when given: does the worst hour meet RPO 100 % / 90 %?
	if in.Profile != nil {
		if in.RPO <= 0 {
			rep.Notes = append(rep.Notes, "Churn profile given but no RPO: set settings.rpo in the topology.")
		} else if sz, err := capacity.Size(*in.Profile, plan, in.RPO); err != nil {
			rep.Notes = append(rep.Notes, fmt.Sprintf("Churn profile not used: %v.", err))
		} else {
			rep.Sizing = &sz
			if in.Profile.Filled > 0 {
				rep.Notes = append(rep.Notes, fmt.Sprintf("The churn profile misses %d minutes, taken as zero churn: the RPO figures may flatter the link.", in.Profile.Filled))
			}
			for i := range rep.Links {
				lr := &rep.Links[i]
				if lr.WorstHour <= 0 {
					continue
				}
				switch {
				case lr.WorstHour < float64(sz.Mostly):
					lr.Verdict = NoGo
					lr.Reasons = append(lr.Reasons, fmt.Sprintf("At %02d:00 (%s) the link misses the RPO of %s at more than 10 %% of the profile's minutes (RPO 90 %% needs %s).",
						lr.WorstHourAt, mbps(lr.WorstHour), humanDuration(in.RPO), mbps(float64(sz.Mostly))))
				case lr.WorstHour < float64(sz.Always):
					lr.Verdict = worse(lr.Verdict, Caution)
					lr.Reasons = append(lr.Reasons, fmt.Sprintf("At %02d:00 (%s) the link meets the RPO 90 %% of the time but not always (RPO 100 %% needs %s).",
						lr.WorstHourAt, mbps(lr.WorstHour), mbps(float64(sz.Always))))
				}
				rep.Verdict = worse(rep.Verdict, lr.Verdict)
			}
		}
	}

	// VMs: their flows, and resync at the measured throughput.
	measured := 0.0
	for _, lr := range rep.Links {
		if lr.Measured > 0 && (measured == 0 || lr.Measured < measured) {
			measured = lr.Measured // several links: the slowest bounds the estimate
		}
	}
	for _, vm := range in.VMs {
		vr := VMReport{Name: vm.Name, Group: vm.Group, Verdict: Unknown, Disks: len(vm.Disks)}
		var vchurn []capacity.BitsPerSecond
		var rdisks []capacity.ResyncDisk
		for _, d := range vm.Disks {
			vr.Churn += d.Churn
			vr.Size += d.Size
			vchurn = append(vchurn, capacity.BitsPerSecond(d.Churn))
			rdisks = append(rdisks, capacity.ResyncDisk{Used: capacity.Bytes(d.Size), Changed: 0})
		}
		if req, err := capacity.Required(vchurn, plan); err == nil {
			vr.Required = float64(req)
		}
		own := measured
		for _, lr := range rep.Links {
			if vm.Link != "" && lr.Name == vm.Link && lr.Measured > 0 {
				own = lr.Measured
			}
		}
		if own > 0 && vr.Size > 0 {
			if rs, err := capacity.ResyncTime(capacity.Alternate, rdisks, capacity.BitsPerSecond(own)); err == nil {
				vr.ResyncHours = rs.Hours
			}
		}
		for _, id := range ids {
			tr := byID[id]
			r := tr.latest
			if r.From != vm.Name && r.To != vm.Name {
				continue
			}
			vr.Flows.Add(r.Status)
			v, why := judgeTrack(r, tr.runs, tr.fails)
			vr.Verdict = worse(vr.Verdict, v)
			if why != "" {
				vr.Reasons = append(vr.Reasons, why)
			}
		}
		// A VM replicates over its link: a link that cannot carry the churn stops it too. A VM
		// whose link is unknown is judged against every link.
		for _, lr := range rep.Links {
			if vm.Link != "" && lr.Name != vm.Link {
				continue
			}
			if lr.WorstHeadroom > 0 && capacity.Judge(lr.WorstHeadroom) != capacity.Enough {
				v := Caution
				if capacity.Judge(lr.WorstHeadroom) == capacity.Short {
					v = NoGo
				}
				vr.Verdict = worse(vr.Verdict, v)
				vr.Reasons = append(vr.Reasons, fmt.Sprintf("Link %s: headroom %.2f× at %02d:00.", lr.Name, lr.WorstHeadroom, lr.WorstHourAt))
			}
		}
		rep.Verdict = worse(rep.Verdict, vr.Verdict)
		rep.VMs = append(rep.VMs, vr)
	}

	// Documented checks the latest run skipped: what nobody looked at.
	var skipped []string
	for _, id := range ids {
		r := byID[id].latest
		if r.Status == result.Skip && (r.Confidence == "doc" || r.Confidence == "inferred") {
			skipped = append(skipped, r.ID)
		}
	}
	if len(skipped) > 0 {
		rep.Caveats = append(rep.Caveats, fmt.Sprintf("%d documented checks were not run in the latest run (%s): their flows are unproven; the failing-flows table and each check's message say why.",
			len(skipped), abbreviateIDs(skipped, 4)))
		rep.Verdict = worse(rep.Verdict, Caution)
	}
	if n, of := missingChurn(in.VMs); n > 0 {
		rep.Caveats = append(rep.Caveats, fmt.Sprintf("%d of %d failing-back VMs have no churn in the topology: the required bandwidth leaves them out, so headroom looks better than it is.", n, of))
		rep.Verdict = worse(rep.Verdict, Caution)
	}

	// Failing flows: current failures first, then the intermittent ones.
	for _, id := range ids {
		tr := byID[id]
		cur := tr.latest.Status == result.Fail || tr.latest.Status == result.Error
		if !cur && tr.fails == 0 {
			continue
		}
		// What was observed and what to do come from the last failure, even when the check
		// passes now: that is what the network team must look at.
		r := tr.lastFail
		from, ip, hops := answerOf(r)
		rep.Failing = append(rep.Failing, FlowFinding{
			ID: r.ID, Check: r.Check, Rule: r.Rule, From: r.From, To: r.To, Target: r.Target,
			State: r.State, Reason: r.Reason, Message: r.Message, Hint: r.Hint, Status: tr.latest.Status,
			FailedRuns: tr.fails, Runs: tr.runs, Current: cur,
			AnswerFrom: from, AnswerIP: ip, AnswerHops: hops, Evidence: r.Evidence,
		})
	}
	// The estate's verdict covers every check, also those on no VM and no link (lint, DNS).
	for _, id := range ids {
		v, _ := judgeTrack(byID[id].latest, byID[id].runs, byID[id].fails)
		rep.Verdict = worse(rep.Verdict, v)
	}
	sort.SliceStable(rep.Failing, func(i, j int) bool {
		a, b := rep.Failing[i], rep.Failing[j]
		if a.Current != b.Current {
			return a.Current
		}
		return a.Status.Severity() > b.Status.Severity()
	})
	if rep.Verdict == 0 {
		rep.Verdict = Unknown
	}
	if rep.Required == 0 {
		rep.Notes = append(rep.Notes, "Required bandwidth unknown: give the protected VMs' disks a churn in the topology (-f) to judge headroom.")
		if len(in.VMs) > 0 {
			rep.Caveats = append(rep.Caveats, "No failing-back VM has a churn in the topology: whether the links carry the failback is not judged.")
			rep.Verdict = worse(rep.Verdict, Caution)
		}
	}
	rep.coverage()
	if in.RPO > 0 && in.RPO != FailbackRPO {
		rep.Notes = append(rep.Notes, fmt.Sprintf("The RPO sums use settings.rpo = %s; ASR's failback policy cannot be edited and measures the RPO against 15 minutes.", humanDuration(in.RPO)))
	}
	return rep
}

// linkRequired is the bandwidth a link must carry: the churn of the VMs whose failback data
// crosses it. When the inputs say for no VM which link it crosses (a report from the history
// alone, or an older caller), every VM counts toward every link: all is the estate's total.
func linkRequired(link string, in Inputs, plan capacity.Plan, all float64) float64 {
	known := false
	var churn []capacity.BitsPerSecond
	for _, vm := range in.VMs {
		known = known || vm.Link != ""
		if vm.Link != link {
			continue
		}
		for _, d := range vm.Disks {
			churn = append(churn, capacity.BitsPerSecond(d.Churn))
		}
	}
	if !known {
		return all
	}
	req, err := capacity.Required(churn, plan)
	if err != nil {
		return 0
	}
	return float64(req)
}

// judgeTrack turns one check's latest result and its history into a verdict and a reason.
func judgeTrack(r result.Result, runs, fails int) (Verdict, string) {
	what := r.ID
	if r.Rule != "" {
		what += " [" + r.Rule + "]"
	}
	switch r.Status {
	case result.Fail:
		return NoGo, fmt.Sprintf("%s fails: %s", what, strings.TrimSuffix(oneLine(r.Message), "."))
	case result.Error:
		return Caution, fmt.Sprintf("%s could not be checked: %s", what, strings.TrimSuffix(oneLine(r.Message), "."))
	case result.Warn:
		return Caution, fmt.Sprintf("%s warns: %s", what, strings.TrimSuffix(oneLine(r.Message), "."))
	case result.Pass:
		if fails > 0 {
			return Caution, fmt.Sprintf("%s passes now but failed in %d of %d runs.", what, fails, runs)
		}
		return Go, ""
	case result.Skip:
		// A documented requirement that was never tested is no GO: the board must know what
		// nobody looked at (an undocumented one is left unknown).
		if r.Confidence == "doc" || r.Confidence == "inferred" {
			return Caution, fmt.Sprintf("%s was not checked: %s", what, strings.TrimSuffix(oneLine(r.Message), "."))
		}
	}
	return Unknown, ""
}

// latAcc gathers one host pair's latency over runs.
type latAcc struct {
	p50, p95, lp95 []float64
	loss           float64
	status         result.Status
}

func (a *latAcc) add(r result.Result) {
	m := r.Metrics
	if v, ok := m.Float(result.MetricP50MS); ok {
		a.p50 = append(a.p50, v)
	}
	if v, ok := m.Float(result.MetricP95MS); ok {
		a.p95 = append(a.p95, v)
	}
	if v, ok := m.Float(result.MetricLoadedP95MS); ok {
		a.lp95 = append(a.lp95, v)
	}
	if v, ok := m.Float(result.MetricLoss); ok {
		a.loss = max(a.loss, v)
	}
	a.status = r.Status
}

func (a *latAcc) row(from, to string) LatencyRow {
	row := LatencyRow{From: from, To: to, Runs: len(a.p95), LossMax: a.loss, Status: a.status, HasLoaded: len(a.lp95) > 0}
	row.P50 = median(a.p50)
	row.P95, row.P95Worst = median(a.p95), maxOf(a.p95)
	row.LoadedP95, row.LoadedP95Worst = median(a.lp95), maxOf(a.lp95)
	return row
}

func stat(hour int, v []float64) HourStat {
	if len(v) == 0 {
		return HourStat{Hour: hour}
	}
	s := append([]float64(nil), v...)
	sort.Float64s(s)
	return HourStat{Hour: hour, N: len(s), Min: s[0], Median: median(s), P95: nearestRank(s, 0.95)}
}

func median(v []float64) float64 {
	if len(v) == 0 {
		return 0
	}
	s := append([]float64(nil), v...)
	sort.Float64s(s)
	n := len(s)
	if n%2 == 1 {
		return s[n/2]
	}
	return (s[n/2-1] + s[n/2]) / 2
}

// nearestRank is the nearest-rank percentile of sorted s: with few samples (one per cron run)
// it returns a value that was measured, not an interpolation.
func nearestRank(s []float64, p float64) float64 {
	i := int(math.Ceil(p*float64(len(s)))) - 1
	return s[max(0, min(i, len(s)-1))]
}

func maxOf(v []float64) float64 {
	m := 0.0
	for _, x := range v {
		m = max(m, x)
	}
	return m
}

// mbps formats bits per second for the report.
func mbps(bps float64) string {
	switch {
	case bps >= 10e9:
		return fmt.Sprintf("%.0f Gbit/s", bps/1e9)
	case bps >= 1e9:
		return fmt.Sprintf("%.1f Gbit/s", bps/1e9)
	case bps >= 10e6:
		return fmt.Sprintf("%.0f Mbit/s", bps/1e6)
	}
	return fmt.Sprintf("%.1f Mbit/s", bps/1e6)
}

// provenance records what the runs say of themselves: the netprobe versions and the topology
// files (by SHA-256) that made them.
func (rep *Report) provenance(use []result.Run) {
	vs, shas := map[string]bool{}, map[string]bool{}
	for _, r := range use {
		if r.Version != "" {
			vs[r.Version] = true
		}
		if r.TopologySHA256 != "" {
			shas[r.TopologySHA256] = true
		}
	}
	for v := range vs {
		rep.Versions = append(rep.Versions, v)
	}
	for h := range shas {
		rep.TopologySHAs = append(rep.TopologySHAs, h)
	}
	sort.Strings(rep.Versions)
	sort.Strings(rep.TopologySHAs)
	if want := rep.Inputs.Provenance.TopologySHA256; want != "" {
		other := 0
		for _, r := range use {
			if r.TopologySHA256 != "" && r.TopologySHA256 != want {
				other++
			}
		}
		if other > 0 {
			rep.Notes = append(rep.Notes, fmt.Sprintf("%d of %d runs were made with another version of the topology file than %s (SHA-256 %s): their flows may differ from today's.",
				other, rep.Runs, rep.Inputs.Provenance.TopologyFile, short(want)))
		}
	}
	if len(rep.Versions) > 1 {
		rep.Notes = append(rep.Notes, fmt.Sprintf("The runs were made by %d versions of netprobe (%s).", len(rep.Versions), strings.Join(rep.Versions, ", ")))
	}
}

func short(sha string) string {
	if len(sha) > 12 {
		return sha[:12]
	}
	return sha
}

// coverage: the verdict judges the worst hour of the window; a history shorter than the
// window, or one that misses hours of the day, may not have measured the worst hour.
func (rep *Report) coverage() {
	if rep.Runs == 0 {
		return
	}
	win := rep.Inputs.Window
	switch {
	case win < 0:
		return
	case win == 0:
		win = DefaultWindow
	}
	loc := rep.Inputs.Location
	if loc == nil {
		loc = time.UTC
	}
	span := rep.Last.Sub(rep.First)
	if span >= win {
		return
	}
	rep.Caveats = append(rep.Caveats, fmt.Sprintf("The history covers %s (%d runs, %s to %s) of the %s window the verdict is judged for: the worst hour may not have been measured. Run netprobe check from cron (docs/cron.md) for at least %s before cutover.",
		humanDuration(span), rep.Runs, rep.First.In(loc).Format("2006-01-02 15:04"), rep.Last.In(loc).Format("2006-01-02 15:04"), humanDuration(win), humanDuration(win)))
	if rep.Verdict == Go {
		rep.Verdict = Caution
	}
}

// plausible flags measurements a test across the link cannot give: more throughput than the
// link's provisioned bandwidth, a path MTU above its declared MTU, a round trip shorter than
// any link between sites allows. Each means the test probably did not cross the link (an
// agent on the wrong host, a route that stays local): a caveat, never a pass.
func (rep *Report) plausible(lr *LinkReport) {
	var in *LinkInput
	for i := range rep.Inputs.Links {
		if rep.Inputs.Links[i].Name == lr.Name {
			in = &rep.Inputs.Links[i]
		}
	}
	if in == nil {
		return // Azure Storage, or a pair no link joins: nothing declared to compare with
	}
	flag := func(why string) {
		lr.Verdict = worse(lr.Verdict, Caution)
		lr.Reasons = append(lr.Reasons, why+": the test probably did not cross the link (an agent on the wrong host, or a route that stays local). Check where the agents run before trusting this link's figures.")
		rep.Verdict = worse(rep.Verdict, lr.Verdict)
	}
	best := 0.0
	for _, s := range lr.Throughput {
		best = max(best, s.All.P95*1e6)
	}
	// ExpressRoute may burst to twice its bandwidth over both of its links (Microsoft's rate
	// limit page: a 1 Gbps circuit "can achieve" 2 Gbps); anything else, 10 % of slack.
	limit, over := 1.1, "more than 10 % above it"
	if in.Kind == "expressroute-private" || in.Kind == "expressroute-microsoft" {
		limit, over = 2.0, "more than twice it, beyond ExpressRoute's burst"
	}
	if in.Bandwidth > 0 && best > in.Bandwidth*limit {
		flag(fmt.Sprintf("Measured %s on a link declared as %s (%s)", rate(best), rate(in.Bandwidth), over))
	}
	for _, p := range lr.PMTU {
		if in.MTU > 0 && p.MTU > in.MTU {
			flag(fmt.Sprintf("Path MTU %d from %s to %s on a link declared with MTU %d", p.MTU, p.From, p.To, in.MTU))
			break
		}
	}
	for _, l := range lr.Latency {
		if l.P50 > 0 && l.P50 < minLinkRTT {
			flag(fmt.Sprintf("Round trip %s to %s of %.3f ms (median) across a link between sites", l.From, l.To, l.P50))
			break
		}
	}
}

func abbreviateIDs(ids []string, n int) string {
	if len(ids) <= n {
		return strings.Join(ids, ", ")
	}
	return strings.Join(ids[:n], ", ") + fmt.Sprintf(", and %d more", len(ids)-n)
}

// missingChurn counts the VMs with no churn on any disk, of all of them (when some have one:
// with none at all, the report says the requirement is unknown instead).
func missingChurn(vms []VMInput) (n, of int) {
	with := 0
	for _, vm := range vms {
		churn := 0.0
		for _, d := range vm.Disks {
			churn += d.Churn
		}
		if churn > 0 {
			with++
		} else {
			n++
		}
	}
	if with == 0 {
		return 0, len(vms)
	}
	return n, len(vms)
}
