package engine

import (
	"context"
	"fmt"
	"net/netip"
	"time"

	"github.com/netprobe/netprobe/internal/agent"
	"github.com/netprobe/netprobe/internal/probes"
	"github.com/netprobe/netprobe/internal/result"
)

// port runs a TCP or UDP port probe from the source agent and judges it.
func (st *runState) port(ctx context.Context, p Prober, c Check) result.Result {
	by := AnsweredUnknown
	if c.ToAgent != "" {
		switch st.respond[c.ToAgent][agent.Listen{Proto: c.Proto, Port: c.Port}] {
		case agent.Opened, agent.Down:
			// Down: ours, shared with a set whose socket failed and is being re-opened; the
			// check below asks whether it listened before judging what the probe found.
			by = AnsweredResponder
		case agent.Held:
			by = AnsweredService
		}
	}
	req := probes.PortRequest{
		Proto:   c.Proto,
		Address: c.Target(),
		Banner:  c.Proto == "tcp" && by == AnsweredResponder,
		Echo:    c.Proto == "udp" && by == AnsweredResponder,
		// Who answered and the evidence (answer.go): the agent captures the probe's flow.
		Capture:  st.r.Evidence != nil,
		RefPorts: refPorts(c),
	}
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
		if err := st.responderListened(ctx, c.To, c.ToAgent, agent.Listen{Proto: c.Proto, Port: c.Port}, start, time.Now()); err != nil {
			return Errored(c, err, responderHint(c))
		}
	}
	if by == AnsweredUnknown && m.AnsweredBy == "service" {
		by = AnsweredService
	}
	jc := c
	if c.Pair != "" {
		// A pair is judged as one by JudgePair; its own confidence must not demote a side.
		jc.Confidence = "doc"
	}
	res := JudgePort(jc, m, by)
	res.Confidence = c.Confidence
	if err := st.errs[c.ToAgent]; err != nil && by == AnsweredUnknown && res.Status != result.Pass {
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
		res.Metrics["nat"] = true
		if res.Status == result.Pass {
			res.Status = result.Fail
			res.Message += fmt.Sprintf("; but the destination saw the source as %s, not %s: NAT on the path", hostOnly(m.ObservedSource), m.SourceIP)
			res.Hint = "Failback needs private addresses end to end with no NAT: remove the source NAT for this traffic on the VPN/ExpressRoute path."
		}
	}
	st.saveEvidence(&res, m)
	return res
}

// latency runs a UDP echo latency probe to the destination agent's echo responder.
func (st *runState) latency(ctx context.Context, p Prober, c Check) result.Result {
	if err := st.errs[c.ToAgent]; err != nil {
		return Errored(c, fmt.Errorf("the agent on %s (%s) did not answer, so it cannot echo: %w", c.To, c.ToAgent, err), agentHint(Check{From: c.To, FromAgent: c.ToAgent}, err))
	}
	if st.respond[c.ToAgent][agent.Listen{Proto: "udp", Port: echoPort(c.ToAgent)}] != agent.Opened {
		return Errored(c, fmt.Errorf("the agent on %s did not open its UDP echo on port %d", c.To, echoPort(c.ToAgent)),
			fmt.Sprintf("Check that udp/%d is free on %s (the agent's echo uses its control port number over UDP).", echoPort(c.ToAgent), c.To))
	}
	req := probes.LatencyRequest{
		Address:  joinHostPort(c.Address, echoPort(c.ToAgent)),
		Samples:  c.Samples,
		Interval: c.Interval,
		Timeout:  c.Timeout,
	}
	if st.r.BindSource {
		req.Source = hostOnly(c.FromAddress)
	}
	budget := time.Duration(max(c.Samples, 1))*c.Interval + c.Timeout
	var m probes.LatencyResult
	start := time.Now()
	if err := st.callProbe(ctx, p, c.FromAgent, agent.KindLatency, budget, req, &m); err != nil {
		return Errored(c, err, agentHint(c, err))
	}
	if m.Received < m.Sent {
		// Lost samples count against the path only if the echo listened all along.
		if err := st.responderListened(ctx, c.To, c.ToAgent, agent.Listen{Proto: "udp", Port: echoPort(c.ToAgent)}, start, time.Now()); err != nil {
			return Errored(c, err, responderHint(c))
		}
	}
	r := JudgeLatency(c, m.Stats())
	if seen := natSeen(m); seen != "" {
		markNAT(&r, seen)
	}
	return r
}

// route asks the source agent's OS which interface and source address it uses toward the
// destination: the dual-NIC check of the configuration server.
func (st *runState) route(ctx context.Context, p Prober, c Check) result.Result {
	var m probes.RouteResult
	if err := st.callProbe(ctx, p, c.FromAgent, agent.KindRoute, c.Timeout, agent.RouteRequest{Dest: c.Address}, &m); err != nil {
		return Errored(c, err, agentHint(c, err))
	}
	return JudgeRoute(c, m)
}

