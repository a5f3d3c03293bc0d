package probes_test

import (
	"bufio"
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/netip"
	"strings"
	"testing"
	"time"

	"github.com/netprobe/netprobe/internal/probes"
	"github.com/netprobe/netprobe/internal/probes/probetest"
)

func TestTLS(t *testing.T) {
	t.Parallel()
	cert := probetest.NewTLSCert(t, "Contoso Issuing CA", "cs01.contoso.local", 90*24*time.Hour)
	proxy := probetest.NewTLSCert(t, "Inspecting Proxy CA", "cs01.contoso.local", 90*24*time.Hour)
	addr := probetest.TLSServer(t, cert).String()
	proxied := probetest.TLSServer(t, proxy).String()
	fp := strings.ToUpper(hexSHA256(cert.Leaf.Raw))

	cases := []struct {
		name                  string
		req                   probes.TLSRequest
		verified, intercepted bool
	}{
		{"trusted and as expected", probes.TLSRequest{Address: addr, ServerName: "cs01.contoso.local", RootCAs: cert.CAPEM, ExpectIssuer: "Contoso Issuing CA", ExpectFingerprint: fp}, true, false},
		{"untrusted chain reported, not fatal", probes.TLSRequest{Address: addr, ServerName: "cs01.contoso.local"}, false, false},
		{"wrong name", probes.TLSRequest{Address: addr, ServerName: "other.contoso.local", RootCAs: cert.CAPEM}, false, false},
		{"proxy replaced the issuer", probes.TLSRequest{Address: proxied, ServerName: "cs01.contoso.local", ExpectIssuer: "Contoso Issuing CA"}, false, true},
		{"proxy replaced the certificate", probes.TLSRequest{Address: proxied, ServerName: "cs01.contoso.local", RootCAs: proxy.CAPEM, ExpectFingerprint: fp}, true, true},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			ctx, cancel := context.WithTimeout(context.Background(), 2*time.Second)
			defer cancel()
			got, err := probes.TLS(ctx, nil, tc.req)
			if err != nil {
				t.Fatal(err)
			}
			if got.Verified != tc.verified || got.Intercepted != tc.intercepted {
				t.Errorf("verified=%v intercepted=%v (%s), want %v %v", got.Verified, got.Intercepted, got.Detail, tc.verified, tc.intercepted)
			}
			if got.Version == "" || got.Subject != "CN=cs01.contoso.local" || got.NotAfter.IsZero() || len(got.Fingerprint) != 64 {
				t.Errorf("handshake facts missing: %+v", got)
			}
			if got.RemoteAddr != tc.req.Address {
				t.Errorf("remote address %q, want the one connected to, %s", got.RemoteAddr, tc.req.Address)
			}
		})
	}
}

func TestTLSNotTLS(t *testing.T) {
	t.Parallel()
	ctx, cancel := context.WithTimeout(context.Background(), time.Second)
	defer cancel()
	got, err := probes.TLS(ctx, nil, probes.TLSRequest{Address: probetest.TCPResponder(t).String()})
	if err != nil || got.HandshakeError == "" {
		t.Errorf("TLS to a plain responder: %+v %v, want a handshake error in the result", got, err)
	}
	_, err = probes.TLS(ctx, nil, probes.TLSRequest{Address: probetest.ClosedPort(t, "tcp").String()})
	if !errors.Is(err, probes.ErrRefused) {
		t.Errorf("TLS to a closed port: %v, want ErrRefused", err)
	}
}

func TestTLSDeadline(t *testing.T) {
	t.Parallel()
	const deadline = 300 * time.Millisecond
	for name, addr := range map[string]string{
		"silent service": probetest.TCPService(t).String(), // accepts, never answers the ClientHello
		"full backlog":   probetest.FullBacklog(t).String(),
	} {
		t.Run(name, func(t *testing.T) {
			ctx, cancel := context.WithTimeout(context.Background(), deadline)
			defer cancel()
			start := time.Now()
			_, _ = probes.TLS(ctx, nil, probes.TLSRequest{Address: addr})
			probetest.Within(t, time.Since(start), deadline, slack)
		})
	}
}

// TestTLSNoSuchName: a name DNS says does not exist is ErrNoName, not "unreachable": the
// resolver answered, nothing on the path dropped anything. The dial is faked: no query leaves.
func TestTLSNoSuchName(t *testing.T) {
	env := &probes.Env{Dial: func(ctx context.Context, network, address string) (net.Conn, error) {
		return nil, &net.OpError{Op: "dial", Net: network, Err: &net.DNSError{Err: "no such host", Name: "nosuch.example", IsNotFound: true}}
	}}
	_, err := probes.TLS(context.Background(), env, probes.TLSRequest{Address: "nosuch.example:443"})
	if !errors.Is(err, probes.ErrNoName) || errors.Is(err, probes.ErrUnreachable) {
		t.Fatalf("err = %v, want ErrNoName", err)
	}
}

