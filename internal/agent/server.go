package agent

import (
	"cmp"
	"context"
	"crypto/hmac"
	"crypto/tls"
	"crypto/x509"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"net/http"
	"net/netip"
	"os"
	"runtime"
	"slices"
	"strconv"
	"time"

	"github.com/netprobe/netprobe/internal/probes"
)

// Bounds are limits a request cannot exceed, whatever the coordinator asks. Zero fields take
// the defaults of DefaultBounds.
type Bounds struct {
	// ProbeTimeout caps one probe's budget.
	ProbeTimeout time.Duration `json:"probe_timeout_ns"`
	// ResponderTTL caps how long a responder lives.
	ResponderTTL time.Duration `json:"responder_ttl_ns"`
	// MaxResponders caps responders open at once, over all requests.
	MaxResponders int `json:"max_responders"`
	// ProbeRate and ProbeBurst bound probes per second (token bucket over all clients).
	ProbeRate  float64 `json:"probe_rate"`
	ProbeBurst int     `json:"probe_burst"`
	// BandwidthDuration and BandwidthStreams bound one bandwidth test.
	BandwidthDuration time.Duration `json:"bandwidth_duration_ns"`
	BandwidthStreams  int           `json:"bandwidth_streams"`
	// AuthFailures failed attempts per source IP are allowed in a burst; then one more every
	// AuthRefill. Past that the source gets 429 until it has waited.
	AuthFailures int           `json:"auth_failures"`
	AuthRefill   time.Duration `json:"auth_refill_ns"`
	// MinInterval is the shortest gap a probe may leave between its packets (latency, ICMP,
	// a bandwidth test's loaded latency).
	MinInterval time.Duration `json:"min_interval_ns"`
	// ProbeBytes caps what one probe may send, by its probes.Footprint; ByteRate caps what
	// all probes together may send per second (a token bucket of one second's worth, charged
	// each probe's footprint when it starts). Bandwidth tests have bounds of their own.
	ProbeBytes int64 `json:"probe_bytes"`
	ByteRate   int64 `json:"byte_rate"`
	// MaxConns and MaxConnsPerSource cap control connections open at once, in total and from
	// one source address; one over a cap is closed at once and logged (event=conn_limited).
	MaxConns          int `json:"max_conns"`
	MaxConnsPerSource int `json:"max_conns_per_source"`
}

// DefaultBounds: where each number comes from.
//   - ProbeTimeout 30s: the slowest probe (a path trace of 30 hops at 1s) fits.
//   - ResponderTTL 10m: a full check run of a large estate takes a few minutes; a forgotten
//     responder must not outlive a coffee break.
//   - MaxResponders 64: the ASR catalogue needs under 20 ports per host; 64 leaves margin.
//   - ProbeRate 200/s, burst 400: a hub's checks of a 1,000-VM estate pass in seconds; a runaway one
//     cannot turn the agent into a packet cannon.
//   - Bandwidth 60s and 16 streams: ASR uses 4 threads per VM for failback; 16 covers the
//     stream sweep of bandwidth.md, 60s a stable average.
//   - AuthFailures 5 then 1 per 10s: a typo'd token file fails a few times; a guesser gets
//     6 tries a minute against a 128-bit token.
//   - MinInterval 5ms: 200 packets a second from one probe, four times the rate of the
//     topology's default latency check (50 samples 20ms apart); the examples and tests use
//     10ms at the fastest.
//   - ProbeBytes 1 MiB: by footprint, the engine's largest probes are a PMTU search from
//     1200 to 1500 (41 KB), a 30-hop path trace (34 KB) and a latency check of 50 samples
//     (3.6 KB; 62 KB at the largest payload). 1 MiB is sixteen times the largest, and refuses
//     1,000 ICMP echoes of 65,499 bytes (68 MB by footprint; issue 14 saw 131 MB sent).
//   - MaxConns 256, MaxConnsPerSource 64: a coordinator keeps at most 16 connections to an
//     agent (engine.DefaultPerAgent), so four coordinators behind one NAT address fit, and 256
//     idle TLS connections hold about 15 MB (60 KB each, issue 14) and 256 descriptors.
//   - ByteRate 4 MiB/s (32 Mbit/s): a hub answering 200 probes a second of the engine's usual
//     mix (800-byte connects, 3.6 KB latency checks) sends under 1 MB/s; 4 MiB/s leaves room
//     for a burst of PMTU searches and is a trickle next to the VPN being tested.
func DefaultBounds() Bounds {
	return Bounds{
		ProbeTimeout:  30 * time.Second,
		ResponderTTL:  10 * time.Minute,
		MaxResponders: 64,
		// A hub (the configuration server or the Azure process server) runs one or two
		// probes per protected VM: 200/s checks a 1,000-VM estate in seconds, and is still
		// a trickle of small packets.
		ProbeRate:         200,
		ProbeBurst:        400,
		BandwidthDuration: 60 * time.Second,
		BandwidthStreams:  16,
		AuthFailures:      5,
		AuthRefill:        10 * time.Second,
		MinInterval:       5 * time.Millisecond,
		ProbeBytes:        1 << 20,
		ByteRate:          4 << 20,
		MaxConns:          256,
		MaxConnsPerSource: 64,
	}
}

