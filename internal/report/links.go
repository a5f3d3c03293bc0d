package report

import (
	"fmt"
	"math"
	"sort"

	"github.com/netprobe/netprobe/internal/capacity"
	"github.com/netprobe/netprobe/internal/result"
)

// linkChecks are the check kinds that judge a link rather than a host.
var linkChecks = map[result.Kind]bool{result.CheckBandwidth: true, result.CheckBlob: true, result.CheckLatency: true, result.CheckPMTU: true, result.CheckPath: true}

// linkOf names the link a result measured: the link its metrics name, a PMTU or path check's
// destination (a link), the only link of the inputs, else the host pair.
func linkOf(r result.Result, links []LinkInput) string {
	if s := r.Metrics.String(result.MetricLink); s != "" {
		return s
	}
	if r.Check == result.CheckPMTU || r.Check == result.CheckPath {
		return r.To
	}
	if len(links) == 1 {
		return links[0].Name
	}
	a, b := r.From, r.To
	if b < a {
		a, b = b, a
	}
	return a + " ↔ " + b
}

// seriesKey names one throughput series; pairKey one host pair on a link.
type (
	seriesKey struct {
		link, from, to, dir string
		streams             int
	}
	pairKey struct{ link, from, to string }
)

// linkSamples are the link-level measurements of every run, gathered per series and pair.
type linkSamples struct {
	throughput  map[seriesKey]map[int][]float64 // by hour of the day, Mbit/s
	replication map[seriesKey]bool              // the series carries a required rate
	latency     map[pairKey]*latAcc
	pmtu        map[pairKey]*PMTURow
}

// collectLinks gathers every link of the inputs, and any the results name, with their
// throughput series by hour of the day, latency rows and path MTUs over all runs. Verdicts
// are judgeLink's.
func collectLinks(use []result.Run, in Inputs) []LinkReport {
	s := gatherSamples(use, in)
	var links []LinkReport
	idx := map[string]int{}
	link := func(name string) *LinkReport {
		if i, ok := idx[name]; ok {
			return &links[i]
		}
		idx[name] = len(links)
		links = append(links, LinkReport{Name: name, Verdict: Unknown, WorstHourAt: -1})
		return &links[len(links)-1]
	}
	for _, l := range in.Links {
		lr := link(l.Name)
		lr.Kind, lr.Bandwidth = l.Kind, l.Bandwidth
	}
	for _, k := range s.seriesOrder() {
		lr := link(k.link)
		lr.Throughput = append(lr.Throughput, s.series(k))
	}
	for _, k := range sortedPairs(s.latency) {
		lr := link(k.link)
		lr.Latency = append(lr.Latency, s.latency[k].row(k.from, k.to))
	}
	for _, k := range sortedPairs(s.pmtu) {
		lr := link(k.link)
		lr.PMTU = append(lr.PMTU, *s.pmtu[k])
	}
	for i := range links {
		lr := &links[i]
		sort.Slice(lr.Latency, func(a, b int) bool { return lr.Latency[a].From+lr.Latency[a].To < lr.Latency[b].From+lr.Latency[b].To })
		sort.Slice(lr.PMTU, func(a, b int) bool { return lr.PMTU[a].From+lr.PMTU[a].To < lr.PMTU[b].From+lr.PMTU[b].To })
	}
	return links
}

// gatherSamples reads the bandwidth, blob, latency and PMTU measurements of every run.
func gatherSamples(use []result.Run, in Inputs) linkSamples {
	s := linkSamples{throughput: map[seriesKey]map[int][]float64{}, replication: map[seriesKey]bool{},
		latency: map[pairKey]*latAcc{}, pmtu: map[pairKey]*PMTURow{}}
	loc := location(in)
	for _, run := range use {
		hour := run.StartedAt.In(loc).Hour()
		for _, r := range run.Results {
			if r.Status == result.Skip || r.Status == result.Error {
				continue
			}
			switch r.Check {
			case result.CheckBandwidth, result.CheckBlob:
				s.addThroughput(r, linkOf(r, in.Links), hour)
			case result.CheckLatency:
				k := pairKey{linkOf(r, in.Links), r.From, r.To}
				if s.latency[k] == nil {
					s.latency[k] = &latAcc{}
				}
				s.latency[k].add(r)
			case result.CheckPMTU:
				s.addPMTU(r, pairKey{linkOf(r, in.Links), r.From, r.To})
			}
		}
	}
	return s
}