// TestTLSViaProxy: through an HTTP proxy the handshake reaches the service by CONNECT; a proxy
// that wants credentials is a refusal that says ASR cannot pass it either.
func TestTLSViaProxy(t *testing.T) {
	cert := probetest.NewTLSCert(t, "netprobe test CA", "svc.example.test", time.Hour)
	svc := probetest.TLSServer(t, cert)
	open := connectProxy(t, svc, 0)
	res, err := probes.TLS(context.Background(), nil, probes.TLSRequest{Address: "svc.example.test:443", Proxy: "http://" + open.String(), RootCAs: cert.CAPEM})
	if err != nil || !res.Verified {
		t.Fatalf("through the proxy: %+v, %v", res, err)
	}
	if res.RemoteAddr != "" {
		t.Errorf("remote address %q through a proxy, which resolves the name itself: want none", res.RemoteAddr)
	}
	auth := connectProxy(t, svc, http.StatusProxyAuthRequired)
	_, err = probes.TLS(context.Background(), nil, probes.TLSRequest{Address: "svc.example.test:443", Proxy: "http://" + auth.String()})
	if !errors.Is(err, probes.ErrProxy) || !strings.Contains(err.Error(), "unauthenticated") {
		t.Errorf("authenticating proxy: %v", err)
	}
}

// connectProxy is an HTTP proxy on 127.0.0.1:0 that tunnels every CONNECT to svc (whatever
// name it asks for: no DNS), or answers refuse when it is not 0.
func connectProxy(t *testing.T, svc netip.AddrPort, refuse int) netip.AddrPort {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { ln.Close() })
	go func() {
		for {
			c, err := ln.Accept()
			if err != nil {
				return
			}
			go func() {
				defer c.Close()
				req, err := http.ReadRequest(bufio.NewReader(c))
				if err != nil || req.Method != http.MethodConnect {
					return
				}
				if refuse != 0 {
					fmt.Fprintf(c, "HTTP/1.1 %d %s\r\nProxy-Authenticate: Basic realm=\"x\"\r\n\r\n", refuse, http.StatusText(refuse))
					return
				}
				up, err := net.Dial("tcp", svc.String())
				if err != nil {
					return
				}
				defer up.Close()
				fmt.Fprint(c, "HTTP/1.1 200 Connection established\r\n\r\n")
				go io.Copy(up, c)
				io.Copy(c, up)
			}()
		}
	}()
	return netip.MustParseAddrPort(ln.Addr().String())
}

// TestTLSHTTPDate: with HTTPDate the probe asks HEAD / over the connection it already made and
// reports the server's Date header between the local clock before and after: a loopback
// stand-in for an Azure endpoint whose clock is 10 minutes ahead.
func TestTLSHTTPDate(t *testing.T) {
	t.Parallel()
	cert := probetest.NewTLSCert(t, "Contoso Issuing CA", "login.example.test", 90*24*time.Hour)
	ahead := 10 * time.Minute
	addr := probetest.HTTPSServer(t, cert, func() time.Time { return time.Now().Add(ahead) }).String()
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Second)
	defer cancel()
	got, err := probes.TLS(ctx, nil, probes.TLSRequest{Address: addr, ServerName: "login.example.test", RootCAs: cert.CAPEM, HTTPDate: true})
	if err != nil {
		t.Fatal(err)
	}
	if got.DateError != "" || got.HTTPDate.IsZero() || got.DateSent.IsZero() || got.DateReceived.Before(got.DateSent) {
		t.Fatalf("date reading %+v", got)
	}
	// The header has whole seconds: the server's time lies within a second after it.
	lo, hi := got.DateSent.Add(ahead).Add(-time.Second), got.DateReceived.Add(ahead)
	if got.HTTPDate.Before(lo) || got.HTTPDate.After(hi) {
		t.Errorf("Date %v outside [%v, %v]", got.HTTPDate, lo, hi)
	}
	// Without HTTPDate nothing is sent after the handshake; a server that only shakes hands
	// leaves a reason, not a failure.
	plain := probetest.TLSServer(t, cert).String()
	got, err = probes.TLS(ctx, nil, probes.TLSRequest{Address: plain, ServerName: "login.example.test", HTTPDate: true})
	if err != nil || got.Version == "" || !got.HTTPDate.IsZero() || got.DateError == "" {
		t.Errorf("no HTTP after the handshake: %+v %v, want the handshake and a date error", got, err)
	}
}
