package report

import (
	"fmt"
	"sort"
	"strings"
	"time"

	"github.com/netprobe/netprobe/internal/result"
)

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
