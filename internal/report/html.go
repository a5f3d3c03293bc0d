package report

import (
	"fmt"
	"html/template"
	"io"
	"strings"

	"github.com/netprobe/netprobe/internal/capacity"
	"github.com/netprobe/netprobe/internal/result"
)

// HTML writes the report as one self-contained page: inline CSS and SVG, no scripts, no
// external fonts or images, so it can be mailed, archived with the change ticket, and printed
// on A4 for the approval board.
func (rep Report) HTML(w io.Writer) error {
	return pageTmpl.Execute(w, rep)
}

// Chart is the SVG throughput chart of a link (exported for the TUI or other pages).
func (l LinkReport) Chart(required float64) template.HTML {
	c := chart{Title: "Throughput on " + l.Name + " by hour of day", YLabel: "Mbit/s"}
	for i, s := range l.Throughput {
		cs := chartSeries{Name: s.Label(), Color: palette[i%len(palette)]}
		for _, h := range s.Hours {
			cs.Points = append(cs.Points, chartPoint{Hour: h.Hour, Lo: h.Min, Mid: h.Median, Hi: h.P95})
		}
		c.Series = append(c.Series, cs)
	}
	if required > 0 {
		c.Refs = append(c.Refs, chartRef{Label: "required " + mbps(required), Y: required / 1e6, Color: "#b00020"})
	}
	if l.Bandwidth > 0 {
		c.Refs = append(c.Refs, chartRef{Label: "provisioned " + mbps(l.Bandwidth), Y: l.Bandwidth / 1e6, Color: "#777777"})
	}
	return template.HTML(c.svg()) // every text inside is escaped by svg()
}

func verdictClass(v Verdict) string {
	switch v {
	case Go:
		return "go"
	case Caution:
		return "caution"
	case NoGo:
		return "nogo"
	}
	return "unknown"
}

func statusClass(s result.Status) string { return s.String() }

var pageTmpl = template.Must(template.New("report").Funcs(template.FuncMap{
	"rate": rate, "size": size, "hours": hours, "ms": fmtMS, "loaded": loaded, "intOrDash": intOrDash,
	"yesNo": yesNo, "dash": dash, "triple": triple, "worstHour": worstHour, "headroom": headroom,
	"observed": observed, "findingStatus": findingStatus, "verdictClass": verdictClass, "evidenceHref": evidenceHref,
	"statusClass": statusClass, "formulas": func() []string { return formulas },
	"backlog": func() string { return BacklogStatement },
	"pct":     func(v float64) string { return fmt.Sprintf("%.1f %%", 100*v) },
	"hourRows": func(l LinkReport) [][]string {
		var rows [][]string
		for h := range 24 {
			row, any := []string{fmt.Sprintf("%02d:00", h)}, false
			for _, s := range l.Throughput {
				if hs, ok := s.hour(h); ok {
					row, any = append(row, triple(hs)), true
				} else {
					row = append(row, "–")
				}
			}
			if any {
				rows = append(rows, row)
			}
		}
		return rows
	},
	"advice": func(l LinkReport) string {
		single, multi := l.singleMulti()
		if single == 0 || multi == 0 {
			return ""
		}
		return fmt.Sprintf("Single stream reaches %.0f %% of multi-stream throughput (medians). %s", 100*single/multi, windowAdvice(single, multi))
	},
	"upper": strings.ToUpper,
	"inc":   func(i int) int { return i + 1 },
	"dur":   humanDuration,
	"bps":   func(b capacity.BitsPerSecond) float64 { return float64(b) },
}).Parse(pageHTML))

