package agent

import (
	"crypto/tls"
	"crypto/x509"
	"os"
	"strings"
	"testing"
)

// TestSelfSignedNamesNoHost: the self-signed certificate, which anyone who connects gets
// before authenticating, does not name the host (issue 14, item 8).
func TestSelfSignedNamesNoHost(t *testing.T) {
	host, err := os.Hostname()
	if err != nil || host == "" || host == "localhost" {
		t.Skipf("no distinctive host name here (%q, %v)", host, err)
	}
	a := startAgent(t, Config{})
	conn, err := tls.Dial("tcp", a.addr, &tls.Config{InsecureSkipVerify: true, MinVersion: tls.VersionTLS13})
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close()
	certs := conn.ConnectionState().PeerCertificates
	if len(certs) == 0 {
		t.Fatal("no certificate")
	}
	c := certs[0]
	seen := []string{c.Subject.String(), c.Issuer.String()}
	seen = append(seen, c.DNSNames...)
	for _, s := range seen {
		if strings.Contains(strings.ToLower(s), strings.ToLower(host)) {
			t.Errorf("the certificate shows the host name %q before authentication: %q", host, s)
		}
	}
	if _, err := x509.ParseCertificate(c.Raw); err != nil {
		t.Error(err)
	}
}
