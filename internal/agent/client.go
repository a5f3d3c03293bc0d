package agent

import (
	"bufio"
	"bytes"
	"context"
	"crypto/hmac"
	"crypto/sha256"
	"crypto/tls"
	"crypto/x509"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"strings"
	"sync"
	"syscall"
	"time"

	"github.com/netprobe/netprobe/internal/bwtest"
	"github.com/netprobe/netprobe/internal/capacity"
	"github.com/netprobe/netprobe/internal/probes"
)

// Client errors. Every error of a Client wraps one of these (or, for a probe that ran but could
// not measure, one of the probes sentinels).
var (
	// ErrAuth: the agent refused our token, or its answer was not signed with the same token.
	ErrAuth = errors.New("authentication failed: the token does not match the agent's - check --token-file on both sides")
	// ErrUnreachable: no answer from the agent (connect failed, TLS failed, timed out, closed).
	ErrUnreachable = errors.New("agent unreachable")
	// ErrNoAnswer comes with ErrUnreachable when the call's deadline passed after the request
	// was sent on a connection, or while all of this client's connections were busy with
	// earlier calls (a busy agent answers late; a vanished one never does): one such error
	// does not prove the agent gone. A connect or handshake that times out is not one.
	ErrNoAnswer = errors.New("no answer in time")
	// ErrProtocol: the agent answered something that is not this protocol (other version,
	// garbage, oversized).
	ErrProtocol = errors.New("agent protocol error")
	// ErrRefused: the agent understood and refused the request (a bound, the allowlist, the
	// probe rate, an unsupported probe kind). The *RemoteError says which.
	ErrRefused = errors.New("agent refused the request")
)

// RemoteError is a refusal the agent explained. It wraps ErrRefused.
type RemoteError struct {
	Status  int    // HTTP status
	Code    string // one of the Code* constants
	Message string
	// Agent is the address of the agent that refused ("" when unknown), so a refusal read
	// far from its call still names who refused.
	Agent string
}

func (e *RemoteError) Error() string {
	who := "agent"
	if e.Agent != "" {
		who += " " + e.Agent
	}
	return who + " refused (" + e.Code + "): " + e.Message
}
func (e *RemoteError) Unwrap() error { return ErrRefused }

// ClientConfig configures a Client.
type ClientConfig struct {
	// Token is the pre-shared token (LoadToken). Required unless the agent runs mutual TLS only.
	Token []byte
	// RootCAs verifies the agent's certificate (agents started with --cert/--key). With neither
	// RootCAs nor CertSHA256, the certificate is not checked and the agent proves itself by
	// signing its answers with the token.
	RootCAs *x509.CertPool
	// ServerName is the name to verify with RootCAs; "" is the host of addr.
	ServerName string
	// CertSHA256 pins the agent's certificate (hex SHA-256 of its DER, logged at agent start).
	CertSHA256 string
	// Certificates are the client's certificates for agents running --client-ca.
	Certificates []tls.Certificate
	// KnownAgents, when set, pins each agent's certificate on first use (LoadKnownAgents),
	// on top of RootCAs or CertSHA256: another certificate than the recorded one is refused
	// with a CertChangedError.
	KnownAgents *KnownAgents
	// Timeout is the budget of a call whose ctx has no deadline. Zero is DefaultTimeout.
	Timeout time.Duration
	// MaxConns bounds concurrent calls (one TLS connection each). Zero is 4.
	MaxConns int
	// DialContext opens the TCP connection; nil is a net.Dialer with the control MSS.
	DialContext func(ctx context.Context, network, addr string) (net.Conn, error)
}

// DefaultTimeout: a call without a deadline still ends. The longest call is a probe, capped at
// 30s by the agent (DefaultBounds); 45s leaves room for the round trip and the handshake.
const DefaultTimeout = 45 * time.Second

