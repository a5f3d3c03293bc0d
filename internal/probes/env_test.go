package probes_test

import (
	"context"
	"crypto/x509"
	"net"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/netprobe/netprobe/internal/probes"
	"github.com/netprobe/netprobe/internal/probes/probetest"
)

// envResolving is an Env whose names come from dns (a DNS server of the test's) and whose
// certificates are verified against cert's CA: an agent with a DNS and a CA of its own, as the
// demo's agents have. The package's TestMain refuses the machine's resolver, so a probe that
// resolved around the Env would fail here.
func envResolving(t *testing.T, dns string, cert probetest.TLSCert) *probes.Env {
	t.Helper()
	pool := x509.NewCertPool()
	if !pool.AppendCertsFromPEM(cert.CAPEM) {
		t.Fatal("no CA")
	}
	r := &net.Resolver{PreferGo: true, Dial: func(ctx context.Context, network, _ string) (net.Conn, error) {
		var d net.Dialer
		return d.DialContext(ctx, network, dns)
	}}
	return &probes.Env{Resolver: r, RootCAs: pool, Nameservers: []string{dns}}
}

// TestEnvResolverAndRoots: names resolve through Env.Resolver for every probe that takes a
// name, TLS verifies against Env.RootCAs when the request names no roots, and a DNS probe
// without servers asks Env.Nameservers.
func TestEnvResolverAndRoots(t *testing.T) {
	const name = "storage.example.test"
	cert := probetest.NewTLSCert(t, "netprobe env CA", name, time.Hour)
	srv := probetest.TLSServer(t, cert)
	dns := probetest.DNSServer(t, map[string][]string{name + ".": {srv.Addr().String()}}, false)
	env := envResolving(t, dns.String(), cert)
	ctx, cancel := context.WithTimeout(t.Context(), 10*time.Second)
	defer cancel()
	addr := net.JoinHostPort(name, strconv.Itoa(int(srv.Port())))

	res, err := probes.TLS(ctx, env, probes.TLSRequest{Address: addr})
	if err != nil || !res.Verified || res.RemoteAddr != srv.String() {
		t.Errorf("TLS to %s: verified %v (%s), remote %q, err %v; want verified at %s", addr, res.Verified, res.VerifyError, res.RemoteAddr, err, srv)
	}
	// Without the Env's roots the same server is untrusted: the roots came from the Env.
	noRoots := *env
	noRoots.RootCAs = x509.NewCertPool()
	if res, err := probes.TLS(ctx, &noRoots, probes.TLSRequest{Address: addr}); err != nil || res.Verified {
		t.Errorf("TLS with an empty pool: verified %v, err %v; want unverified", res.Verified, err)
	}

	port, err := probes.Port(ctx, env, probes.PortRequest{Address: addr, Proto: "tcp"})
	if err != nil || port.State != probes.Open {
		t.Errorf("port %s: %v %v; want open", addr, port.State, err)
	}

	// A name the Env's server does not know: the error names that server, not resolv.conf's.
	_, err = probes.TLS(ctx, env, probes.TLSRequest{Address: "missing.example.test:443"})
	if err == nil || !strings.Contains(err.Error(), "on "+dns.String()) {
		t.Errorf("TLS to a missing name: %v; want the lookup error to name %s", err, dns)
	}

	d, err := probes.DNS(ctx, env, probes.DNSRequest{Name: name})
	if err != nil || len(d.Answers) != 1 || !d.Answers[0].OK() || d.Answers[0].Server != dns.String() {
		t.Errorf("DNS without servers: %+v, %v; want one answer from %s", d, err, dns)
	}
}
