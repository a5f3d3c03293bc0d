package tui

import (
	"fmt"
	"slices"
	"time"

	"charm.land/bubbles/v2/key"
	tea "charm.land/bubbletea/v2"

	"github.com/netprobe/netprobe/internal/result"
)

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
		changed := m.fold(msg.ev)
		for _, ev := range msg.more {
			changed = m.fold(ev) || changed
		}
		if changed {
			m.matrix.refresh()
		}
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

// apply folds one event into the model and refreshes the list.
func (m *Model) apply(ev Event) {
	if m.fold(ev) {
		m.matrix.refresh()
	}
}

// fold folds one event into the model and says whether the list must be rebuilt.
func (m *Model) fold(ev Event) bool {
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
	return changed
}

func (m Model) handleKey(msg tea.KeyPressMsg) (tea.Model, tea.Cmd) {
	if key.Matches(msg, m.keys.ForceQuit) {
		m.quitting = true
		return m, tea.Quit
	}
	if m.focus == focusFilter {
		return m.filterKey(msg)
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
	case m.paneScrolls() && key.Matches(msg, k.Up, k.Down, k.PageUp, k.PageDown):
		m.scrollPane(msg)
	case m.focus == focusDetail:
		// other keys do nothing while the detail has focus
	case key.Matches(msg, k.Filter):
		m.focus = focusFilter
		m.input.SetValue(m.matrix.filter)
		m.input.CursorEnd()
		return m, m.input.Focus()
	default:
		m.matrixKey(msg)
	}
	return m, nil
}

// filterKey handles a key while the filter prompt has focus: done, cancel, or typed into it.
func (m Model) filterKey(msg tea.KeyPressMsg) (tea.Model, tea.Cmd) {
	switch {
	case key.Matches(msg, m.keys.FilterDone):
		m.focus = focusMatrix
		m.input.Blur()
		return m, nil
	case key.Matches(msg, m.keys.FilterCancel):
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

// scrollPane scrolls the pane by a line or five.
func (m *Model) scrollPane(msg tea.KeyPressMsg) {
	k := m.keys
	switch {
	case key.Matches(msg, k.Up):
		m.detailOffset = max(0, m.detailOffset-1)
	case key.Matches(msg, k.Down):
		m.detailOffset = min(m.detailOffset+1, m.paneLines())
	case key.Matches(msg, k.PageUp):
		m.detailOffset = max(0, m.detailOffset-5)
	case key.Matches(msg, k.PageDown):
		m.detailOffset = min(m.detailOffset+5, m.paneLines())
	}
}

// matrixKey handles the keys of the matrix: moving, focusing the detail, clearing the
// filter, the phase and the sort order.
func (m *Model) matrixKey(msg tea.KeyPressMsg) {
	k := m.keys
	switch {
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
	}
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
