package agent

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net"
	"net/http"
	"net/netip"
	"net/url"
	"time"

	"github.com/netprobe/netprobe/internal/probes"
)

// probeKind is one probe the agent runs on request: prepare decodes its parameters
// strictly, checks its destinations against --allow and its footprint against the bounds,
// and returns the run to start once the rate limits agree.
type probeKind struct {
	prepare func(params json.RawMessage, g gate) (prepared, error)
}

// prepared is a probe request that passed decoding, the allowlist and the bounds.
type prepared struct {
	footprint probes.Footprint
	run       func(ctx context.Context) (any, error)
	// spent, when set, bounds what a probe that finished without error sent, from its result;
	// the byte budget gets back what the footprint reserved beyond it.
	spent func(res any) (probes.Footprint, bool)
}

// gate is what a request must pass before it runs: the allowlist for its targets, the
// bounds for its footprint.
type gate interface {
	targets(ts []string) error
	fits(f probes.Footprint) error
	// env is what the probes run with (Config.ProbeEnv); nil is the real network.
	env() *probes.Env
}

// kind adapts a probes function to the dispatcher. targets names the destinations of a request
// (host:port or an address) that --allow must cover; footprint says what it would send.
func kind[Req, Res any](fn func(context.Context, *probes.Env, Req) (Res, error), targets func(Req) []string, footprint func(Req) probes.Footprint) probeKind {
	return probeKind{prepare: func(params json.RawMessage, g gate) (prepared, error) {
		var req Req
		if err := decodeStrict(params, &req); err != nil {
			return prepared{}, err
		}
		if err := g.targets(targets(req)); err != nil {
			return prepared{}, err
		}
		f := footprint(req)
		if err := g.fits(f); err != nil {
			return prepared{}, err
		}
		env := g.env()
		p := prepared{footprint: f, run: func(ctx context.Context) (any, error) {
			return fn(ctx, env, req)
		}}
		if sp, ok := any(req).(spender[Res]); ok {
			p.spent = func(res any) (probes.Footprint, bool) {
				r, ok := res.(Res)
				if !ok {
					return probes.Footprint{}, false
				}
				return sp.Spent(r), true
			}
		}
		return p, nil
	}}
}

// spender is a request that can bound, from its result, what its probe sent (a PMTU search
// sends a fraction of the worst case its footprint reserves).
type spender[Res any] interface {
	Spent(Res) probes.Footprint
}

// builtinKinds lists the probes of internal/probes this agent runs. Add a kind here when its
// probe lands in internal/probes; until then the agent answers "unsupported probe kind".
func builtinKinds() map[string]probeKind {
	return map[string]probeKind{
		KindPort:    kind(probes.Port, func(r probes.PortRequest) []string { return []string{r.Address} }, probes.PortRequest.Footprint),
		KindLatency: kind(probes.Latency, func(r probes.LatencyRequest) []string { return []string{r.Address} }, probes.LatencyRequest.Footprint),
		// A route lookup reads the local table and sends nothing.
		KindRoute: kind(routeProbe, func(r RouteRequest) []string { return []string{r.Dest} }, func(RouteRequest) probes.Footprint { return probes.Footprint{} }),
		KindICMP:  kind(probes.ICMP, func(r probes.ICMPRequest) []string { return []string{r.Address} }, probes.ICMPRequest.Footprint),
		KindTLS: kind(probes.TLS, func(r probes.TLSRequest) []string {
			if r.Proxy != "" {
				return []string{r.Address, blobTarget(probes.BlobRequest{URL: r.Proxy})}
			}
			return []string{r.Address}
		}, probes.TLSRequest.Footprint),
		// DNS packets go to the resolvers; none named means the host's own configuration.
		KindDNS:  kind(probes.DNS, func(r probes.DNSRequest) []string { return r.Servers }, probes.DNSRequest.Footprint),
		KindPath: kind(probes.Path, func(r probes.PathRequest) []string { return []string{r.Address} }, probes.PathRequest.Footprint),
		KindPMTU: kind(probes.PMTU, func(r probes.PMTURequest) []string { return []string{r.Address} }, probes.PMTURequest.Footprint),
		// Blob throughput goes to the storage host (through the proxy when one is given); the
		// probe's own bounds (streams, chunk) and the agent's probe timeout bound it, not the
		// byte budget (probes.BlobRequest.Footprint).
		KindBlob: kind(probes.Blob, func(r probes.BlobRequest) []string { return []string{blobTarget(r)} }, probes.BlobRequest.Footprint),
	}
}

