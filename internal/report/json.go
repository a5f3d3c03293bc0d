package report

import (
	"encoding/json"
	"io"

	"github.com/netprobe/netprobe/internal/result"
)

// JSON writes the run as one document of schema netprobe/check/v1 (docs/results.md,
// docs/schema/check-v1.json), indented for people, results sorted by ID.
type JSON struct{}

// JSONL writes one result per line (compact JSON), streaming: a consumer can act on each line
// as it arrives and a crash mid-run loses at most the line being written.
type JSONL struct{}

func init() {
	registerFormat("json", JSON{})
	registerFormat("jsonl", JSONL{})
}

func (JSON) Format(w io.Writer, run result.Run) error {
	run.Schema = result.Schema
	run.Results = sortedResults(run)
	run.Summary = summaryOf(run)
	if run.Results == nil {
		run.Results = []result.Result{} // "results": [] rather than null: the schema requires an array
	}
	enc := json.NewEncoder(w)
	enc.SetIndent("", "  ")
	enc.SetEscapeHTML(false)
	return enc.Encode(run)
}

func (JSONL) Format(w io.Writer, run result.Run) error {
	for _, r := range sortedResults(run) {
		if err := (JSONL{}).WriteResult(w, r); err != nil {
			return err
		}
	}
	return nil
}

// WriteResult writes one result as one line, in a single Write call so concurrent writers to
// the same pipe cannot split it.
func (JSONL) WriteResult(w io.Writer, r result.Result) error {
	b, err := json.Marshal(r)
	if err != nil {
		return err
	}
	_, err = w.Write(append(b, '\n'))
	return err
}
