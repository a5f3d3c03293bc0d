package engine

import (
	"context"
	"crypto/tls"
	"fmt"
	"net"
	"strconv"
	"time"

	"github.com/netprobe/netprobe/internal/agent"
	"github.com/netprobe/netprobe/internal/probes"
	"github.com/netprobe/netprobe/internal/result"
	"github.com/netprobe/netprobe/internal/topology"
)

// The replication appliance's own ports (RDM-APL-LISTEN): the mobility agents reach its proxy
// server (RCM) on 443 and its process server on the data port, over TLS 1.2 ("Azure Site
// Recovery now uses TLS 1.2 protocol": asr-modernized.md 3.6). The appliance's agent shakes
// hands with both on its own loopback: a service must answer, with TLS 1.2 or later. The
// certificate is the appliance's own, issued for its FQDN: its chain is not judged here.

const applianceSource = "matrix: https://learn.microsoft.com/azure/site-recovery/replication-appliance-support-matrix"

// applianceChecks plans the listening checks of every appliance with an agent.
func applianceChecks(t *topology.Topology, timeout time.Duration) []Check {
	var out []Check
	phase := t.Settings.Phases[0]
	for _, a := range topology.Appliances(t) {
		if a.Agent == "" {
			continue
		}
		for _, p := range []struct {
			port int
			what string
		}{{443, "its proxy server (RCM), which the mobility agents reach for replication management"},
			{topology.ApplianceDataPort(t, a), "its process server, which receives the replication data"}} {
			out = append(out, Check{
				ID: fmt.Sprintf("host/%s/listen-%d", a.Name, p.port), Kind: result.CheckTLS, Rule: "RDM-APL-LISTEN", Phase: phase,
				From: a.Name, To: a.Name, Address: "127.0.0.1", Port: p.port, Proto: topology.ProtoTCP, FromAgent: a.Agent,
				Confidence: topology.ConfDoc, Source: applianceSource, Timeout: timeout,
				Why: fmt.Sprintf("the appliance listens on %d/tcp with TLS 1.2 or later: %s", p.port, p.what),
			})
		}
	}
	return out
}

func (st *runState) tlsListen(ctx context.Context, p Prober, c Check) result.Result {
	var m probes.TLSResult
	err := st.callProbe(ctx, p, c.FromAgent, agent.KindTLS, 2*c.Timeout, probes.TLSRequest{Address: net.JoinHostPort(c.Address, strconv.Itoa(c.Port))}, &m)
	if err != nil && controlFailure(ctx, err) {
		return Errored(c, err, agentHint(c, err))
	}
	return JudgeListen(c, m, err)
}

// JudgeListen: a TLS 1.2+ handshake passes; nothing listening, or a service that does not
// speak TLS or speaks an older version, fails with what to do.
func JudgeListen(c Check, m probes.TLSResult, err error) result.Result {
	r := base(c)
	r.Target = net.JoinHostPort(c.Address, strconv.Itoa(c.Port))
	switch {
	case err != nil:
		r.Status = result.Fail
		r.Message = fmt.Sprintf("%s: nothing answers on %d/tcp: %v", c.From, c.Port, err)
		r.Hint = fmt.Sprintf("Start the replication appliance's services on %s (IIS and the proxy server on 443, the process server on the data port), and keep %d free of anything else.", c.From, c.Port)
	case m.HandshakeError != "":
		r.Status = result.Fail
		r.Message = fmt.Sprintf("%s: %d/tcp answers but no TLS handshake completed: %s", c.From, c.Port, m.HandshakeError)
		r.Hint = fmt.Sprintf("Something other than the appliance's services holds %d/tcp on %s: the appliance needs it for itself (no other website on 443).", c.Port, c.From)
	case tlsVersionBelow12(m.Version):
		r.Status = result.Fail
		r.Message = fmt.Sprintf("%s: %d/tcp speaks %s; ASR uses TLS 1.2", c.From, c.Port, m.Version)
		r.Hint = "Enable TLS 1.2 in SChannel on the appliance (client and server keys), as ASR's transport-layer-security page describes."
	default:
		r.Status = result.Pass
		r.Message = fmt.Sprintf("%s listens on %d/tcp with %s", c.From, c.Port, m.Version)
	}
	if m.Version != "" {
		r.Metrics = result.Metrics{result.MetricTLSVersion: m.Version}
	}
	return r
}

func tlsVersionBelow12(v string) bool {
	// 0x0300 is SSL 3.0 (crypto/tls keeps its name for reports, deprecated as a constant).
	for _, old := range []uint16{0x0300, tls.VersionTLS10, tls.VersionTLS11} {
		if v == tls.VersionName(old) {
			return true
		}
	}
	return false
}