// maxResponse caps an answer the client buffers: a path trace of 64 hops is a few KiB; 1 MiB
// means a garbage-spewing peer cannot exhaust the coordinator's memory.
const maxResponse = 1 << 20

// probeMargin is how much of the caller's deadline the client keeps for itself when it tells
// the agent a probe budget, so the agent answers before the client gives up. It is the
// engine's slack whole: the agent's probe gets the check's own timeout, and a loaded agent
// half a second to send the answer back (250ms was too little at 1,024 checks in flight).
const probeMargin = 500 * time.Millisecond

// Client talks to one agent. It is safe for concurrent use; calls beyond MaxConns wait.
type Client struct {
	addr string
	cfg  ClientConfig
	tls  *tls.Config
	info Info

	slots chan struct{}    // one per concurrent call
	idle  chan *clientConn // idle connections, at most MaxConns

	mu     sync.Mutex // guards closed and seen
	closed bool
	seen   string // the agent's certificate SHA-256, for KnownAgents
}

// clientConn is one TLS connection with its session key and request counter. It is used by
// one call at a time.
type clientConn struct {
	tc      *tls.Conn
	br      *bufio.Reader
	key     []byte
	counter uint64
	dead    bool // the agent said it closes this connection
}

// Dial connects to the agent at addr (host:port), authenticates with Hello, and returns a
// Client. Its error wraps ErrUnreachable, ErrAuth or ErrProtocol.
func Dial(ctx context.Context, addr string, cfg ClientConfig) (*Client, error) {
	if len(cfg.Token) == 0 && cfg.Certificates == nil {
		return nil, fmt.Errorf("agent client: no token: give --token-file FILE or set %s", EnvTokenFile)
	}
	if len(cfg.Token) == 0 && cfg.RootCAs == nil && cfg.CertSHA256 == "" && !cfg.KnownAgents.has(addr) {
		return nil, fmt.Errorf("agent client: %s: mutual TLS without a token needs the agent's CA or certificate pin to verify the agent (or its line in a known-agents file)", addr)
	}
	if cfg.Timeout <= 0 {
		cfg.Timeout = DefaultTimeout
	}
	if cfg.MaxConns <= 0 {
		cfg.MaxConns = 4
	}
	host, _, err := net.SplitHostPort(addr)
	if err != nil {
		return nil, fmt.Errorf("agent client: address %q: %w (want host:port)", addr, err)
	}
	tc := &tls.Config{
		MinVersion:   tls.VersionTLS13,
		Certificates: cfg.Certificates,
		NextProtos:   []string{"http/1.1"},
	}
	switch {
	case cfg.CertSHA256 != "":
		pin, err := hex.DecodeString(strings.ReplaceAll(cfg.CertSHA256, ":", ""))
		if err != nil || len(pin) != sha256.Size {
			return nil, fmt.Errorf("agent client: certificate pin %q is not a hex SHA-256", cfg.CertSHA256)
		}
		tc.InsecureSkipVerify = true // verified by the pin below instead of a CA
		tc.VerifyConnection = func(cs tls.ConnectionState) error {
			if len(cs.PeerCertificates) == 0 {
				return errors.New("agent sent no certificate")
			}
			h := sha256.Sum256(cs.PeerCertificates[0].Raw)
			if !hmac.Equal(h[:], pin) {
				return fmt.Errorf("agent certificate sha256 %x does not match the pin", h[:])
			}
			return nil
		}
	case cfg.RootCAs != nil:
		tc.RootCAs = cfg.RootCAs
		tc.ServerName = cfg.ServerName
		if tc.ServerName == "" {
			tc.ServerName = host
		}
	default:
		// The agent proves itself by the token: every answer carries a MAC bound to this TLS
		// session, which a man in the middle cannot make.
		tc.InsecureSkipVerify = true
	}
	c := &Client{
		addr: addr, cfg: cfg, tls: tc,
		slots: make(chan struct{}, cfg.MaxConns),
		idle:  make(chan *clientConn, cfg.MaxConns),
	}
	if cfg.KnownAgents != nil {
		tc.VerifyConnection = c.verifyKnown(tc.VerifyConnection)
	}
	info, err := c.Hello(ctx)
	if err != nil {
		c.Close()
		return nil, err
	}
	// Kept without the interfaces: nothing of a run reads them, and a coordinator of a
	// thousand agents held 10 MB of them when the bench's agents listed 250 addresses each
	// (make bench). Hello returns them in full.
	info.Interfaces = nil
	c.info = info
	if cfg.KnownAgents != nil {
		// Recorded only now: the agent has proven itself (its answer signed with the token,
		// or its certificate verified), so an interceptor's certificate is never recorded.
		c.mu.Lock()
		seen := c.seen
		c.mu.Unlock()
		if err := cfg.KnownAgents.record(addr, seen); err != nil {
			c.Close()
			return nil, err
		}
	}
	return c, nil
}

