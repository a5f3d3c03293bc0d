package report

import (
	"cmp"
	"fmt"
	"slices"
	"sort"
	"strings"
	"time"

	"github.com/netprobe/netprobe/internal/capacity"
	"github.com/netprobe/netprobe/internal/result"
)

// Build turns the history into the report. Runs of another topology than in.Topology (when
// set) are left out with a note. Build is pure: the same runs and inputs give the same report.
// Each section is one step below: the runs it uses, each check's track over them, the required
// rate, the links' series and verdicts, the churn profile, the VMs, the failing flows.
func Build(runs []result.Run, in Inputs) Report {
	rep := Report{Topology: in.Topology, Inputs: in}
	use, other := selectRuns(runs, in.Topology)
	if other > 0 {
		rep.Notes = append(rep.Notes, fmt.Sprintf("%d runs of other topologies were left out.", other))
	}
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

	tracks := trackRuns(use)
	plan := capacity.Plan{Growth: in.Growth, Compression: in.Compression}
	var note string
	rep.Required, rep.RequiredFrom, note = requiredRate(in, plan, tracks)
	if note != "" {
		rep.Notes = append(rep.Notes, note)
	}
	rep.Links = collectLinks(use, in)
	for i := range rep.Links {
		judgeLink(&rep.Links[i], tracks, in, plan, rep.Required)
		rep.Verdict = worse(rep.Verdict, rep.Links[i].Verdict)
	}
	for i := range rep.Links {
		rep.plausible(&rep.Links[i])
	}
	rep.applyProfile(plan)
	rep.VMs = vmReports(in, rep.Links, tracks, plan)
	for _, vr := range rep.VMs {
		rep.Verdict = worse(rep.Verdict, vr.Verdict)
	}
	rep.unchecked(tracks)
	rep.leftToOtherSites(leftToOtherSites(use))
	rep.Failing = failingFlows(tracks)
	// The estate's verdict covers every check, also those on no VM and no link (lint, DNS).
	for _, t := range tracks {
		v, _ := judgeTrack(t.latest, t.runs, t.fails)
		rep.Verdict = worse(rep.Verdict, v)
	}
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

// selectRuns keeps the runs of topology ("" keeps all) in the order they started, and counts
// those of other topologies.
func selectRuns(runs []result.Run, topology string) (use []result.Run, other int) {
	for _, r := range runs {
		if topology != "" && r.Topology != topology {
			other++
			continue
		}
		use = append(use, r)
	}
	sort.SliceStable(use, func(i, j int) bool { return use[i].StartedAt.Before(use[j].StartedAt) })
	return use, other
}

// track is one check followed through the runs: its latest result, its last failure (or
// error), and how many runs measured it and failed it.
type track struct {
	latest, lastFail result.Result
	runs, fails      int
}

// trackRuns follows every check through the runs, in ID order. An estate without a private
// path between its sites is checked by a coordinator in each, and each run skips the other
// sites' checks as run from there: those skips are no result of the check, so the runs of
// the sites merge into one picture and a check is judged by the runs that measured it.
func trackRuns(use []result.Run) []*track {
	byID := map[string]*track{}
	var out []*track
	for _, run := range use {
		for _, r := range run.Results {
			if r.Status == result.Skip && r.Reason == result.ReasonOtherSite {
				continue
			}
			t := byID[r.ID]
			if t == nil {
				t = &track{}
				byID[r.ID] = t
				out = append(out, t)
			}
			t.latest = r
			t.runs++
			if r.Status == result.Fail || r.Status == result.Error {
				t.fails++
				t.lastFail = r
			}
		}
	}
	slices.SortFunc(out, func(a, b *track) int { return strings.Compare(a.latest.ID, b.latest.ID) })
	return out
}

// requiredRate is the steady-state bandwidth the failing-back VMs need, bits per second, and
// where the figure comes from: their churn when the topology gives it ("topology"), else the
// largest figure the engine attached to a bandwidth result ("results"). note says why the
// churn could not be used, when it could not.
func requiredRate(in Inputs, plan capacity.Plan, tracks []*track) (bps float64, from, note string) {
	var churn []capacity.BitsPerSecond
	for _, vm := range in.VMs {
		for _, d := range vm.Disks {
			churn = append(churn, capacity.BitsPerSecond(d.Churn))
		}
	}
	if req, err := capacity.Required(churn, plan); err == nil && req > 0 {
		bps, from = float64(req), "topology"
	} else if err != nil {
		note = fmt.Sprintf("Required bandwidth not computed: %v.", err)
	}
	if bps == 0 {
		for _, t := range tracks {
			if v, ok := t.latest.Metrics.Float(result.MetricRequiredMbps); ok && v*1e6 > bps {
				bps, from = v*1e6, "results"
			}
		}
	}
	return bps, from, note
}

// unchecked adds the caveats of what nobody measured: documented checks the latest run
// skipped, and VMs without churn, which the required bandwidth leaves out.
func (rep *Report) unchecked(tracks []*track) {
	var skipped []string
	for _, t := range tracks {
		r := t.latest
		if r.Status == result.Skip && (r.Confidence == "doc" || r.Confidence == "inferred") {
			skipped = append(skipped, r.ID)
		}
	}
	if len(skipped) > 0 {
		rep.Caveats = append(rep.Caveats, fmt.Sprintf("%d documented checks were not run in the latest run (%s): their flows are unproven; the failing-flows table and each check's message say why.",
			len(skipped), abbreviateIDs(skipped, 4)))
		rep.Verdict = worse(rep.Verdict, Caution)
	}
	if n, of := missingChurn(rep.Inputs.VMs); n > 0 {
		rep.Caveats = append(rep.Caveats, fmt.Sprintf("%d of %d failing-back VMs have no churn in the topology: the required bandwidth leaves them out, so headroom looks better than it is.", n, of))
		rep.Verdict = worse(rep.Verdict, Caution)
	}
}

// leftToOtherSites lists, per site, the checks that every run skipped as run from that site
// (check --site): no run of that site's coordinator is in the history, so nothing measured them.
func leftToOtherSites(use []result.Run) map[string][]string {
	measured := map[string]bool{}
	left := map[string]string{} // check ID -> the site it was left to
	for _, run := range use {
		for _, r := range run.Results {
			if r.Status != result.Skip || r.Reason != result.ReasonOtherSite {
				measured[r.ID] = true
				continue
			}
			site, _ := r.Metrics[result.MetricRunFrom].(string)
			left[r.ID] = cmp.Or(site, "another site")
		}
	}
	out := map[string][]string{}
	for id, site := range left {
		if !measured[id] {
			out[site] = append(out[site], id)
		}
	}
	for _, ids := range out {
		slices.Sort(ids)
	}
	return out
}

// leftToOtherSites adds a caveat per site whose checks no run in the history measured: a
// report from one site's history alone must not read as GO for the other's flows.
func (rep *Report) leftToOtherSites(left map[string][]string) {
	sites := make([]string, 0, len(left))
	for site := range left {
		sites = append(sites, site)
	}
	slices.Sort(sites)
	for _, site := range sites {
		ids := left[site]
		rep.Caveats = append(rep.Caveats, fmt.Sprintf("%d checks were left to site %s's coordinator and no run of it is in the history (%s): they are unmeasured. Run netprobe check --site %s from inside that site and give its history too (repeat --history).",
			len(ids), site, abbreviateIDs(ids, 4), site))
		rep.Verdict = worse(rep.Verdict, Caution)
	}
}

// location is the time zone of the report's hour-of-day buckets: in.Location, else UTC.
func location(in Inputs) *time.Location {
	if in.Location == nil {
		return time.UTC
	}
	return in.Location
}
