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

// port runs a TCP or UDP port probe from the source agent and judges it.
func (st *runState) port(ctx context.Context, p Prober, c Check) result.Result {
	by := AnsweredUnknown
	if c.ToAgent != "" {
		switch st.responder(c.ToAgent, agent.Listen{Proto: name(c.Proto), Port: c.Port}) {
		case agent.Opened, agent.Down:
			// Down: ours, shared with a set whose socket failed and is being re-opened; the
			// check below asks whether it listened before judging what the probe found.
			by = AnsweredResponder
		case agent.Held:
			by = AnsweredService
		}
	}
	req := probes.PortRequest{
		Proto:   name(c.Proto),
		Address: c.Target(),
		Banner:  c.Proto == topology.ProtoTCP && by == AnsweredResponder,
		Echo:    c.Proto == topology.ProtoUDP && by == AnsweredResponder,
		// Who answered and the evidence (answer.go): the agent captures the probe's flow.
		Capture:  st.r.Evidence != nil,
		RefPorts: refPorts(c),
	}
	// The destination's agent port is the reference of the adaptive wait: only when that
	// agent answered us (else it is likely not listening) and the source's agent accepts it.
	req.AdaptiveWait = !st.r.FullWait && c.Proto == topology.ProtoTCP && len(req.RefPorts) > 0 &&
		st.prober(c.ToAgent) != nil && st.accepts(c.FromAgent, probes.FeatureAdaptiveWait)
	if st.r.BindSource {
		req.Source = hostOnly(c.FromAddress)
	}
	var m probes.PortResult
	start := time.Now()
	if err := st.callProbe(ctx, p, c.FromAgent, agent.KindPort, c.Timeout, req, &m); err != nil {
		return Errored(c, err, agentHint(c, err))
	}
	if by == AnsweredResponder && m.State != probes.Open {
		// Closed or silent where our responder should answer: a verdict only if it listened.
		if err := st.responderListened(ctx, c.To, c.ToAgent, agent.Listen{Proto: name(c.Proto), Port: c.Port}, start, time.Now()); err != nil {
			return Errored(c, err, responderHint(c))
		}
	}
	if by == AnsweredUnknown && m.AnsweredBy == "service" {
		by = AnsweredService
	}
	jc := c
	if c.Pair != "" {
		// A pair is judged as one by JudgePair; its own confidence must not demote a side.
		jc.Confidence = topology.ConfDoc
	}
	res := JudgePort(jc, m, by)
	res.Confidence = name(c.Confidence)
	if err := st.dialErr(c.ToAgent); err != nil && by == AnsweredUnknown && res.Status != result.Pass {
		res.Hint = fmt.Sprintf("The agent on %s (%s) did not answer, so no responder was opened there: %v. Start it and run again to tell a firewall from a missing service.", c.To, c.ToAgent, err)
	}
	res = JudgeAnswer(c, res, m)
	if c.TLS && by == AnsweredService && m.State == probes.Open {
		var tm probes.TLSResult
		err := st.callProbe(ctx, p, c.FromAgent, agent.KindTLS, c.Timeout, probes.TLSRequest{Address: c.Target()}, &tm)
		if err == nil || tm.HandshakeError != "" || tm.Version != "" {
			AddTLS(&res, tm, st.r.now())
		}
	}
	if m.ObservedSource != "" && m.SourceIP != "" && hostOnly(m.ObservedSource) != m.SourceIP {
		res.Metrics[result.MetricNAT] = true
		if res.Status == result.Pass {
			res.Status = result.Fail
			res.Message += fmt.Sprintf("; but the destination saw the source as %s, not %s: NAT on the path", hostOnly(m.ObservedSource), m.SourceIP)
			res.Hint = "Failback needs private addresses end to end with no NAT: remove the source NAT for this traffic on the VPN/ExpressRoute path."
		}
	}
	st.saveEvidence(&res, m)
	return res
}

// portOK reports whether a port state satisfies an expectation.
func portOK(expect topology.Expect, st probes.PortState) bool {
	switch expect {
	case 0, topology.ExpectOpen:
		return st == probes.Open
	case topology.ExpectClosed:
		return st == probes.Closed
	case topology.ExpectFiltered:
		return st == probes.Filtered
	case topology.ExpectBlocked:
		return st == probes.Closed || st == probes.Filtered || st == probes.Unreachable
	}
	return false
}

// JudgePort compares a port measurement with the check's expectation.
func JudgePort(c Check, m probes.PortResult, by AnsweredBy) result.Result {
	r := base(c)
	r.State = m.State.String()
	r.Reason = m.Reason.String()
	r.Metrics = result.Metrics{result.MetricAnsweredBy: by.String()}
	if m.RTT > 0 {
		r.Metrics[result.MetricRTTMS] = result.Millis(m.RTT)
	}
	if m.SourceIP != "" {
		r.Metrics[result.MetricSourceIP] = m.SourceIP
	}
	if m.Interface != "" {
		r.Metrics[result.MetricInterface] = m.Interface
	}
	if m.ObservedSource != "" {
		r.Metrics[result.MetricObservedSourceIP] = hostOnly(m.ObservedSource)
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
	allow := fmt.Sprintf("Allow %s %s -> %s%s.", name(c.Proto), src, c.Target(), code)

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
	case c.Expect == topology.ExpectBlocked || c.Expect == topology.ExpectClosed || c.Expect == topology.ExpectFiltered:
		r.Message = fmt.Sprintf("%s reaches %s on %s, which should be %s (%s: %s)", c.From, c.To, pp, name(c.Expect), m.State, m.Reason)
		r.Hint = fmt.Sprintf("Deny %s %s -> %s on the path.", name(c.Proto), src, c.Target())
	case m.State == probes.Filtered:
		switch m.Reason {
		case probes.ICMPAdminProhibited, probes.ICMPHostProhibited, probes.ICMPNetProhibited:
			r.Message = fmt.Sprintf("%s cannot reach %s on %s: a firewall rejected it (%s)", c.From, c.To, pp, m.Reason)
			r.Hint = "A firewall on the path rejects it. " + allow
		default:
			r.Message = fmt.Sprintf("%s cannot reach %s on %s: no answer within %s", c.From, c.To, pp, roundTimeout(c.Timeout))
			if m.Waited > 0 { // the adaptive wait (probes/portwait.go)
				r.Message = fmt.Sprintf("%s cannot reach %s on %s: no answer to 2 tries within %s, while the host's agent port answered in %s",
					c.From, c.To, pp, fmtDur(m.Waited), fmtDur(m.HostRTT))
			}
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

// portChecks plans a port flow: one check, which shakes hands with TLS where ASR's services
// speak HTTPS (443, the data port, vCenter's port) when a real service answers.
func portChecks(t *topology.Topology, f topology.Flow, c Check) []Check {
	c.Kind = result.CheckPort
	c.ID = fmt.Sprintf("port/%s/%s/%d/%s", f.From, f.To, f.Port, name(c.Proto))
	c.TLS = c.Proto == topology.ProtoTCP && !strings.HasPrefix(f.Rule, "USER") &&
		(f.Port == 443 || f.Port == t.Settings.DataPort || f.Port == t.Settings.VCenterPort)
	return []Check{c}
}
