package tui

import (
	"context"
	"slices"
	"strings"
	"testing"
	"time"

	tea "charm.land/bubbletea/v2"
	"github.com/google/go-cmp/cmp"

	"github.com/netprobe/netprobe/internal/result"
)

func visibleIDs(m Model) []string {
	ids := make([]string, len(m.matrix.list))
	for i, r := range m.matrix.list {
		ids[i] = r.res.ID
	}
	return ids
}

// rowLine is the screen line that shows check id (its from, to and port), or "".
func rowLine(t *testing.T, m Model, from, to, port string) string {
	t.Helper()
	for _, l := range strings.Split(screen(m), "\n") {
		f := strings.Fields(strings.TrimPrefix(l, "›"))
		if len(f) >= 4 && f[1] == from && f[2] == to && f[3] == port {
			return l
		}
	}
	return ""
}

func TestResultUpdatesItsRow(t *testing.T) {
	m, _ := demoModel(t, 100, 40) // narrow layout: a screen line holds only the matrix
	before := rowLine(t, m, "ps-az01", "cs01", "9443/tcp")
	if !strings.Contains(before, "FAIL") || !strings.Contains(before, "closed") {
		t.Fatalf("row before = %q, want FAIL closed", before)
	}
	other := rowLine(t, m, "sql01", "cs01", "443/tcp")

	fixed := DemoResults()[4]
	if fixed.ID != "port/ps-az01/cs01/9443/tcp" {
		t.Fatalf("demo order changed: %s", fixed.ID)
	}
	fixed.Status, fixed.State, fixed.Reason = result.Pass, "open", "syn-ack"
	m, _ = send(t, m, eventMsg{ch: nil, ev: Event{Result: &fixed}})

	after := rowLine(t, m, "ps-az01", "cs01", "9443/tcp")
	for _, want := range []string{"PASS", "open", "syn-ack"} {
		if !strings.Contains(after, want) {
			t.Errorf("row after = %q, lacks %q", after, want)
		}
	}
	if got := rowLine(t, m, "sql01", "cs01", "443/tcp"); got != other {
		t.Errorf("another row changed:\n before %q\n after  %q", other, got)
	}
	if got := len(m.matrix.rows); got != len(DemoResults()) {
		t.Errorf("a result for a known ID added a row: %d rows, want %d", got, len(DemoResults()))
	}
	if !strings.Contains(screen(m), "FAIL 2") {
		t.Errorf("header does not count the fixed check: %q", strings.Split(screen(m), "\n")[1])
	}
}

func TestFilter(t *testing.T) {
	tests := []struct {
		name string
		text string
		want []string
	}{
		{name: "host", text: "web01", want: []string{"port/web01/ps-az01/9443/tcp", "port/web01/cs01/443/tcp"}},
		{name: "two words must both match", text: "cs01 filtered", want: []string{"port/sql01/cs01/443/tcp"}},
		{name: "status word", text: "error", want: []string{"port/web01/ps-az01/9443/tcp"}},
		{name: "case folded", text: "FB-PMTU", want: []string{"pmtu/ps-az01/cs01"}},
		{name: "nothing", text: "no-such-host", want: []string{}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			m, _ := demoModel(t, 80, 24)
			m = typeText(t, press(t, m, "/"), tt.text)
			if d := cmp.Diff(tt.want, visibleIDs(m)); d != "" {
				t.Errorf("visible rows (-want +got):\n%s", d)
			}
			// enter keeps the filter, esc in the matrix clears it.
			m = press(t, m, "enter")
			if m.matrix.filter != tt.text || m.focus != focusMatrix {
				t.Errorf("after enter: filter %q focus %v", m.matrix.filter, m.focus)
			}
			m = press(t, m, "esc")
			if got := len(m.matrix.list); got != len(DemoResults()) {
				t.Errorf("after esc: %d rows visible, want all %d", got, len(DemoResults()))
			}
		})
	}
}

func TestFilterTypingQDoesNotQuit(t *testing.T) {
	m, _ := demoModel(t, 80, 24)
	m = press(t, m, "/")
	m, cmd := send(t, m, keyMsg("q"))
	if cmd != nil {
		if _, ok := cmd().(tea.QuitMsg); ok {
			t.Fatal("typing q into the filter quit the TUI")
		}
	}
	if m.input.Value() != "q" {
		t.Errorf("filter value = %q, want q", m.input.Value())
	}
}

