package engine

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/netprobe/netprobe/internal/agent"
	"github.com/netprobe/netprobe/internal/probes"
	"github.com/netprobe/netprobe/internal/result"
	"github.com/netprobe/netprobe/internal/topology"
)

// Clock skew thresholds of FB-CLOCK, on the skew's lower bound (what is certain).
const (
	// clockFail: Microsoft's identity libraries accept a token up to 5 minutes outside its
	// validity window (TokenValidationParameters.DefaultClockSkew, 300 s), and Kerberos in a
	// Windows domain tolerates 5 minutes by default ("Maximum tolerance for computer clock
	// synchronization"): past that, sign-in to Azure and domain logons fail.
	clockFail = 5 * time.Minute
	// clockWarn: no Microsoft number; a fifth of clockFail, so a drifting clock is reported
	// while there is still room before a failback that may run for days.
	clockWarn = time.Minute
	// dateResolution: an HTTP Date header has whole seconds (RFC 9110 5.6.7), so the server's
	// time lies up to a second after what it says.
	dateResolution = time.Second
	// clockSamples: NTP-style exchanges per host; the one with the shortest round trip has
	// the smallest error bar (NTP's clock filter does the same).
	clockSamples = 3
)

// clockDateEndpoint is where the configuration server reads Azure's clock: Microsoft Entra
// ID's sign-in endpoint, which the configuration server must reach anyway (asr-flows.md, ASR
// service endpoints) and whose token checks are what a skewed clock breaks.
const clockDateEndpoint = "login.microsoftonline.com"

// clockSource backs FB-CLOCK: the configuration server checks its time against
// time.windows.com and time.nist.gov (asr-classic-sources.md section 2), time sync is one of
// the checks of replication error 78169, and the 5-minute tolerance is Entra ID's and
// Kerberos's.
const clockSource = "cs-requirements: https://github.com/MicrosoftDocs/azure-docs/blob/main/includes/site-recovery-configuration-and-scaleout-process-server-requirements.md; " +
	"ts-replication: https://learn.microsoft.com/azure/site-recovery/vmware-azure-troubleshoot-replication; " +
	"token clock skew: https://learn.microsoft.com/dotnet/api/microsoft.identitymodel.tokens.tokenvalidationparameters.defaultclockskew; " +
	"Kerberos: https://learn.microsoft.com/previous-versions/windows/it-pro/windows-server-2012-r2-and-2012/jj852172(v=ws.11)"

// clockChecks plans FB-CLOCK on every host with an agent: its clock against the coordinator's
// and, on the configuration server when the ASR endpoints are tested, against Azure's (the
// Date of an HTTPS answer from clockDateEndpoint).
func clockChecks(t *topology.Topology, phase topology.Phase, timeout time.Duration) []Check {
	var out []Check
	for _, name := range sortedHosts(t) {
		h := t.Hosts[name]
		if h.Agent == "" {
			continue
		}
		c := Check{
			ID: "clock/" + name, Kind: result.CheckClock, Rule: "FB-CLOCK", Phase: phase, From: name, To: name,
			FromAgent: h.Agent, Confidence: topology.ConfInferred, Source: clockSource, Timeout: timeout,
			Why: "the host's clock is within minutes of true time: Azure sign-in and Kerberos fail past 5 minutes of skew (measured against the coordinator's clock)",
		}
		switch {
		case t.Settings.AzureEndpoints && h.HasRole(topology.RoleConfigurationServer):
			c.Address, c.Port, c.Proto, c.Proxy = clockDateEndpoint, 443, topology.ProtoTCP, h.Proxy
			c.Why = "the configuration server's clock is within minutes of Azure's (the Date of an HTTPS answer from " + clockDateEndpoint + "): Azure sign-in fails past 5 minutes of skew"
		case t.Settings.AzureEndpoints && h.HasRole(topology.RoleReplicationAppliance):
			// The appliance's configuration manager checks its time against the portal
			// (MATRIX-26), through the appliance's proxy like every one of its services.
			portal := topology.PortalHost(t)
			c.Address, c.Port, c.Proto, c.Proxy = portal, 443, topology.ProtoTCP, h.Proxy
			c.Why = "the replication appliance's clock is within minutes of Azure's (the Date of an HTTPS answer from " + portal + ", where its time-sync check looks): certificate authentication and sign-in fail with a skewed clock"
		}
		out = append(out, c)
	}
	return out
}

// ClockSample is one NTP-style exchange with an agent: the coordinator's clock when it asked
// (Sent) and when the answer came (Received), and the agent's clock in between (Remote).
type ClockSample struct {
	Sent, Remote, Received time.Time
}

// Skew is how far the agent's clock is ahead of the coordinator's (negative: behind), give or
// take Err: the agent read its clock somewhere within the round trip.
func (s ClockSample) Skew() (skew, err time.Duration) {
	rtt := s.Received.Sub(s.Sent)
	return s.Remote.Sub(s.Sent.Add(rtt / 2)), rtt / 2
}