func (b Bounds) withDefaults() Bounds {
	d := DefaultBounds()
	if b.ProbeTimeout <= 0 {
		b.ProbeTimeout = d.ProbeTimeout
	}
	if b.ResponderTTL <= 0 {
		b.ResponderTTL = d.ResponderTTL
	}
	if b.MaxResponders <= 0 {
		b.MaxResponders = d.MaxResponders
	}
	if b.ProbeRate <= 0 {
		b.ProbeRate = d.ProbeRate
	}
	if b.ProbeBurst <= 0 {
		b.ProbeBurst = d.ProbeBurst
	}
	if b.BandwidthDuration <= 0 {
		b.BandwidthDuration = d.BandwidthDuration
	}
	if b.BandwidthStreams <= 0 {
		b.BandwidthStreams = d.BandwidthStreams
	}
	if b.AuthFailures <= 0 {
		b.AuthFailures = d.AuthFailures
	}
	if b.AuthRefill <= 0 {
		b.AuthRefill = d.AuthRefill
	}
	if b.MinInterval <= 0 {
		b.MinInterval = d.MinInterval
	}
	if b.ProbeBytes <= 0 {
		b.ProbeBytes = d.ProbeBytes
	}
	if b.ByteRate <= 0 {
		b.ByteRate = d.ByteRate
	}
	if b.MaxConns <= 0 {
		b.MaxConns = d.MaxConns
	}
	if b.MaxConnsPerSource <= 0 {
		b.MaxConnsPerSource = d.MaxConnsPerSource
	}
	b.MaxConnsPerSource = min(b.MaxConnsPerSource, b.MaxConns)
	// The bucket holds one second of ByteRate: a probe larger than that could never start.
	b.ProbeBytes = min(b.ProbeBytes, b.ByteRate)
	return b
}

// Config configures an agent Server.
type Config struct {
	// Token is the pre-shared token. Required unless ClientCAs is set; when both are set, a
	// request needs both a verified client certificate and the token.
	Token []byte
	// Certificate is the agent's TLS identity; nil generates a self-signed one at start.
	Certificate *tls.Certificate
	// ClientCAs turns on mutual TLS: clients must present a certificate signed by one of them.
	ClientCAs *x509.CertPool
	// Allow, when not empty, limits probe targets to these networks.
	Allow []netip.Prefix
	// Bounds limit what a request may ask; zero fields take DefaultBounds.
	Bounds Bounds
	// ResponderHost is the address responders bind; "" means every address of the host (the
	// flows under test arrive on the host's NICs).
	ResponderHost string
	// ResponderHosts adds more addresses for responders to bind (a multi-homed host on a
	// machine shared with other agents, as in the demo); each responder listens on all of
	// ResponderHost and ResponderHosts.
	ResponderHosts []string
	// Version is reported by Hello.
	Version string
	// Logger receives security events (failed attempts) and lifecycle; nil discards.
	Logger *slog.Logger
	// ShutdownGrace bounds how long in-flight requests may finish after ctx is cancelled.
	ShutdownGrace time.Duration
	// Now reads the clock (rate limiting, responder expiry reports); nil is time.Now.
	Now func() time.Time
	// ProbeEnv is what probes run with: a resolver, trusted roots and nameservers of the
	// agent's own (the demo's agents resolve Azure's names to stand-ins on loopback); nil is
	// the host's.
	ProbeEnv *probes.Env

	// hostRoot prefixes the fixed paths host facts read, for tests; "" is "/".
	hostRoot string
	// idleTimeout overrides defaultIdleTimeout, for tests.
	idleTimeout time.Duration
}

// defaultIdleTimeout: a coordinator reuses a connection between checks of one run; two
// minutes covers the gaps of a run while freeing connections of a coordinator that is gone.
const defaultIdleTimeout = 2 * time.Minute

