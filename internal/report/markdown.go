package report

import (
	"bufio"
	"fmt"
	"io"
	"strings"
	"time"

	"github.com/netprobe/netprobe/internal/capacity"
)

// BacklogStatement is printed in every report: the board must know whose model it reads.
const BacklogStatement = "The backlog and churn-profile arithmetic in this report (required bandwidth with growth, " +
	"headroom, backlog drain, resync time) is netprobe's model, not Microsoft's. The Azure Site Recovery " +
	"Deployment Planner remains Microsoft's reference for sizing; netprobe adds what it never measures: " +
	"the path from Azure back to on-premises, in both directions, at the hours the failback will run."

// Markdown writes the report as Markdown (GitHub flavour tables), the twin of the HTML page,
// for change tickets and wikis.
func (rep Report) Markdown(w io.Writer) error {
	m := mdWriter{bufio.NewWriter(w)}
	m.head(rep)
	m.links(rep)
	m.vms(rep)
	m.checklist(rep)
	m.failing(rep)
	for _, l := range rep.Links {
		m.link(l)
	}
	m.inputs(rep)
	return m.Flush()
}

// mdWriter writes the Markdown report's sections; errors surface at Flush.
type mdWriter struct{ *bufio.Writer }

func (m mdWriter) p(format string, a ...any) { fmt.Fprintf(m, format, a...) }

// head is the title, the verdict, the provenance and the caveats.
func (m mdWriter) head(rep Report) {
	m.p("# Failback network readiness: %s\n\n", rep.Topology)
	m.p("**Verdict: %s.** %s\n\n", rep.Verdict, rep.span())
	if pv := rep.provenanceLine(); pv != "" {
		m.p("%s\n\n", pv)
	}
	for _, c := range rep.Caveats {
		m.p("- **Caveat:** %s\n", mdCell(c))
	}
	if len(rep.Caveats) > 0 {
		m.p("\n")
	}
}

// links is the verdict per link, with the reasons.
func (m mdWriter) links(rep Report) {
	m.p("## Verdict per link\n\n")
	if len(rep.Links) == 0 {
		m.p("No link was measured.\n\n")
	} else {
		m.p("| Link | Kind | Verdict | Measured (median) | Worst hour | Required | Headroom (worst hour) |\n")
		m.p("| --- | --- | --- | --- | --- | --- | --- |\n")
		for _, l := range rep.Links {
			m.p("| %s | %s | **%s** | %s | %s | %s | %s |\n", mdCell(l.Name), dash(l.Kind), l.Verdict,
				rate(l.Measured), worstHour(l), rate(l.Required), headroom(l))
		}
		m.p("\n")
		for _, l := range rep.Links {
			for _, why := range l.Reasons {
				m.p("- %s: %s\n", mdCell(l.Name), mdCell(why))
			}
		}
		m.p("\n")
	}
}

// vms is the verdict per VM, with the reasons.
func (m mdWriter) vms(rep Report) {
	if len(rep.VMs) > 0 {
		m.p("## Verdict per VM\n\n")
		m.p("| VM | Group | Verdict | Disks | Size | Churn (p95) | Required | Resync, worst case (every provisioned byte at the measured rate) | Flows pass / warn / fail / error / skip |\n")
		m.p("| --- | --- | --- | --- | --- | --- | --- | --- | --- |\n")
		for _, v := range rep.VMs {
			m.p("| %s | %s | **%s** | %d | %s | %s | %s | %s | %d / %d / %d / %d / %d |\n", mdCell(v.Name), dash(v.Group), v.Verdict,
				v.Disks, size(v.Size), rate(v.Churn), rate(v.Required), hours(v.ResyncHours),
				v.Flows.Pass, v.Flows.Warn, v.Flows.Fail, v.Flows.Error, v.Flows.Skip)
		}
		m.p("\n")
		for _, v := range rep.VMs {
			for _, why := range v.Reasons {
				m.p("- %s: %s\n", mdCell(v.Name), mdCell(why))
			}
		}
		m.p("\n")
	}
}

// checklist is what no agent can see.
func (m mdWriter) checklist(rep Report) {
	if len(rep.Inputs.Checklist) > 0 {
		m.p("## Manual checklist\n\nNo agent can see these; confirm each by hand before cutover.\n\n")
		for _, c := range rep.Inputs.Checklist {
			m.p("- [ ] %s\n", mdCell(c))
		}
		m.p("\n")
	}
}

