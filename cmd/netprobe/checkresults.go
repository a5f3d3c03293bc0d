package main

import (
	"time"

	"github.com/netprobe/netprobe/internal/result"
)

// checkResults collects a check run's results for what needs them whole: a file or a
// formatter that writes the run at its end, the history. A run streamed to stdout with
// neither only counts them: a thousand-VM estate's results are megabytes the coordinator
// need not hold once they are written (make bench).
type checkResults struct {
	hold     bool
	results  []result.Result
	sum      result.Summary
	evidence int // results with an evidence file
}

func (c *checkResults) add(r result.Result) {
	if c.hold {
		c.results = append(c.results, r)
	}
	c.sum.Add(r.Status)
	if r.Evidence != "" {
		c.evidence++
	}
}

// run is the run document: every result when they were held (sorted in place, as NewRun
// sorts a copy), else the summary alone.
func (c *checkResults) run(topology string, started time.Time, d time.Duration) result.Run {
	run := result.NewRun(topology, started, d, nil) // Results: empty, not null
	if len(c.results) > 0 {
		result.SortByID(c.results)
		run.Results = c.results
	}
	run.Summary = c.sum
	return run
}