// defaultShutdownGrace: a probe in flight finishes within its own timeout; 5s covers the
// common ones without making Ctrl-C feel stuck.
const defaultShutdownGrace = 5 * time.Second

// Server is a netprobe agent: an authenticated HTTPS control API that runs probes, opens
// responders and reports host facts. Create it with NewServer; run it with Serve.
type Server struct {
	cfg     Config
	bounds  Bounds
	log     *slog.Logger
	tlsConf *tls.Config
	cert    tls.Certificate
	now     func() time.Time

	authFail  *limiter // per source IP
	authLog   *limiter // per source IP: one auth_rate_limited line per refill period
	probeRate *limiter // global, key ""
	byteRate  *limiter // global, key "": probe bytes per second
	kinds     map[string]probeKind
	resp      *responderManager
	bwRunning chan struct{} // one token: one outgoing bandwidth test at a time
	conns     *connLimiter
	metrics   *metrics
}

// NewServer checks cfg and prepares the TLS identity.
func NewServer(cfg Config) (*Server, error) {
	if len(cfg.Token) == 0 && cfg.ClientCAs == nil {
		return nil, fmt.Errorf("agent: no token and no client CA: give --token-file FILE (or set %s), or --client-ca for mutual TLS", EnvTokenFile)
	}
	if len(cfg.Token) > 0 && len(cfg.Token) < minTokenLen {
		return nil, fmt.Errorf("agent: token is %d bytes; use at least %d random bytes", len(cfg.Token), minTokenLen)
	}
	s := &Server{cfg: cfg, bounds: cfg.Bounds.withDefaults(), log: cfg.Logger, now: cfg.Now}
	if s.log == nil {
		s.log = slog.New(slog.DiscardHandler)
	}
	if s.now == nil {
		s.now = time.Now
	}
	if cfg.Certificate != nil {
		s.cert = *cfg.Certificate
	} else {
		c, err := SelfSigned()
		if err != nil {
			return nil, err
		}
		s.cert = c
	}
	s.tlsConf = &tls.Config{
		MinVersion:   tls.VersionTLS13,
		Certificates: []tls.Certificate{s.cert},
		NextProtos:   []string{"http/1.1"},
	}
	if cfg.ClientCAs != nil {
		s.tlsConf.ClientCAs = cfg.ClientCAs
		s.tlsConf.ClientAuth = tls.RequireAndVerifyClientCert
	}
	b := s.bounds
	s.authFail = newLimiter(b.AuthFailures, 1/b.AuthRefill.Seconds(), s.now)
	s.authLog = newLimiter(1, 1/b.AuthRefill.Seconds(), s.now)
	s.probeRate = newLimiter(b.ProbeBurst, b.ProbeRate, s.now)
	s.byteRate = newLimiter(int(b.ByteRate), float64(b.ByteRate), s.now)
	s.kinds = builtinKinds()
	s.kinds[KindClock] = clockKind(s.now)
	s.resp = newResponderManager(responderHosts(cfg), b, s.now, s.log)
	s.bwRunning = make(chan struct{}, 1)
	kinds := s.kindNames()
	slices.Sort(kinds)
	s.metrics = newMetrics(cmp.Or(cfg.Version, "dev"), kinds, func() float64 { return float64(s.resp.count()) })
	s.resp.ticketRefused = s.metrics.ticketsRefused.Inc
	s.conns = newConnLimiter(b.MaxConns, b.MaxConnsPerSource, s.log, s.now)
	s.conns.refused = func(scope string) { s.metrics.connsRefused.WithLabelValues(scope).Inc() }
	s.metrics.connsOpen(func() float64 { return float64(s.conns.count()) })
	return s, nil
}

// Fingerprint is the SHA-256 of the agent's certificate, to pin on the coordinator.
func (s *Server) Fingerprint() string { return Fingerprint(s.cert) }

type sessionKeyCtx struct{}

