package probes

import (
	"bufio"
	"context"
	"crypto/sha256"
	"crypto/tls"
	"crypto/x509"
	"encoding/hex"
	"errors"
	"fmt"
	"net"
	"net/http"
	"net/url"
	"strings"
	"time"
)

// TLSRequest asks for a TLS handshake with a port.
type TLSRequest struct {
	// Address is host:port.
	Address string `json:"address"`
	// ServerName is the SNI and the name verified; empty means Address's host.
	ServerName string `json:"server_name,omitempty"`
	// ExpectIssuer, when set, is a substring the leaf's issuer must contain (for example the
	// issuing CA's common name recorded by a previous run or the topology).
	ExpectIssuer string `json:"expect_issuer,omitempty"`
	// ExpectFingerprint, when set, is the SHA-256 of the leaf certificate the server must
	// present (hex, colons and case ignored).
	ExpectFingerprint string `json:"expect_fingerprint,omitempty"`
	// RootCAs is a PEM bundle to verify against instead of the system's roots (tests, private CAs).
	RootCAs []byte `json:"root_cas,omitempty"`
	// Proxy, when set, is an HTTP proxy (http://HOST:PORT) the connection goes through with
	// CONNECT, as the replication appliance's services do when one is configured.
	Proxy string `json:"proxy,omitempty"`
	// HTTPDate asks, after the handshake, HEAD / over the same connection and reports the
	// answer's Date header: the server's clock, for a clock-skew check (FB-CLOCK).
	HTTPDate bool `json:"http_date,omitempty"`
}

// TLSResult is what the handshake showed.
type TLSResult struct {
	Version     string        `json:"version,omitempty"`
	CipherSuite string        `json:"cipher_suite,omitempty"`
	Subject     string        `json:"subject,omitempty"`
	Issuer      string        `json:"issuer,omitempty"`
	DNSNames    []string      `json:"dns_names,omitempty"`
	NotAfter    time.Time     `json:"not_after,omitzero"`
	Fingerprint string        `json:"fingerprint_sha256,omitempty"`
	RTT         time.Duration `json:"rtt_ns"`
	// Verified: the chain verifies for ServerName; VerifyError says why not.
	Verified    bool   `json:"verified"`
	VerifyError string `json:"verify_error,omitempty"`
	// Intercepted is true when the certificate is not the expected one (ExpectIssuer or
	// ExpectFingerprint): an inspecting proxy on the path replaced it.
	Intercepted bool `json:"intercepted"`
	// HandshakeError is set when the port answered but no TLS handshake completed (not a
	// TLS service, or a proxy that cut it).
	HandshakeError string `json:"handshake_error,omitempty"`
	Detail         string `json:"detail,omitempty"`
	// RemoteAddr is the address connected to (ip:port) when the connection was direct: the
	// address the name resolved to here. Through a proxy the proxy resolves it: empty.
	RemoteAddr string `json:"remote_addr,omitempty"`
	// HTTPDate is the Date header of the answer to HEAD / (HTTPDate requests): the server's
	// clock in whole seconds, read between DateSent and DateReceived on this host's clock.
	// DateError says why it is missing.
	HTTPDate     time.Time `json:"http_date,omitzero"`
	DateSent     time.Time `json:"date_sent,omitzero"`
	DateReceived time.Time `json:"date_received,omitzero"`
	DateError    string    `json:"date_error,omitempty"`
}

