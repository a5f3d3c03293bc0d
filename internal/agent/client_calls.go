package agent

import (
	"context"
	"encoding/json"
	"fmt"
	"time"

	"github.com/netprobe/netprobe/internal/bwtest"
	"github.com/netprobe/netprobe/internal/capacity"
	"github.com/netprobe/netprobe/internal/probes"
)

// Hello asks the agent who it is; it is also the cheapest authenticated round trip.
func (c *Client) Hello(ctx context.Context) (Info, error) {
	var info Info
	err := c.call(ctx, PathHello, HelloRequest{V: Version}, &info)
	return info, err
}

// Probe runs a probe of kind on the agent: params is the probes request type, result points
// at the probes result type. A probe that ran but could not measure returns its result (if
// any) and an error wrapping the probes sentinel (probes.ErrTimeout, ...).
func (c *Client) Probe(ctx context.Context, kind string, params, result any) error {
	raw, err := json.Marshal(params)
	if err != nil {
		return fmt.Errorf("agent client: encode %s params: %w", kind, err)
	}
	ctx, cancel := c.withDeadline(ctx)
	defer cancel()
	req := ProbeRequest{V: Version, Kind: kind, Params: raw}
	if dl, ok := ctx.Deadline(); ok {
		budget := time.Until(dl) - probeMargin
		if budget < probeMargin {
			budget = time.Until(dl) / 2
		}
		req.TimeoutMS = max(1, budget.Milliseconds())
	}
	var resp ProbeResponse
	if err := c.call(ctx, PathProbe, req, &resp); err != nil {
		return err
	}
	if resp.Kind != kind {
		return fmt.Errorf("%w: asked for a %s probe, the agent answered %q", ErrProtocol, kind, resp.Kind)
	}
	if len(resp.Result) > 0 {
		if err := json.Unmarshal(resp.Result, result); err != nil {
			return fmt.Errorf("%w: %s result: %v", ErrProtocol, kind, err)
		}
	}
	if resp.Error != nil {
		return probeError(kind, resp.Error)
	}
	return nil
}

// probeAs runs a probe of kind on the agent and decodes its result as T (Client.Probe).
func probeAs[T any](ctx context.Context, c *Client, kind string, req any) (T, error) {
	var res T
	err := c.Probe(ctx, kind, req, &res)
	return res, err
}

// Port runs probes.Port on the agent.
func (c *Client) Port(ctx context.Context, req probes.PortRequest) (probes.PortResult, error) {
	return probeAs[probes.PortResult](ctx, c, KindPort, req)
}

// Latency runs probes.Latency on the agent.
func (c *Client) Latency(ctx context.Context, req probes.LatencyRequest) (probes.LatencyResult, error) {
	return probeAs[probes.LatencyResult](ctx, c, KindLatency, req)
}

// Route asks the agent's OS how it would route toward dest (an IP address).
func (c *Client) Route(ctx context.Context, dest string) (probes.RouteResult, error) {
	return probeAs[probes.RouteResult](ctx, c, KindRoute, RouteRequest{Dest: dest})
}

// ICMP runs probes.ICMP on the agent.
func (c *Client) ICMP(ctx context.Context, req probes.ICMPRequest) (probes.ICMPResult, error) {
	return probeAs[probes.ICMPResult](ctx, c, KindICMP, req)
}

// DNS runs probes.DNS on the agent (the agent's resolvers, or req.Servers).
func (c *Client) DNS(ctx context.Context, req probes.DNSRequest) (probes.DNSResult, error) {
	return probeAs[probes.DNSResult](ctx, c, KindDNS, req)
}

// TLS runs probes.TLS on the agent.
func (c *Client) TLS(ctx context.Context, req probes.TLSRequest) (probes.TLSResult, error) {
	return probeAs[probes.TLSResult](ctx, c, KindTLS, req)
}

// Path runs probes.Path (a traceroute) on the agent.
func (c *Client) Path(ctx context.Context, req probes.PathRequest) (probes.PathResult, error) {
	return probeAs[probes.PathResult](ctx, c, KindPath, req)
}

// PMTU runs probes.PMTU (path MTU search) on the agent.
func (c *Client) PMTU(ctx context.Context, req probes.PMTURequest) (probes.PMTUResult, error) {
	return probeAs[probes.PMTUResult](ctx, c, KindPMTU, req)
}

