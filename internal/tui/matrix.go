package tui

import (
	"cmp"
	"fmt"
	"slices"
	"strings"

	"charm.land/lipgloss/v2"
	"github.com/charmbracelet/x/ansi"

	"github.com/netprobe/netprobe/internal/result"
)

// SortKey orders the rows. By status (the default) the rows are grouped by phase and rule,
// worst group first and worst row first inside it; every other key orders all rows in one
// list across the groups, which is what a user who asks for "slowest first" means.
type SortKey int

const (
	SortStatus SortKey = iota + 1 // grouped by phase and rule, worst first
	SortRTT                       // slowest first
	SortFrom                      // by source host, then destination
	SortID                        // by stable check ID
)

var sortKeyNames = [...]string{SortStatus: "status", SortRTT: "rtt", SortFrom: "from", SortID: "id"}

func (k SortKey) String() string {
	if k <= 0 || int(k) >= len(sortKeyNames) {
		return fmt.Sprintf("sort(%d)", int(k))
	}
	return sortKeyNames[k]
}

// next cycles through the sort keys.
func (k SortKey) next() SortKey {
	if k >= SortID || k <= 0 {
		return SortStatus
	}
	return k + 1
}

// row is one check in the matrix: its latest result and whether a (re-)run is in flight.
type row struct {
	res result.Result
	// done is true once a result has arrived; before that the row is only planned.
	done bool
	// running is true while a re-run of this check is in flight; the old result stays shown.
	running bool
	// haystack is the lowercased text the filter matches against.
	haystack string
	// fromW and toW are the display widths of the FROM and TO cells, measured once.
	fromW, toW int
}

func (r *row) set(res result.Result, done bool) {
	r.res = res
	r.done = done
	r.fromW, r.toW = lipgloss.Width(res.From), lipgloss.Width(res.To)
	r.running = false
	r.haystack = strings.ToLower(strings.Join([]string{res.ID, string(res.Check), res.Rule, res.Phase, res.From, res.To,
		res.Target, res.Proto, res.State, res.Reason, r.statusWord()}, " "))
}

// statusWord is the word shown for the row: the status, or what is happening to it.
func (r *row) statusWord() string {
	switch {
	case r.running:
		return "run"
	case !r.done || r.res.Status == 0:
		return "wait"
	}
	return r.res.Status.String()
}

// rtt is the round trip the row shows: a port's (none when nothing answered: its rtt_ms is
// then how long it waited) or a latency test's median.
func (r *row) rtt() (float64, bool) {
	if v, ok := r.res.Metrics.Float(result.MetricRTTMS); ok {
		return v, answered(r.res)
	}
	return r.res.Metrics.Float(result.MetricP50MS)
}

type group struct {
	phase, rule string
	rows        []*row
	worst       int
	counts      result.Summary
	pending     int
}

// matrix is the flow matrix: every check, grouped by phase and rule, filtered and sorted.
// All ordering work happens in refresh (called from Update) so that View only slices.
type matrix struct {
	rows  map[string]*row
	order []string // arrival order, for stable output

	sort   SortKey
	filter string
	phases []string // phases seen, sorted
	phase  int      // 0 = all phases, else phases[phase-1]

	groups []group
	list   []*row // visible rows in display order
	lines  []line // display lines: group headers and rows
	rowAt  []int  // rowAt[i] is the line of list[i]

	cursor int    // index into list
	selID  string // the selected check, kept across re-sorts once the user has moved
	// follow keeps the selection on the worst visible row until the user moves it: the
	// first screen of a run shows its worst result, not whichever check was planned first.
	follow bool
	offset int // first display line shown
	height int // display lines available, set by layout

	fromW, toW int // the widest FROM and TO of the visible rows, for the columns
}

type line struct {
	group int
	row   int // index into list, -1 for a group header
}

func newMatrix() matrix {
	return matrix{rows: map[string]*row{}, sort: SortStatus, follow: true}
}

// upsert records a result (done) or a planned check (not done) and reports whether it was new.
func (m *matrix) upsert(res result.Result, done bool) bool {
	r, ok := m.rows[res.ID]
	if !ok {
		r = &row{}
		m.rows[res.ID] = r
		m.order = append(m.order, res.ID)
		if res.Phase != "" && !slices.Contains(m.phases, res.Phase) {
			m.phases = append(m.phases, res.Phase)
			slices.Sort(m.phases)
		}
	}
	if !done && r.done {
		// A re-run is planned: keep the old result on screen, mark it running.
		r.running = true
		return false
	}
	r.set(res, done)
	return !ok
}

func (m *matrix) phaseName() string {
	if m.phase == 0 || m.phase > len(m.phases) {
		return "all"
	}
	return m.phases[m.phase-1]
}

func (m *matrix) cyclePhase() {
	m.phase = (m.phase + 1) % (len(m.phases) + 1)
}