func TestSort(t *testing.T) {
	// FB-VM-CS and FB-VM-PS mix statuses and RTTs. By status rows are grouped, worst first;
	// every other key orders all rows across the groups.
	tests := []struct {
		name    string
		presses int
		key     SortKey
		filter  string
		want    []string
	}{
		{name: "status puts the failure first", presses: 0, key: SortStatus, filter: "FB-VM-CS",
			want: []string{"port/sql01/cs01/443/tcp", "port/web01/cs01/443/tcp"}},
		{name: "grouped by status: a group's pass before the next group's error", presses: 0, key: SortStatus, filter: "fb-vm-",
			want: []string{"port/sql01/cs01/443/tcp", "port/web01/cs01/443/tcp", "port/web01/ps-az01/9443/tcp", "port/sql01/ps-az01/9443/tcp"}},
		{name: "rtt puts the slowest first and unmeasured last, across groups", presses: 1, key: SortRTT, filter: "fb-vm-",
			want: []string{"port/web01/cs01/443/tcp", "port/sql01/ps-az01/9443/tcp", "port/sql01/cs01/443/tcp", "port/web01/ps-az01/9443/tcp"}},
		{name: "from orders by source host, across groups", presses: 2, key: SortFrom, filter: "fb-vm-",
			want: []string{"port/sql01/cs01/443/tcp", "port/sql01/ps-az01/9443/tcp", "port/web01/cs01/443/tcp", "port/web01/ps-az01/9443/tcp"}},
		{name: "id, across groups", presses: 3, key: SortID, filter: "pass",
			want: []string{"dns/cs01/ps-az01", "pmtu/ps-az01/cs01", "port/cs01/sql01/445/tcp", "port/cs01/vcenter01/443/tcp", "port/sql01/ps-az01/9443/tcp", "port/web01/cs01/443/tcp"}},
		{name: "cycles back to status", presses: 4, key: SortStatus},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			m, _ := demoModel(t, 80, 24)
			for range tt.presses {
				m = press(t, m, "s")
			}
			if m.matrix.sort != tt.key {
				t.Fatalf("sort = %v, want %v", m.matrix.sort, tt.key)
			}
			if !strings.Contains(screen(m), "sort "+tt.key.String()) {
				t.Errorf("header does not show sort %v", tt.key)
			}
			if tt.want == nil {
				return
			}
			m = press(t, typeText(t, press(t, m, "/"), tt.filter), "enter")
			if d := cmp.Diff(tt.want, visibleIDs(m)); d != "" {
				t.Errorf("order (-want +got):\n%s", d)
			}
		})
	}
}

func TestFailuresFirst(t *testing.T) {
	m, _ := demoModel(t, 80, 24)
	ids := visibleIDs(m)
	last := 10
	for _, id := range ids {
		g := 0
		for _, gr := range m.matrix.groups {
			if slices.ContainsFunc(gr.rows, func(r *row) bool { return r.res.ID == id }) {
				g = gr.worst
			}
		}
		if g > last {
			t.Fatalf("group of %s (worst %d) comes after a group whose worst is %d", id, g, last)
		}
		last = g
	}
	if first := m.matrix.rows[ids[0]].res.Status; first != result.Fail {
		t.Errorf("first row is %v, want fail", first)
	}
}

func TestPhaseToggle(t *testing.T) {
	m, _ := demoModel(t, 80, 24)
	m = press(t, m, "p")
	if m.matrix.phaseName() != "failback" || len(m.matrix.list) != len(DemoResults())-1 {
		t.Errorf("after p: phase %s, %d rows", m.matrix.phaseName(), len(m.matrix.list))
	}
	m = press(t, m, "p")
	if d := cmp.Diff([]string{"port/cs01/sql01/445/tcp"}, visibleIDs(m)); d != "" || m.matrix.phaseName() != "forward" {
		t.Errorf("after p p: phase %s, rows (-want +got):\n%s", m.matrix.phaseName(), d)
	}
	m = press(t, m, "p")
	if m.matrix.phaseName() != "all" || len(m.matrix.list) != len(DemoResults()) {
		t.Errorf("after p p p: phase %s, %d rows", m.matrix.phaseName(), len(m.matrix.list))
	}
}

