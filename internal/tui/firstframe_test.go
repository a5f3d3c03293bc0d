package tui

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"os"
	"regexp"
	"strconv"
	"strings"
	"testing"
	"time"

	tea "charm.land/bubbletea/v2"

	"github.com/netprobe/netprobe/internal/demo"
	"github.com/netprobe/netprobe/internal/result"
)

// demoRun is a real run of `netprobe demo --format json` (testdata/demo-run.json): 31
// checks, 4 of them failing, the first planned one a passing bandwidth test.
func demoRun(t *testing.T) result.Run {
	t.Helper()
	b, err := os.ReadFile("testdata/demo-run.json")
	if err != nil {
		t.Fatal(err)
	}
	var run result.Run
	if err := json.Unmarshal(b, &run); err != nil {
		t.Fatal(err)
	}
	return run
}

// TestFirstFrameShowsTheWorst runs the real program on the demo's results at 80x24 and
// 120x40, as `netprobe demo` opens it, and reads the first frame after the run: every FAIL
// row is in view (or the last line says how many more are below), and the selection is on
// the worst result, not on whichever check was planned first.
func TestFirstFrameShowsTheWorst(t *testing.T) {
	run := demoRun(t)
	for _, size := range [][2]int{{80, 24}, {120, 40}} {
		name := fmt.Sprintf("first-frame-%dx%d", size[0], size[1])
		t.Run(name, func(t *testing.T) {
			frame := firstFrameAfterRun(t, run, size[0], size[1])
			golden(t, name, frame)
			checkWorstInView(t, frame, run)
		})
	}
}

// firstFrameAfterRun drives a real tea.Program through pipes with the run's results replayed
// (planned first, in plan order, then each result) and returns the first frame that shows
// the run done, ANSI stripped.
func firstFrameAfterRun(t *testing.T, run result.Run, w, h int) string {
	t.Helper()
	ctx, cancel := context.WithTimeout(t.Context(), 20*time.Second)
	defer cancel()
	inR, inW := io.Pipe()
	t.Cleanup(func() { inW.Close(); inR.Close() })
	frame := &frameBox{seen: make(chan struct{}, 1)}
	opts := Options{NoColor: true, Now: func() time.Time { return t0 }, Input: inR, Output: &syncBuffer{}, Width: w, Height: h,
		Notes: &Notes{Title: "Planted faults", Banner: fmt.Sprintf("demo: %d faults planted on purpose (i lists them); the rest should pass", len(demo.Faults)), Items: demo.Faults}}
	src := &ReplaySource{Results: run.Results}
	model := recorder{Model: New(ctx, src, Estate{Name: run.Topology}, opts), frame: frame}
	done := make(chan error, 1)
	go func() {
		_, err := tea.NewProgram(model, programOptions(ctx, opts)...).Run()
		done <- err
	}()
	got := frame.waitScreen(t, " done ")
	if _, err := io.WriteString(inW, "q"); err != nil {
		t.Fatal(err)
	}
	select {
	case err := <-done:
		if err != nil {
			t.Fatalf("program: %v", err)
		}
	case <-ctx.Done():
		t.Fatal("the program did not quit")
	}
	lines := strings.Split(got, "\n")
	for i, l := range lines {
		lines[i] = strings.TrimRight(l, " ")
	}
	return strings.Join(lines, "\n")
}

var moreBelow = regexp.MustCompile(`and (\d+) more FAIL`)

// checkWorstInView fails unless every failing row of run is on the screen, or the screen says
// how many more are below, and the selected row is a FAIL.
func checkWorstInView(t *testing.T, screen string, run result.Run) {
	t.Helper()
	fails, shown := 0, 0
	for _, r := range run.Results {
		if r.Status != result.Fail {
			continue
		}
		fails++
		for _, l := range strings.Split(screen, "\n") {
			f := strings.Fields(strings.TrimPrefix(l, "›"))
			if len(f) > 3 && f[0] == "FAIL" && f[1] == r.From && f[2] == r.To {
				shown++
				break
			}
		}
	}
	if m := moreBelow.FindStringSubmatch(screen); m != nil {
		n, _ := strconv.Atoi(m[1])
		shown += n
	}
	if fails == 0 || shown < fails {
		t.Errorf("%d of %d FAIL rows in view or counted below:\n%s", shown, fails, screen)
	}
	sel := ""
	for _, l := range strings.Split(screen, "\n") {
		if strings.HasPrefix(l, "›") {
			sel = l
		}
	}
	if f := strings.Fields(strings.TrimPrefix(sel, "›")); len(f) == 0 || f[0] != "FAIL" {
		t.Errorf("the selection is not on a failure: %q\n%s", sel, screen)
	}
}