func (m *matrix) matches(r *row) bool {
	if m.phase > 0 && m.phase <= len(m.phases) && r.res.Phase != m.phases[m.phase-1] {
		return false
	}
	for _, term := range strings.Fields(strings.ToLower(m.filter)) {
		if !strings.Contains(r.haystack, term) {
			return false
		}
	}
	return true
}

func severity(r *row) int {
	if !r.done {
		return 0
	}
	return r.res.Status.Severity()
}

func (m *matrix) less(a, b *row) int {
	switch m.sort {
	case SortRTT:
		ra, oka := a.rtt()
		rb, okb := b.rtt()
		if oka != okb {
			if oka {
				return -1
			}
			return 1
		}
		if c := cmp.Compare(rb, ra); c != 0 {
			return c
		}
	case SortFrom:
		if c := cmp.Compare(a.res.From, b.res.From); c != 0 {
			return c
		}
		if c := cmp.Compare(a.res.To, b.res.To); c != 0 {
			return c
		}
	case SortID:
	default:
		if c := cmp.Compare(severity(b), severity(a)); c != 0 {
			return c
		}
	}
	return cmp.Compare(a.res.ID, b.res.ID)
}

// refresh rebuilds groups, the visible list and the display lines, keeping the selection on
// the same check when it is still visible.
func (m *matrix) refresh() {
	m.groups = m.groups[:0]
	m.list = m.list[:0]
	m.lines = m.lines[:0]
	m.rowAt = m.rowAt[:0]
	m.fromW, m.toW = 0, 0
	if m.sort == SortStatus {
		m.buildGroups()
	} else {
		m.buildFlat()
	}
	m.cursor = 0
	for i, r := range m.list {
		if m.follow && severity(r) > severity(m.list[m.cursor]) || !m.follow && r.res.ID == m.selID {
			m.cursor = i
			if !m.follow {
				break
			}
		}
	}
	m.clamp()
}

// visible calls f on every row that passes the phase and the filter, in arrival order, and
// measures the FROM and TO columns on them.
func (m *matrix) visible(f func(r *row)) {
	for _, id := range m.order {
		r := m.rows[id]
		if !m.matches(r) {
			continue
		}
		m.fromW = max(m.fromW, r.fromW)
		m.toW = max(m.toW, r.toW)
		f(r)
	}
}

// buildFlat lists every visible row in one sorted list, without group headers.
func (m *matrix) buildFlat() {
	m.visible(func(r *row) { m.list = append(m.list, r) })
	slices.SortFunc(m.list, m.less)
	for i := range m.list {
		m.rowAt = append(m.rowAt, len(m.lines))
		m.lines = append(m.lines, line{group: -1, row: i})
	}
}

// buildGroups groups the visible rows by phase and rule, worst group first.
func (m *matrix) buildGroups() {
	byKey := map[[2]string]int{}
	m.visible(func(r *row) {
		k := [2]string{r.res.Phase, r.res.Rule}
		gi, ok := byKey[k]
		if !ok {
			gi = len(m.groups)
			byKey[k] = gi
			m.groups = append(m.groups, group{phase: k[0], rule: k[1]})
		}
		g := &m.groups[gi]
		g.rows = append(g.rows, r)
		g.worst = max(g.worst, severity(r))
		if r.done {
			g.counts.Add(r.res.Status)
		} else {
			g.pending++
		}
	})
	slices.SortStableFunc(m.groups, func(a, b group) int {
		if c := cmp.Compare(b.worst, a.worst); c != 0 {
			return c
		}
		if c := cmp.Compare(a.phase, b.phase); c != 0 {
			return c
		}
		return cmp.Compare(a.rule, b.rule)
	})
	for gi := range m.groups {
		g := &m.groups[gi]
		slices.SortFunc(g.rows, m.less)
		m.lines = append(m.lines, line{group: gi, row: -1})
		for _, r := range g.rows {
			m.rowAt = append(m.rowAt, len(m.lines))
			m.lines = append(m.lines, line{group: gi, row: len(m.list)})
			m.list = append(m.list, r)
		}
	}
}

// move moves the cursor by d rows and keeps it on screen.
func (m *matrix) move(d int) {
	m.follow = false
	m.cursor += d
	m.clamp()
}

func (m *matrix) clamp() {
	if len(m.list) == 0 {
		m.cursor, m.offset, m.selID = 0, 0, ""
		return
	}
	m.cursor = max(0, min(m.cursor, len(m.list)-1))
	m.selID = m.list[m.cursor].res.ID
	h := max(1, m.height)
	ln := m.rowAt[m.cursor]
	if ln > 0 && m.lines[ln-1].row < 0 {
		ln-- // scrolling up onto a group's first row shows its header too
	}
	if ln < m.offset {
		m.offset = ln
	}
	if cl := m.rowAt[m.cursor]; cl >= m.offset+h {
		m.offset = cl - h + 1
	}
	m.offset = max(0, min(m.offset, len(m.lines)-h))
}

func (m *matrix) selected() *row {
	if len(m.list) == 0 {
		return nil
	}
	return m.list[m.cursor]
}