// runCmd executes a command the way the program would, returning its message.
func runCmd(t *testing.T, cmd tea.Cmd) tea.Msg {
	t.Helper()
	if cmd == nil {
		t.Fatal("no command returned")
	}
	return cmd()
}

func TestRerunSelected(t *testing.T) {
	m, src := demoModel(t, 80, 24)
	m = press(t, typeText(t, press(t, m, "/"), "sql01 filtered"), "enter")
	sel := m.matrix.selected()
	if sel == nil || sel.res.ID != "port/sql01/cs01/443/tcp" {
		t.Fatalf("selected %v", sel)
	}
	m, cmd := send(t, m, keyMsg("r"))
	if !m.matrix.rows[sel.res.ID].running {
		t.Error("the re-run row is not marked running")
	}
	if !strings.Contains(screen(m), "RUN ") {
		t.Error("screen does not show RUN for the re-run check")
	}
	msg := runCmd(t, cmd)
	calls := src.Calls()
	if d := cmp.Diff([][]string{nil, {"port/sql01/cs01/443/tcp"}}, calls); d != "" {
		t.Fatalf("Source.Run calls (-want +got):\n%s", d)
	}
	// The demo source turns the fixed rule green on a re-run.
	c := &clock{now: t0}
	m.now = c.Now
	sm, ok := msg.(streamMsg)
	if !ok {
		t.Fatalf("re-run command returned %T, want streamMsg", msg)
	}
	m = drain(t, m, c, sm.ch)
	r := m.matrix.rows["port/sql01/cs01/443/tcp"]
	if r.running || r.res.Status != result.Pass {
		t.Errorf("after the re-run: running %v status %v, want pass", r.running, r.res.Status)
	}
	if m.state != stateDone {
		t.Errorf("state %v after the re-run stream closed, want done", m.state)
	}
}

func TestRerunFailing(t *testing.T) {
	m, src := demoModel(t, 80, 24)
	m, cmd := send(t, m, keyMsg("R"))
	runCmd(t, cmd)
	calls := src.Calls()
	got := slices.Clone(calls[len(calls)-1])
	slices.Sort(got)
	want := []string{"bandwidth/ps-az01/cs01", "port/ps-az01/cs01/9443/tcp", "port/sql01/cs01/443/tcp", "port/web01/ps-az01/9443/tcp"}
	if d := cmp.Diff(want, got); d != "" {
		t.Errorf("R re-ran (-want +got):\n%s", d)
	}
	if !strings.Contains(m.note, "re-running 4 failing checks") {
		t.Errorf("note = %q", m.note)
	}
}

func TestRerunFailingWithNothingFailing(t *testing.T) {
	src := &ReplaySource{Results: []result.Result{{ID: "port/a/b/1/tcp", Check: "port", Status: result.Pass}}}
	c := &clock{now: t0}
	m := New(context.Background(), src, Estate{}, Options{NoColor: true, Now: c.Now})
	m = drain(t, m, c, src.Run(context.Background(), nil))
	m, cmd := send(t, m, keyMsg("R"))
	if cmd != nil {
		t.Error("R with nothing failing returned a command")
	}
	if len(src.Calls()) != 1 {
		t.Errorf("Source.Run called %d times, want 1 (the first run only)", len(src.Calls()))
	}
	if !strings.Contains(screen(m), "nothing is failing") {
		t.Error("no feedback for R with nothing failing")
	}
}

func TestResize(t *testing.T) {
	sizes := [][2]int{{80, 24}, {100, 30}, {119, 40}, {120, 30}, {160, 48}, {250, 70}, {60, 15}}
	for _, view := range []string{"matrix", "detail", "topology", "help"} {
		m, _ := demoModel(t, 80, 24)
		switch view {
		case "detail":
			m = press(t, m, "enter")
		case "topology":
			m = press(t, m, "t")
		case "help":
			m = press(t, m, "?")
		}
		for _, s := range sizes {
			m, _ = send(t, m, tea.WindowSizeMsg{Width: s[0], Height: s[1]})
			checkFits(t, m, s[0], s[1])
		}
	}
}

