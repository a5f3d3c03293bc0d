package report

import (
	"fmt"
	"html"
	"math"
	"strings"
)

// chart is a line chart over the 24 hours of the day, drawn as inline SVG: a shaded band
// (min to p95) and a median line per series, and dashed reference lines (required bandwidth).
// Drawn by hand because the page must be self-contained (no scripts, no fonts) and print on
// A4; the whole chart is a few dozen elements.
type chart struct {
	Title  string
	YLabel string
	Series []chartSeries
	Refs   []chartRef
}

type chartSeries struct {
	Name  string
	Color string
	// Points has one entry per hour with data; hours without data break the line.
	Points []chartPoint
}

type chartPoint struct {
	Hour        int
	Lo, Mid, Hi float64
}

type chartRef struct {
	Label string
	Y     float64
	Color string
}

// palette is distinguishable in colour and in greyscale print (decreasing lightness).
var palette = []string{"#1f5fa8", "#c0571b", "#2e8540", "#7a3f9d", "#8a6d00", "#444444"}

const (
	chartW, chartH         = 700, 300
	padL, padR, padT, padB = 56, 16, 28, 40
	legendLine             = 16
)

// svg renders the chart; every text is escaped.
func (c chart) svg() string {
	top := 0.0
	for _, s := range c.Series {
		for _, p := range s.Points {
			top = max(top, p.Hi, p.Mid)
		}
	}
	for _, r := range c.Refs {
		top = max(top, r.Y)
	}
	top = niceCeil(top * 1.08)
	legendH := legendLine * (len(c.Series) + len(c.Refs))
	h := chartH + legendH
	plotW, plotH := float64(chartW-padL-padR), float64(chartH-padT-padB)
	x := func(hour float64) float64 { return float64(padL) + plotW*hour/23 }
	y := func(v float64) float64 { return float64(padT) + plotH*(1-v/top) }

	var b strings.Builder
	fmt.Fprintf(&b, `<svg xmlns="http://www.w3.org/2000/svg" viewBox="0 0 %d %d" width="100%%" role="img" aria-label="%s" font-family="sans-serif" font-size="11">`, chartW, h, esc(c.Title))
	fmt.Fprintf(&b, `<title>%s</title>`, esc(c.Title))
	fmt.Fprintf(&b, `<text x="%d" y="16" font-size="13" font-weight="bold">%s</text>`, padL, esc(c.Title))
	// Grid and y axis: five steps.
	for i := 0; i <= 5; i++ {
		v := top * float64(i) / 5
		fmt.Fprintf(&b, `<line x1="%d" x2="%d" y1="%.1f" y2="%.1f" stroke="#ddd"/>`, padL, chartW-padR, y(v), y(v))
		fmt.Fprintf(&b, `<text x="%d" y="%.1f" text-anchor="end">%s</text>`, padL-6, y(v)+4, num(v))
	}
	fmt.Fprintf(&b, `<text transform="translate(14 %.1f) rotate(-90)" text-anchor="middle">%s</text>`, float64(padT)+plotH/2, esc(c.YLabel))
	for hr := 0; hr < 24; hr += 3 {
		fmt.Fprintf(&b, `<line x1="%.1f" x2="%.1f" y1="%d" y2="%d" stroke="#999"/>`, x(float64(hr)), x(float64(hr)), chartH-padB, chartH-padB+4)
		fmt.Fprintf(&b, `<text x="%.1f" y="%d" text-anchor="middle">%02d:00</text>`, x(float64(hr)), chartH-padB+16, hr)
	}
	fmt.Fprintf(&b, `<text x="%.1f" y="%d" text-anchor="middle">hour of day</text>`, float64(padL)+plotW/2, chartH-6)
	fmt.Fprintf(&b, `<line x1="%d" x2="%d" y1="%d" y2="%d" stroke="#333"/>`, padL, chartW-padR, chartH-padB, chartH-padB)

	for _, s := range c.Series {
		for _, run := range runsOf(s.Points) {
			// Band: min along the bottom, p95 back along the top.
			var pts []string
			for _, p := range run {
				pts = append(pts, fmt.Sprintf("%.1f,%.1f", x(float64(p.Hour)), y(p.Lo)))
			}
			for i := len(run) - 1; i >= 0; i-- {
				pts = append(pts, fmt.Sprintf("%.1f,%.1f", x(float64(run[i].Hour)), y(run[i].Hi)))
			}
			if len(run) > 1 {
				fmt.Fprintf(&b, `<polygon points="%s" fill="%s" fill-opacity="0.15" stroke="none"/>`, strings.Join(pts, " "), s.Color)
			}
			var line []string
			for _, p := range run {
				line = append(line, fmt.Sprintf("%.1f,%.1f", x(float64(p.Hour)), y(p.Mid)))
			}
			fmt.Fprintf(&b, `<polyline points="%s" fill="none" stroke="%s" stroke-width="2"/>`, strings.Join(line, " "), s.Color)
		}
		// A history of one or two hours has no line to read: each point is drawn larger and
		// carries its value, so the chart of a single run still says what was measured.
		sparse := len(s.Points) <= 2
		for _, p := range s.Points {
			// Whiskers show min..p95 where a band cannot (single hours).
			fmt.Fprintf(&b, `<line x1="%.1f" x2="%.1f" y1="%.1f" y2="%.1f" stroke="%s" stroke-opacity="0.5"/>`, x(float64(p.Hour)), x(float64(p.Hour)), y(p.Lo), y(p.Hi), s.Color)
			r := 2.5
			if sparse {
				r = 5
			}
			fmt.Fprintf(&b, `<circle cx="%.1f" cy="%.1f" r="%.1f" fill="%s"><title>%02d:00 %s: min %s, median %s, p95 %s</title></circle>`,
				x(float64(p.Hour)), y(p.Mid), r, s.Color, p.Hour, esc(s.Name), num(p.Lo), num(p.Mid), num(p.Hi))
			if sparse {
				fmt.Fprintf(&b, `<text x="%.1f" y="%.1f" fill="%s">%s</text>`, x(float64(p.Hour))+8, y(p.Mid)-6, s.Color, num(p.Mid))
			}
		}
	}
	for _, r := range c.Refs {
		fmt.Fprintf(&b, `<line x1="%d" x2="%d" y1="%.1f" y2="%.1f" stroke="%s" stroke-width="1.5" stroke-dasharray="6 4"/>`, padL, chartW-padR, y(r.Y), y(r.Y), r.Color)
	}
	if len(c.Series) == 0 {
		fmt.Fprintf(&b, `<text x="%.1f" y="%.1f" text-anchor="middle" fill="#777">no bandwidth test in the history</text>`, float64(padL)+plotW/2, float64(padT)+plotH/2)
	}
	// Legend below the plot, one entry per line so long labels never overlap.
	ly := chartH + 4
	for _, s := range c.Series {
		fmt.Fprintf(&b, `<rect x="%d" y="%d" width="18" height="10" fill="%s" fill-opacity="0.25" stroke="%s"/>`, padL, ly, s.Color, s.Color)
		fmt.Fprintf(&b, `<text x="%d" y="%d">%s (line: median, band: min to p95)</text>`, padL+24, ly+9, esc(s.Name))
		ly += legendLine
	}
	for _, r := range c.Refs {
		fmt.Fprintf(&b, `<line x1="%d" x2="%d" y1="%d" y2="%d" stroke="%s" stroke-width="1.5" stroke-dasharray="6 4"/>`, padL, padL+18, ly+5, ly+5, r.Color)
		fmt.Fprintf(&b, `<text x="%d" y="%d">%s</text>`, padL+24, ly+9, esc(r.Label))
		ly += legendLine
	}
	b.WriteString(`</svg>`)
	return b.String()
}

// runsOf returns the points as one run. Cron runs every few hours, so hours without data are
// the rule, not a gap to break the line at; the dots show where the measurements are.
func runsOf(ps []chartPoint) [][]chartPoint {
	if len(ps) == 0 {
		return nil
	}
	return [][]chartPoint{ps}
}

// niceCeil rounds up to 1, 2 or 5 times a power of ten, so the axis reads in round numbers.
func niceCeil(v float64) float64 {
	if v <= 0 {
		return 1
	}
	e := math.Pow(10, math.Floor(math.Log10(v)))
	for _, m := range []float64{1, 2, 2.5, 5, 10} {
		if m*e >= v {
			return m * e
		}
	}
	return 10 * e
}

func num(v float64) string {
	if v >= 100 || v == math.Trunc(v) {
		return fmt.Sprintf("%.0f", v)
	}
	return fmt.Sprintf("%.1f", v)
}

func esc(s string) string { return html.EscapeString(s) }