// Bandwidth has the agent measure throughput toward a bandwidth responder at address (open
// one on the far agent with OpenResponders and Listen{Proto: ProtoBandwidth}, and pass its
// ResponderPort.Ticket as p.TestID: the responder admits no other test). Without a ctx
// deadline the call waits for warm-up + duration + a margin, not the client's default timeout.
//
// With p.OnInterval set, the agent streams each interval's rate as it is measured and
// OnInterval is called with it on the calling goroutine (see BandwidthStream).
func (c *Client) Bandwidth(ctx context.Context, address string, p bwtest.Params) (bwtest.Result, error) {
	if p.Direction == 0 {
		p.Direction = bwtest.Send // the zero value cannot travel; Send is bwtest's default too
	}
	if _, ok := ctx.Deadline(); !ok {
		d := BandwidthBudget(p)
		if d <= 0 || d > DefaultBounds().BandwidthDuration {
			d = DefaultBounds().BandwidthDuration // the agent refuses more; this only bounds the wait
		}
		var cancel context.CancelFunc
		ctx, cancel = context.WithTimeout(ctx, d+BandwidthSlack+c.cfg.Timeout)
		defer cancel()
	}
	req := BandwidthRequest{V: Version, Address: address, Params: p}
	var onEvent func(json.RawMessage) error
	if p.OnInterval != nil {
		req.Stream = true
		onEvent = func(msg json.RawMessage) error {
			var iv BandwidthInterval
			if err := json.Unmarshal(msg, &iv); err != nil {
				return fmt.Errorf("bandwidth interval: %w", err)
			}
			p.OnInterval(iv.Interval, capacity.BitsPerSecond(iv.BPS))
			return nil
		}
	}
	var resp BandwidthResponse
	if err := c.callStream(ctx, PathBandwidthRun, req, onEvent, &resp); err != nil {
		return bwtest.Result{}, err
	}
	if resp.Error != nil {
		return bwtest.Result{}, bandwidthError(resp.Error)
	}
	if resp.Result == nil {
		return bwtest.Result{}, fmt.Errorf("%w: %s: bandwidth answer has neither result nor error", ErrProtocol, c.addr)
	}
	return *resp.Result, nil
}

// BandwidthStream is Bandwidth with a live view: onInterval gets each interval's total rate
// as the agent measures it (1-based i), on the calling goroutine. The answer is authenticated
// line by line (StreamLine), so onInterval sees only rates the agent signed.
func (c *Client) BandwidthStream(ctx context.Context, address string, p bwtest.Params, onInterval func(i int, rate capacity.BitsPerSecond)) (bwtest.Result, error) {
	p.OnInterval = onInterval
	return c.Bandwidth(ctx, address, p)
}

// OpenResponders asks the agent for temporary listeners that live until CloseResponders, or
// the agent's responder TTL cap (10 minutes by default), whichever first. Each port comes back
// opened, held (a real service has it, left alone) or failed.
func (c *Client) OpenResponders(ctx context.Context, listen []Listen) (Responders, error) {
	return c.OpenRespondersTTL(ctx, listen, 0)
}

// OpenRespondersTTL is OpenResponders with a shorter lifetime; the agent shortens ttl to its
// cap, never extends it. Responders.ExpiresAt says what was granted.
func (c *Client) OpenRespondersTTL(ctx context.Context, listen []Listen, ttl time.Duration) (Responders, error) {
	var r Responders
	err := c.call(ctx, PathRespondersOpen, OpenRespondersRequest{V: Version, Listen: listen, TTLMS: ttl.Milliseconds()}, &r)
	return r, err
}

// CloseResponders closes the responder set id. Closing an unknown or expired id is not an error.
func (c *Client) CloseResponders(ctx context.Context, id string) error {
	var r CloseRespondersResponse
	return c.call(ctx, PathResponderClose, CloseRespondersRequest{V: Version, ID: id}, &r)
}

// ResponderStatus asks how the agent's responders on ls are doing: one ResponderHealth per
// port, in order (Opened, Down while the agent re-opens a failed socket, Gone when none of its
// responders listens there).
func (c *Client) ResponderStatus(ctx context.Context, ls []Listen) ([]ResponderHealth, error) {
	var r ResponderStatusResponse
	if err := c.call(ctx, PathResponderStatus, ResponderStatusRequest{V: Version, Ports: ls}, &r); err != nil {
		return nil, err
	}
	if len(r.Ports) != len(ls) {
		return nil, fmt.Errorf("%w: %s: asked for %d responder ports, the agent answered %d", ErrProtocol, c.addr, len(ls), len(r.Ports))
	}
	return r.Ports, nil
}

// HostFacts asks for the readiness facts; retention is the topology's retention path or "".
func (c *Client) HostFacts(ctx context.Context, retention string) (HostFacts, error) {
	var f HostFacts
	err := c.call(ctx, PathHostFacts, HostFactsRequest{V: Version, Retention: retention}, &f)
	return f, err
}