// TestSelectionStaysOnTheWorstUntilTheUserMoves: while results arrive the selection goes to
// the worst; once the user moves, it stays on the check they chose.
func TestSelectionStaysOnTheWorstUntilTheUserMoves(t *testing.T) {
	rs := DemoResults()
	c := &clock{now: t0}
	m := New(t.Context(), DemoSource(0), DemoEstate(), Options{NoColor: true, Now: c.Now})
	m, _ = send(t, m, windowSize(80, 24))
	planned := make([]result.Result, len(rs))
	for i, r := range rs {
		planned[i] = result.Result{ID: r.ID, Check: r.Check, Rule: r.Rule, Phase: r.Phase, From: r.From, To: r.To}
	}
	m.apply(Event{Planned: planned})
	byID := map[string]result.Result{}
	for _, r := range rs {
		byID[r.ID] = r
	}
	arrive := func(id string) {
		r := byID[id]
		m.apply(Event{Result: &r})
	}
	sel := func() string { return m.matrix.selected().res.ID }
	arrive("port/web01/cs01/443/tcp") // a pass
	if sel() != "port/web01/cs01/443/tcp" {
		t.Errorf("after one pass: selected %s, want that pass (the worst so far)", sel())
	}
	arrive("latency/ps-az01/cs01") // a warning
	arrive("port/sql01/cs01/443/tcp")
	if sel() != "port/sql01/cs01/443/tcp" {
		t.Errorf("after a failure: selected %s, want the failure", sel())
	}
	m = press(t, m, "down")
	chosen := sel()
	arrive("port/ps-az01/cs01/9443/tcp") // another failure, sorted first
	if sel() != chosen {
		t.Errorf("after the user moved: selected %s, want %s still", sel(), chosen)
	}
}

// TestMatrixSaysHowManyFailuresAreBelow: when the failures do not all fit, the last line of
// the matrix counts those below.
func TestMatrixSaysHowManyFailuresAreBelow(t *testing.T) {
	var rs []result.Result
	for i := range 12 {
		rs = append(rs, result.Result{ID: fmt.Sprintf("port/vm%02d/cs01/443/tcp", i), Check: result.CheckPort, Rule: fmt.Sprintf("R%02d", i),
			Phase: "failback", From: fmt.Sprintf("vm%02d", i), To: "cs01", Target: "10.0.0.4:443", Proto: "tcp", Status: result.Fail, State: "filtered", Reason: "timeout"})
	}
	src := &ReplaySource{Results: rs}
	c := &clock{now: t0}
	m := New(t.Context(), src, Estate{}, Options{NoColor: true, Now: c.Now})
	m, _ = send(t, m, windowSize(80, 24))
	m = drain(t, m, c, src.Run(t.Context(), nil))
	s := screen(m)
	checkWorstInView(t, s, result.Run{Results: rs})
	if !moreBelow.MatchString(s) {
		t.Errorf("12 failures in 12 groups do not fit at 80x24, and nothing says so:\n%s", s)
	}
}

// TestNotesPane: a run with notes announces them under the header and lists them on i; a
// run without has neither the line nor the key.
func TestNotesPane(t *testing.T) {
	notes := &Notes{Title: "Planted faults", Banner: "demo: 2 faults planted on purpose (i lists them)",
		Items: []string{"vcenter01 runs no agent and nothing listens on it.", "a stuck service holds mt01's data port 9443 and accepts nothing."}}
	for _, tc := range []struct {
		notes *Notes
		want  []string
		not   []string
	}{
		{notes: notes, want: []string{"demo: 2 faults planted on purpose", "Planted faults", "• vcenter01 runs no agent", "• a stuck service holds mt01's"}},
		{notes: nil, not: []string{"Planted faults", "planted", "i notes"}},
	} {
		src := DemoSource(0)
		c := &clock{now: t0}
		m := New(t.Context(), src, DemoEstate(), Options{NoColor: true, Now: c.Now, Notes: tc.notes})
		m, _ = send(t, m, windowSize(80, 24))
		m = drain(t, m, c, src.Run(t.Context(), nil))
		before := m.matrix.selected().res.ID
		m = press(t, m, "i")
		s := screen(m)
		checkFits(t, m, 80, 24)
		for _, w := range tc.want {
			if !strings.Contains(s, w) {
				t.Errorf("notes %v: screen lacks %q:\n%s", tc.notes != nil, w, s)
			}
		}
		for _, w := range tc.not {
			if strings.Contains(s, w) {
				t.Errorf("notes %v: screen shows %q:\n%s", tc.notes != nil, w, s)
			}
		}
		if tc.notes != nil {
			if !strings.Contains(m.help.FullHelpView(m.keys.FullHelp()), "i planted faults") {
				t.Error("the help does not name the notes key")
			}
			if m = press(t, m, "i"); strings.Contains(screen(m), "• vcenter01") || m.matrix.selected().res.ID != before {
				t.Error("a second i does not bring the detail back")
			}
		}
	}
}
