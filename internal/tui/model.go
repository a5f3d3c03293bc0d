// Package tui is netprobe's live dashboard: a bubbletea program that shows the checks of a
// run as they arrive - a summary header, the flow matrix grouped by phase and rule with
// failures first, a detail pane with the hint that fixes a failure, the topology with agent
// state, latency sparklines and bandwidth gauges.
//
// The TUI never runs probes. It reads the same event stream as headless mode from a Source
// (the engine, or ReplaySource in tests and demos) and asks it to re-run checks on a key.
package tui

import (
	"context"
	"fmt"
	"io"
	"slices"
	"strings"
	"time"

	"charm.land/bubbles/v2/help"
	"charm.land/bubbles/v2/key"
	"charm.land/bubbles/v2/textinput"
	tea "charm.land/bubbletea/v2"
	"charm.land/lipgloss/v2"
	"github.com/charmbracelet/x/ansi"

	"github.com/netprobe/netprobe/internal/result"
)

// runState is where the run as a whole stands.
type runState int

const (
	stateStarting runState = iota + 1 // no event yet
	stateRunning                      // at least one stream is open
	stateDone                         // every stream closed
)

var runStateNames = [...]string{stateStarting: "starting", stateRunning: "running", stateDone: "done"}

func (s runState) String() string {
	if s <= 0 || int(s) >= len(runStateNames) {
		return fmt.Sprintf("state(%d)", int(s))
	}
	return runStateNames[s]
}

// focusArea is what the keys act on.
type focusArea int

const (
	focusMatrix focusArea = iota + 1
	focusDetail
	focusFilter
)

// paneKind is what the side (or lower) pane shows.
type paneKind int

const (
	paneDetail paneKind = iota + 1
	paneTopology
	paneNotes
)

// Messages. Events arrive one per message from a command that waits on the Source's channel
// (waitEvent); the command is re-issued after each event, so the channel is drained in order
// and the model is only ever touched by Update.
type (
	streamMsg struct{ ch <-chan Event }
	eventMsg  struct {
		ch <-chan Event
		ev Event
	}
	streamClosedMsg struct{ ch <-chan Event }
	tickMsg         time.Time
)

// Options tune the TUI. The zero value is usable.
type Options struct {
	// NoColor draws without any colour (set it from NO_COLOR; Run does).
	NoColor bool
	// Theme is the palette; the zero value means DefaultTheme.
	Theme *Theme
	// Now is the clock; nil means time.Now. Tests fix it so elapsed time is stable.
	Now func() time.Time

	// Input, Output and the initial Width and Height are for Run only: nil means the
	// terminal (stdin/stdout); the size is used when Output is not a terminal (tests).
	Input         io.Reader
	Output        io.Writer
	Width, Height int

	// Notes, when set, are announced under the header and listed in a pane of their own
	// (KeyMap.Notes): the demo says which faults it planted, so a user can compare.
	Notes *Notes
}

// Notes are a few sentences about the run that the TUI shows on request.
type Notes struct {
	// Title heads the pane ("Planted faults"); lower-cased, it names the key in the help.
	Title string
	// Banner is the line under the header that says the notes exist.
	Banner string
	Items  []string
}

// Model is the root bubbletea model: a state, what has focus, the sub-models and the window
// size. Everything else is derived when drawing.
type Model struct {
	// ctx is the run's context: bubbletea commands take no context, so the model carries the
	// one Run was given, to pass on to Source.Run.
	ctx    context.Context
	src    Source
	estate Estate
	now    func() time.Time
	notes  *Notes

	keys   KeyMap
	styles Styles
	help   help.Model
	input  textinput.Model

	state    runState
	focus    focusArea
	pane     paneKind
	showHelp bool
	width    int
	height   int

	matrix  matrix
	agents  map[string]AgentStatus
	live    map[string][]BandwidthSample // samples of bandwidth tests still running
	hist    map[string][]float64         // p95 (latency) of each result over re-runs
	streams int                          // event channels still open

	started, finished time.Time
	detailOffset      int
	note              string // one-line feedback in the footer ("re-running 3 checks")
	runErr            error
	quitting          bool
}