// Serve answers control requests on ln (a plain TCP listener: Serve adds TLS) until ctx is
// cancelled; then it stops accepting, lets in-flight requests finish within the shutdown grace,
// closes every responder and returns nil.
func (s *Server) Serve(ctx context.Context, ln net.Listener) error {
	// Handlers run under base, which outlives ctx by the grace so they can answer.
	base, cancelBase := context.WithCancel(context.WithoutCancel(ctx))
	defer cancelBase()
	srv := &http.Server{
		Handler:           s.Handler(),
		ReadHeaderTimeout: 10 * time.Second, // slowloris guard; a real client sends headers at once
		ReadTimeout:       30 * time.Second,
		IdleTimeout:       cmp.Or(s.cfg.idleTimeout, defaultIdleTimeout),
		MaxHeaderBytes:    16 << 10,
		BaseContext:       func(net.Listener) context.Context { return base },
		ConnContext: func(c context.Context, _ net.Conn) context.Context {
			return context.WithValue(c, sessionKeyCtx{}, &session{})
		},
		ErrorLog: slog.NewLogLogger(s.log.Handler(), slog.LevelDebug),
	}
	s.log.Info("agent listening", "addr", ln.Addr().String(), "cert_sha256", s.Fingerprint(),
		"mtls", s.cfg.ClientCAs != nil, "allow", len(s.cfg.Allow))

	errc := make(chan error, 1)
	go func() { errc <- srv.Serve(tls.NewListener(limitListener{Listener: ln, l: s.conns}, s.tlsConf)) }()

	select {
	case err := <-errc:
		s.resp.closeAll()
		return fmt.Errorf("agent: serve: %w", err)
	case <-ctx.Done():
	}
	grace := s.cfg.ShutdownGrace
	if grace <= 0 {
		grace = defaultShutdownGrace
	}
	s.log.Info("agent shutting down", "grace", grace.String())
	sctx, cancel := context.WithTimeout(context.Background(), grace)
	err := srv.Shutdown(sctx)
	cancel()
	cancelBase()
	if err != nil {
		_ = srv.Close()
	}
	<-errc
	s.resp.closeAll()
	return nil
}

// Handler is the authenticated control API. Serve uses it; it must run behind TLS.
func (s *Server) Handler() http.Handler {
	mux := http.NewServeMux()
	mux.Handle(PathHello, s.endpoint(s.handleHello))
	mux.Handle(PathProbe, s.endpoint(s.handleProbe))
	mux.Handle(PathRespondersOpen, s.endpoint(s.handleOpen))
	mux.Handle(PathResponderClose, s.endpoint(s.handleClose))
	mux.Handle(PathResponderStatus, s.endpoint(s.handleResponderStatus))
	mux.Handle(PathHostFacts, s.endpoint(s.handleHostFacts))
	mux.Handle(PathBandwidthRun, s.streamEndpoint(s.handleBandwidthRun))
	mux.HandleFunc("/", func(w http.ResponseWriter, r *http.Request) {
		writeError(w, nil, 0, http.StatusNotFound, CodeBadRequest, "no such endpoint "+r.URL.Path)
	})
	return mux
}

// apiError is a refusal with its HTTP status and wire code.
type apiError struct {
	status int
	code   string
	msg    string
}

func (e *apiError) Error() string { return e.msg }

func refuse(status int, code, format string, args ...any) *apiError {
	return &apiError{status: status, code: code, msg: fmt.Sprintf(format, args...)}
}

// handlerFunc is one endpoint after authentication: it gets the verified body.
type handlerFunc func(ctx context.Context, r *http.Request, body []byte) (any, *apiError)

func remoteIP(r *http.Request) string {
	host, _, err := net.SplitHostPort(r.RemoteAddr)
	if err != nil {
		return r.RemoteAddr
	}
	return host
}

// streamHandlerFunc is an endpoint that may stream its answer: it calls st.start, then
// st.event per event; what it returns becomes the stream's final line.
type streamHandlerFunc func(ctx context.Context, r *http.Request, body []byte, st *streamer) (any, *apiError)

// endpoint wraps h with the method check, the failure rate limit, the size cap,
// authentication, replay protection and the signed answer.
func (s *Server) endpoint(h handlerFunc) http.Handler {
	return s.streamEndpoint(func(ctx context.Context, r *http.Request, body []byte, _ *streamer) (any, *apiError) {
		return h(ctx, r, body)
	})
}

// streamEndpoint is endpoint for a handler that may answer with signed lines (StreamLine).
func (s *Server) streamEndpoint(h streamHandlerFunc) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.Method != http.MethodPost {
			w.Header().Set("Allow", http.MethodPost)
			writeError(w, nil, 0, http.StatusMethodNotAllowed, CodeBadRequest, "use POST")
			return
		}
		body, key, counter, aerr := s.authenticate(w, r)
		if aerr != nil {
			writeError(w, nil, 0, aerr.status, aerr.code, aerr.msg)
			return
		}
		st := &streamer{w: w, key: key, counter: counter}
		out, aerr := h(r.Context(), r, body, st)
		if st.started {
			st.final(out, aerr)
			return
		}
		if aerr != nil {
			writeError(w, key, counter, aerr.status, aerr.code, aerr.msg)
			return
		}
		writeJSON(w, key, counter, http.StatusOK, out)
	})
}

