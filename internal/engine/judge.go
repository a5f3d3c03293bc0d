package engine

import (
	"fmt"
	"net"
	"net/netip"
	"strings"
	"time"

	"github.com/netprobe/netprobe/internal/probes"
	"github.com/netprobe/netprobe/internal/result"
)

// AnsweredBy says who held the destination port during a port check.
type AnsweredBy int

const (
	AnsweredUnknown   AnsweredBy = iota + 1 // no agent at the destination: cannot tell
	AnsweredService                         // a real listener held the port
	AnsweredResponder                       // the destination agent's temporary listener
)

func (a AnsweredBy) String() string {
	switch a {
	case AnsweredService:
		return "service"
	case AnsweredResponder:
		return "responder"
	}
	return "none"
}

// base fills the fields every result of a check carries.
func base(c Check) result.Result {
	return result.Result{
		ID: c.ID, Check: c.Kind, Rule: c.Rule, Phase: c.Phase, From: c.From, To: c.To,
		Target: c.Target(), Proto: c.Proto, Expect: c.Expect,
		Confidence: c.Confidence, Source: c.Source,
	}
}

// Skipped is the result of a check that did not run.
func Skipped(c Check, why string) result.Result {
	r := base(c)
	r.Status = result.Skip
	r.Message = fmt.Sprintf("%s: %s", arrow(c), why)
	if c.RunFrom != "" {
		r.Reason = result.ReasonOtherSite
		r.Metrics = map[string]any{"run_from": c.RunFrom}
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

// portOK reports whether a port state satisfies an expectation.
func portOK(expect string, st probes.PortState) bool {
	switch expect {
	case "", "open":
		return st == probes.Open
	case "closed":
		return st == probes.Closed
	case "filtered":
		return st == probes.Filtered
	case "blocked":
		return st == probes.Closed || st == probes.Filtered || st == probes.Unreachable
	}
	return false
}

// JudgePort compares a port measurement with the check's expectation.
func JudgePort(c Check, m probes.PortResult, by AnsweredBy) result.Result {
	r := base(c)
	r.State = m.State.String()
	r.Reason = m.Reason.String()
	r.Metrics = map[string]any{"answered_by": by.String()}
	if m.RTT > 0 {
		r.Metrics["rtt_ms"] = ms(m.RTT)
	}
	if m.SourceIP != "" {
		r.Metrics["source_ip"] = m.SourceIP
	}
	if m.Interface != "" {
		r.Metrics["interface"] = m.Interface
	}
	if m.ObservedSource != "" {
		r.Metrics["observed_source_ip"] = hostOnly(m.ObservedSource)
	}
	pp := c.PortProto()
	code := ""
	if c.ErrorCode != "" {
		code = fmt.Sprintf(" (ASR error %s)", c.ErrorCode)
	}
	src := c.FromAddress
	if m.SourceIP != "" {
		src = m.SourceIP
	}
	if src == "" {
		src = c.From
	}
	allow := fmt.Sprintf("Allow %s %s -> %s%s.", c.Proto, src, c.Target(), code)

	if portOK(c.Expect, m.State) {
		r.Status = result.Pass
		switch m.State {
		case probes.Open:
			r.Message = fmt.Sprintf("%s reaches %s on %s (%s, answered by %s)", c.From, c.To, pp, m.Reason, by)
		default:
			r.Message = fmt.Sprintf("%s cannot reach %s on %s, as expected (%s: %s)", c.From, c.To, pp, m.State, m.Reason)
		}
		return r
	}

	r.Status = result.Fail
	switch {
	case c.Expect == "blocked" || c.Expect == "closed" || c.Expect == "filtered":
		r.Message = fmt.Sprintf("%s reaches %s on %s, which should be %s (%s: %s)", c.From, c.To, pp, c.Expect, m.State, m.Reason)
		r.Hint = fmt.Sprintf("Deny %s %s -> %s on the path.", c.Proto, src, c.Target())
	case m.State == probes.Filtered:
		switch m.Reason {
		case probes.ICMPAdminProhibited, probes.ICMPHostProhibited, probes.ICMPNetProhibited:
			r.Message = fmt.Sprintf("%s cannot reach %s on %s: a firewall rejected it (%s)", c.From, c.To, pp, m.Reason)
			r.Hint = "A firewall on the path rejects it. " + allow
		default:
			r.Message = fmt.Sprintf("%s cannot reach %s on %s: no answer within %s", c.From, c.To, pp, roundDur(c.Timeout))
			r.Hint = "A firewall on the path drops it. " + allow
		}
	case m.State == probes.Closed:
		r.Message = fmt.Sprintf("%s cannot reach %s on %s: the host answered with %s (nothing listens)", c.From, c.To, pp, m.Reason)
		switch by {
		case AnsweredService:
			r.Hint = "A service holds the port on the destination, but a reset came back: a host firewall or an intermediate device rejects it. " + allow
		case AnsweredResponder:
			r.Hint = "The destination agent listened on the port, yet a reset came back: a firewall on the path rejects it with a TCP reset. " + allow
		default:
			r.Hint = fmt.Sprintf("Nothing listens on %s at %s: start the ASR component there, or run a netprobe agent on %s so it can open a responder before installation.", pp, c.Address, c.To)
		}
	case m.State == probes.Unreachable:
		r.Message = fmt.Sprintf("%s cannot reach %s on %s: %s", c.From, c.To, pp, m.Reason)
		r.Hint = fmt.Sprintf("No route from %s to %s: check the routes over the VPN/ExpressRoute link and the host's gateway.", c.From, c.Address)
	case m.State == probes.OpenFiltered:
		r.Status = result.Warn
		r.Message = fmt.Sprintf("%s -> %s on %s: no reply (%s); without an agent at the destination UDP cannot tell open from filtered", c.From, c.To, pp, m.Reason)
		r.Hint = fmt.Sprintf("Run a netprobe agent on %s so its UDP echo can prove the path.", c.To)
	default:
		r.Message = fmt.Sprintf("%s -> %s on %s: %s (%s)", c.From, c.To, pp, m.State, m.Reason)
	}
	demote(c, &r)
	return r
}

// demote turns a fail into a warn when the rule it checks is of uncertain confidence: netprobe
// tests it, but Microsoft does not document it, so it must not block a cutover on its own.
func demote(c Check, r *result.Result) {
	if r.Status == result.Fail && c.Confidence == "uncertain" {
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
	aOpen := a.State == probes.Open.String() && a.Metrics["nat"] != true
	bOpen := b.State == probes.Open.String() && b.Metrics["nat"] != true
	set := func(r *result.Result, st result.Status, note string) {
		if r.Metrics["nat"] == true {
			return
		}
		if r.Metrics["tls_warning"] == true && st == result.Pass {
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

func ms(d time.Duration) float64 { return float64(d.Microseconds()) / 1000 }

func roundDur(d time.Duration) time.Duration {
	if d >= time.Second {
		return d.Round(100 * time.Millisecond)
	}
	return d.Round(time.Millisecond)
}

func hostOnly(hostport string) string {
	if a, err := netip.ParseAddr(strings.Trim(hostport, "[]")); err == nil {
		return a.String()
	}
	if ap, err := netip.ParseAddrPort(hostport); err == nil {
		return ap.Addr().String()
	}
	if h, _, err := net.SplitHostPort(hostport); err == nil {
		return h
	}
	return hostport
}

// Pending is the placeholder result of a planned check that has not run yet (status unset),
// for displays that show progress before results arrive.
func Pending(c Check) result.Result {
	r := base(c)
	r.Message = c.Why
	return r
}
