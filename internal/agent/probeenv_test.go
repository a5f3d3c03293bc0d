package agent

import (
	"context"
	"crypto/x509"
	"net"
	"strconv"
	"testing"
	"time"

	"github.com/netprobe/netprobe/internal/probes"
	"github.com/netprobe/netprobe/internal/probes/probetest"
)

// TestProbeEnvReachesTheProbes: an agent started with a ProbeEnv resolves the names it is
// asked to probe with the Env's resolver and verifies TLS with its roots (the demo's agents
// resolve Azure's names to stand-ins). The package's TestMain refuses the machine's resolver,
// so a probe that went around the Env fails here.
func TestProbeEnvReachesTheProbes(t *testing.T) {
	const name = "labasrlog01.blob.core.windows.net"
	cert := probetest.NewTLSCert(t, "netprobe demo CA", name, time.Hour)
	srv := probetest.TLSServer(t, cert)
	dns := probetest.DNSServer(t, map[string][]string{name + ".": {srv.Addr().String()}}, false)
	pool := x509.NewCertPool()
	pool.AppendCertsFromPEM(cert.CAPEM)
	env := &probes.Env{RootCAs: pool, Resolver: &net.Resolver{PreferGo: true, Dial: func(ctx context.Context, network, _ string) (net.Conn, error) {
		var d net.Dialer
		return d.DialContext(ctx, network, dns.String())
	}}}
	c := dialAgent(t, startAgent(t, Config{ProbeEnv: env}), ClientConfig{})
	ctx, cancel := context.WithTimeout(t.Context(), 10*time.Second)
	defer cancel()
	var res probes.TLSResult
	addr := net.JoinHostPort(name, strconv.Itoa(int(srv.Port())))
	if err := c.Probe(ctx, KindTLS, probes.TLSRequest{Address: addr}, &res); err != nil || !res.Verified {
		t.Fatalf("tls probe of %s through the agent: %+v, %v; want verified through the Env's resolver and roots", addr, res, err)
	}
}