// authenticate reads the body and checks the request's MAC (and counter) against the TLS
// session. On success it returns the body and the session key for signing the answer.
func (s *Server) authenticate(w http.ResponseWriter, r *http.Request) ([]byte, []byte, uint64, *apiError) {
	ip := remoteIP(r)
	body, err := readBody(http.MaxBytesReader(w, r.Body, MaxBody+1))
	if err != nil {
		if errors.Is(err, errTooLarge) {
			return nil, nil, 0, refuse(http.StatusRequestEntityTooLarge, CodeTooLarge, "request body over %d bytes", MaxBody)
		}
		return nil, nil, 0, refuse(http.StatusBadRequest, CodeBadRequest, "read request body: %v", err)
	}
	if len(s.cfg.Token) == 0 {
		// Mutual TLS only: the handshake already verified the client's certificate.
		return body, nil, 0, nil
	}
	// Only failures are throttled, per source: a request with a valid MAC proves the token and
	// is served whatever else came from its address (a neighbour behind the same NAT, a
	// colleague with a stale token file). A source past its failures gets 429 instead of 401
	// for each further failure, logged once per refill period so a flood cannot fill the log.
	fail := func(reason string) ([]byte, []byte, uint64, *apiError) {
		s.metrics.authFailures.Inc()
		if !s.authFail.allow(ip) {
			w.Header().Set("Retry-After", strconv.Itoa(int(s.bounds.AuthRefill.Seconds()+0.5)))
			s.metrics.authLimited.Inc()
			if s.authLog.allow(ip) {
				s.log.Warn("agent auth rate limited", "event", "auth_rate_limited", "remote", ip, "path", r.URL.Path, "reason", reason)
			}
			return nil, nil, 0, refuse(http.StatusTooManyRequests, CodeRateLimited,
				"too many failed authentication attempts from %s; wait %s and check --token-file on both sides", ip, s.bounds.AuthRefill)
		}
		s.log.Warn("agent auth failed", "event", "auth_failed", "remote", ip, "path", r.URL.Path, "reason", reason)
		return nil, nil, 0, refuse(http.StatusUnauthorized, CodeAuth,
			"authentication failed (%s): the token does not match the agent's - check --token-file on both sides", reason)
	}
	hv := r.Header.Get(HeaderAuth)
	if hv == "" {
		return fail("no " + HeaderAuth + " header")
	}
	counter, mac, err := parseAuth(hv)
	if err != nil {
		return fail(err.Error())
	}
	sess, _ := r.Context().Value(sessionKeyCtx{}).(*session)
	if sess == nil || r.TLS == nil {
		return fail("not a TLS session")
	}
	key, err := sess.keyFor(s.cfg.Token, r.TLS)
	if err != nil {
		return fail(err.Error())
	}
	if !hmac.Equal(mac, requestMAC(key, counter, r.Method, r.URL.Path, body)) {
		return fail("bad mac")
	}
	if !sess.accept(counter) {
		return fail("replayed request (counter " + strconv.FormatUint(counter, 10) + " already used)")
	}
	return body, key, counter, nil
}

func writeJSON(w http.ResponseWriter, key []byte, counter uint64, status int, v any) {
	data, err := json.Marshal(v)
	if err != nil {
		status = http.StatusInternalServerError
		data, _ = json.Marshal(ErrorResponse{V: Version, Error: WireError{Code: CodeInternal, Message: "encode answer: " + err.Error()}})
	}
	w.Header().Set("Content-Type", "application/json")
	w.Header().Set("Cache-Control", "no-store")
	if key != nil {
		w.Header().Set(HeaderServerAuth, formatAuth(counter, responseMAC(key, counter, status, data)))
	}
	w.WriteHeader(status)
	_, _ = w.Write(data)
}

func writeError(w http.ResponseWriter, key []byte, counter uint64, status int, code, msg string) {
	writeJSON(w, key, counter, status, ErrorResponse{V: Version, Error: WireError{Code: code, Message: msg}})
}

