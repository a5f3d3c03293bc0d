package tui

import (
	"fmt"
	"strings"
	"time"

	tea "charm.land/bubbletea/v2"
	"charm.land/lipgloss/v2"
	"github.com/charmbracelet/x/ansi"

	"github.com/netprobe/netprobe/internal/result"
)

// Layout. The header and footer take what they need; the body gets the rest. From 120
// columns the pane sits beside the matrix, below that under it; a focused detail pane on a
// narrow screen takes the whole body.
const (
	wideLayout   = 120
	minPaneLines = 7
)

type geometry struct {
	header, footer   int
	matrixW, matrixH int
	paneW, paneH     int
	side             bool // pane beside the matrix
}

func (m Model) geometry() geometry {
	w, h := max(m.width, 20), max(m.height, 8)
	g := geometry{header: len(m.headerLines()), footer: len(m.footerLines())}
	body := max(2, h-g.header-g.footer)
	switch {
	case w >= wideLayout:
		g.side = true
		g.matrixW = w * 55 / 100
		g.paneW = w - g.matrixW - 1
		g.matrixH, g.paneH = body, body
	case m.focus == focusDetail || m.pane != paneDetail:
		g.paneW, g.paneH = w, body
	default:
		g.paneH = max(minPaneLines, body*2/5)
		g.matrixW, g.matrixH, g.paneW = w, max(2, body-g.paneH), w
		if g.matrixH+g.paneH > body {
			g.paneH = max(0, body-g.matrixH)
		}
	}
	return g
}

// layout tells the matrix how many rows it shows, so scrolling can keep the cursor visible.
func (m *Model) layout() {
	g := m.geometry()
	m.matrix.height = max(1, g.matrixH-1)
	m.help.SetWidth(m.width)
	m.input.SetWidth(max(10, m.width-4))
	m.matrix.clamp()
}

// View implements tea.Model.
func (m Model) View() tea.View {
	v := tea.NewView(m.render())
	v.AltScreen = true
	v.WindowTitle = "netprobe · " + m.estate.Name
	return v
}

// render draws the whole screen: exactly height lines, none wider than width.
func (m Model) render() string {
	if m.quitting {
		return ""
	}
	g := m.geometry()
	parts := append([]string{}, m.headerLines()...)
	var body string
	pane := ""
	if g.paneH > 0 && g.paneW > 0 {
		pane = m.renderPane(g.paneW, g.paneH)
	}
	switch {
	case g.side:
		body = lipgloss.JoinHorizontal(lipgloss.Top, m.matrix.view(g.matrixW, g.matrixH, m.styles), " ", pane)
	case g.matrixH == 0:
		body = pane
	default:
		body = m.matrix.view(g.matrixW, g.matrixH, m.styles)
		if pane != "" {
			body += "\n" + pane
		}
	}
	parts = append(parts, body)
	parts = append(parts, m.footerLines()...)
	return fitScreen(strings.Join(parts, "\n"), m.width, m.height)
}

// fitScreen pads or cuts s to exactly w x h cells, so resizes never leave debris.
func fitScreen(s string, w, h int) string {
	lines := strings.Split(s, "\n")
	if len(lines) > h {
		lines = lines[:h]
	}
	for i, l := range lines {
		if lipgloss.Width(l) > w {
			lines[i] = ansi.Truncate(l, w, "")
		}
	}
	for len(lines) < h {
		lines = append(lines, "")
	}
	return strings.Join(lines, "\n")
}

func (m Model) summary() (result.Summary, int) {
	var s result.Summary
	waiting := 0
	for _, r := range m.matrix.rows {
		if r.done {
			s.Add(r.res.Status)
		} else {
			waiting++
		}
	}
	return s, waiting
}

