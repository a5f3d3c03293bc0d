package report

import (
	"bufio"
	"fmt"
	"io"
	"strings"
	"time"

	"github.com/netprobe/netprobe/internal/result"
)

// Text is the default format on a pipe: one line per result that is not a pass (most severe
// first), its hint indented below it, then one summary line. Passing checks are counted, not
// listed: a run of 3,000 checks must fit on a screen when it is healthy. No colour, no
// terminal tricks, so it reads the same in a cron mail and in `less`.
type Text struct{}

func init() { registerFormat("text", Text{}) }

func (Text) Format(w io.Writer, run result.Run) error {
	bw := bufio.NewWriter(w)
	rs := sortedResults(run)
	// Most severe first, stable by ID within a status, so the first line is the worst news.
	var lines []result.Result
	for _, st := range []result.Status{result.Fail, result.Error, result.Warn, result.Skip} {
		for _, r := range rs {
			if r.Status == st {
				lines = append(lines, r)
			}
		}
	}
	for _, r := range lines {
		fmt.Fprintf(bw, "%-5s %s", strings.ToUpper(r.Status.String()), r.ID)
		if r.Rule != "" {
			fmt.Fprintf(bw, " [%s]", r.Rule)
		}
		if r.State != "" {
			fmt.Fprintf(bw, " %s", r.State)
			if r.Reason != "" {
				fmt.Fprintf(bw, " (%s)", r.Reason)
			}
		}
		if r.Message != "" {
			fmt.Fprintf(bw, ": %s", oneLine(r.Message))
		}
		bw.WriteByte('\n')
		if r.Hint != "" {
			fmt.Fprintf(bw, "      hint: %s\n", oneLine(r.Hint))
		}
		if r.Evidence != "" {
			fmt.Fprintf(bw, "      packets: %s\n", r.Evidence)
		}
	}
	s := summaryOf(run)
	name := run.Topology
	if name == "" {
		name = "netprobe"
	}
	fmt.Fprintf(bw, "%s: %d checks: %d pass, %d warn, %d fail, %d error, %d skip in %s",
		name, s.Total(), s.Pass, s.Warn, s.Fail, s.Error, s.Skip,
		(time.Duration(run.DurationMS) * time.Millisecond).Round(10*time.Millisecond))
	if run.Interrupted {
		bw.WriteString(" (interrupted: results are partial)")
	}
	bw.WriteByte('\n')
	return bw.Flush()
}

// oneLine keeps one result on one line so grep and wc -l keep working on the output.
func oneLine(s string) string {
	return strings.Join(strings.Fields(s), " ")
}