// TLS connects to req.Address and completes a handshake without trusting it, then verifies
// the chain itself so that an untrusted certificate is reported rather than fatal. The error
// is for a port that cannot be reached at all (wrapping ErrTimeout, ErrRefused or
// ErrUnreachable) and for invalid requests.
func TLS(ctx context.Context, env *Env, req TLSRequest) (TLSResult, error) {
	host, _, err := net.SplitHostPort(req.Address)
	if err != nil {
		return TLSResult{}, fmt.Errorf("%w: address %q: want host:port, for example cs01.contoso.local:443", ErrInvalid, req.Address)
	}
	sni := req.ServerName
	if sni == "" {
		sni = host
	}
	ctx, cancel := withDeadline(ctx)
	defer cancel()
	start := env.now()
	var raw net.Conn
	if req.Proxy != "" {
		raw, err = dialViaProxy(ctx, env, req.Proxy, req.Address)
		if err != nil {
			return TLSResult{}, err
		}
	} else {
		raw, err = env.dial(ctx, "tcp", req.Address)
		if err != nil {
			if cerr := cancelled(ctx); cerr != nil {
				return TLSResult{}, cerr
			}
			return TLSResult{}, connectError(err, req.Address)
		}
	}
	defer raw.Close()
	cfg := &tls.Config{ServerName: sni, InsecureSkipVerify: true} // verified below, to report rather than fail
	conn := tls.Client(raw, cfg)
	res := TLSResult{}
	if req.Proxy == "" && raw.RemoteAddr() != nil {
		res.RemoteAddr = raw.RemoteAddr().String()
	}
	if err := conn.HandshakeContext(ctx); err != nil {
		res.RTT = env.now().Sub(start)
		res.HandshakeError = err.Error()
		res.Detail = "the port answered but no TLS handshake completed: not a TLS service, or a proxy cut it"
		if isTimeout(err) {
			res.Detail = "the port accepted the connection but the TLS handshake did not finish in time"
		}
		return res, nil
	}
	res.RTT = env.now().Sub(start)
	if req.HTTPDate {
		readHTTPDate(ctx, env, conn, sni, &res)
	}
	st := conn.ConnectionState()
	res.Version = tls.VersionName(st.Version)
	res.CipherSuite = tls.CipherSuiteName(st.CipherSuite)
	if len(st.PeerCertificates) == 0 {
		res.Detail = "the server presented no certificate"
		return res, nil
	}
	leaf := st.PeerCertificates[0]
	sum := sha256.Sum256(leaf.Raw)
	res.Fingerprint = hex.EncodeToString(sum[:])
	res.Subject, res.Issuer = leaf.Subject.String(), leaf.Issuer.String()
	res.DNSNames, res.NotAfter = leaf.DNSNames, leaf.NotAfter.UTC()

	opts := x509.VerifyOptions{DNSName: sni, Intermediates: x509.NewCertPool(), CurrentTime: env.now()}
	for _, c := range st.PeerCertificates[1:] {
		opts.Intermediates.AddCert(c)
	}
	if opts.Roots, err = env.roots(req.RootCAs); err != nil {
		return TLSResult{}, err
	}
	if _, err := leaf.Verify(opts); err != nil {
		res.VerifyError = err.Error()
	} else {
		res.Verified = true
	}
	var why []string
	if req.ExpectIssuer != "" && !strings.Contains(res.Issuer, req.ExpectIssuer) {
		why = append(why, fmt.Sprintf("issuer %q does not contain the expected %q", res.Issuer, req.ExpectIssuer))
	}
	if want := normalizeFingerprint(req.ExpectFingerprint); want != "" && want != res.Fingerprint {
		why = append(why, "the certificate fingerprint differs from the expected one")
	}
	res.Intercepted = len(why) > 0
	switch {
	case res.Intercepted:
		res.Detail = "an inspecting proxy probably replaced the certificate: " + strings.Join(why, "; ") + " - exempt this flow from TLS inspection"
	case !res.Verified:
		res.Detail = "the certificate does not verify: " + res.VerifyError
	default:
		res.Detail = fmt.Sprintf("%s, certificate for %s valid until %s", res.Version, leaf.Subject.CommonName, res.NotAfter.Format("2006-01-02"))
	}
	return res, nil
}

