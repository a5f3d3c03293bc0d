package history

import (
	"encoding/json"
	"fmt"
	"sort"
	"time"

	"github.com/netprobe/netprobe/internal/result"
)

// MaxFailingRuns caps FailingRuns's count: two days of hourly runs, enough to alert on ("three
// runs in a row") and to tell "since yesterday" from "just now". Counting further would read
// further back on every run for as long as a check keeps failing.
const MaxFailingRuns = 48

// FailingRuns counts, for each check that failed in run, how many runs in a row it has failed,
// run included, from the store's earlier runs of the same topology, newest first. A run that
// could not judge the check (error, skip, or one that did not plan it, as with --only) is
// passed over: it neither counts nor ends the count; pass or warn ends it. The count stops at
// MaxFailingRuns. Every check of run has an entry, 0 when it did not fail.
//
// Only the runs needed are read, each reduced to its statuses as it is read. Records that
// cannot be read are skipped with a warning, as Load does.
func (s *Store) FailingRuns(run result.Run) (map[string]int, []Warning) {
	st := newFailStreak(run)
	if st.done() {
		return st.counts, nil
	}
	fs, err := files(s.dir)
	if err != nil {
		return st.counts, []Warning{{File: s.dir, Msg: fmt.Sprintf("cannot read the history: %v", err)}}
	}
	var warns []Warning
	for i := len(fs) - 1; i >= 0 && !st.done(); i-- {
		if fs[i].day.After(run.StartedAt) {
			continue // a day file after this run's start holds no earlier run
		}
		older, ws := readStatuses(fs[i].path, run.Topology, run.StartedAt)
		warns = append(warns, ws...)
		for _, o := range older {
			st.older(o.status)
			if st.done() {
				break
			}
		}
	}
	return st.counts, warns
}

// statusRun is a stored run reduced to what counting needs.
type statusRun struct {
	started time.Time
	status  map[string]result.Status
}

// readStatuses reads the runs of topology that started before before from one day file,
// newest first.
func readStatuses(path, topology string, before time.Time) ([]statusRun, []Warning) {
	var out []statusRun
	warns := eachLine(path, func(line []byte) string {
		var rec struct {
			Schema    string    `json:"schema"`
			Topology  string    `json:"topology"`
			StartedAt time.Time `json:"started_at"`
			Results   []struct {
				ID     string        `json:"id"`
				Status result.Status `json:"status"`
			} `json:"results"`
		}
		if err := json.Unmarshal(line, &rec); err != nil {
			return fmt.Sprintf("corrupt record skipped: %v", err)
		}
		if rec.Schema != result.Schema || rec.Topology != topology || !rec.StartedAt.Before(before) {
			return "" // another schema is Load's to warn about; other topologies are not ours
		}
		sr := statusRun{started: rec.StartedAt, status: make(map[string]result.Status, len(rec.Results))}
		for _, r := range rec.Results {
			sr.status[r.ID] = r.Status
		}
		out = append(out, sr)
		return ""
	})
	sort.SliceStable(out, func(i, j int) bool { return out[i].started.After(out[j].started) })
	return out, warns
}

// failStreak counts failing runs per check, fed the current run and then older ones.
type failStreak struct {
	counts map[string]int  // every check of the current run
	open   map[string]bool // checks whose count has not ended
	seen   int             // runs fed, the current one included
}

func newFailStreak(run result.Run) *failStreak {
	st := &failStreak{counts: make(map[string]int, len(run.Results)), open: map[string]bool{}, seen: 1}
	for _, r := range run.Results {
		st.counts[r.ID] = 0
		if r.Status == result.Fail {
			st.counts[r.ID] = 1
			st.open[r.ID] = true
		}
	}
	return st
}

// older feeds the next older run's statuses.
func (st *failStreak) older(status map[string]result.Status) {
	st.seen++
	for id := range st.open {
		switch s, ok := status[id]; {
		case !ok || s == result.Error || s == result.Skip:
			// could not judge it: passed over
		case s == result.Fail:
			st.counts[id]++
		default:
			delete(st.open, id)
		}
	}
}

// done reports whether no count can grow any more.
func (st *failStreak) done() bool { return len(st.open) == 0 || st.seen >= MaxFailingRuns }
