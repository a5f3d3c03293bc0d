package report

import (
	"bufio"
	"fmt"
	"io"
	"strings"

	"github.com/netprobe/netprobe/internal/result"
)

// TAP writes TAP version 13: one test point per check, a YAML diagnostic block under every
// result that is not a plain pass. fail and error are "not ok" (TAP has no error state; the
// block's severity says which); skip uses the SKIP directive; warn is "ok" with a diagnostic.
type TAP struct{}

func init() { registerFormat("tap", TAP{}) }

func (TAP) Format(w io.Writer, run result.Run) error {
	bw := bufio.NewWriter(w)
	rs := sortedResults(run)
	fmt.Fprintf(bw, "TAP version 13\n1..%d\n", len(rs))
	for i, r := range rs {
		n := i + 1
		switch r.Status {
		case result.Pass:
			fmt.Fprintf(bw, "ok %d - %s\n", n, tapDesc(r.ID))
			continue
		case result.Skip:
			fmt.Fprintf(bw, "ok %d - %s # SKIP %s\n", n, tapDesc(r.ID), oneLine(r.Message))
			continue
		case result.Warn:
			fmt.Fprintf(bw, "ok %d - %s\n", n, tapDesc(r.ID))
		default:
			fmt.Fprintf(bw, "not ok %d - %s\n", n, tapDesc(r.ID))
		}
		bw.WriteString("  ---\n")
		tapField(bw, "severity", r.Status.String())
		tapField(bw, "message", oneLine(r.Message))
		tapField(bw, "rule", r.Rule)
		tapField(bw, "target", r.Target)
		tapField(bw, "state", r.State)
		tapField(bw, "reason", r.Reason)
		tapField(bw, "hint", oneLine(r.Hint))
		bw.WriteString("  ...\n")
	}
	s := summaryOf(run)
	fmt.Fprintf(bw, "# pass %d, warn %d, fail %d, error %d, skip %d\n", s.Pass, s.Warn, s.Fail, s.Error, s.Skip)
	return bw.Flush()
}

// tapDesc keeps a '#' in an ID from being read as a directive.
func tapDesc(s string) string { return strings.ReplaceAll(s, "#", "\\#") }

// tapField writes one YAML key with a double-quoted value (always valid YAML, whatever the
// message holds); empty values are left out.
func tapField(w *bufio.Writer, k, v string) {
	if v == "" {
		return
	}
	fmt.Fprintf(w, "  %s: %q\n", k, v)
}