func (s linkSamples) addThroughput(r result.Result, link string, hour int) {
	m := r.Metrics
	v, ok := m.Float(result.MetricMbps)
	if !ok {
		return
	}
	st, _ := m.Float(result.MetricStreams)
	k := seriesKey{link, r.From, r.To, m.String(result.MetricDirection), int(st)}
	if s.throughput[k] == nil {
		s.throughput[k] = map[int][]float64{}
	}
	s.throughput[k][hour] = append(s.throughput[k][hour], v)
	// The failback direction: classic's process server to master target carries the
	// requirement; a blob upload is the forward direction.
	if _, ok := m[result.MetricRequiredMbps]; ok && m.String(result.MetricDirection) != "up" {
		s.replication[k] = true
	}
}

func (s linkSamples) addPMTU(r result.Result, k pairKey) {
	m := r.Metrics
	v, ok := m.Float(result.MetricMTU)
	if !ok {
		return
	}
	row := s.pmtu[k]
	if row == nil {
		row = &PMTURow{From: r.From, To: r.To, Min: int(v)}
		s.pmtu[k] = row
	}
	row.Runs++
	row.MTU, row.Status = int(v), r.Status
	row.Min = min(row.Min, int(v))
	if e, ok := m.Float(result.MetricExpectedMTU); ok {
		row.Expect = int(e)
	}
	row.Blackhole = row.Blackhole || m.Bool(result.MetricBlackhole)
}

// seriesOrder sorts the series: by link, the replication direction first, then by hosts and
// direction, more streams first.
func (s linkSamples) seriesOrder() []seriesKey {
	var sks []seriesKey
	for k := range s.throughput {
		sks = append(sks, k)
	}
	sort.Slice(sks, func(i, j int) bool {
		a, b := sks[i], sks[j]
		if a.link != b.link {
			return a.link < b.link
		}
		if s.replication[a] != s.replication[b] {
			return s.replication[a]
		}
		if a.from+a.to+a.dir != b.from+b.to+b.dir {
			return a.from+"\x00"+a.to+"\x00"+a.dir < b.from+"\x00"+b.to+"\x00"+b.dir
		}
		return a.streams > b.streams
	})
	return sks
}

// series is the statistics of one series, per hour of the day and over all samples.
func (s linkSamples) series(k seriesKey) Series {
	out := Series{From: k.from, To: k.to, Direction: k.dir, Streams: k.streams, Replication: s.replication[k]}
	var all []float64
	for h := range 24 {
		if v := s.throughput[k][h]; len(v) > 0 {
			out.Hours = append(out.Hours, stat(h, v))
			all = append(all, v...)
		}
	}
	out.All = stat(-1, all)
	return out
}

// sortedPairs are a map's pair keys in link, source, destination order, so a link that only
// latency or PMTU results name takes the same place in every report.
func sortedPairs[V any](m map[pairKey]V) []pairKey {
	keys := make([]pairKey, 0, len(m))
	for k := range m {
		keys = append(keys, k)
	}
	sort.Slice(keys, func(i, j int) bool {
		a, b := keys[i], keys[j]
		if a.link != b.link {
			return a.link < b.link
		}
		if a.from != b.from {
			return a.from < b.from
		}
		return a.to < b.to
	})
	return keys
}

// judgeLink gives a link its verdict: the latest status of its checks and their history,
// then whether its measured throughput carries the churn of the VMs failing back over it.
func judgeLink(lr *LinkReport, tracks []*track, in Inputs, plan capacity.Plan, required float64) {
	for _, t := range tracks {
		if !linkChecks[t.latest.Check] || linkOf(t.latest, in.Links) != lr.Name {
			continue
		}
		v, why := judgeTrack(t.latest, t.runs, t.fails)
		lr.Verdict = worse(lr.Verdict, v)
		if why != "" {
			lr.Reasons = append(lr.Reasons, why)
		}
	}
	measureLink(lr)
	lr.Required = linkRequired(lr.Name, in, plan, required)
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
}

// measureLink takes the link's throughput from its best multi-stream series in the
// replication direction: the median over all samples, and the worst hour's median.
func measureLink(lr *LinkReport) {
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

// applyProfile judges the links' worst hours with the churn profile, when one is given: does
// the link meet the RPO 100 % and 90 % of the profile's minutes?
func (rep *Report) applyProfile(plan capacity.Plan) {
	in := rep.Inputs
	if in.Profile == nil {
		return
	}
	if in.RPO <= 0 {
		rep.Notes = append(rep.Notes, "Churn profile given but no RPO: set settings.rpo in the topology.")
		return
	}
	sz, err := capacity.Size(*in.Profile, plan, in.RPO)
	if err != nil {
		rep.Notes = append(rep.Notes, fmt.Sprintf("Churn profile not used: %v.", err))
		return
	}
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
