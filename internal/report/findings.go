package report

import (
	"fmt"
	"sort"
	"strings"

	"github.com/netprobe/netprobe/internal/result"
)

// failingFlows lists every check that fails or errors in the latest run, then those that
// failed in an earlier one, worst first.
func failingFlows(tracks []*track) []FlowFinding {
	var out []FlowFinding
	for _, t := range tracks {
		cur := t.latest.Status == result.Fail || t.latest.Status == result.Error
		if !cur && t.fails == 0 {
			continue
		}
		// What was observed and what to do come from the last failure, even when the check
		// passes now: that is what the network team must look at.
		r := t.lastFail
		from, ip, hops := answerOf(r)
		out = append(out, FlowFinding{
			ID: r.ID, Check: r.Check, Rule: r.Rule, From: r.From, To: r.To, Target: r.Target,
			State: r.State, Reason: r.Reason, Message: r.Message, Hint: r.Hint, Status: t.latest.Status,
			FailedRuns: t.fails, Runs: t.runs, Current: cur,
			AnswerFrom: from, AnswerIP: ip, AnswerHops: hops, Evidence: r.Evidence,
		})
	}
	sortFindings(out)
	return out
}

// sortFindings puts current failures first, then by severity; otherwise in ID order.
func sortFindings(fs []FlowFinding) {
	sort.SliceStable(fs, func(i, j int) bool {
		a, b := fs[i], fs[j]
		if a.Current != b.Current {
			return a.Current
		}
		return a.Status.Severity() > b.Status.Severity()
	})
}

// judgeTrack turns one check's latest result and its history into a verdict and a reason.
func judgeTrack(r result.Result, runs, fails int) (Verdict, string) {
	what := r.ID
	if r.Rule != "" {
		what += " [" + r.Rule + "]"
	}
	switch r.Status {
	case result.Fail:
		return NoGo, fmt.Sprintf("%s fails: %s", what, strings.TrimSuffix(oneLine(r.Message), "."))
	case result.Error:
		return Caution, fmt.Sprintf("%s could not be checked: %s", what, strings.TrimSuffix(oneLine(r.Message), "."))
	case result.Warn:
		return Caution, fmt.Sprintf("%s warns: %s", what, strings.TrimSuffix(oneLine(r.Message), "."))
	case result.Pass:
		if fails > 0 {
			return Caution, fmt.Sprintf("%s passes now but failed in %d of %d runs.", what, fails, runs)
		}
		return Go, ""
	case result.Skip:
		// A documented requirement that was never tested is no GO: the board must know what
		// nobody looked at (an undocumented one is left unknown).
		if r.Confidence == "doc" || r.Confidence == "inferred" {
			return Caution, fmt.Sprintf("%s was not checked: %s", what, strings.TrimSuffix(oneLine(r.Message), "."))
		}
	}
	return Unknown, ""
}