func TestResizeKeepsCursorVisible(t *testing.T) {
	m, _ := demoModel(t, 160, 48)
	m = press(t, m, "G") // last row
	last := m.matrix.selected().res.ID
	m, _ = send(t, m, tea.WindowSizeMsg{Width: 80, Height: 24})
	if l := rowLine(t, m, "cs01", "sql01", "445/tcp"); !strings.HasPrefix(l, "› PASS") {
		t.Errorf("the selected last row (%s) scrolled off a smaller screen:\n%s", last, screen(m))
	}
}

func TestQuit(t *testing.T) {
	for _, k := range []string{"q", "ctrl+c"} {
		m, _ := demoModel(t, 80, 24)
		_, cmd := send(t, m, keyMsg(k))
		if _, ok := runCmd(t, cmd).(tea.QuitMsg); !ok {
			t.Errorf("%s did not quit", k)
		}
	}
}

func TestAgentAndErrorEvents(t *testing.T) {
	m, _ := demoModel(t, 160, 48)
	m, _ = send(t, m, eventMsg{ev: Event{Agent: &AgentStatus{Host: "web01", Up: true}}})
	m, _ = send(t, m, eventMsg{ev: Event{Err: errTest}})
	m = press(t, m, "t")
	s := screen(m)
	if !strings.Contains(s, "agents up 4/4") {
		t.Errorf("agent event not shown in the topology pane:\n%s", s)
	}
	if !strings.Contains(s, "run error: agent pool closed") {
		t.Errorf("run error not in the header")
	}
}

type testErr string

func (e testErr) Error() string { return string(e) }

const errTest = testErr("agent pool closed")

func TestLatencyHistorySparkline(t *testing.T) {
	m, _ := demoModel(t, 160, 48)
	m = press(t, typeText(t, press(t, m, "/"), "latency"), "enter")
	if strings.Contains(screen(m), "p95 over runs") {
		t.Fatal("a sparkline over runs after one run")
	}
	r := DemoResults()[7]
	r.Metrics = map[string]any{"p50_ms": 20.0, "p95_ms": 31.0}
	m, _ = send(t, m, eventMsg{ev: Event{Result: &r}})
	if got := m.hist[r.ID]; !cmp.Equal(got, []float64{62, 31}) {
		t.Errorf("p95 history = %v, want [62 31]", got)
	}
	if !strings.Contains(screen(m), "p95 over runs █▁") {
		t.Errorf("no falling sparkline in the detail:\n%s", screen(m))
	}
}

func TestRerunAfterDoneRestartsClock(t *testing.T) {
	m, _ := demoModel(t, 80, 24)
	if m.state != stateDone {
		t.Fatalf("state %v", m.state)
	}
	m, cmd := send(t, m, streamMsg{ch: make(chan Event)})
	if m.state != stateRunning || m.finished != (time.Time{}) {
		t.Errorf("state %v finished %v after a new stream", m.state, m.finished)
	}
	if _, ok := cmd().(tea.BatchMsg); !ok {
		t.Error("a re-run after the end does not restart the elapsed clock")
	}
}

func TestRerunBandwidthShowsLiveRates(t *testing.T) {
	m, _ := demoModel(t, 160, 48)
	m = press(t, typeText(t, press(t, m, "/"), "bandwidth"), "enter")
	m, _ = send(t, m, keyMsg("r"))
	for i, bps := range []float64{50e6, 60e6} {
		m, _ = send(t, m, eventMsg{ev: Event{Interval: &BandwidthSample{ID: "bandwidth/ps-az01/cs01", Interval: i + 1, Rate: BitsPerSecond(bps), Required: 180e6}}})
	}
	s := screen(m)
	if !strings.Contains(s, "60.0 Mbit/s of 180.0 Mbit/s (33%)") || !strings.Contains(s, "last Mbit/s: 50 60") {
		t.Errorf("a re-run bandwidth test does not show its live rates:\n%s", s)
	}
}