// DateReading is an HTTPS answer's Date header (From's clock, whole seconds) with the agent's
// clock before the request and after the answer; Err says why there is none.
type DateReading struct {
	From                 string
	Sent, Received, Date time.Time
	Err                  string
}

// Skew is how far the agent's clock is ahead of the server's, give or take Err: half the
// round trip, plus the header's second it does not show.
func (d DateReading) Skew() (skew, err time.Duration) {
	rtt := d.Received.Sub(d.Sent)
	mid := d.Sent.Add(rtt / 2)
	return mid.Sub(d.Date.Add(dateResolution / 2)), rtt/2 + dateResolution/2
}

// clock samples the agent's clock, reads Azure's where the check asks, and judges.
func (st *runState) clock(ctx context.Context, p Prober, c Check) result.Result {
	var samples []ClockSample
	var lastErr error
	for range clockSamples {
		var m agent.ClockResult
		sent := st.r.now()
		err := st.callProbe(ctx, p, c.FromAgent, agent.KindClock, c.Timeout, agent.ClockRequest{}, &m)
		received := st.r.now()
		switch {
		case err != nil:
			lastErr = err
		case m.Time.IsZero():
			lastErr = fmt.Errorf("%w: the agent answered without its time", agent.ErrProtocol)
		default:
			samples = append(samples, ClockSample{Sent: sent, Remote: m.Time, Received: received})
		}
		if err != nil && controlFailure(ctx, err) {
			break // the agent cannot answer (gone, refused, too old): asking again changes nothing
		}
	}
	if len(samples) == 0 {
		if re := (*agent.RemoteError)(nil); errors.As(lastErr, &re) && re.Code == agent.CodeUnsupported {
			return Skipped(c, fmt.Sprintf("the agent on %s is older than this netprobe and cannot read its clock: upgrade it (%s)", c.From, re.Message))
		}
		return probeFailed(c, lastErr)
	}
	var date *DateReading
	if c.Address != "" {
		var m probes.TLSResult
		err := st.callProbe(ctx, p, c.FromAgent, agent.KindTLS, 2*c.Timeout, probes.TLSRequest{Address: c.Target(), HTTPDate: true, Proxy: c.Proxy}, &m)
		date = &DateReading{From: c.Address, Sent: m.DateSent, Received: m.DateReceived, Date: m.HTTPDate, Err: m.DateError}
		switch {
		case err != nil:
			date.Err = err.Error()
		case m.HandshakeError != "":
			date.Err = "no TLS handshake: " + m.HandshakeError
		case m.Intercepted:
			date.Err = "the certificate was replaced by an inspecting proxy, whose clock this would read"
		}
	}
	return JudgeClock(c, samples, date)
}

// JudgeClock judges FB-CLOCK from the exchanges with the agent (the one with the smallest
// error bar counts) and, where read, Azure's Date. Azure's clock decides when it was read:
// it is what sign-in checks against; the coordinator's is the reference otherwise. A skew is
// a failure only when its lower bound passes clockFail, so a slow round trip never fails a
// host on its own.
func JudgeClock(c Check, samples []ClockSample, date *DateReading) result.Result {
	r := base(c)
	r.Target = c.Target()
	skew, bar := samples[0].Skew()
	for _, s := range samples[1:] {
		if k, e := s.Skew(); e < bar {
			skew, bar = k, e
		}
	}
	r.Metrics = result.Metrics{result.MetricSkewMS: result.Millis(skew), result.MetricSkewErrorMS: result.Millis(bar)}
	coord := fmt.Sprintf("%s the coordinator's clock (±%s)", aheadBehind(skew), fmtDur(bar))
	refSkew, refBar := skew, bar
	switch {
	case date == nil:
		r.Message = fmt.Sprintf("%s's clock is %s", c.From, coord)
	case date.Err != "" || date.Date.IsZero():
		r.Message = fmt.Sprintf("%s's clock is %s; Azure's clock could not be read from %s (%s), so this is against the coordinator only", c.From, coord, date.From, orUnknown(date.Err))
	default:
		as, ae := date.Skew()
		r.Metrics[result.MetricAzureSkewMS] = result.Millis(as)
		r.Metrics[result.MetricAzureSkewErrorMS] = result.Millis(ae)
		refSkew, refBar = as, ae
		r.Message = fmt.Sprintf("%s's clock is %s Azure's (the Date %s sent, ±%s), and %s", c.From, aheadBehind(as), date.From, fmtDur(ae), coord)
		// The coordinator's clock against Azure's, from the same host seen both ways: when it
		// is off, the other hosts' FB-CLOCK (against the coordinator) is off by as much.
		if cs := as - skew; abs(cs)-(ae+bar) > clockWarn {
			r.Message += fmt.Sprintf("; so the coordinator's own clock is %s Azure's, and the other hosts' FB-CLOCK, measured against it, is off by as much", aheadBehind(cs))
		}
	}
	var why string
	r.Status, why = judgeSkew(refSkew, refBar)
	r.Message += why
	if r.Status != result.Pass {
		r.Hint = fmt.Sprintf("Synchronise %s's clock (Windows: w32tm /resync against the domain or time.windows.com; Linux: chrony or systemd-timesyncd). ", c.From) +
			"If every host shows about the same offset from the coordinator, the coordinator's own clock (the machine running netprobe) is the one that is off."
	}
	return r
}

