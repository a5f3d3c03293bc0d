package engine

import (
	"fmt"
	"net"
	"strconv"
	"strings"

	"github.com/netprobe/netprobe/internal/probes"
	"github.com/netprobe/netprobe/internal/result"
	"github.com/netprobe/netprobe/internal/topology"
)

// Who answered a refused port check, and the packets that prove it (issue 16): the probe
// decides (probes/answer.go); here the result says it, and the check's packets go to the
// evidence writer.

// AddAnswer writes who answered into a result's metrics; nothing when a is nil (the probe
// was not refused, or ran where nothing could look).
func AddAnswer(r *result.Result, a *probes.Answer) {
	if a == nil {
		return
	}
	if r.Metrics == nil {
		r.Metrics = result.Metrics{}
	}
	r.Metrics[result.MetricAnswerFrom] = a.From.String()
	r.Metrics[result.MetricAnswerDetail] = a.Detail
	if a.Hops > 0 {
		r.Metrics[result.MetricAnswerHops] = a.Hops
	}
	if a.Device != "" {
		r.Metrics[result.MetricAnswerIP] = a.Device
	}
	if a.TTL > 0 {
		r.Metrics[result.MetricAnswerTTL] = a.TTL
	}
	if a.HostTTL > 0 {
		r.Metrics[result.MetricHostTTL] = a.HostTTL
	}
}

// JudgeAnswer adds who answered to a judged port result. A refusal the host did not send
// changes what the result says: not "nothing listens" but a device that forges the host's
// answer, which is where the rule must change.
func JudgeAnswer(c Check, r result.Result, m probes.PortResult) result.Result {
	a := m.Answer
	AddAnswer(&r, a)
	if a == nil || r.Status == result.Pass {
		return r
	}
	src := m.SourceIP
	if src == "" {
		src = c.FromAddress
	}
	allow := fmt.Sprintf("allow %s %s -> %s", name(c.Proto), src, c.Target())
	switch a.From {
	case probes.AnswerDevice:
		r.Message = fmt.Sprintf("%s cannot reach %s on %s: %s", c.From, c.To, c.PortProto(), a.Detail)
		at := "on the path"
		if a.Device != "" {
			at = fmt.Sprintf("at %s (hop %d from %s)", a.Device, a.Hops, c.From)
		} else if a.Hops > 0 {
			at = fmt.Sprintf("%d hop(s) from %s", a.Hops, c.From)
		}
		if a.Packet == "tcp-reset" {
			r.Hint = fmt.Sprintf("A firewall %s forges the host's reset. %s there%s.", at, capitalize(allow), codeSuffix(c))
		} else {
			r.Hint = fmt.Sprintf("A router or firewall %s refuses it (%s), not the host: %s there%s.", at, a.Packet, allow, codeSuffix(c))
		}
	case probes.AnswerHost:
		r.Message += "; the host itself sent the refusal (" + a.Packet + ", TTL " + strconv.Itoa(a.TTL) + " as its own answers)"
		switch by, _ := r.Metrics[result.MetricAnsweredBy].(string); by {
		case AnsweredResponder.String(), AnsweredService.String():
			what := "the netprobe responder"
			if by == AnsweredService.String() {
				what = "a service"
			}
			r.Hint = fmt.Sprintf("The host itself refused it, though %s listens on the port: its own firewall rejects the flow. In the host's firewall, %s%s.", what, allow, codeSuffix(c))
		}
	}
	return r
}

// refPorts are the destination's TCP ports known to be open for a port check: the control
// port of its agent, whose SYN-ACK gives the host's own TTL when the check is refused (a UDP
// check too: the TTL is the host's, whatever the protocol).
func refPorts(c Check) []uint16 {
	if c.ToAgent == "" {
		return nil
	}
	_, p, err := net.SplitHostPort(c.ToAgent)
	if err != nil {
		return nil
	}
	n, err := strconv.ParseUint(p, 10, 16)
	if err != nil || n == 0 || (c.Proto == topology.ProtoTCP && int(n) == c.Port) {
		return nil
	}
	return []uint16{uint16(n)}
}

// saveEvidence hands a check's packets to the evidence writer when the check did not pass,
// and names the file in the result; without packets it says why.
func (st *runState) saveEvidence(r *result.Result, m probes.PortResult) {
	if st.r.Evidence == nil || r.Status == result.Pass || r.Status == result.Skip || r.Status == result.Error {
		return
	}
	if r.Metrics == nil {
		r.Metrics = result.Metrics{}
	}
	if m.Capture == nil {
		why := m.CaptureError
		if why == "" {
			why = "the agent returned no packets"
		}
		r.Metrics[result.MetricEvidenceError] = why
		return
	}
	file, err := st.r.Evidence(r.ID, m.Capture)
	if err != nil {
		r.Metrics[result.MetricEvidenceError] = err.Error()
		return
	}
	r.Evidence = file
}

func capitalize(s string) string {
	if s == "" {
		return s
	}
	return strings.ToUpper(s[:1]) + s[1:]
}