// failing is the failing flows and what fixes them.
func (m mdWriter) failing(rep Report) {
	m.p("## Failing flows and what fixes them\n\n")
	if len(rep.Failing) == 0 {
		m.p("None: every flow passed in every run.\n\n")
	} else {
		m.p("| Status | Rule | From → To | Target | Observed | Failed runs | What to do |\n")
		m.p("| --- | --- | --- | --- | --- | --- | --- |\n")
		for _, f := range rep.Failing {
			m.p("| %s | %s | %s → %s | %s | %s | %s | %s |\n", findingStatus(f), dash(f.Rule), mdCell(f.From), mdCell(f.To), dash(mdCell(f.Target)),
				mdCell(observed(f))+evidenceLink(f), fmt.Sprintf("%d of %d", f.FailedRuns, f.Runs), mdCell(firstNonEmpty(f.Hint, f.Message)))
		}
		m.p("\n")
	}
}

// link is one link's measurements: throughput by hour, latency, path MTU.
func (m mdWriter) link(l LinkReport) {
	m.p("## Link %s\n\n", l.Name)
	m.throughput(l)
	if len(l.Latency) > 0 {
		m.p("### Latency, idle and under load (ms)\n\n")
		m.p("| From → To | Runs | p50 | p95 | p95 worst run | Loaded p95 | Loaded p95 worst run | Max loss | Latest |\n")
		m.p("| --- | --- | --- | --- | --- | --- | --- | --- | --- |\n")
		for _, r := range l.Latency {
			m.p("| %s → %s | %d | %s | %s | %s | %s | %s | %.1f %% | %s |\n", mdCell(r.From), mdCell(r.To), r.Runs, fmtMS(r.P50), fmtMS(r.P95), fmtMS(r.P95Worst),
				loaded(r, r.LoadedP95), loaded(r, r.LoadedP95Worst), 100*r.LossMax, r.Status)
		}
		m.p("\n")
	}
	if len(l.PMTU) > 0 {
		m.p("### Path MTU\n\n")
		m.p("| From → To | Latest | Lowest seen | Expected | Black hole | Latest status |\n")
		m.p("| --- | --- | --- | --- | --- | --- |\n")
		for _, r := range l.PMTU {
			m.p("| %s → %s | %d | %d | %s | %s | %s |\n", mdCell(r.From), mdCell(r.To), r.MTU, r.Min, intOrDash(r.Expect), yesNo(r.Blackhole), r.Status)
		}
		m.p("\n")
	}
}

// throughput is a link's throughput table by hour of the day, one column per series.
func (m mdWriter) throughput(l LinkReport) {
	if len(l.Throughput) > 0 {
		m.p("### Throughput by hour of day (Mbit/s: min / median / p95)\n\n")
		m.p("| Hour |")
		for _, s := range l.Throughput {
			m.p(" %s |", mdCell(s.Label()))
		}
		m.p("\n| --- |%s\n", strings.Repeat(" --- |", len(l.Throughput)))
		for h := range 24 {
			row, any := fmt.Sprintf("| %02d:00 |", h), false
			for _, s := range l.Throughput {
				if hs, ok := s.hour(h); ok {
					row += fmt.Sprintf(" %s |", triple(hs))
					any = true
				} else {
					row += " – |"
				}
			}
			if any {
				m.p("%s\n", row)
			}
		}
		m.p("| **all** |")
		for _, s := range l.Throughput {
			m.p(" **%s** (%d runs) |", triple(s.All), s.All.N)
		}
		m.p("\n\n")
		if single, multi := l.singleMulti(); single > 0 && multi > 0 {
			m.p("Single stream reaches %.0f %% of multi-stream throughput (medians). %s\n\n", 100*single/multi, windowAdvice(single, multi))
		}
	}
}

// inputs is the inputs, the formulas, the backlog statement and the notes.
func (m mdWriter) inputs(rep Report) {
	m.p("## Inputs and formulas\n\n")
	for _, line := range rep.inputLines() {
		m.p("- %s\n", line)
	}
	m.p("\n")
	if len(rep.Inputs.VMs) > 0 {
		m.p("| VM | Disk | Size | Churn (p95) |\n| --- | --- | --- | --- |\n")
		for _, vm := range rep.Inputs.VMs {
			for i, d := range vm.Disks {
				m.p("| %s | %d | %s | %s |\n", mdCell(vm.Name), i+1, size(d.Size), rate(d.Churn))
			}
		}
		m.p("\n")
	}
	if sz := rep.Sizing; sz != nil {
		m.p("Churn profile (%d minutes), %s, RPO %s: RPO 100 %% needs %s, RPO 90 %% needs %s; the peak minute needs %s.\n\n",
			sz.Minutes, sz.Model, humanDuration(sz.RPO), rate(float64(sz.Always)), rate(float64(sz.Mostly)), rate(float64(sz.Peak)))
	}
	m.p("Formulas:\n\n")
	for _, f := range formulas {
		m.p("- %s\n", f)
	}
	m.p("\n%s\n", BacklogStatement)
	if len(rep.Notes) > 0 {
		m.p("\n## Notes\n\n")
		for _, n := range rep.Notes {
			m.p("- %s\n", n)
		}
	}
}

