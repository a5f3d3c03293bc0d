package engine

import (
	"context"
	"fmt"
	"strings"
	"time"

	"github.com/netprobe/netprobe/internal/agent"
	"github.com/netprobe/netprobe/internal/probes"
	"github.com/netprobe/netprobe/internal/result"
	"github.com/netprobe/netprobe/internal/topology"
)

// icmpCount is how many echoes an ICMP reachability check sends: enough to see loss, few
// enough to stay quiet on a thousand-VM estate.
const icmpCount = 3

// icmp pings the destination from the source agent.
func (st *runState) icmp(ctx context.Context, p Prober, c Check) result.Result {
	req := probes.ICMPRequest{Address: c.Address, Count: icmpCount, Interval: 200 * time.Millisecond}
	var m probes.ICMPResult
	if err := st.callProbe(ctx, p, c.FromAgent, agent.KindICMP, c.Timeout+time.Duration(icmpCount)*req.Interval, req, &m); err != nil {
		return probeFailed(c, err)
	}
	return JudgeICMP(c, m)
}

// JudgeICMP judges one ICMP echo check on its own. ASR itself does not use ICMP; the catalogue
// asks for ping where Microsoft's pages do (FB-VM-CS: the reprotect page's "can reach (ping)";
// FB-PS-CS: a troubleshooting hint), and JudgeICMPWith tempers a dropped echo with the 443
// check between the same two hosts. A user flow that expects ICMP blocked passes on silence.
func JudgeICMP(c Check, m probes.ICMPResult) result.Result {
	r := base(c)
	r.Metrics = result.Metrics{result.MetricSent: m.Sent, result.MetricReceived: m.Received, result.MetricLoss: m.Loss, result.MetricMethod: m.Method}
	if m.Received > 0 {
		r.Metrics[result.MetricRTTMS] = result.Millis(m.Avg)
	}
	blocked := c.Expect == topology.ExpectBlocked || c.Expect == topology.ExpectFiltered || c.Expect == topology.ExpectClosed
	switch {
	case m.Received == 0:
		r.Status = result.Fail
		r.State, r.Reason = "filtered", "timeout"
		if len(m.Errors) > 0 {
			r.State, r.Reason = icmpErrorState(m.Errors[0])
			r.Metrics[result.MetricICMPErrors] = strings.Join(m.Errors, "; ")
		}
		r.Message = fmt.Sprintf("%s cannot ping %s (%s): %d of %d echoes lost", c.From, c.To, c.Address, m.Sent-m.Received, m.Sent)
		if blocked {
			r.Status = result.Pass
			r.Message += ", as expected"
			break
		}
		r.Hint = fmt.Sprintf("Allow ICMP echo %s -> %s and its replies%s.", c.FromAddress, c.Address, icmpWhy(c))
	case blocked:
		r.Status = result.Fail
		r.State, r.Reason = "open", "echo-reply"
		r.Message = fmt.Sprintf("%s pings %s (%s), which should be blocked: %d/%d replies", c.From, c.To, c.Address, m.Received, m.Sent)
		r.Hint = fmt.Sprintf("Deny ICMP echo %s -> %s on the path.", c.FromAddress, c.Address)
	case m.Loss > 0:
		r.Status = result.Warn
		r.State = "open"
		r.Message = fmt.Sprintf("%s pings %s with %.0f%% loss", c.From, c.To, m.Loss*100)
		r.Hint = "Packets are lost on the path: check the tunnel's stability."
	default:
		r.Status = result.Pass
		r.State = "open"
		r.Reason = "echo-reply"
		r.Message = fmt.Sprintf("%s pings %s (%s): %d/%d replies, avg %s", c.From, c.To, c.Address, m.Received, m.Sent, fmtDur(m.Avg))
	}
	demote(c, &r)
	return r
}

// icmpWhy says why a catalogue rule asks for ping, for a hint: ": ..." or "".
func icmpWhy(c Check) string {
	if strings.HasPrefix(c.Rule, "USER") {
		return ""
	}
	why := ": ASR does not use ICMP itself, but Microsoft's troubleshooting checks reachability with ping"
	if c.Confidence == topology.ConfDoc {
		why = ": ASR does not use ICMP itself, but the reprotect page asks that the failed-over VMs can reach (ping) the configuration server"
	}
	return why + codeSuffix(c)
}

// JudgeICMPWith tempers a catalogue ICMP verdict with the 443 check between the same two hosts
// (FB-VM-CS, FB-PS-CS), once both ran: ASR does not need ICMP, so an echo dropped while 443
// answers is a warning that says so, never a failure (design: Corrections 2026-12-05). When
// 443 does not answer either, the failure stands: nothing shows the host is reachable, and the
// ping is one more sign of the same break. port is nil when the 443 check did not run.
func JudgeICMPWith(icmp result.Result, port *result.Result) result.Result {
	if icmp.Status != result.Fail {
		return icmp
	}
	switch {
	case port == nil || port.Status == result.Error || port.Status == result.Skip:
		icmp.Message += "; the 443 check was not measured, so this stays a failure: if 443 answers, ASR does not need the ping"
	case port.State == probes.Open.String():
		icmp.Status = result.Warn
		asks := "the reprotect page asks for it"
		if icmp.Confidence != "doc" {
			asks = "Microsoft's troubleshooting uses it"
		}
		icmp.Message += "; ping is dropped but 443 answers: ASR does not need ICMP, but " + asks + "; allow echo to be safe"
	default:
		icmp.Message += fmt.Sprintf("; 443 does not answer either (%s/%s): the host is not reachable from here", port.State, port.Reason)
	}
	return icmp
}

func codeSuffix(c Check) string {
	if c.ErrorCode == "" {
		return ""
	}
	return " (ASR error " + c.ErrorCode + ")"
}

// icmpErrorState maps an ICMP error the echo got instead of a reply ("3x
// icmp-admin-prohibited from 10.1.2.3") to the state and reason tokens of results.md.
func icmpErrorState(e string) (state, reason string) {
	for _, r := range []string{"admin-prohibited", "host-prohibited", "net-prohibited"} {
		if strings.Contains(e, r) {
			return "filtered", "icmp-" + r
		}
	}
	for _, r := range []string{"host-unreachable", "net-unreachable"} {
		if strings.Contains(e, r) {
			return "unreachable", "icmp-" + r
		}
	}
	return "unreachable", "icmp-error"
}

// icmpChecks plans an ICMP echo flow.
func icmpChecks(_ *topology.Topology, f topology.Flow, c Check) []Check {
	c.Kind = result.CheckICMP
	c.Proto = topology.ProtoICMP
	c.ID = fmt.Sprintf("icmp/%s/%s", f.From, f.To)
	return []Check{c}
}
