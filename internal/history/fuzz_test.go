package history

import (
	"bytes"
	"encoding/json"
	"strings"
	"testing"

	"github.com/netprobe/netprobe/internal/result"
)

// FuzzHistoryLines: whatever a history file holds (a run cut while writing, a disk error's
// garbage, a hand edit), reading it never panics; every line it cannot use is one warning
// with its line number; every run it keeps has this netprobe's schema and reads back the same
// after writing it again.
func FuzzHistoryLines(f *testing.F) {
	good := `{"schema":"netprobe/check/v1","topology":"x","started_at":"2026-11-25T01:00:00Z","duration_ms":1,"summary":{"pass":1,"warn":0,"fail":0,"error":0,"skip":0},"results":[{"id":"a","check":"port","status":"pass","message":"ok","metrics":{"mbps":1.5,"nat":true}}]}`
	for _, s := range []string{
		good + "\n", good + "\n" + good[:40], `{"schema":"netprobe/check/v9"}` + "\n", "not json\n\n",
		`{"schema":"netprobe/check/v1","results":[{"id":"b","status":"bogus"}]}` + "\n",
		`{"schema":"netprobe/check/v1","results":[{"status":"pass","intervals_bps":[1e308,-0]}]}` + "\n",
		strings.Repeat("[", 5000) + "\n", "\x00\xff\n",
	} {
		f.Add([]byte(s))
	}
	f.Fuzz(func(t *testing.T, data []byte) {
		runs, warns := readRuns(bytes.NewReader(data), "fuzz.jsonl")
		lines := bytes.Count(data, []byte("\n")) + 1
		if len(runs)+len(warns) > lines {
			t.Fatalf("%d runs and %d warnings from %d lines", len(runs), len(warns), lines)
		}
		for _, w := range warns {
			if w.Line < 1 || w.Line > lines || w.Msg == "" || w.File != "fuzz.jsonl" {
				t.Fatalf("warning without a place or a message: %+v", w)
			}
		}
		for _, r := range runs {
			if r.Schema != result.Schema {
				t.Fatalf("kept a run of schema %q", r.Schema)
			}
			line, err := json.Marshal(r)
			if err != nil {
				// A hand-made record can leave a result's status unset, which reads but does
				// not encode (enums refuse their zero value); the reader keeps the run.
				continue
			}
			again, ws := readRuns(bytes.NewReader(append(line, '\n')), "again.jsonl")
			if len(again) != 1 || len(ws) != 0 {
				t.Fatalf("a kept run does not read back: %s: %v", line, ws)
			}
		}
	})
}
