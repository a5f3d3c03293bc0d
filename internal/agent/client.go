package agent

import (
	"bufio"
	"context"
	"crypto/hmac"
	"crypto/sha256"
	"crypto/tls"
	"crypto/x509"
	"encoding/hex"
	"errors"
	"fmt"
	"net"
	"strings"
	"sync"
	"time"
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
				return &certRefusal{"agent sent no certificate"}
			}
			h := sha256.Sum256(cs.PeerCertificates[0].Raw)
			if !hmac.Equal(h[:], pin) {
				return &certRefusal{fmt.Sprintf("agent certificate sha256 %x does not match the pin", h[:])}
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
			return &certRefusal{"agent sent no certificate"}
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
