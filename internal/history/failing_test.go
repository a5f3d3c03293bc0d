package history

import (
	"context"
	"maps"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/netprobe/netprobe/internal/result"
)

// statusRunOf builds a run of topology at a time from "id=status" pairs.
func statusRunOf(t *testing.T, topology string, at time.Time, pairs ...string) result.Run {
	t.Helper()
	var rs []result.Result
	for _, p := range pairs {
		id, st, _ := strings.Cut(p, "=")
		s, err := result.ParseStatus(st)
		if err != nil {
			t.Fatal(err)
		}
		rs = append(rs, result.Result{ID: id, Check: result.CheckPort, Status: s, Message: st})
	}
	return result.NewRun(topology, at, time.Second, rs)
}

func TestFailStreak(t *testing.T) {
	for _, tc := range []struct {
		name  string
		now   string   // the current run's status of check "a"
		older []string // older runs' status of "a", newest first; "" = not in that run
		want  int      //
	}{
		{"passes now", "pass", []string{"fail", "fail"}, 0},
		{"errors now", "error", []string{"fail", "fail"}, 0},
		{"first failure", "fail", []string{"pass", "fail"}, 1},
		{"three in a row", "fail", []string{"fail", "fail", "pass", "fail"}, 3},
		{"a warning ends it", "fail", []string{"fail", "warn", "fail"}, 2},
		{"errors and skips are passed over", "fail", []string{"error", "fail", "skip", "fail", "pass"}, 3},
		{"a run without the check is passed over", "fail", []string{"", "fail", "", "pass"}, 2},
		{"no history", "fail", nil, 1},
		{"capped", "fail", repeat("fail", 100), MaxFailingRuns},
		{"capped by runs seen, not counted", "fail", append(repeat("error", MaxFailingRuns-2), "fail", "fail"), 2},
	} {
		t.Run(tc.name, func(t *testing.T) {
			now := statusRunOf(t, "e", t0, "a="+tc.now, "b=pass")
			st := newFailStreak(now)
			for _, o := range tc.older {
				if st.done() {
					break
				}
				status := map[string]result.Status{"b": result.Fail}
				if o != "" {
					s, err := result.ParseStatus(o)
					if err != nil {
						t.Fatal(err)
					}
					status["a"] = s
				}
				st.older(status)
			}
			if got := st.counts; got["a"] != tc.want || got["b"] != 0 || len(got) != 2 {
				t.Errorf("counts %v, want a=%d b=0", got, tc.want)
			}
		})
	}
}

func repeat(s string, n int) []string {
	out := make([]string, n)
	for i := range out {
		out[i] = s
	}
	return out
}

// TestFailingRunsFromStore: counts come from the store's earlier runs of the same topology,
// across day files, newest first; other topologies, later runs and broken records do not count.
func TestFailingRunsFromStore(t *testing.T) {
	dir := t.TempDir()
	s, err := Open(context.Background(), dir, Options{})
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	ctx := context.Background()
	at := func(h int) time.Time { return t0.Add(time.Duration(h) * time.Hour) } // t0 is 02:00: hours -3.. cross midnight
	for _, r := range []result.Run{
		statusRunOf(t, "e", at(-5), "port/x=pass", "port/y=fail"),
		statusRunOf(t, "e", at(-4), "port/x=fail", "port/y=fail"),
		statusRunOf(t, "e", at(-3), "port/x=fail", "port/y=fail"), // the day before
		statusRunOf(t, "other", at(-2), "port/x=pass", "port/y=pass"),
		statusRunOf(t, "e", at(-1), "port/x=error", "port/y=fail"),
		statusRunOf(t, "e", at(1), "port/x=pass", "port/y=pass"), // after the run counted: ignored
	} {
		if err := s.Append(ctx, r); err != nil {
			t.Fatal(err)
		}
	}
	// A truncated record at the end of today's file is skipped with a warning.
	f, err := os.OpenFile(filepath.Join(dir, fileName(t0)), os.O_APPEND|os.O_WRONLY, 0)
	if err != nil {
		t.Fatal(err)
	}
	f.WriteString(`{"schema":"netprobe/check/v1","topology":"e","results":[{"id":"port/x","status":"pa`)
	f.Close()

	now := statusRunOf(t, "e", t0, "port/x=fail", "port/y=fail", "port/z=pass")
	got, warns := s.FailingRuns(now)
	want := map[string]int{"port/x": 3, "port/y": 5, "port/z": 0}
	if !maps.Equal(got, want) {
		t.Errorf("FailingRuns = %v, want %v", got, want)
	}
	if len(warns) != 1 || !strings.Contains(warns[0].Msg, "truncated") {
		t.Errorf("warnings %v, want the truncated record", warns)
	}
}

// Nothing failing now: every check counts 0, whatever the history says.
func TestFailingRunsNothingFails(t *testing.T) {
	s, err := Open(context.Background(), t.TempDir(), Options{})
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	if err := s.Append(context.Background(), statusRunOf(t, "e", t0.Add(-time.Hour), "port/x=fail", "port/y=fail")); err != nil {
		t.Fatal(err)
	}
	got, warns := s.FailingRuns(statusRunOf(t, "e", t0, "port/x=pass", "port/y=error"))
	if !maps.Equal(got, map[string]int{"port/x": 0, "port/y": 0}) || len(warns) != 0 {
		t.Errorf("FailingRuns = %v, %v", got, warns)
	}
}
