package report

import (
	"fmt"

	"github.com/netprobe/netprobe/internal/capacity"
)

// vmReports judges each failing-back VM: its flows' latest results and history, the link it
// replicates over, and how long a resync takes at that link's measured throughput.
func vmReports(in Inputs, links []LinkReport, tracks []*track, plan capacity.Plan) []VMReport {
	slowest := 0.0
	for _, lr := range links {
		if lr.Measured > 0 && (slowest == 0 || lr.Measured < slowest) {
			slowest = lr.Measured // several links: the slowest bounds the estimate
		}
	}
	var out []VMReport
	for _, vm := range in.VMs {
		vr := vmSize(vm, plan)
		own := slowest
		for _, lr := range links {
			if vm.Link != "" && lr.Name == vm.Link && lr.Measured > 0 {
				own = lr.Measured
			}
		}
		if own > 0 && vr.Size > 0 {
			var disks []capacity.ResyncDisk
			for _, d := range vm.Disks {
				disks = append(disks, capacity.ResyncDisk{Used: capacity.Bytes(d.Size), Changed: 0})
			}
			if rs, err := capacity.ResyncTime(capacity.Alternate, disks, capacity.BitsPerSecond(own)); err == nil {
				vr.ResyncHours = rs.Hours
			}
		}
		judgeVMFlows(&vr, tracks)
		judgeVMLinks(&vr, vm, links)
		out = append(out, vr)
	}
	return out
}

// vmSize is a VM's report before judging: its disks, their churn and the bandwidth it needs.
func vmSize(vm VMInput, plan capacity.Plan) VMReport {
	vr := VMReport{Name: vm.Name, Group: vm.Group, Verdict: Unknown, Disks: len(vm.Disks)}
	var churn []capacity.BitsPerSecond
	for _, d := range vm.Disks {
		vr.Churn += d.Churn
		vr.Size += d.Size
		churn = append(churn, capacity.BitsPerSecond(d.Churn))
	}
	if req, err := capacity.Required(churn, plan); err == nil {
		vr.Required = float64(req)
	}
	return vr
}

// judgeVMFlows judges a VM by every check from or to it.
func judgeVMFlows(vr *VMReport, tracks []*track) {
	for _, t := range tracks {
		r := t.latest
		if r.From != vr.Name && r.To != vr.Name {
			continue
		}
		vr.Flows.Add(r.Status)
		v, why := judgeTrack(r, t.runs, t.fails)
		vr.Verdict = worse(vr.Verdict, v)
		if why != "" {
			vr.Reasons = append(vr.Reasons, why)
		}
	}
}

// judgeVMLinks: a VM replicates over its link, so a link that cannot carry the churn stops it
// too. A VM whose link is unknown is judged against every link.
func judgeVMLinks(vr *VMReport, vm VMInput, links []LinkReport) {
	for _, lr := range links {
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
}