// failingBelow counts the failed and errored rows after display line last, as "3 more FAIL,
// 1 ERROR", or "" when there are none.
func (m *matrix) failingBelow(last int) string {
	var fails, errs int
	for _, ln := range m.lines[min(last+1, len(m.lines)):] {
		if ln.row < 0 || !m.list[ln.row].done {
			continue
		}
		switch m.list[ln.row].res.Status {
		case result.Fail:
			fails++
		case result.Error:
			errs++
		}
	}
	var parts []string
	if fails > 0 {
		parts = append(parts, fmt.Sprintf("%d more FAIL", fails))
	}
	if errs > 0 {
		parts = append(parts, fmt.Sprintf("%d ERROR", errs))
		if fails == 0 {
			parts[0] = fmt.Sprintf("%d more ERROR", errs)
		}
	}
	return strings.Join(parts, ", ")
}

// failingIDs lists the visible checks whose status is fail or error, in display order.
func (m *matrix) failingIDs() []string {
	var ids []string
	for _, r := range m.list {
		if r.done && (r.res.Status == result.Fail || r.res.Status == result.Error) {
			ids = append(ids, r.res.ID)
		}
	}
	return ids
}

func (m *matrix) header(c columns, st Styles) string {
	h := cell("", c.mark) + cell("STAT", c.status) + " " + cell("FROM", c.from) + " " + cell("TO", c.to) + " " +
		cell("PORT", c.port) + " " + cell("STATE", c.state) + " " + cell("REASON", c.reason) + " " + rcell("RTT", c.rtt)
	return st.ColHeader.Render(h)
}

func (m *matrix) renderRow(r *row, c columns, st Styles, selected bool) string {
	mark := "  "
	if selected {
		mark = "› "
	}
	word := strings.ToUpper(r.statusWord())
	var status string
	switch {
	case r.running || !r.done:
		status = st.Status(0).Render(cell(word, c.status))
	default:
		status = st.Status(r.res.Status).Render(cell(word, c.status))
	}
	rtt := ""
	if v, ok := r.rtt(); ok {
		rtt = fmtMS(v)
	}
	reason := reasonCell(r)
	rest := " " + cell(r.res.From, c.from) + " " + cell(r.res.To, c.to) + " " + cell(portCell(r.res), c.port) + " " +
		cell(stateCell(r.res), c.state) + " " + cell(reason, c.reason) + " " + rcell(rtt, c.rtt)
	if selected {
		return st.RowCursor.Render(mark) + status + st.RowCursor.Render(rest)
	}
	return mark + status + rest
}

func (m *matrix) renderGroup(g *group, w int, st Styles) string {
	var parts []string
	for _, s := range []result.Status{result.Fail, result.Error, result.Warn, result.Skip, result.Pass} {
		if n := countOf(g.counts, s); n > 0 {
			parts = append(parts, fmt.Sprintf("%d %s", n, s))
		}
	}
	if g.pending > 0 {
		parts = append(parts, fmt.Sprintf("%d waiting", g.pending))
	}
	phase, rule := g.phase, g.rule
	if phase == "" {
		phase = "-"
	}
	if rule == "" {
		rule = "-"
	}
	title := st.Group.Render(phase+" · "+rule) + st.Muted.Render("  "+strings.Join(parts, ", "))
	return ansi.Truncate(title, w, "…")
}

// view renders the matrix into exactly h lines of width w.
func (m *matrix) view(w, h int, st Styles) string {
	c := layoutColumns(w, m.fromW, m.toW)
	out := make([]string, 0, h)
	out = append(out, m.header(c, st))
	if len(m.list) == 0 {
		msg := "no checks yet"
		if len(m.rows) > 0 {
			msg = "no check matches the filter (esc clears it)"
		}
		out = append(out, st.Muted.Render("  "+msg))
	}
	body := h - 1
	last := m.offset
	for i := m.offset; i < len(m.lines) && len(out) < body+1; i++ {
		ln := m.lines[i]
		last = i
		if ln.row < 0 {
			out = append(out, m.renderGroup(&m.groups[ln.group], w, st))
			continue
		}
		out = append(out, m.renderRow(m.list[ln.row], c, st, ln.row == m.cursor))
	}
	// The last line is replaced, so the failures below start with it.
	if more := m.failingBelow(last - 1); more != "" && len(out) == h && m.lines[last].row != m.cursor {
		// A failure out of view is what the user must not miss: the last line says so.
		out[h-1] = st.Muted.Render(ansi.Truncate("  … and "+more+" below (pgdn)", w, "…"))
	}
	for len(out) < h {
		out = append(out, "")
	}
	return strings.Join(out[:h], "\n")
}

func countOf(s result.Summary, st result.Status) int {
	switch st {
	case result.Pass:
		return s.Pass
	case result.Warn:
		return s.Warn
	case result.Fail:
		return s.Fail
	case result.Error:
		return s.Error
	case result.Skip:
		return s.Skip
	}
	return 0
}