// JudgeLatency compares latency figures with the thresholds of checks.latency.
func JudgeLatency(c Check, s probes.LatencyStats) result.Result {
	r := base(c)
	r.Metrics = s.Metrics("")
	switch {
	case s.Samples == 0:
		r.Status = result.Fail
		r.Message = fmt.Sprintf("%s -> %s: no echo came back (%d%% loss)", c.From, c.To, int(s.Loss*100))
		r.Hint = fmt.Sprintf("Allow udp %s -> %s:%d (the agent's echo) or check the path.", c.FromAddress, c.Address, echoPort(c.ToAgent))
		return r
	case c.FailP95 > 0 && s.P95 > c.FailP95:
		r.Status = result.Fail
	case c.WarnP95 > 0 && s.P95 > c.WarnP95, s.Loss > 0:
		r.Status = result.Warn
	default:
		r.Status = result.Pass
	}
	r.Message = fmt.Sprintf("%s -> %s: p50 %s, p95 %s, jitter %s, loss %.1f%% over %d samples", c.From, c.To,
		fmtDur(s.P50), fmtDur(s.P95), fmtDur(s.Jitter), s.Loss*100, s.Samples)
	switch r.Status {
	case result.Fail:
		r.Hint = fmt.Sprintf("p95 above %s: the process server needs low latency to the protected VMs; check the VPN's load and path.", fmtDur(c.FailP95))
	case result.Warn:
		if s.Loss > 0 {
			r.Hint = "Packets are lost on the path: check the VPN tunnel's stability and MTU."
		} else {
			r.Hint = fmt.Sprintf("p95 above %s (the warning threshold of checks.latency).", fmtDur(c.WarnP95))
		}
	}
	return r
}

// JudgeRoute compares the OS's route choice with the NIC the topology names.
func JudgeRoute(c Check, m probes.RouteResult) result.Result {
	r := base(c)
	r.Metrics = map[string]any{"interface": m.Interface, "source_ip": m.SourceIP}
	if m.Gateway != "" {
		r.Metrics["gateway"] = m.Gateway
	}
	if c.ExpectIface != "" {
		r.Metrics["expected_interface"] = c.ExpectIface
	}
	want := c.ExpectSource
	if want != "" {
		r.Metrics["expected_source_ip"] = want
	}
	got, _ := netip.ParseAddr(m.SourceIP)
	exp, _ := netip.ParseAddr(want)
	if want == "" || got == exp {
		r.Status = result.Pass
		r.Message = fmt.Sprintf("%s routes to %s (%s) out of %s from %s, as expected", c.From, c.To, c.Address, m.Interface, m.SourceIP)
		return r
	}
	r.Status = result.Fail
	r.Message = fmt.Sprintf("%s routes to %s (%s) out of %s from %s, not from its %s NIC %s", c.From, c.To, c.Address, m.Interface, m.SourceIP, c.ExpectIface, want)
	r.Hint = fmt.Sprintf("Add a route on %s for %s via the gateway of its %s NIC (%s), so traffic to Azure leaves by the failback NIC (retained-IP failback).", c.From, c.Address, c.ExpectIface, want)
	return r
}

func fmtDur(d time.Duration) string {
	switch {
	case d >= time.Second:
		return d.Round(10 * time.Millisecond).String()
	case d >= time.Millisecond:
		return fmt.Sprintf("%.1fms", float64(d.Microseconds())/1000)
	}
	return fmt.Sprintf("%dµs", d.Microseconds())
}

// certWarnBefore: a certificate that expires this soon is worth a warning before a cutover
// that may run for days.
const certWarnBefore = 14 * 24 * time.Hour

// AddTLS adds what a handshake with the real service showed to a passing port result: the
// TLS version and certificate, a warning when no handshake completes (the port is held by
// something that is not the HTTPS service ASR expects, or a device cuts TLS) or when the
// certificate has expired or expires within two weeks.
func AddTLS(r *result.Result, m probes.TLSResult, now time.Time) {
	if r.Metrics == nil {
		r.Metrics = map[string]any{}
	}
	if m.HandshakeError != "" {
		r.Metrics["tls_warning"] = true
		if r.Status == result.Pass {
			r.Status = result.Warn
		}
		r.Message += "; but no TLS handshake completed: " + m.HandshakeError
		r.Hint = "ASR's services speak HTTPS on this port: check what listens there, and that no device on the path cuts TLS."
		return
	}
	r.Metrics["tls_version"] = m.Version
	r.Metrics["cert_subject"] = m.Subject
	if m.NotAfter.IsZero() {
		return
	}
	r.Metrics["cert_expires"] = m.NotAfter.UTC().Format(time.RFC3339)
	switch left := m.NotAfter.Sub(now); {
	case left <= 0:
		r.Metrics["tls_warning"] = true
		if r.Status == result.Pass {
			r.Status = result.Warn
		}
		r.Message += fmt.Sprintf("; its certificate (%s) expired on %s", m.Subject, m.NotAfter.UTC().Format("2006-01-02"))
		r.Hint = "Renew the component's certificate before failback: ASR components refuse expired peers."
	case left < certWarnBefore:
		r.Metrics["tls_warning"] = true
		if r.Status == result.Pass {
			r.Status = result.Warn
		}
		r.Message += fmt.Sprintf("; its certificate (%s) expires on %s", m.Subject, m.NotAfter.UTC().Format("2006-01-02"))
		r.Hint = "Renew the component's certificate before the cutover window."
	}
}
