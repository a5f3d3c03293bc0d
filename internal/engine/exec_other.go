package engine

import (
	"context"
	"errors"
	"fmt"
	"net/netip"
	"strings"
	"time"

	"github.com/netprobe/netprobe/internal/agent"
	"github.com/netprobe/netprobe/internal/probes"
	"github.com/netprobe/netprobe/internal/result"
	"github.com/netprobe/netprobe/internal/topology"
)

// Probe kinds the agent runs beyond those it names as constants.
const (
	kindPMTU = "pmtu"
	kindPath = "path"
)

// probeFailed turns "the agent cannot run this here" (no raw socket privilege, an OS without
// the probe) into a skip that says why, and anything else into an error.
func probeFailed(c Check, err error) result.Result {
	if errors.Is(err, probes.ErrPermission) || errors.Is(err, probes.ErrUnsupported) {
		return Skipped(c, fmt.Sprintf("the agent on %s cannot run this probe: %v", c.From, err))
	}
	return Errored(c, err, agentHint(c, err))
}

// icmpCount is how many echoes an ICMP reachability check sends: enough to see loss, few
// enough to stay quiet on a thousand-VM estate.
const icmpCount = 3

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
	r.Metrics = map[string]any{"sent": m.Sent, "received": m.Received, "loss": m.Loss, "method": m.Method}
	if m.Received > 0 {
		r.Metrics["rtt_ms"] = ms(m.Avg)
	}
	blocked := c.Expect == "blocked" || c.Expect == "filtered" || c.Expect == "closed"
	switch {
	case m.Received == 0:
		r.Status = result.Fail
		r.State, r.Reason = "filtered", "timeout"
		if len(m.Errors) > 0 {
			r.State, r.Reason = icmpErrorState(m.Errors[0])
			r.Metrics["icmp_errors"] = strings.Join(m.Errors, "; ")
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
	if c.Confidence == "doc" {
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

func (st *runState) pmtu(ctx context.Context, p Prober, c Check) result.Result {
	req := probes.PMTURequest{Address: c.Address, Min: c.MTUMin, Max: c.MTUMax}
	// A binary search of DF probes: about log2(max-min) rounds, each up to one timeout.
	var m probes.PMTUResult
	err := st.callProbe(ctx, p, c.FromAgent, kindPMTU, 12*c.Timeout, req, &m)
	if (errors.Is(err, probes.ErrPermission) || errors.Is(err, probes.ErrUnsupported)) && st.respond[c.ToAgent][agent.Listen{Proto: "udp", Port: echoPort(c.ToAgent)}] == agent.Opened {
		// No ICMP socket for the agent (unprivileged): DF datagrams to the destination
		// agent's UDP echo measure the same path, where the agent's OS can set DF on UDP.
		req.Mode, req.Address = "udp", joinHostPort(c.Address, echoPort(c.ToAgent))
		m = probes.PMTUResult{}
		err = st.callProbe(ctx, p, c.FromAgent, kindPMTU, 12*c.Timeout, req, &m)
	}
	if err != nil {
		return probeFailed(c, err)
	}
	return JudgePMTU(c, m)
}

// JudgePMTU fails on a black hole (large packets vanish silently: TCP sessions hang once they
// send full-size segments) and on a path MTU below the link's declared one.
func JudgePMTU(c Check, m probes.PMTUResult) result.Result {
	r := base(c)
	r.Target = c.Address
	r.Metrics = map[string]any{"mtu": m.MTU, "mss": m.MSS, "blackhole": m.Blackhole}
	if c.ExpectedMTU > 0 {
		r.Metrics["expected_mtu"] = c.ExpectedMTU
	}
	switch {
	case m.Blackhole:
		r.Status = result.Fail
		r.Message = fmt.Sprintf("%s -> %s: packets above %d bytes vanish without \"fragmentation needed\": an MTU black hole", c.From, c.To, m.MTU)
		r.Hint = fmt.Sprintf("Clamp TCP MSS to %d on the VPN gateway (or let ICMP type 3 code 4 through), or replication stalls on full-size segments.", m.MSS)
	case c.ExpectedMTU > 0 && m.MTU < c.ExpectedMTU:
		r.Status = result.Warn
		r.Message = fmt.Sprintf("%s -> %s: path MTU %d is below the link's declared %d", c.From, c.To, m.MTU, c.ExpectedMTU)
		r.Hint = fmt.Sprintf("Set links[].mtu to %d, or find the hop that lowers it; clamp MSS to %d.", m.MTU, m.MSS)
	default:
		r.Status = result.Pass
		how := ""
		if m.FragNeeded {
			how = fmt.Sprintf(", larger packets get \"fragmentation needed\" (next-hop MTU %d from %s)", m.NextHopMTU, m.FragFrom)
		}
		r.Message = fmt.Sprintf("%s -> %s: path MTU %d%s; MSS %d", c.From, c.To, m.MTU, how, m.MSS)
	}
	return r
}

func (st *runState) path(ctx context.Context, p Prober, c Check) result.Result {
	req := probes.PathRequest{Address: c.Address, Mode: "icmp"}
	var m probes.PathResult
	if err := st.callProbe(ctx, p, c.FromAgent, kindPath, 10*c.Timeout, req, &m); err != nil {
		return probeFailed(c, err)
	}
	return JudgePath(c, m)
}

// JudgePath judges FB-LINK: failback needs "private access" over a site-to-site VPN or
// ExpressRoute private peering (prepare-failback), that is no hop on the public internet. A
// hop counts as inside when it answers from a private or loopback address, from a declared
// site network, or from the link's own peering range (ExpressRoute private peering may number
// its peering subnets with public addresses). NAT is not visible here: the port checks show it
// (the source address the far agent saw).
func JudgePath(c Check, m probes.PathResult) result.Result {
	r := base(c)
	r.Target = c.Address
	hops := make([]string, 0, len(m.Hops))
	shown := make([]string, 0, len(m.Hops)) // with traceroute's !H, !X... marks and declared ranges
	var outside []string
	inside := len(m.Hops) > 0
	for _, h := range m.Hops {
		if h.Addr == "" {
			hops, shown = append(hops, "*"), append(shown, "*")
			inside = false
			continue
		}
		show := h.Addr
		switch in, by := c.hopInside(h.Addr); {
		case !in:
			outside = append(outside, h.Addr)
			inside = false
		case by != "":
			show += " (" + by + ")"
		}
		if h.Note != "" {
			show += " " + h.Note
		}
		hops, shown = append(hops, h.Addr), append(shown, show)
	}
	r.Metrics = map[string]any{"hops": hops, "private": inside, "reached": m.Reached}
	if len(outside) > 0 {
		r.Metrics["outside"] = outside
	}
	route := strings.Join(shown, " -> ")
	notReached := ""
	if !m.Reached {
		notReached = fmt.Sprintf("; the trace did not reach %s", c.Address)
	}
	switch {
	case len(outside) > 0 && c.LinkKind == topology.LinkExpressRoutePrivate:
		r.Status = result.Warn
		r.Message = fmt.Sprintf("%s -> %s over %s (ExpressRoute private peering): %s answered from public addresses outside every declared range: %s%s",
			c.From, c.Address, c.To, strings.Join(outside, ", "), route, notReached)
		r.Hint = fmt.Sprintf("ExpressRoute private peering may number its peering subnets with public addresses. If %s belong to the circuit's peering, declare those subnets in links[].peering (links.%s.peering) and netprobe counts them inside; if they do not, the traffic crosses the public internet: route the Azure networks over the private peering.",
			strings.Join(outside, ", "), c.To)
	case len(outside) > 0:
		left := "leaves the private network"
		if c.LinkKind == topology.LinkVPN {
			left = "left the tunnel: it leaves the private network"
		}
		r.Status = result.Fail
		r.Message = fmt.Sprintf("%s -> %s over %s %s at %s: %s%s", c.From, c.Address, c.To, left, outside[0], route, notReached)
		r.Hint = fmt.Sprintf("Failback needs a site-to-site VPN or ExpressRoute private peering, off the public internet: route the Azure networks over the tunnel. If %s is a gateway of the link answering from its own public address, declare it in links[].peering (links.%s.peering).", outside[0], c.To)
	case !m.Reached:
		r.Status = result.Warn
		r.Message = fmt.Sprintf("%s -> %s over %s: the trace did not reach %s (%s)", c.From, c.Address, c.To, c.Address, route)
		r.Hint = "Routers or firewalls on the path do not answer traceroute; the port checks tell whether the flows pass."
	case !inside:
		// Reached, no public hop, but some hop stayed silent (VPN gateways often do): privacy
		// cannot be proven, nothing shows it is broken.
		r.Status = result.Warn
		r.Message = fmt.Sprintf("%s -> %s over %s: every hop that answered is inside the estate, but some stayed silent: %s", c.From, c.Address, c.To, route)
		r.Hint = "Silent hops (often the VPN gateways) cannot be checked; the NAT check of the port results shows whether addresses are rewritten."
	default:
		r.Status = result.Pass
		r.Message = fmt.Sprintf("%s -> %s over %s stays private (off the public internet): %s; NAT is judged by the port, latency and bandwidth checks (the source address the far agent saw)", c.From, c.Address, c.To, route)
	}
	return r
}

// hopInside reports whether a hop's address is inside the estate, and by which declared range
// when it is a public address ("" for private and loopback ones). An address that does not
// parse is not a public hop.
func (c Check) hopInside(addr string) (bool, string) {
	a, err := netip.ParseAddr(addr)
	if err != nil {
		return true, ""
	}
	a = a.Unmap()
	// Link-local addresses (169.254/16, fe80::/10) are never routed on the internet: a VPN
	// device's APIPA BGP address (Azure VPN gateways document 169.254.21.x) answers from one.
	if probes.IsPrivate(a) || a.IsLoopback() || a.IsLinkLocalUnicast() {
		return true, ""
	}
	for _, nr := range c.Ranges {
		if nr.Prefix.Contains(a) {
			return true, nr.Name
		}
	}
	return false, ""
}

// endpoint checks an ASR service endpoint from the configuration server: the name resolves,
// the port answers, and for 443 a TLS handshake completes with a certificate nobody replaced.
func (st *runState) endpoint(ctx context.Context, p Prober, c Check) result.Result {
	if c.Proto == "udp" {
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

// controlFailure reports whether err is about netprobe itself (the agent, its bounds, the
// run being cancelled) rather than about the network under test: an error, not a fail.
func controlFailure(ctx context.Context, err error) bool {
	return ctx.Err() != nil || errors.Is(err, agent.ErrAuth) || errors.Is(err, agent.ErrUnreachable) ||
		errors.Is(err, agent.ErrProtocol) || errors.Is(err, agent.ErrRefused) ||
		errors.Is(err, context.Canceled) || errors.Is(err, context.DeadlineExceeded) && !errors.Is(err, probes.ErrTimeout)
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

// JudgeTLS passes a completed handshake with a certificate that verifies and was not replaced.
func JudgeTLS(c Check, m probes.TLSResult) result.Result {
	r := base(c)
	r.Metrics = map[string]any{"rtt_ms": ms(m.RTT)}
	if m.Version != "" {
		r.Metrics["tls_version"] = m.Version
		r.Metrics["cert_subject"] = m.Subject
		if !m.NotAfter.IsZero() {
			r.Metrics["cert_expires"] = m.NotAfter.UTC().Format(time.RFC3339)
		}
	}
	switch {
	case m.HandshakeError != "":
		r.Status = result.Fail
		r.Message = fmt.Sprintf("%s reaches %s but no TLS handshake completed: %s", c.From, c.Target(), m.HandshakeError)
		r.Hint = "Something on the path answers but is not the service: a proxy or firewall that cuts TLS. Let the configuration server reach it directly or configure the proxy in ASR."
	case m.Intercepted:
		r.Status = result.Fail
		r.Message = fmt.Sprintf("%s -> %s: the certificate was replaced (issuer %s): an inspecting proxy", c.From, c.Target(), m.Issuer)
		r.Hint = "Exempt ASR's endpoints from TLS inspection."
	case !m.Verified:
		r.Status = result.Warn
		r.Message = fmt.Sprintf("%s -> %s: %s, but the certificate does not verify: %s", c.From, c.Target(), m.Version, m.VerifyError)
	default:
		r.Status = result.Pass
		r.Message = fmt.Sprintf("%s -> %s: %s, certificate %s", c.From, c.Target(), m.Version, m.Subject)
	}
	return r
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
