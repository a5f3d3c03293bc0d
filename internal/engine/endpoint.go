package engine

import (
	"context"
	"errors"
	"fmt"
	"strings"

	"github.com/netprobe/netprobe/internal/agent"
	"github.com/netprobe/netprobe/internal/probes"
	"github.com/netprobe/netprobe/internal/result"
	"github.com/netprobe/netprobe/internal/topology"
)

// endpoint checks an ASR service endpoint from the configuration server: the name resolves,
// the port answers, and for 443 a TLS handshake completes with a certificate nobody replaced.
func (st *runState) endpoint(ctx context.Context, p Prober, c Check) result.Result {
	if c.Proto == topology.ProtoUDP {
		// Time sources (NTP) answer no echo: a UDP probe cannot tell open from filtered, so
		// resolving the name is what can be checked.
		var d probes.DNSResult
		if err := st.callProbe(ctx, p, c.FromAgent, agent.KindDNS, c.Timeout, probes.DNSRequest{Name: c.Address}, &d); err != nil {
			return probeFailed(c, err)
		}
		return JudgeEndpointDNS(c, d)
	}
	var m probes.TLSResult
	err := st.callProbe(ctx, p, c.FromAgent, agent.KindTLS, 2*c.Timeout, probes.TLSRequest{Address: c.Target(), Proxy: c.Proxy}, &m)
	switch {
	case err == nil || m.HandshakeError != "" || m.Version != "":
		return JudgePrivateEndpoint(c, m, SoftenEndpoint(c, JudgeTLS(c, m)))
	case controlFailure(ctx, err):
		return Errored(c, err, agentHint(c, err))
	}
	return SoftenEndpoint(c, JudgeEndpointUnreached(c, err))
}

// SoftenEndpoint turns an endpoint's fail into a warn where the fail says nothing certain about
// the estate: a representative name (a filtering firewall or proxy that allows exactly the
// documented wildcard refuses its bare zone, as Azure Firewall does for a domain apex), an
// optional endpoint (the message says what is lost), or an undocumented one.
func SoftenEndpoint(c Check, r result.Result) result.Result {
	if r.Status != result.Fail {
		return r
	}
	switch {
	case c.Representative:
		r.Status = result.Warn
		r.Message += fmt.Sprintf(" (%s is only a representative of %s: a firewall or proxy that allows exactly the wildcard may refuse it; the vault's own names under it were not tested)", c.Address, c.Pattern)
		r.Hint = "Name the vault's own endpoints in the topology (azure: storage accounts, key_vault, endpoints) so netprobe tests those; " + r.Hint
	case c.Impact != "":
		r.Status = result.Warn
		r.Message += " (optional: without it, " + c.Impact + ")"
	default:
		demote(c, &r)
	}
	return r
}

// JudgeEndpointUnreached judges an endpoint that could not be reached at all. A name that does
// not exist in DNS fails when it is the vault's own (the configuration server cannot find it),
// but a representative name netprobe picked under a wildcard says nothing about the vault's
// names: it is a warn that asks for the real ones, never a network failure of the estate.
func JudgeEndpointUnreached(c Check, err error) result.Result {
	r := base(c)
	r.Status = result.Fail
	switch {
	case errors.Is(err, probes.ErrNoName) && c.Representative:
		r.Status = result.Warn
		r.Message = fmt.Sprintf("%s: %s, the name netprobe tests for %s, does not resolve here; the vault's own names under it were not tested", c.From, c.Address, c.Pattern)
		r.Hint = fmt.Sprintf("Name the vault's own endpoints in the topology (azure.endpoints, azure.cache_storage_accounts) so netprobe tests those; %s must resolve and answer on %d from %s.", c.Pattern, c.Port, c.From)
	case errors.Is(err, probes.ErrProxy):
		r.Message = fmt.Sprintf("%s -> %s through its proxy %s: %v", c.From, c.Target(), c.Proxy, err)
		r.Hint = fmt.Sprintf("Let the proxy %s connect to %s on %d without authentication (ASR supports only an unauthenticated HTTP proxy), or exempt it.", c.Proxy, c.Address, c.Port)
	case errors.Is(err, probes.ErrNoName):
		r.Message = fmt.Sprintf("%s cannot resolve %s: %v", c.From, c.Address, err)
		r.Hint = fmt.Sprintf("Fix DNS on %s: ASR's endpoints must resolve there (for private endpoints, the privatelink zone must answer with the private address).", c.From)
	default:
		r.Message = fmt.Sprintf("%s cannot reach %s: %v", c.From, c.Target(), err)
		r.Hint = fmt.Sprintf("Allow outbound https from %s to %s (directly or through the proxy ASR is configured with); the configuration server must stay connected to Azure during reprotect and failback.", c.From, c.Address)
	}
	return r
}

// JudgeEndpointDNS passes when the name resolves.
func JudgeEndpointDNS(c Check, d probes.DNSResult) result.Result {
	r := base(c)
	var addrs []string
	for _, a := range d.Answers {
		addrs = append(addrs, a.Records...)
	}
	if len(addrs) == 0 {
		r.Status = result.Fail
		r.Message = fmt.Sprintf("%s cannot resolve %s: %s", c.From, c.Address, d.Detail)
		r.Hint = "Fix DNS on the configuration server: ASR's endpoints must resolve."
		return r
	}
	r.Status = result.Pass
	r.Message = fmt.Sprintf("%s resolves %s to %s", c.From, c.Address, strings.Join(addrs, ", "))
	return r
}

// endpointChecks plans an ASR service endpoint flow, through the source host's proxy when it
// has one (the appliance's services all go through it).
func endpointChecks(t *topology.Topology, f topology.Flow, c Check) []Check {
	c.Kind = result.CheckEndpoint
	if h := t.Hosts[f.From]; h != nil {
		c.Proxy = h.Proxy
	}
	c.ID = fmt.Sprintf("endpoint/%s/%s/%d/%s", f.From, f.To, f.Port, name(c.Proto))
	if privateLinkName(f.Address) {
		_, c.Ranges = insideRanges(t, "") // a private endpoint's address: in a site's networks
	}
	return []Check{c}
}