// verifyKnown checks the agent's certificate against the known-agents file after what
// verify (a pin) checks; the CA, when there is one, has verified the chain before.
func (c *Client) verifyKnown(verify func(tls.ConnectionState) error) func(tls.ConnectionState) error {
	return func(cs tls.ConnectionState) error {
		if verify != nil {
			if err := verify(cs); err != nil {
				return err
			}
		}
		if len(cs.PeerCertificates) == 0 {
			return errors.New("agent sent no certificate")
		}
		sha := certSHA256(cs.PeerCertificates[0].Raw)
		if err := c.cfg.KnownAgents.check(c.addr, sha); err != nil {
			return err
		}
		c.mu.Lock()
		c.seen = sha
		c.mu.Unlock()
		return nil
	}
}

// Info is the agent's Hello answer from Dial, without its interfaces (call Hello for them).
func (c *Client) Info() Info { return c.info }

// Addr is the agent's address.
func (c *Client) Addr() string { return c.addr }

// Close closes idle connections; calls in flight finish on their own.
func (c *Client) Close() error {
	c.mu.Lock()
	c.closed = true
	c.mu.Unlock()
	for {
		select {
		case cc := <-c.idle:
			_ = cc.tc.Close()
		default:
			return nil
		}
	}
}

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

// Port runs probes.Port on the agent.
func (c *Client) Port(ctx context.Context, req probes.PortRequest) (probes.PortResult, error) {
	var res probes.PortResult
	err := c.Probe(ctx, KindPort, req, &res)
	return res, err
}

// Latency runs probes.Latency on the agent.
func (c *Client) Latency(ctx context.Context, req probes.LatencyRequest) (probes.LatencyResult, error) {
	var res probes.LatencyResult
	err := c.Probe(ctx, KindLatency, req, &res)
	return res, err
}

// Route asks the agent's OS how it would route toward dest (an IP address).
func (c *Client) Route(ctx context.Context, dest string) (probes.RouteResult, error) {
	var res probes.RouteResult
	err := c.Probe(ctx, KindRoute, RouteRequest{Dest: dest}, &res)
	return res, err
}

// ICMP runs probes.ICMP on the agent.
func (c *Client) ICMP(ctx context.Context, req probes.ICMPRequest) (probes.ICMPResult, error) {
	var res probes.ICMPResult
	err := c.Probe(ctx, KindICMP, req, &res)
	return res, err
}

// DNS runs probes.DNS on the agent (the agent's resolvers, or req.Servers).
func (c *Client) DNS(ctx context.Context, req probes.DNSRequest) (probes.DNSResult, error) {
	var res probes.DNSResult
	err := c.Probe(ctx, KindDNS, req, &res)
	return res, err
}

// TLS runs probes.TLS on the agent.
func (c *Client) TLS(ctx context.Context, req probes.TLSRequest) (probes.TLSResult, error) {
	var res probes.TLSResult
	err := c.Probe(ctx, KindTLS, req, &res)
	return res, err
}

