package engine

import (
	"fmt"

	"github.com/netprobe/netprobe/internal/probes"
	"github.com/netprobe/netprobe/internal/result"
	"github.com/netprobe/netprobe/internal/topology"
)

// base fills the fields every result of a check carries.
func base(c Check) result.Result {
	return result.Result{
		ID: c.ID, Check: c.Kind, Rule: c.Rule, Phase: name(c.Phase), From: c.From, To: c.To,
		Target: c.Target(), Proto: name(c.Proto), Expect: name(c.Expect),
		Confidence: name(c.Confidence), Source: c.Source,
	}
}

// Skipped is the result of a check that did not run.
func Skipped(c Check, why string) result.Result {
	r := base(c)
	r.Status = result.Skip
	r.Message = fmt.Sprintf("%s: %s", arrow(c), why)
	if c.RunFrom != "" {
		r.Reason = result.ReasonOtherSite
		r.Metrics = result.Metrics{result.MetricRunFrom: c.RunFrom}
	}
	return r
}

// arrow names a check's direction and port for messages: "sql01 -> cs01 443/tcp".
func arrow(c Check) string {
	if pp := c.PortProto(); pp != "" {
		return c.From + " -> " + c.To + " " + pp
	}
	return c.From + " -> " + c.To
}

// Errored is the result of a check that could not find out.
func Errored(c Check, err error, hint string) result.Result {
	r := base(c)
	r.Status = result.Error
	r.Message = fmt.Sprintf("%s: could not test: %v", arrow(c), err)
	r.Hint = hint
	return r
}

// demote turns a fail into a warn when the rule it checks is of uncertain confidence: netprobe
// tests it, but Microsoft does not document it, so it must not block a cutover on its own.
func demote(c Check, r *result.Result) {
	if r.Status == result.Fail && c.Confidence == topology.ConfUncertain {
		r.Status = result.Warn
		r.Message += " (rule " + c.Rule + " is not documented by Microsoft: a warning, not a failure)"
	}
}

// JudgePair judges two port checks that test one leg in both directions (FB-MT-PS / FB-PS-MT):
// fail when neither direction is open, warn when only one is, pass when both are. Each result
// keeps its own measurement; only status and message change. A side whose partner could not
// be measured is judged alone, with its rule's own confidence.
func JudgePair(a, b result.Result) (result.Result, result.Result) {
	aMeasured := a.Status != result.Error && a.Status != result.Skip
	bMeasured := b.Status != result.Error && b.Status != result.Skip
	switch {
	case !aMeasured && !bMeasured:
		return a, b
	case !aMeasured:
		return a, JudgeAlone(b)
	case !bMeasured:
		return JudgeAlone(a), b
	}
	// A NAT'd open port failed on its own account; the pair does not hide that.
	aOpen := a.State == probes.Open.String() && !a.Metrics.Bool(result.MetricNAT)
	bOpen := b.State == probes.Open.String() && !b.Metrics.Bool(result.MetricNAT)
	set := func(r *result.Result, st result.Status, note string) {
		if r.Metrics.Bool(result.MetricNAT) {
			return
		}
		if r.Metrics.Bool(result.MetricTLSWarning) && st == result.Pass {
			st = result.Warn // the pair is open, but what answers has a TLS problem
		}
		r.Status = st
		if note != "" {
			r.Message += "; " + note
		}
	}
	switch {
	case aOpen && bOpen:
		set(&a, result.Pass, "")
		set(&b, result.Pass, "")
	case !aOpen && !bOpen:
		note := "neither direction of the data leg is open"
		set(&a, result.Fail, note)
		set(&b, result.Fail, note)
	default:
		note := "only one direction of the data leg is open; ASR does not document which one failback uses"
		if aOpen {
			set(&a, result.Pass, "")
			set(&b, result.Warn, note)
		} else {
			set(&a, result.Warn, note)
			set(&b, result.Pass, "")
		}
	}
	return a, b
}

// JudgeAlone judges one side of a pair whose other side was not measured (filtered out by
// --only, re-run alone, or its agent down): its own confidence applies again.
func JudgeAlone(r result.Result) result.Result {
	if r.Status == result.Fail && r.Confidence == "uncertain" {
		r.Status = result.Warn
		r.Message += " (the other direction was not measured; this rule is not documented by Microsoft: a warning, not a failure)"
	}
	return r
}

// Pending is the placeholder result of a planned check that has not run yet (status unset),
// for displays that show progress before results arrive.
func Pending(c Check) result.Result {
	r := base(c)
	r.Message = c.Why
	return r
}