// blobTarget is the host a blob request connects to: its proxy when it has one, else the
// storage endpoint.
func blobTarget(r probes.BlobRequest) string {
	raw := r.URL
	if r.Proxy != "" {
		raw = r.Proxy
	}
	if u, err := url.Parse(raw); err == nil {
		return u.Host
	}
	return raw
}

// Probe kinds on the wire.
const (
	KindPort    = "port"
	KindLatency = "latency"
	KindRoute   = "route"
	KindICMP    = "icmp"
	KindDNS     = "dns"
	KindTLS     = "tls"
	KindPath    = "path"
	KindPMTU    = "pmtu"
	KindBlob    = "blob"
)

// RouteRequest asks the agent's OS which interface and source it would use toward Dest (an IP).
// probes.Route takes a bare address; this is its wire form.
type RouteRequest struct {
	Dest string `json:"dest"`
}

func routeProbe(ctx context.Context, _ *probes.Env, r RouteRequest) (probes.RouteResult, error) {
	a, err := netip.ParseAddr(r.Dest)
	if err != nil {
		return probes.RouteResult{}, fmt.Errorf("%w: route dest %q is not an IP address", probes.ErrInvalid, r.Dest)
	}
	return probes.Route(ctx, a)
}

// errForbidden marks a target outside the allowlist.
var errForbidden = errors.New("target not allowed")

// checkTargets refuses targets outside the allowlist. With an allowlist, a target must be an
// IP literal: a name could resolve anywhere, and resolving it here would let a request aim the
// agent at whatever the DNS answers.
func (s *Server) checkTargets(targets []string) error {
	if len(s.cfg.Allow) == 0 {
		return nil
	}
	for _, t := range targets {
		a, ok := targetAddr(t)
		if !ok {
			return &targetError{target: t, msg: "is not an IP address; this agent runs with --allow, so probe targets must be IP addresses inside it"}
		}
		allowed := false
		for _, p := range s.cfg.Allow {
			if p.Contains(a.Unmap()) {
				allowed = true
				break
			}
		}
		if !allowed {
			return &targetError{target: t, msg: "is outside this agent's --allow networks; add its network to --allow on the agent"}
		}
	}
	return nil
}

type targetError struct{ target, msg string }

func (e *targetError) Error() string { return "target " + e.target + " " + e.msg }
func (e *targetError) Unwrap() error { return errForbidden }

// targetAddr extracts the IP of "ip", "ip:port" or "[ip]:port".
func targetAddr(t string) (netip.Addr, bool) {
	if a, err := netip.ParseAddr(t); err == nil {
		return a, true
	}
	if host, _, err := net.SplitHostPort(t); err == nil {
		if a, err := netip.ParseAddr(host); err == nil {
			return a, true
		}
	}
	return netip.Addr{}, false
}

