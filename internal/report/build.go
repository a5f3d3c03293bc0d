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