// formulas are printed verbatim in both renderers.
var formulas = []string{
	"Required bandwidth = Σ churn (95th percentile, per disk) × (1 + growth) ÷ compression.",
	fmt.Sprintf("Headroom = measured ÷ required. Below %.1f the RPO will be missed (no-go); below %.1f less than 20 %% is left for busy hours (caveat).", capacity.FailBelow, capacity.WarnBelow),
	"Measured = median of the multi-stream throughput in the replication direction over all runs; the worst hour is the lowest hourly median.",
	fmt.Sprintf("Resync hours = bytes × 8 ÷ measured ÷ 3600, worst case: failback to an alternate location sends every provisioned byte (to the original location only changes are sent). The process server resynchronises %d disks of a VM at a time: a VM with one large disk among small ones finishes later than the total suggests.", capacity.DisksAtOnce),
	"Churn profile: Q(t+1) = max(0, Q(t) + 60 × (c(t) × (1 + growth) ÷ compression − B)) per minute; RPO 100 % is the smallest B with Q ÷ B ≤ RPO at every minute, RPO 90 % at 90 % of minutes.",
	"Per hour of day: min, median and 95th percentile (nearest rank) of the runs that started in that hour. Latency under load is sampled while the bandwidth test runs.",
}

// provenanceLine says what made the report: netprobe's version, when, from which topology
// file (its SHA-256), and the versions that made the runs.
func (rep Report) provenanceLine() string {
	pv := rep.Inputs.Provenance
	var parts []string
	if pv.Version != "" {
		v := "netprobe " + pv.Version
		if pv.Commit != "" {
			v += " (commit " + pv.Commit + ")"
		}
		parts = append(parts, "Written by "+v)
	}
	if !pv.GeneratedAt.IsZero() {
		loc := rep.Inputs.Location
		if loc == nil {
			loc = time.UTC
		}
		parts = append(parts, "at "+pv.GeneratedAt.In(loc).Format("2006-01-02 15:04 MST"))
	}
	if pv.TopologyFile != "" {
		t := "from topology file " + pv.TopologyFile
		if pv.TopologySHA256 != "" {
			t += " (SHA-256 " + pv.TopologySHA256 + ")"
		}
		parts = append(parts, t)
	}
	if len(rep.Versions) > 0 {
		parts = append(parts, "runs made by netprobe "+strings.Join(rep.Versions, ", "))
	}
	if len(parts) == 0 {
		return ""
	}
	return strings.Join(parts, ", ") + "."
}

func (rep Report) span() string {
	if rep.Runs == 0 {
		return "No runs were read."
	}
	const layout = "2006-01-02 15:04 MST"
	loc := rep.Inputs.Location
	if loc == nil {
		loc = time.UTC
	}
	return fmt.Sprintf("Built from %d runs between %s and %s.", rep.Runs, rep.First.In(loc).Format(layout), rep.Last.In(loc).Format(layout))
}

func (rep Report) inputLines() []string {
	in := rep.Inputs
	var out []string
	if in.RPO > 0 {
		out = append(out, fmt.Sprintf("RPO threshold: %s.", humanDuration(in.RPO)))
	}
	k := in.Compression
	if k == 0 {
		k = 1
	}
	out = append(out, fmt.Sprintf("Growth allowance: %.0f %%; compression ratio: %g.", 100*in.Growth, k))
	switch rep.RequiredFrom {
	case "topology":
		out = append(out, fmt.Sprintf("Required bandwidth: %s, from the churn of the protected VMs' disks below.", rate(rep.Required)))
	case "results":
		out = append(out, fmt.Sprintf("Required bandwidth: %s, as recorded by the bandwidth checks (no churn given to the report).", rate(rep.Required)))
	}
	for _, l := range in.Links {
		s := fmt.Sprintf("Link %s (%s, %s ↔ %s)", l.Name, dash(l.Kind), l.Sites[0], l.Sites[1])
		if l.Bandwidth > 0 {
			s += ": provisioned " + rate(l.Bandwidth)
		}
		if l.MTU > 0 {
			s += fmt.Sprintf(", expected MTU %d", l.MTU)
		}
		out = append(out, s+".")
	}
	return out
}

