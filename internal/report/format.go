package report

import (
	"errors"
	"fmt"
	"io"
	"sort"
	"strings"

	"github.com/netprobe/netprobe/internal/result"
)

// Formatter writes a whole check run in one output format.
type Formatter interface {
	Format(w io.Writer, run result.Run) error
}

// StreamFormatter is a Formatter that can also write results one at a time as they arrive
// (jsonl), so a long run shows progress on a pipe and a crash loses at most one line.
type StreamFormatter interface {
	Formatter
	WriteResult(w io.Writer, r result.Result) error
}

// ErrUnknownFormat is wrapped by Lookup when no formatter has the name.
var ErrUnknownFormat = errors.New("unknown output format")

// formatters is the registry, filled by each format's file; read-only after init.
var formatters = map[string]Formatter{}

func registerFormat(name string, f Formatter) { formatters[name] = f }

// Lookup returns the formatter registered under name (text, json, jsonl, junit, tap,
// prometheus).
func Lookup(name string) (Formatter, error) {
	f, ok := formatters[name]
	if !ok {
		return nil, fmt.Errorf("%w %q: use one of %s", ErrUnknownFormat, name, strings.Join(Names(), ", "))
	}
	return f, nil
}

// Names lists the registered format names, sorted, for help texts and completion.
func Names() []string {
	out := make([]string, 0, len(formatters))
	for n := range formatters {
		out = append(out, n)
	}
	sort.Strings(out)
	return out
}

// sortedResults returns a copy of the run's results in stable ID order, so every output is
// deterministic whatever order the engine finished checks in.
func sortedResults(run result.Run) []result.Result {
	rs := make([]result.Result, len(run.Results))
	copy(rs, run.Results)
	result.SortByID(rs)
	return rs
}

// summaryOf counts the results, trusting them over a possibly stale run.Summary.
func summaryOf(run result.Run) result.Summary {
	var s result.Summary
	for _, r := range run.Results {
		s.Add(r.Status)
	}
	return s
}