// readHTTPDate sends HEAD / over conn and records the answer's Date header with this host's
// clock around the exchange. Any status will do: servers date every answer (RFC 9110 6.6.1).
func readHTTPDate(ctx context.Context, env *Env, conn *tls.Conn, host string, res *TLSResult) {
	if dl, ok := ctx.Deadline(); ok {
		_ = conn.SetDeadline(dl) // the probe's own deadline; a failure shows as a read error
	}
	req, err := http.NewRequestWithContext(ctx, http.MethodHead, "https://"+host+"/", nil)
	if err != nil {
		res.DateError = err.Error()
		return
	}
	req.Header.Set("User-Agent", "netprobe")
	req.Close = true
	res.DateSent = env.now()
	if err := req.Write(conn); err != nil {
		res.DateError = "sending HEAD /: " + err.Error()
		return
	}
	resp, err := http.ReadResponse(bufio.NewReader(conn), req)
	if err != nil {
		res.DateError = "reading the answer to HEAD /: " + err.Error()
		return
	}
	res.DateReceived = env.now()
	_ = resp.Body.Close() // a HEAD answer has no body
	d := resp.Header.Get("Date")
	if d == "" {
		res.DateError = fmt.Sprintf("the answer (%s) has no Date header", resp.Status)
		return
	}
	t, err := http.ParseTime(d)
	if err != nil {
		res.DateError = fmt.Sprintf("Date header %q: %v", d, err)
		return
	}
	res.HTTPDate = t.UTC()
}

func normalizeFingerprint(s string) string {
	return strings.ToLower(strings.NewReplacer(":", "", " ", "").Replace(s))
}

// connectError classifies a failed TCP connect for probes that need the connection to go on.
func connectError(err error, addr string) error {
	if de, ok := errors.AsType[*net.DNSError](err); ok && de.IsNotFound {
		return fmt.Errorf("%w: %s does not resolve: %v", ErrNoName, addr, err)
	}
	switch classifyErrno(err) {
	case errTimeout:
		return fmt.Errorf("%w: no answer from %s: a firewall drops it (run the port probe for details)", ErrTimeout, addr)
	case errRefused:
		return fmt.Errorf("%w: %s refused the connection: nothing listens there", ErrRefused, addr)
	}
	return fmt.Errorf("%w: cannot connect to %s: %v", ErrUnreachable, addr, err)
}

// ErrProxy marks a proxy's refusal to connect: an answer, not silence (ASR's services cannot
// pass such a proxy either).
var ErrProxy = errors.New("the proxy refused")

// dialViaProxy opens a tunnel to address through an HTTP proxy with CONNECT (RFC 9110 9.3.6).
// A proxy that asks for credentials (407) is a refusal: the replication appliance supports
// only an unauthenticated HTTP proxy.
func dialViaProxy(ctx context.Context, env *Env, proxy, address string) (net.Conn, error) {
	u, err := url.Parse(proxy)
	if err != nil || u.Scheme != "http" || u.Host == "" {
		return nil, fmt.Errorf("%w: proxy %q is not http://HOST:PORT", ErrInvalid, proxy)
	}
	conn, err := env.dial(ctx, "tcp", u.Host)
	if err != nil {
		if cerr := cancelled(ctx); cerr != nil {
			return nil, cerr
		}
		return nil, fmt.Errorf("the proxy %s: %w", u.Host, connectError(err, u.Host))
	}
	if dl, ok := ctx.Deadline(); ok {
		_ = conn.SetDeadline(dl)
	}
	fmt.Fprintf(conn, "CONNECT %s HTTP/1.1\r\nHost: %s\r\n\r\n", address, address)
	br := bufio.NewReader(conn)
	resp, err := http.ReadResponse(br, &http.Request{Method: http.MethodConnect})
	if err != nil {
		conn.Close()
		if isTimeout(err) {
			return nil, fmt.Errorf("%w: the proxy %s did not answer CONNECT %s in time", ErrTimeout, u.Host, address)
		}
		return nil, fmt.Errorf("%w: the proxy %s answered CONNECT with no HTTP response: %v", ErrUnreachable, u.Host, err)
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		conn.Close()
		why := resp.Status
		if resp.StatusCode == http.StatusProxyAuthRequired {
			why += ": it wants credentials, and ASR supports only an unauthenticated proxy"
		}
		return nil, fmt.Errorf("%w: %s would not connect to %s (%s)", ErrProxy, u.Host, address, why)
	}
	_ = conn.SetDeadline(time.Time{})
	if br.Buffered() > 0 { // the server spoke first (not TLS): keep what the proxy read ahead
		return &bufferedConn{Conn: conn, r: br}, nil
	}
	return conn, nil
}

type bufferedConn struct {
	net.Conn
	r *bufio.Reader
}

func (c *bufferedConn) Read(p []byte) (int, error) { return c.r.Read(p) }