const pageHTML = `<!DOCTYPE html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>Failback network readiness: {{.Topology}}</title>
<style>
:root { --go: #1e7b34; --caution: #9a6700; --nogo: #b00020; --muted: #666; }
* { box-sizing: border-box; }
body { font-family: -apple-system, "Segoe UI", Roboto, "Helvetica Neue", Arial, sans-serif; font-size: 10.5pt; line-height: 1.4; color: #111; max-width: 190mm; margin: 0 auto; padding: 8mm 6mm; }
h1 { font-size: 17pt; margin: 0 0 4pt; }
h2 { font-size: 13pt; margin: 16pt 0 6pt; border-bottom: 1px solid #ccc; padding-bottom: 2pt; }
h3 { font-size: 11pt; margin: 10pt 0 4pt; }
.meta { color: var(--muted); margin: 0 0 8pt; }
.verdict { display: inline-block; padding: 1pt 6pt; border-radius: 3pt; font-weight: bold; color: #fff; white-space: nowrap; }
.verdict.go { background: var(--go); } .verdict.caution { background: var(--caution); } .verdict.nogo { background: var(--nogo); } .verdict.unknown { background: #888; }
.banner { font-size: 14pt; margin: 6pt 0 10pt; }
table { border-collapse: collapse; width: 100%; margin: 4pt 0 8pt; font-size: 9pt; }
th, td { border: 1px solid #ccc; padding: 2pt 4pt; text-align: left; vertical-align: top; }
th { background: #f2f2f2; }
.nw { white-space: nowrap; }
td.num { text-align: right; font-variant-numeric: tabular-nums; white-space: nowrap; }
.status-fail, .status-error { color: var(--nogo); font-weight: bold; }
.status-warn { color: var(--caution); font-weight: bold; }
.status-pass { color: var(--go); }
ul.reasons { margin: 2pt 0 8pt; padding-left: 14pt; }
.chart { margin: 6pt 0; }
.chart svg { display: block; max-width: 100%; height: auto; }
.note { color: var(--muted); font-size: 9pt; }
.statement { border-left: 3pt solid #999; padding: 4pt 8pt; background: #f7f7f7; }
code { font-family: ui-monospace, "Cascadia Mono", Consolas, monospace; font-size: 8.5pt; }
@page { size: A4; margin: 14mm 12mm; }
@media print {
  body { max-width: none; padding: 0; font-size: 9.5pt; }
  h2 { break-after: avoid; }
  table, .chart, .statement { break-inside: avoid; }
  section.link { break-before: page; }
  a { color: inherit; text-decoration: none; }
}
</style>
</head>
<body>
<h1>Failback network readiness: {{.Topology}}</h1>
<p class="meta">{{.Span}}{{with .ProvenanceLine}} {{.}}{{end}}</p>
<p class="banner">Verdict: <span class="verdict {{verdictClass .Verdict}}">{{.Verdict}}</span></p>
{{if .Caveats}}<ul class="reasons">{{range .Caveats}}<li><b>Caveat</b>: {{.}}</li>{{end}}</ul>{{end}}

<h2>Verdict per link</h2>
{{if .Links}}<table>
<tr><th>Link</th><th>Kind</th><th>Verdict</th><th>Measured (median)</th><th>Worst hour</th><th>Required</th><th>Headroom (worst hour)</th></tr>
{{range .Links}}<tr><td>{{.Name}}</td><td>{{dash .Kind}}</td><td><span class="verdict {{verdictClass .Verdict}}">{{.Verdict}}</span></td><td class="num">{{rate .Measured}}</td><td class="num">{{worstHour .}}</td><td class="num">{{rate .Required}}</td><td class="num">{{headroom .}}</td></tr>
{{end}}</table>
<ul class="reasons">{{range .Links}}{{$l := .}}{{range .Reasons}}<li><b>{{$l.Name}}</b>: {{.}}</li>{{end}}{{end}}</ul>
{{else}}<p>No link was measured.</p>{{end}}

{{if .VMs}}<h2>Verdict per VM</h2>
<table>
<tr><th>VM</th><th>Group</th><th>Verdict</th><th>Disks</th><th>Size</th><th>Churn (p95)</th><th>Required</th><th>Resync, worst case (every provisioned byte at the measured rate)</th><th>Flows pass / warn / fail / error / skip</th></tr>
{{range .VMs}}<tr><td>{{.Name}}</td><td>{{dash .Group}}</td><td><span class="verdict {{verdictClass .Verdict}}">{{.Verdict}}</span></td><td class="num">{{.Disks}}</td><td class="num">{{size .Size}}</td><td class="num">{{rate .Churn}}</td><td class="num">{{rate .Required}}</td><td class="num">{{hours .ResyncHours}}</td><td class="num">{{.Flows.Pass}} / {{.Flows.Warn}} / {{.Flows.Fail}} / {{.Flows.Error}} / {{.Flows.Skip}}</td></tr>
{{end}}</table>
<ul class="reasons">{{range .VMs}}{{$v := .}}{{range .Reasons}}<li><b>{{$v.Name}}</b>: {{.}}</li>{{end}}{{end}}</ul>
{{end}}

{{if .Inputs.Checklist}}<h2>Manual checklist</h2>
<p>No agent can see these; confirm each by hand before cutover.</p>
<ul class="checklist">{{range .Inputs.Checklist}}<li>☐ {{.}}</li>{{end}}</ul>{{end}}

<h2>Failing flows and what fixes them</h2>
{{if .Failing}}<table>
<tr><th>Status</th><th>Rule</th><th>From → To</th><th>Target</th><th>Observed</th><th>Failed runs</th><th>What to do</th></tr>
{{range .Failing}}<tr><td class="{{if .Current}}status-{{statusClass .Status}}{{else}}status-warn{{end}}">{{findingStatus .}}</td><td>{{dash .Rule}}</td><td class="nw">{{.From}} →<br>{{.To}}</td><td><code>{{dash .Target}}</code></td><td>{{observed .}}{{with .Evidence}} (<a href="{{evidenceHref .}}">packets</a>){{end}}</td><td class="num">{{.FailedRuns}} of {{.Runs}}</td><td>{{if .Hint}}{{.Hint}}{{else}}{{.Message}}{{end}}</td></tr>
{{end}}</table>
{{else}}<p>None: every flow passed in every run.</p>{{end}}

{{range .Links}}<section class="link">
<h2>Link {{.Name}}</h2>
<div class="chart">{{.Chart $.Required}}</div>
{{if .Throughput}}<h3>Throughput by hour of day (Mbit/s: min / median / p95)</h3>
<table>
<tr><th>Hour</th>{{range .Throughput}}<th>{{.Label}}</th>{{end}}</tr>
{{range hourRows .}}<tr>{{range $i, $c := .}}{{if eq $i 0}}<td>{{$c}}</td>{{else}}<td class="num">{{$c}}</td>{{end}}{{end}}</tr>
{{end}}<tr><th>all</th>{{range .Throughput}}<th class="num">{{triple .All}} ({{.All.N}} runs)</th>{{end}}</tr>
</table>
{{with advice .}}<p>{{.}}</p>{{end}}{{end}}
{{if .Latency}}<h3>Latency, idle and under load (ms)</h3>
<table>
<tr><th>From → To</th><th>Runs</th><th>p50</th><th>p95</th><th>p95 worst run</th><th>Loaded p95</th><th>Loaded p95 worst run</th><th>Max loss</th><th>Latest</th></tr>
{{range .Latency}}<tr><td>{{.From}} → {{.To}}</td><td class="num">{{.Runs}}</td><td class="num">{{ms .P50}}</td><td class="num">{{ms .P95}}</td><td class="num">{{ms .P95Worst}}</td><td class="num">{{loaded . .LoadedP95}}</td><td class="num">{{loaded . .LoadedP95Worst}}</td><td class="num">{{pct .LossMax}}</td><td class="status-{{statusClass .Status}}">{{.Status}}</td></tr>
{{end}}</table>{{end}}
{{if .PMTU}}<h3>Path MTU</h3>
<table>
<tr><th>From → To</th><th>Latest</th><th>Lowest seen</th><th>Expected</th><th>Black hole</th><th>Latest status</th></tr>
{{range .PMTU}}<tr><td>{{.From}} → {{.To}}</td><td class="num">{{.MTU}}</td><td class="num">{{.Min}}</td><td class="num">{{intOrDash .Expect}}</td><td>{{yesNo .Blackhole}}</td><td class="status-{{statusClass .Status}}">{{.Status}}</td></tr>
{{end}}</table>{{end}}
</section>
{{end}}

<h2>Inputs and formulas</h2>
<ul>{{range .InputLines}}<li>{{.}}</li>{{end}}</ul>
{{if .Inputs.VMs}}<table>
<tr><th>VM</th><th>Disk</th><th>Size</th><th>Churn (p95)</th></tr>
{{range .Inputs.VMs}}{{$vm := .}}{{range $i, $d := .Disks}}<tr><td>{{$vm.Name}}</td><td class="num">{{inc $i}}</td><td class="num">{{size $d.Size}}</td><td class="num">{{rate $d.Churn}}</td></tr>
{{end}}{{end}}</table>{{end}}
{{with .Sizing}}<p>Churn profile ({{.Minutes}} minutes), {{.Model}}, RPO {{dur .RPO}}: RPO 100 % needs {{rate (bps .Always)}}, RPO 90 % needs {{rate (bps .Mostly)}}; the peak minute needs {{rate (bps .Peak)}}.</p>{{end}}
<p>Formulas:</p>
<ul>{{range formulas}}<li>{{.}}</li>{{end}}</ul>
<p class="statement">{{backlog}}</p>
{{if .Notes}}<h2>Notes</h2>
<ul>{{range .Notes}}<li>{{.}}</li>{{end}}</ul>{{end}}
<p class="note">Written by netprobe report from the history of netprobe check runs.</p>
</body>
</html>
`

// Span, ProvenanceLine and InputLines expose the shared wording to the template.
func (rep Report) Span() string { return rep.span() }

// ProvenanceLine is provenanceLine for the template.
func (rep Report) ProvenanceLine() string { return rep.provenanceLine() }

// InputLines are the inputs of the arithmetic, one sentence each.
func (rep Report) InputLines() []string { return rep.inputLines() }