// judgeSkew is the verdict on a clock skew measured to ±bar, and what the message adds to say
// why: a failure only when even its lower bound passes clockFail.
func judgeSkew(skew, bar time.Duration) (result.Status, string) {
	switch lo, hi := abs(skew)-bar, abs(skew)+bar; {
	case lo > clockFail:
		return result.Fail, fmt.Sprintf(": past the %s that Azure sign-in and Kerberos tolerate", fmtSkew(clockFail))
	case lo > clockWarn:
		return result.Warn, fmt.Sprintf(": more than %s off, on its way to the %s Azure sign-in tolerates", fmtSkew(clockWarn), fmtSkew(clockFail))
	case hi > clockFail:
		return result.Warn, fmt.Sprintf(": the measurement is too coarse to tell whether it is within the %s Azure sign-in tolerates", fmtSkew(clockFail))
	}
	return result.Pass, ""
}

// aheadBehind says "3.2s ahead of" or "4m0s behind" for a skew; "in step with" within a
// millisecond.
func aheadBehind(skew time.Duration) string {
	switch {
	case skew >= time.Millisecond:
		return fmtSkew(skew) + " ahead of"
	case skew <= -time.Millisecond:
		return fmtSkew(skew) + " behind"
	}
	return "in step with"
}

// fmtSkew is the size of a skew for a message.
func fmtSkew(d time.Duration) string {
	d = abs(d)
	if d >= time.Minute {
		return d.Round(time.Second).String()
	}
	return fmtDur(d)
}

func abs(d time.Duration) time.Duration {
	if d < 0 {
		return -d
	}
	return d
}

// clockWithAzure makes every clock check that does not read Azure's Date judged with one that
// does (the configuration server's or the appliance's): once that one knows how far the
// coordinator's clock is from Azure's, the others are corrected by it (JudgeClockWith).
func clockWithAzure(checks []Check) {
	ref := ""
	for _, c := range checks {
		if c.Kind == result.CheckClock && c.Address != "" {
			ref = c.ID
			break
		}
	}
	if ref == "" {
		return
	}
	for i, c := range checks {
		if c.Kind == result.CheckClock && c.Address == "" {
			checks[i].JudgedWith = ref
		}
	}
}

// JudgeClockWith re-judges a host's clock (measured against the coordinator) with the clock
// check that read Azure's Date: the coordinator's own offset from Azure, seen from that host
// both ways, is taken out, so a coordinator whose clock is off does not fail every host. When
// the reference read no Date, the host's verdict stands.
func JudgeClockWith(held result.Result, ref *result.Result) result.Result {
	if ref == nil || held.Status == result.Error || held.Status == result.Skip {
		return held
	}
	hs, ok1 := held.Metrics.Float(result.MetricSkewMS)
	he, ok2 := held.Metrics.Float(result.MetricSkewErrorMS)
	rs, ok3 := ref.Metrics.Float(result.MetricSkewMS)
	re, ok4 := ref.Metrics.Float(result.MetricSkewErrorMS)
	as, ok5 := ref.Metrics.Float(result.MetricAzureSkewMS)
	ae, ok6 := ref.Metrics.Float(result.MetricAzureSkewErrorMS)
	if !(ok1 && ok2 && ok3 && ok4 && ok5 && ok6) {
		return held
	}
	coordVsAzure := time.Duration((as - rs) * float64(time.Millisecond))
	skew := time.Duration((hs + as - rs) * float64(time.Millisecond))
	bar := time.Duration((he + re + ae) * float64(time.Millisecond))
	if abs(coordVsAzure) <= clockWarn/4 {
		return held // the coordinator is in step with Azure: the host's own figure stands
	}
	held.Metrics[result.MetricAzureSkewMS] = result.Millis(skew)
	held.Metrics[result.MetricAzureSkewErrorMS] = result.Millis(bar)
	held.Message = fmt.Sprintf("%s's clock is %s Azure's (±%s): measured against the coordinator, whose own clock is %s Azure's as %s's reading of Azure's Date shows",
		held.From, aheadBehind(skew), fmtDur(bar), aheadBehind(coordVsAzure), ref.From)
	held.Hint = ""
	var why string
	held.Status, why = judgeSkew(skew, bar)
	held.Message += why
	if held.Status != result.Pass {
		held.Hint = fmt.Sprintf("Synchronise %s's clock (Windows: w32tm /resync; Linux: chrony or systemd-timesyncd). The coordinator's clock is off too: synchronise the machine running netprobe.", held.From)
	}
	return held
}