// decode strictly decodes a request body, mapping failures to refusals.
func decode(body []byte, dst any) *apiError {
	err := DecodeRequest(body, dst)
	switch {
	case err == nil:
		return nil
	case errors.Is(err, errTooLarge):
		return refuse(http.StatusRequestEntityTooLarge, CodeTooLarge, "%v", err)
	case errors.Is(err, errVersion):
		return refuse(http.StatusBadRequest, CodeVersion, "%v", err)
	default:
		return refuse(http.StatusBadRequest, CodeBadRequest, "%v", err)
	}
}

// Info is the agent's answer to Hello.
type Info struct {
	V          int         `json:"v"`
	Version    string      `json:"version"`
	Hostname   string      `json:"hostname"`
	OS         string      `json:"os"`
	Arch       string      `json:"arch"`
	Interfaces []Interface `json:"interfaces"`
	// ObservedSource is the coordinator's address as the agent saw it (NAT shows here).
	ObservedSource string `json:"observed_source"`
	// ProbeKinds are the probe kinds this agent runs, sorted.
	ProbeKinds []string `json:"probe_kinds"`
	// Features are the optional request fields this agent accepts (its decoder refuses
	// fields it does not know), sorted: probes.FeatureAdaptiveWait. A coordinator sends such
	// a field only to an agent that lists it.
	Features []string `json:"features,omitempty"`
	Bounds   Bounds   `json:"bounds"`
	MTLS     bool     `json:"mtls"`
}

// Interface is one network interface of the agent's host.
type Interface struct {
	Name  string   `json:"name"`
	MTU   int      `json:"mtu"`
	Up    bool     `json:"up"`
	Addrs []string `json:"addrs"` // CIDR notation
}

func (s *Server) handleHello(_ context.Context, r *http.Request, body []byte) (any, *apiError) {
	var req HelloRequest
	if e := decode(body, &req); e != nil {
		return nil, e
	}
	host, _ := os.Hostname()
	info := Info{
		V: Version, Version: s.cfg.Version, Hostname: host, OS: runtime.GOOS, Arch: runtime.GOARCH,
		Interfaces: interfaces(), ObservedSource: r.RemoteAddr, Bounds: s.bounds,
		MTLS: s.cfg.ClientCAs != nil, Features: []string{probes.FeatureAdaptiveWait},
	}
	for k := range s.kinds {
		info.ProbeKinds = append(info.ProbeKinds, k)
	}
	slices.Sort(info.ProbeKinds)
	return info, nil
}

func interfaces() []Interface {
	ifs, err := net.Interfaces()
	if err != nil {
		return nil
	}
	out := make([]Interface, 0, len(ifs))
	for _, ifc := range ifs {
		it := Interface{Name: ifc.Name, MTU: ifc.MTU, Up: ifc.Flags&net.FlagUp != 0, Addrs: []string{}}
		addrs, _ := ifc.Addrs()
		for _, a := range addrs {
			it.Addrs = append(it.Addrs, a.String())
		}
		out = append(out, it)
	}
	return out
}

func (s *Server) handleOpen(_ context.Context, _ *http.Request, body []byte) (any, *apiError) {
	var req OpenRespondersRequest
	if e := decode(body, &req); e != nil {
		return nil, e
	}
	return s.resp.open(req.Listen, fromMS(req.TTLMS))
}

func (s *Server) handleClose(_ context.Context, _ *http.Request, body []byte) (any, *apiError) {
	var req CloseRespondersRequest
	if e := decode(body, &req); e != nil {
		return nil, e
	}
	if req.ID == "" {
		return nil, refuse(http.StatusBadRequest, CodeBadRequest, "close: missing \"id\"")
	}
	return CloseRespondersResponse{V: Version, Closed: s.resp.close(req.ID)}, nil
}

func (s *Server) handleHostFacts(_ context.Context, _ *http.Request, body []byte) (any, *apiError) {
	var req HostFactsRequest
	if e := decode(body, &req); e != nil {
		return nil, e
	}
	if req.Retention != "" && !isAbsPath(req.Retention) {
		return nil, refuse(http.StatusBadRequest, CodeBadRequest, "retention path %q is not absolute; give the topology's absolute path", req.Retention)
	}
	return collectHostFacts(s.cfg.hostRoot, req.Retention), nil
}

// responderHosts lists the addresses responders bind: "" alone means every address.
func responderHosts(cfg Config) []string {
	hosts := []string{cfg.ResponderHost}
	if cfg.ResponderHost == "" && len(cfg.ResponderHosts) > 0 {
		hosts = nil
	}
	return append(hosts, cfg.ResponderHosts...)
}