func (s *Server) handleProbe(ctx context.Context, _ *http.Request, body []byte) (any, *apiError) {
	var req ProbeRequest
	if e := decode(body, &req); e != nil {
		return nil, e
	}
	k, ok := s.kinds[req.Kind]
	if !ok {
		return nil, refuse(http.StatusNotImplemented, CodeUnsupported, "unsupported probe kind %q on this agent (it runs %v); upgrade the agent", req.Kind, s.kindNames())
	}
	p, err := k.prepare(req.Params, serverGate{s})
	switch {
	case errors.Is(err, errMalformed):
		s.metrics.probe(req.Kind, CodeBadRequest, 0)
		return nil, refuse(http.StatusBadRequest, CodeBadRequest, "%s params: %v", req.Kind, err)
	case errors.Is(err, errForbidden):
		s.metrics.probe(req.Kind, CodeForbidden, 0)
		return nil, refuse(http.StatusForbidden, CodeForbidden, "%v", err)
	case errors.Is(err, errBounds):
		s.metrics.probe(req.Kind, CodeBounds, 0)
		return nil, refuse(http.StatusUnprocessableEntity, CodeBounds, "%s probe: %v", req.Kind, err)
	case err != nil:
		return nil, refuse(http.StatusInternalServerError, CodeInternal, "%s probe: %v", req.Kind, err)
	}
	// A probe that sends nothing (a route lookup) does not count against the probe rate or
	// the byte budget, which bound the traffic an agent can be made to send.
	if p.footprint.Packets > 0 {
		if !s.probeRate.allow("") {
			return nil, refuse(http.StatusTooManyRequests, CodeRateLimited, "probe rate over this agent's bound of %g/s; lower --concurrency", s.bounds.ProbeRate)
		}
		if !s.byteRate.allowN("", float64(p.footprint.Bytes)) {
			return nil, refuse(http.StatusTooManyRequests, CodeRateLimited, "probes over this agent's byte budget of %s per second (--max-probe-byte-rate; this one may send %s): lower --concurrency or ask for fewer or smaller packets",
				fmtBytes(s.bounds.ByteRate), fmtBytes(p.footprint.Bytes))
		}
	}
	timeout := fromMS(req.TimeoutMS)
	if timeout <= 0 || timeout > s.bounds.ProbeTimeout {
		timeout = s.bounds.ProbeTimeout
	}
	ctx, cancel := context.WithTimeout(ctx, timeout)
	defer cancel()
	start := time.Now()
	res, err := p.run(ctx)
	took := time.Since(start)
	if err == nil && p.spent != nil && p.footprint.Packets > 0 {
		if used, ok := p.spent(res); ok && used.Bytes < p.footprint.Bytes {
			s.byteRate.refund("", float64(p.footprint.Bytes-used.Bytes))
		}
	}
	out := ProbeResponse{V: Version, Kind: req.Kind}
	outcome := outcomeOK
	if err != nil {
		outcome = probeErrCode(err)
		out.Error = &WireError{Code: outcome, Message: err.Error()}
	}
	s.metrics.probe(req.Kind, outcome, took)
	if res != nil {
		data, merr := json.Marshal(res)
		switch {
		case merr == nil:
			out.Result = data
		case err != nil:
			// A probe that could not run may leave a zero result whose unset enums do not
			// encode; its error is the answer.
		default:
			return nil, refuse(http.StatusInternalServerError, CodeInternal, "encode %s result: %v", req.Kind, merr)
		}
	}
	return out, nil
}

func (s *Server) kindNames() []string {
	names := make([]string, 0, len(s.kinds))
	for k := range s.kinds {
		names = append(names, k)
	}
	return names
}

// Probe error codes on the wire, one per probes sentinel.
var probeErrCodes = []struct {
	code string
	err  error
}{
	{"timeout", probes.ErrTimeout},
	{"refused", probes.ErrRefused},
	{"unreachable", probes.ErrUnreachable},
	{"permission", probes.ErrPermission},
	{"unsupported", probes.ErrUnsupported},
	{"invalid", probes.ErrInvalid},
	{"noname", probes.ErrNoName},
	{"proxy", probes.ErrProxy},
}

func probeErrCode(err error) string {
	for _, c := range probeErrCodes {
		if errors.Is(err, c.err) {
			return c.code
		}
	}
	if errors.Is(err, context.DeadlineExceeded) {
		return "timeout"
	}
	return "other"
}

// probeError rebuilds a probe's classified error on the client side.
func probeError(kind string, w *WireError) error {
	for _, c := range probeErrCodes {
		if c.code == w.Code {
			return &remoteProbeError{kind: kind, msg: w.Message, class: c.err}
		}
	}
	return &remoteProbeError{kind: kind, msg: w.Message}
}

// remoteProbeError is a probe's error as the agent reported it; it wraps the probes sentinel.
type remoteProbeError struct {
	kind, msg string
	class     error
}

func (e *remoteProbeError) Error() string { return "agent " + e.kind + " probe: " + e.msg }
func (e *remoteProbeError) Unwrap() error { return e.class }