func (m Model) headerLines() []string {
	st := m.styles
	sum, waiting := m.summary()
	total := len(m.matrix.rows)
	done := total - waiting
	running := 0
	for _, r := range m.matrix.rows {
		if r.running {
			running++
		}
	}

	elapsed := time.Duration(0)
	if !m.started.IsZero() {
		end := m.finished
		if end.IsZero() {
			end = m.now()
		}
		elapsed = end.Sub(m.started).Truncate(time.Second)
	}
	state := m.state.String()
	if running > 0 {
		state = fmt.Sprintf("re-running %d", running)
	}
	full, empty := gauge(frac(done, total), 12)
	line1 := st.Title.Render("netprobe") + " " + m.estate.Name + "  " + st.Status(0).Render(state) +
		fmt.Sprintf("  %d/%d ", done, total) + "[" + st.GaugeFull.Render(full) + st.GaugeEmpty.Render(empty) + "]" +
		"  elapsed " + fmtElapsed(elapsed)

	var counts []string
	for _, s := range []result.Status{result.Fail, result.Error, result.Warn, result.Skip, result.Pass} {
		counts = append(counts, st.Status(s).Render(fmt.Sprintf("%s %d", strings.ToUpper(s.String()), countOf(sum, s))))
	}
	counts = append(counts, st.Status(0).Render(fmt.Sprintf("WAIT %d", waiting)))
	view := fmt.Sprintf("   sort %s · phase %s", m.matrix.sort, m.matrix.phaseName())
	if m.matrix.filter != "" {
		view += fmt.Sprintf(" · /%s", m.matrix.filter)
	}
	sep := "  "
	if m.width < 100 {
		sep = " " // leave room for the sort and filter on a small screen
	}
	line2 := strings.Join(counts, sep) + st.Muted.Render(view)
	lines := []string{line1, line2}
	if m.notes != nil && m.notes.Banner != "" {
		lines = append(lines, st.Hint.Render(m.notes.Banner))
	}
	if m.runErr != nil {
		lines = append(lines, st.ErrorLine.Render("run error: "+m.runErr.Error()))
	}
	for _, id := range sortedKeys(m.live) {
		ss := m.live[id]
		if len(ss) == 0 {
			continue
		}
		last := ss[len(ss)-1]
		rates := make([]float64, len(ss))
		for i, s := range ss {
			rates[i] = float64(s.Rate)
		}
		lines = append(lines, "bw "+id+" "+st.Spark.Render(sparkline(rates, 16))+" "+bwGauge(last.Rate, last.Required, 48, st))
		if len(lines) >= 6 { // at most three live tests in the header; the rest show in the detail pane
			break
		}
	}
	for i, l := range lines {
		lines[i] = ansi.Truncate(l, max(m.width, 20), "…")
	}
	return lines
}

func (m Model) footerLines() []string {
	st := m.styles
	if m.focus == focusFilter {
		return []string{m.input.View()}
	}
	var lines []string
	if m.showHelp {
		lines = strings.Split(m.help.FullHelpView(m.keys.FullHelp()), "\n")
	} else {
		lines = []string{m.help.ShortHelpView(m.keys.ShortHelp())}
	}
	if m.note != "" {
		lines = append([]string{st.Muted.Render(m.note)}, lines...)
	}
	return lines
}

// renderPane draws the detail or topology pane in a border, exactly w x h.
func (m Model) renderPane(w, h int) string {
	cw, ch := max(1, w-4), max(1, h-2)
	lines := m.paneContent(cw)
	off := 0
	if m.paneScrolls() || m.pane != paneDetail {
		off = max(0, min(m.detailOffset, len(lines)-ch))
	}
	lines = lines[off:]
	if len(lines) > ch {
		lines = lines[:ch]
		more := "… more (enter, then ↓)"
		if m.paneScrolls() {
			more = "… more (↓)"
		}
		lines[ch-1] = m.styles.Muted.Render(more)
	}
	for i, l := range lines {
		lines[i] = cell(l, cw)
	}
	for len(lines) < ch {
		lines = append(lines, strings.Repeat(" ", cw))
	}
	style := m.styles.Pane
	if m.focus == focusDetail {
		style = m.styles.PaneFocus
	}
	return style.Render(strings.Join(lines, "\n"))
}

// paneContent is the pane's lines at content width w, before scrolling.
func (m Model) paneContent(w int) []string {
	switch m.pane {
	case paneTopology:
		return topologyLines(m.estate, m.agents, w, m.styles)
	case paneNotes:
		return notesLines(m.notes, w, m.styles)
	}
	sel := m.matrix.selected()
	var hist []float64
	var live []BandwidthSample
	if sel != nil {
		hist, live = m.hist[sel.res.ID], m.live[sel.res.ID]
	}
	return detailLines(sel, hist, live, w, m.styles)
}

func frac(a, b int) float64 {
	if b == 0 {
		return 0
	}
	return float64(a) / float64(b)
}

func fmtElapsed(d time.Duration) string {
	h, mnt, s := int(d.Hours()), int(d.Minutes())%60, int(d.Seconds())%60
	if h > 0 {
		return fmt.Sprintf("%d:%02d:%02d", h, mnt, s)
	}
	return fmt.Sprintf("%d:%02d", mnt, s)
}