// New builds the model. ctx bounds every run the model asks src for.
func New(ctx context.Context, src Source, estate Estate, opts Options) Model {
	th := DefaultTheme()
	if opts.Theme != nil {
		th = *opts.Theme
	}
	now := opts.Now
	if now == nil {
		now = time.Now
	}
	st := DefaultStyles(th, opts.NoColor)
	h := help.New()
	h.Styles = st.Help
	in := textinput.New()
	in.Prompt = "/ "
	in.Placeholder = "words that must all match (id, host, rule, state...)"
	keys := DefaultKeyMap()
	if opts.Notes == nil {
		keys.Notes.SetEnabled(false)
	} else {
		keys.Notes.SetHelp(keys.Notes.Help().Key, strings.ToLower(opts.Notes.Title))
	}
	m := Model{
		ctx: ctx, src: src, estate: estate, now: now, notes: opts.Notes,
		keys: keys, styles: st, help: h, input: in,
		state: stateStarting, focus: focusMatrix, pane: paneDetail,
		width: 80, height: 24,
		matrix: newMatrix(),
		agents: map[string]AgentStatus{}, live: map[string][]BandwidthSample{}, hist: map[string][]float64{},
	}
	m.layout()
	return m
}

// Init starts the full run and the elapsed-time clock.
func (m Model) Init() tea.Cmd {
	return tea.Batch(m.startRun(nil), tick())
}

func tick() tea.Cmd {
	return tea.Tick(time.Second, func(t time.Time) tea.Msg { return tickMsg(t) })
}

// startRun asks the Source for a run; the channel comes back as a streamMsg.
func (m Model) startRun(ids []string) tea.Cmd {
	ctx, src := m.ctx, m.src
	return func() tea.Msg { return streamMsg{ch: src.Run(ctx, ids)} }
}

// waitEvent reads the next event of ch.
func waitEvent(ch <-chan Event) tea.Cmd {
	return func() tea.Msg {
		ev, ok := <-ch
		if !ok {
			return streamClosedMsg{ch: ch}
		}
		return eventMsg{ch: ch, ev: ev}
	}
}

// Update implements tea.Model.
func (m Model) Update(msg tea.Msg) (tea.Model, tea.Cmd) {
	switch msg := msg.(type) {
	case tea.WindowSizeMsg:
		m.width, m.height = msg.Width, msg.Height
		m.layout()
		return m, nil
	case streamMsg:
		cmd := waitEvent(msg.ch)
		if m.streams == 0 {
			if m.state == stateDone {
				// A re-run after the run ended: time it from now, and restart the clock
				// that stopped ticking when the run ended.
				cmd = tea.Batch(cmd, tick())
			}
			if m.state == stateDone || m.started.IsZero() {
				m.started = m.now()
			}
			m.finished = time.Time{}
		}
		m.streams++
		m.state = stateRunning
		return m, cmd
	case eventMsg:
		m.apply(msg.ev)
		return m, waitEvent(msg.ch)
	case streamClosedMsg:
		m.streams--
		if m.streams <= 0 {
			m.streams = 0
			m.state = stateDone
			m.finished = m.now()
		}
		return m, nil
	case tickMsg:
		if m.state == stateDone || m.quitting {
			return m, nil
		}
		return m, tick()
	case tea.KeyPressMsg:
		return m.handleKey(msg)
	}
	if m.focus == focusFilter {
		var cmd tea.Cmd
		m.input, cmd = m.input.Update(msg)
		return m, cmd
	}
	return m, nil
}

// apply folds one event into the model.
func (m *Model) apply(ev Event) {
	changed := false
	for _, p := range ev.Planned {
		m.matrix.upsert(p, false)
		changed = true
	}
	if r := ev.Result; r != nil {
		m.matrix.upsert(*r, true)
		delete(m.live, r.ID)
		if v, ok := r.Metrics.Float(result.MetricP95MS); ok && r.Check == result.CheckLatency {
			m.hist[r.ID] = append(m.hist[r.ID], v)
		}
		changed = true
	}
	if a := ev.Agent; a != nil {
		m.agents[a.Host] = *a
	}
	if s := ev.Interval; s != nil {
		m.live[s.ID] = append(m.live[s.ID], *s)
	}
	if ev.Err != nil {
		m.runErr = ev.Err
	}
	if changed {
		m.matrix.refresh()
	}
}

