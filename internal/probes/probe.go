// Package probes measures the network: one probe kind per file, one shared contract. A probe
// takes the caller's context (which owns the deadline: a probe may shorten it, never extend
// it), returns a typed measurement, and returns an error only when it could not measure at all;
// that error wraps one of the sentinels below. Probes know nothing of ASR, roles or verdicts.
package probes

import (
	"context"
	"crypto/x509"
	"errors"
	"fmt"
	"net"
	"strings"
	"time"
)

// Classified errors. A probe's error wraps one of these with %w so callers can switch on them.
var (
	ErrTimeout     = errors.New("timeout")
	ErrRefused     = errors.New("refused")
	ErrUnreachable = errors.New("unreachable")
	ErrPermission  = errors.New("permission denied")
	// ErrUnsupported: the probe cannot run on this OS or in this configuration.
	ErrUnsupported = errors.New("unsupported")
	// ErrInvalid: the request itself is malformed (bad address, unknown protocol); fix the input.
	ErrInvalid = errors.New("invalid request")
	// ErrNoName: the name to connect to does not exist in DNS (NXDOMAIN, no such host): the
	// resolver answered, so nothing on the path dropped anything.
	ErrNoName = errors.New("no such name")
)

// DefaultTimeout bounds a probe whose context carries no deadline. Two seconds is nmap's
// -T4 initial RTT timeout order of magnitude and what a person at a shell waits without
// wondering; callers with a plan pass their own deadline.
const DefaultTimeout = 2 * time.Second

// withDeadline returns ctx bounded by DefaultTimeout when it has no deadline of its own. It
// never extends a deadline the caller set.
func withDeadline(ctx context.Context) (context.Context, context.CancelFunc) {
	if _, ok := ctx.Deadline(); ok {
		return context.WithCancel(ctx)
	}
	return context.WithTimeout(ctx, DefaultTimeout)
}

// PortState is nmap's vocabulary for what a port looked like from the prober.
type PortState int

const (
	Open PortState = iota + 1
	Closed
	Filtered
	OpenFiltered
	Unreachable
)

var portStateNames = [...]string{Open: "open", Closed: "closed", Filtered: "filtered", OpenFiltered: "open|filtered", Unreachable: "unreachable"}

func (s PortState) String() string { return enumString(portStateNames[:], int(s), "state") }

func (s PortState) MarshalText() ([]byte, error) {
	return enumMarshal(portStateNames[:], int(s), "port state")
}

func (s *PortState) UnmarshalText(b []byte) error {
	v, err := enumParse(portStateNames[:], string(b), "port state")
	*s = PortState(v)
	return err
}

// Reason says why a port has its state, in nmap's words.
type Reason int

const (
	SynAck Reason = iota + 1
	UDPEcho
	Reset
	ICMPPortUnreachable
	Timeout
	ICMPAdminProhibited
	ICMPHostProhibited
	ICMPNetProhibited
	NoResponse
	NoRoute
	ICMPHostUnreachable
	ICMPNetUnreachable
	NetworkDown
	// UDPResponse: a UDP port answered with something other than our responder's echo (a real
	// service spoke); nmap's "udp-response".
	UDPResponse
)

var reasonNames = [...]string{
	SynAck: "syn-ack", UDPEcho: "udp-echo", Reset: "reset", ICMPPortUnreachable: "icmp-port-unreachable",
	Timeout: "timeout", ICMPAdminProhibited: "icmp-admin-prohibited", ICMPHostProhibited: "icmp-host-prohibited",
	ICMPNetProhibited: "icmp-net-prohibited", NoResponse: "no-response", NoRoute: "no-route",
	ICMPHostUnreachable: "icmp-host-unreachable", ICMPNetUnreachable: "icmp-net-unreachable", NetworkDown: "network-down", UDPResponse: "udp-response",
}

func (r Reason) String() string { return enumString(reasonNames[:], int(r), "reason") }

func (r Reason) MarshalText() ([]byte, error) { return enumMarshal(reasonNames[:], int(r), "reason") }

func (r *Reason) UnmarshalText(b []byte) error {
	v, err := enumParse(reasonNames[:], string(b), "reason")
	*r = Reason(v)
	return err
}

func enumString(names []string, v int, kind string) string {
	if v <= 0 || v >= len(names) || names[v] == "" {
		return fmt.Sprintf("%s(%d)", kind, v)
	}
	return names[v]
}

func enumMarshal(names []string, v int, kind string) ([]byte, error) {
	if v <= 0 || v >= len(names) || names[v] == "" {
		return nil, fmt.Errorf("%s %d is unset or unknown", kind, v)
	}
	return []byte(names[v]), nil
}

func enumParse(names []string, s, kind string) (int, error) {
	for i, n := range names {
		if n != "" && n == s {
			return i, nil
		}
	}
	return 0, fmt.Errorf("unknown %s %q", kind, s)
}

// Env injects a probe's I/O. A nil Env, or a nil field, means the real thing.
type Env struct {
	// Dial opens a stream connection (TCP).
	Dial func(ctx context.Context, network, address string) (net.Conn, error)
	// Now reads the clock.
	Now func() time.Time
	// Resolver resolves the names probes are given (an agent whose names come from a DNS
	// server of its own, as the demo's agents do); nil is net.DefaultResolver.
	Resolver *net.Resolver
	// Nameservers (ip:port) are the host's own resolvers for a DNS probe that names none;
	// nil reads /etc/resolv.conf. Set it with Resolver, to the servers Resolver asks.
	Nameservers []string
	// RootCAs verifies TLS certificates when a request names no roots of its own; nil is the
	// system's roots.
	RootCAs *x509.CertPool
}

func (e *Env) dial(ctx context.Context, network, address string) (net.Conn, error) {
	if e != nil && e.Dial != nil {
		return e.Dial(ctx, network, address)
	}
	d := net.Dialer{Resolver: e.resolver()}
	c, err := d.DialContext(ctx, network, address)
	return c, e.namedServer(err)
}

// namedServer makes a lookup error name the server Env's resolver asked: Go's resolver names
// the first server of /etc/resolv.conf, which a Resolver with its own Dial never asked.
func (e *Env) namedServer(err error) error {
	var dnsErr *net.DNSError
	if e != nil && e.Resolver != nil && len(e.Nameservers) > 0 && errors.As(err, &dnsErr) {
		dnsErr.Server = strings.Join(e.Nameservers, ", ")
	}
	return err
}

func (e *Env) resolver() *net.Resolver {
	if e != nil && e.Resolver != nil {
		return e.Resolver
	}
	return net.DefaultResolver
}

// roots is the pool a certificate is verified against: the request's PEM bundle when it has
// one, else the Env's, else nil (the system's).
func (e *Env) roots(pem []byte) (*x509.CertPool, error) {
	if len(pem) > 0 {
		pool := x509.NewCertPool()
		if !pool.AppendCertsFromPEM(pem) {
			return nil, fmt.Errorf("%w: root_cas holds no PEM certificate", ErrInvalid)
		}
		return pool, nil
	}
	if e != nil {
		return e.RootCAs, nil
	}
	return nil, nil
}

func (e *Env) now() time.Time {
	if e != nil && e.Now != nil {
		return e.Now()
	}
	return time.Now()
}