// Path runs probes.Path (a traceroute) on the agent.
func (c *Client) Path(ctx context.Context, req probes.PathRequest) (probes.PathResult, error) {
	var res probes.PathResult
	err := c.Probe(ctx, KindPath, req, &res)
	return res, err
}

// PMTU runs probes.PMTU (path MTU search) on the agent.
func (c *Client) PMTU(ctx context.Context, req probes.PMTURequest) (probes.PMTUResult, error) {
	var res probes.PMTUResult
	err := c.Probe(ctx, KindPMTU, req, &res)
	return res, err
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

func (c *Client) withDeadline(ctx context.Context) (context.Context, context.CancelFunc) {
	if _, ok := ctx.Deadline(); ok {
		return context.WithCancel(ctx)
	}
	return context.WithTimeout(ctx, c.cfg.Timeout)
}

// call sends one request and decodes the answer into out.
func (c *Client) call(ctx context.Context, path string, in, out any) error {
	return c.callStream(ctx, path, in, nil, out)
}

// callStream is call for a request that asks for a streamed answer: onEvent gets each verified
// event line, and out the final one. An agent may still answer in one piece (a refusal).
func (c *Client) callStream(ctx context.Context, path string, in any, onEvent func(json.RawMessage) error, out any) error {
	body, err := json.Marshal(in)
	if err != nil {
		return fmt.Errorf("agent client: encode request: %w", err)
	}
	if len(body) > MaxBody {
		return fmt.Errorf("%w: request of %d bytes is over the agent's %d-byte limit", ErrProtocol, len(body), MaxBody)
	}
	ctx, cancel := c.withDeadline(ctx)
	defer cancel()
	select {
	case c.slots <- struct{}{}:
	case <-ctx.Done():
		return fmt.Errorf("%w: %s: %w waiting for a free connection: %w", ErrUnreachable, c.addr, ErrNoAnswer, ctx.Err())
	}
	defer func() { <-c.slots }()

	for attempt := 0; ; attempt++ {
		cc, reused, err := c.conn(ctx)
		if err != nil {
			return err
		}
		status, data, signed, err := c.roundTrip(ctx, cc, path, body, onEvent)
		if err != nil {
			_ = cc.tc.Close()
			// An idle connection the agent closed fails before any answer: retry once on a
			// fresh one. The agent never saw the request, so this cannot run it twice.
			if reused && attempt == 0 && ctx.Err() == nil && isStale(err) {
				continue
			}
			return c.transportErr(ctx, err)
		}
		c.put(cc)
		return c.decodeAnswer(path, status, data, signed, out)
	}
}

func isStale(err error) bool {
	return errors.Is(err, io.EOF) || errors.Is(err, io.ErrUnexpectedEOF) ||
		errors.Is(err, syscall.ECONNRESET) || errors.Is(err, syscall.EPIPE) || errors.Is(err, net.ErrClosed)
}

func (c *Client) transportErr(ctx context.Context, err error) error {
	var ae *authAnswerError
	if errors.As(err, &ae) {
		return ae.err
	}
	// The connection's deadline is the context's: its timeout can fire a moment before the
	// context's own timer marks it done, and means the same.
	if ctx.Err() != nil || errors.Is(err, os.ErrDeadlineExceeded) {
		cause := ctx.Err()
		if cause == nil {
			cause = context.DeadlineExceeded
		}
		return fmt.Errorf("%w: %s: %w: %w", ErrUnreachable, c.addr, ErrNoAnswer, cause)
	}
	// TLS 1.3 reports a refused client certificate as an alert on the first read.
	if strings.Contains(err.Error(), "certificate") {
		return fmt.Errorf("%w: %s: TLS: %v (check the client certificate against the agent's --client-ca)", ErrAuth, c.addr, err)
	}
	return fmt.Errorf("%w: %s: %v", ErrUnreachable, c.addr, err)
}

// connectErr is a failure to reach the agent before any request was sent.
func (c *Client) connectErr(ctx context.Context, err error) error {
	if cerr := ctx.Err(); cerr != nil {
		return fmt.Errorf("%w: %s: %v: %w", ErrUnreachable, c.addr, err, cerr)
	}
	return fmt.Errorf("%w: %s: %v", ErrUnreachable, c.addr, err)
}

// authAnswerError carries a classified error out of roundTrip (unsigned or mis-signed answers).
type authAnswerError struct{ err error }

func (e *authAnswerError) Error() string { return e.err.Error() }

func (c *Client) conn(ctx context.Context) (*clientConn, bool, error) {
	select {
	case cc := <-c.idle:
		return cc, true, nil
	default:
	}
	dial := c.cfg.DialContext
	if dial == nil {
		dial = controlDialer().DialContext
	}
	// Connect and handshake failures, timeouts included, are plain ErrUnreachable: nothing
	// was asked yet, and an agent that cannot be reached (host down, SYN dropped) is gone.
	raw, err := dial(ctx, "tcp", c.addr)
	if err != nil {
		return nil, false, c.connectErr(ctx, err)
	}
	tc := tls.Client(raw, c.tls)
	if err := tc.HandshakeContext(ctx); err != nil {
		_ = raw.Close()
		if errors.Is(err, ErrCertChanged) {
			return nil, false, err // names the agent and both certificates
		}
		if ctx.Err() == nil && strings.Contains(err.Error(), "certificate") {
			return nil, false, fmt.Errorf("%w: %s: TLS: %v (check the agent's certificate, --client-ca and the pin)", ErrAuth, c.addr, err)
		}
		return nil, false, c.connectErr(ctx, fmt.Errorf("TLS handshake: %w", err))
	}
	cc := &clientConn{tc: tc, br: bufio.NewReader(tc)}
	if len(c.cfg.Token) > 0 {
		cs := tc.ConnectionState()
		cc.key, err = sessionKey(c.cfg.Token, &cs)
		if err != nil {
			_ = tc.Close()
			return nil, false, fmt.Errorf("%w: %v", ErrProtocol, err)
		}
	}
	return cc, false, nil
}

func (c *Client) put(cc *clientConn) {
	c.mu.Lock()
	closed := c.closed
	c.mu.Unlock()
	if closed || cc.dead {
		_ = cc.tc.Close()
		return
	}
	select {
	case c.idle <- cc:
	default:
		_ = cc.tc.Close()
	}
}

// roundTrip writes one HTTP/1.1 request on cc and reads the answer, within ctx. It checks the
// agent's signature over the answer. Doing HTTP by hand (rather than http.Transport) is what
// lets the MAC bind to the TLS session the request actually travels on.
//
// With onEvent set, a streamed answer (ContentTypeStream) is read line by line (readStream).
func (c *Client) roundTrip(ctx context.Context, cc *clientConn, path string, body []byte, onEvent func(json.RawMessage) error) (status int, data []byte, signed bool, err error) {
	if dl, ok := ctx.Deadline(); ok {
		_ = cc.tc.SetDeadline(dl)
	}
	// Cancel unblocks the read at once, not at the deadline.
	stop := context.AfterFunc(ctx, func() { _ = cc.tc.SetDeadline(time.Unix(1, 0)) })
	defer stop()

	req, err := http.NewRequest(http.MethodPost, "https://"+c.addr+path, bytes.NewReader(body))
	if err != nil {
		return 0, nil, false, err
	}
	req.Header.Set("Content-Type", "application/json")
	cc.counter++
	if cc.key != nil {
		req.Header.Set(HeaderAuth, formatAuth(cc.counter, requestMAC(cc.key, cc.counter, http.MethodPost, path, body)))
	}
	if err := req.Write(cc.tc); err != nil {
		return 0, nil, false, err
	}
	resp, err := http.ReadResponse(cc.br, req)
	if err != nil {
		return 0, nil, false, err
	}
	if onEvent != nil && resp.StatusCode == http.StatusOK && isStream(resp) {
		status, data, err = readStream(cc, resp.Body, onEvent)
		resp.Body.Close()
		if err != nil {
			return 0, nil, false, err
		}
		cc.dead = cc.dead || resp.Close
		return status, data, cc.key != nil, nil
	}
	data, err = io.ReadAll(io.LimitReader(resp.Body, maxResponse+1))
	resp.Body.Close()
	if err != nil {
		return 0, nil, false, err
	}
	if len(data) > maxResponse {
		return 0, nil, false, &authAnswerError{fmt.Errorf("%w: answer over %d bytes", ErrProtocol, maxResponse)}
	}
	if resp.Close {
		// The agent will close; do not pool it. The answer is still good.
		cc.dead = true
	}
	if cc.key != nil {
		signed, err = verifyAnswer(cc, resp, data)
		if err != nil {
			return 0, nil, false, &authAnswerError{err}
		}
	}
	return resp.StatusCode, data, signed, nil
}

// verifyAnswer checks the agent's MAC. Refusals sent before authentication (401, the failure
// rate limit, an oversized body) cannot be signed; they are classified by decodeAnswer and
// never taken as success.
func verifyAnswer(cc *clientConn, resp *http.Response, data []byte) (signed bool, err error) {
	hv := resp.Header.Get(HeaderServerAuth)
	if hv == "" {
		if resp.StatusCode == http.StatusOK {
			return false, fmt.Errorf("%w: the answer is not signed: the peer is not an agent holding this token", ErrAuth)
		}
		return false, nil
	}
	counter, mac, err := parseAuth(hv)
	if err != nil || counter != cc.counter || !hmac.Equal(mac, responseMAC(cc.key, counter, resp.StatusCode, data)) {
		return false, fmt.Errorf("%w: the answer's signature does not verify: the peer is not an agent holding this token", ErrAuth)
	}
	return true, nil
}

func (c *Client) decodeAnswer(path string, status int, data []byte, signed bool, out any) error {
	if status != http.StatusOK {
		var er ErrorResponse
		if err := json.Unmarshal(data, &er); err != nil || er.Error.Code == "" {
			return fmt.Errorf("%w: %s %s: HTTP %d with a body that is not an agent error: %.200q", ErrProtocol, c.addr, path, status, data)
		}
		switch {
		case er.Error.Code == CodeAuth:
			return fmt.Errorf("%w (agent %s: %s)", ErrAuth, c.addr, er.Error.Message)
		case er.Error.Code == CodeRateLimited && len(c.cfg.Token) > 0 && !signed:
			// Refused before authentication: the failure limit, i.e. earlier bad tokens.
			return fmt.Errorf("%w (agent %s: %s)", ErrAuth, c.addr, er.Error.Message)
		case er.Error.Code == CodeVersion || er.Error.Code == CodeBadRequest || er.Error.Code == CodeTooLarge:
			return fmt.Errorf("%w: %s: %s", ErrProtocol, c.addr, er.Error.Message)
		}
		return &RemoteError{Status: status, Code: er.Error.Code, Message: er.Error.Message, Agent: c.addr}
	}
	var head struct {
		V int `json:"v"`
	}
	if err := json.Unmarshal(data, &head); err != nil {
		return fmt.Errorf("%w: %s %s: answer is not JSON: %v", ErrProtocol, c.addr, path, err)
	}
	if head.V != Version {
		return fmt.Errorf("%w: %s speaks protocol version %d, this netprobe %d: run the same netprobe version on both sides", ErrProtocol, c.addr, head.V, Version)
	}
	if err := json.Unmarshal(data, out); err != nil {
		return fmt.Errorf("%w: %s %s: %v", ErrProtocol, c.addr, path, err)
	}
	return nil
}