func (m Model) handleKey(msg tea.KeyPressMsg) (tea.Model, tea.Cmd) {
	if msg.String() == "ctrl+c" {
		m.quitting = true
		return m, tea.Quit
	}
	if m.focus == focusFilter {
		switch msg.String() {
		case "enter":
			m.focus = focusMatrix
			m.input.Blur()
			return m, nil
		case "esc":
			m.focus = focusMatrix
			m.input.Blur()
			m.matrix.filter = ""
			m.matrix.refresh()
			return m, nil
		}
		var cmd tea.Cmd
		m.input, cmd = m.input.Update(msg)
		m.matrix.filter = m.input.Value()
		m.matrix.refresh()
		return m, cmd
	}
	k := m.keys
	m.note = ""
	switch {
	case key.Matches(msg, k.Quit):
		m.quitting = true
		return m, tea.Quit
	case key.Matches(msg, k.Help):
		m.showHelp = !m.showHelp
		m.layout()
	case key.Matches(msg, k.Rerun):
		if r := m.matrix.selected(); r != nil {
			return m.rerun([]string{r.res.ID})
		}
		m.note = "no check selected"
	case key.Matches(msg, k.RerunFailing):
		ids := m.matrix.failingIDs()
		if len(ids) == 0 {
			m.note = "nothing is failing: nothing to re-run"
			return m, nil
		}
		return m.rerun(ids)
	case key.Matches(msg, k.Topology):
		m.togglePane(paneTopology)
	case key.Matches(msg, k.Notes):
		m.togglePane(paneNotes)
	case m.focus == focusDetail && key.Matches(msg, k.Focus, k.Back):
		m.focus = focusMatrix
		m.layout()
	case m.paneScrolls() && key.Matches(msg, k.Up):
		m.detailOffset = max(0, m.detailOffset-1)
	case m.paneScrolls() && key.Matches(msg, k.Down):
		m.detailOffset = min(m.detailOffset+1, m.paneLines())
	case m.paneScrolls() && key.Matches(msg, k.PageUp):
		m.detailOffset = max(0, m.detailOffset-5)
	case m.paneScrolls() && key.Matches(msg, k.PageDown):
		m.detailOffset = min(m.detailOffset+5, m.paneLines())
	case m.focus == focusDetail:
		// other keys do nothing while the detail has focus
	case key.Matches(msg, k.Up):
		m.matrix.move(-1)
		m.detailOffset = 0
	case key.Matches(msg, k.Down):
		m.matrix.move(1)
		m.detailOffset = 0
	case key.Matches(msg, k.PageUp):
		m.matrix.move(-max(1, m.matrix.height-1))
		m.detailOffset = 0
	case key.Matches(msg, k.PageDown):
		m.matrix.move(max(1, m.matrix.height-1))
		m.detailOffset = 0
	case key.Matches(msg, k.Home):
		m.matrix.move(-len(m.matrix.list))
	case key.Matches(msg, k.End):
		m.matrix.move(len(m.matrix.list))
	case key.Matches(msg, k.Focus):
		m.focus = focusDetail
		m.detailOffset = 0
		m.layout()
	case key.Matches(msg, k.Back):
		if m.matrix.filter != "" {
			m.matrix.filter = ""
			m.input.SetValue("")
			m.matrix.refresh()
		}
	case key.Matches(msg, k.Phase):
		m.matrix.cyclePhase()
		m.matrix.refresh()
	case key.Matches(msg, k.Sort):
		m.matrix.sort = m.matrix.sort.next()
		m.matrix.refresh()
	case key.Matches(msg, k.Filter):
		m.focus = focusFilter
		m.input.SetValue(m.matrix.filter)
		m.input.CursorEnd()
		return m, m.input.Focus()
	}
	return m, nil
}

// togglePane shows pane p instead of the detail, or the detail again.
func (m *Model) togglePane(p paneKind) {
	if m.pane == p {
		m.pane = paneDetail
	} else {
		m.pane = p
	}
	m.detailOffset = 0
	m.layout()
}

// paneScrolls is true when the arrow keys scroll the pane rather than move in the matrix:
// the pane has focus, or the topology or the notes fill a narrow screen.
func (m Model) paneScrolls() bool {
	return m.focus == focusDetail || (m.pane != paneDetail && m.width < wideLayout)
}

// paneLines is how many lines the pane's content has, to bound scrolling.
func (m Model) paneLines() int {
	g := m.geometry()
	return len(m.paneContent(max(1, g.paneW-4)))
}

// rerun marks ids as running and asks the Source to run them again.
func (m Model) rerun(ids []string) (tea.Model, tea.Cmd) {
	for _, id := range ids {
		if r, ok := m.matrix.rows[id]; ok {
			r.running = true
			delete(m.live, id)
		}
	}
	if len(ids) == 1 {
		m.note = "re-running " + ids[0]
	} else {
		m.note = fmt.Sprintf("re-running %d failing checks", len(ids))
	}
	return m, m.startRun(slices.Clone(ids))
}

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

func sortedKeys[V any](m map[string]V) []string {
	ks := make([]string, 0, len(m))
	for k := range m {
		ks = append(ks, k)
	}
	slices.Sort(ks)
	return ks
}

// Results returns the latest result of every check that has one, sorted by ID: what the
// caller reports or turns into an exit code after the TUI closes.
func (m Model) Results() []result.Result {
	out := make([]result.Result, 0, len(m.matrix.rows))
	for _, r := range m.matrix.rows {
		if r.done {
			out = append(out, r.res)
		}
	}
	result.SortByID(out)
	return out
}