func (s Series) hour(h int) (HourStat, bool) {
	for _, hs := range s.Hours {
		if hs.Hour == h {
			return hs, true
		}
	}
	return HourStat{}, false
}

// singleMulti are the medians of the single-stream and best multi-stream series of the
// replication direction (or of any direction when none is marked).
func (l LinkReport) singleMulti() (single, multi float64) {
	repl := false
	for _, s := range l.Throughput {
		repl = repl || s.Replication
	}
	for _, s := range l.Throughput {
		if repl && !s.Replication {
			continue
		}
		if s.Streams == 1 {
			single = max(single, s.All.Median)
		} else {
			multi = max(multi, s.All.Median)
		}
	}
	return single, multi
}

func windowAdvice(single, multi float64) string {
	if single < 0.6*multi {
		return "One TCP stream is window-bound on this round trip: keep ASR's parallel download threads (4 per VM by default, up to 32) rather than lowering them."
	}
	return "One stream fills most of the link: the round trip is not the limit."
}

func triple(h HourStat) string { return fmt.Sprintf("%.0f / %.0f / %.0f", h.Min, h.Median, h.P95) }

func worstHour(l LinkReport) string {
	if l.WorstHourAt < 0 {
		return "–"
	}
	return fmt.Sprintf("%s at %02d:00", rate(l.WorstHour), l.WorstHourAt)
}

func headroom(l LinkReport) string {
	if l.Headroom == 0 {
		return "–"
	}
	return fmt.Sprintf("%.2f× (%.2f×)", l.Headroom, l.WorstHeadroom)
}

func rate(bps float64) string {
	if bps <= 0 {
		return "–"
	}
	return mbps(bps)
}

func size(b int64) string {
	if b <= 0 {
		return "–"
	}
	const gib = 1 << 30
	if b >= 1<<40 {
		return fmt.Sprintf("%.1f TiB", float64(b)/(1<<40))
	}
	return fmt.Sprintf("%.0f GiB", float64(b)/gib)
}

func hours(h float64) string {
	switch {
	case h <= 0:
		return "–"
	case h < 0.1:
		return "< 0.1 h"
	}
	return fmt.Sprintf("%.1f h", h)
}

// fmtMS writes milliseconds for a table cell, a dash for none.
func fmtMS(v float64) string {
	if v <= 0 {
		return "–"
	}
	return fmt.Sprintf("%.1f", v)
}

func loaded(r LatencyRow, v float64) string {
	if !r.HasLoaded {
		return "–"
	}
	return fmtMS(v)
}

func intOrDash(v int) string {
	if v == 0 {
		return "–"
	}
	return fmt.Sprint(v)
}

func yesNo(b bool) string {
	if b {
		return "yes"
	}
	return "no"
}

func dash(s string) string {
	if s == "" {
		return "–"
	}
	return s
}

func firstNonEmpty(s ...string) string {
	for _, v := range s {
		if v != "" {
			return v
		}
	}
	return ""
}

func observed(f FlowFinding) string {
	s := f.State
	if f.Reason != "" {
		s = strings.TrimSpace(s + " (" + f.Reason + ")")
	}
	if s == "" {
		return oneLine(f.Message)
	}
	if a := answerText(f); a != "" {
		s += ", " + a
	}
	return s
}

func findingStatus(f FlowFinding) string {
	if f.Current {
		return strings.ToUpper(f.Status.String())
	}
	return "intermittent (now " + f.Status.String() + ")"
}

// mdCell keeps a value inside its table cell.
func mdCell(s string) string {
	return strings.ReplaceAll(oneLine(s), "|", "\\|")
}

// humanDuration writes 15m0s as "15 min" and 1h30m0s as "1 h 30 min".
func humanDuration(d time.Duration) string {
	h, m := int(d.Hours()), int(d.Minutes())%60
	switch {
	case h > 0 && m > 0:
		return fmt.Sprintf("%d h %d min", h, m)
	case h > 0:
		return fmt.Sprintf("%d h", h)
	case m > 0 && d%time.Minute == 0:
		return fmt.Sprintf("%d min", m)
	}
	return d.String()
}

// evidenceLink links a finding's packets: " ([packets](file:///...))".
func evidenceLink(f FlowFinding) string {
	if f.Evidence == "" {
		return ""
	}
	return " ([packets](" + evidenceURL(f.Evidence) + "))"
}
