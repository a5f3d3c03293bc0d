package main

import (
	"context"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/sha256"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/hex"
	"encoding/pem"
	"math/big"
	"net"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/netprobe/netprobe/internal/agent"
	"github.com/netprobe/netprobe/internal/result"
)

// testPKI is a CA with the certificates a test signs with it, as PEM files in a temp dir.
type testPKI struct {
	dir    string
	caCert *x509.Certificate
	caKey  *ecdsa.PrivateKey
	CA     string // the CA's PEM file
}

func newTestPKI(t *testing.T) *testPKI {
	t.Helper()
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	tmpl := &x509.Certificate{SerialNumber: big.NewInt(1), Subject: pkix.Name{CommonName: "netprobe test CA"},
		NotBefore: time.Now().Add(-time.Hour), NotAfter: time.Now().Add(time.Hour),
		IsCA: true, BasicConstraintsValid: true, KeyUsage: x509.KeyUsageCertSign}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, tmpl, &key.PublicKey, key)
	if err != nil {
		t.Fatal(err)
	}
	ca, _ := x509.ParseCertificate(der)
	p := &testPKI{dir: t.TempDir(), caCert: ca, caKey: key}
	p.CA = p.write(t, "ca.pem", "CERTIFICATE", der)
	return p
}

func (p *testPKI) write(t *testing.T, name, typ string, der []byte) string {
	t.Helper()
	path := filepath.Join(p.dir, name)
	if err := os.WriteFile(path, pem.EncodeToMemory(&pem.Block{Type: typ, Bytes: der}), 0o600); err != nil {
		t.Fatal(err)
	}
	return path
}

// issue signs a certificate for name (a server's IP address, or a client's name) and returns
// its certificate and key files and its SHA-256.
func (p *testPKI) issue(t *testing.T, name string, server bool) (cert, key, sha string) {
	t.Helper()
	k, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	serial, _ := rand.Int(rand.Reader, big.NewInt(1<<62))
	tmpl := &x509.Certificate{SerialNumber: serial, Subject: pkix.Name{CommonName: name},
		NotBefore: time.Now().Add(-time.Hour), NotAfter: time.Now().Add(time.Hour),
		KeyUsage: x509.KeyUsageDigitalSignature, ExtKeyUsage: []x509.ExtKeyUsage{x509.ExtKeyUsageClientAuth}}
	if server {
		tmpl.ExtKeyUsage = []x509.ExtKeyUsage{x509.ExtKeyUsageServerAuth}
		tmpl.IPAddresses = []net.IP{net.ParseIP(name)}
	}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, p.caCert, &k.PublicKey, p.caKey)
	if err != nil {
		t.Fatal(err)
	}
	kder, err := x509.MarshalECPrivateKey(k)
	if err != nil {
		t.Fatal(err)
	}
	sum := sha256.Sum256(der)
	return p.write(t, serial.String()+".pem", "CERTIFICATE", der), p.write(t, serial.String()+".key", "EC PRIVATE KEY", kder), hex.EncodeToString(sum[:])
}

// startAgentAt runs `netprobe agent` in this process on addr and returns its stop function
// (also registered in t.Cleanup). It waits until the agent accepts connections.
func startAgentAt(t *testing.T, addr string, args ...string) (stop func()) {
	t.Helper()
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan ExitCode, 1)
	go func() {
		done <- run(ctx, append([]string{"agent", "--listen", addr, "--allow", "127.0.0.0/8"}, args...))
	}()
	stopped := false
	stop = func() {
		if !stopped {
			stopped = true
			cancel()
			<-done
		}
	}
	t.Cleanup(stop)
	deadline := time.Now().Add(5 * time.Second)
	for {
		c, err := net.DialTimeout("tcp", addr, time.Second)
		if err == nil {
			c.Close()
			return stop
		}
		select {
		case code := <-done:
			t.Fatalf("agent on %s exited %d", addr, code)
		default:
		}
		if time.Now().After(deadline) {
			t.Fatalf("agent on %s did not come up: %v", addr, err)
		}
		time.Sleep(20 * time.Millisecond)
	}
}

func testTokenFile(t *testing.T) string {
	t.Helper()
	tok := filepath.Join(t.TempDir(), "token")
	if err := os.WriteFile(tok, []byte("0123456789abcdef0123456789abcdef\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	return tok
}

// agentResults are the results of checks whose source is the agent at addr.
func agentResults(run result.Run, host string) []result.Result {
	var out []result.Result
	for _, r := range run.Results {
		if r.From == host && r.Status != result.Skip {
			out = append(out, r)
		}
	}
	return out
}

// TestCheckKnownAgents: the first run records the agent's certificate; after the agent comes
// back with another certificate on the same address, every check that needs it is an ERROR
// naming the agent and both fingerprints, and the run is incomplete (exit 3).
func TestCheckKnownAgents(t *testing.T) {
	t.Setenv(agent.EnvTokenFile, "")
	pki := newTestPKI(t)
	tok := testTokenFile(t)
	addr := freeLoopbackAddr(t)
	topo := loopbackTopology(t, addr)
	known := filepath.Join(t.TempDir(), "known_agents")
	cert1, key1, sha1 := pki.issue(t, "127.0.0.1", true)
	cert2, key2, sha2 := pki.issue(t, "127.0.0.1", true)

	stop := startAgentAt(t, addr, "--token-file", tok, "--cert", cert1, "--key", key1)
	out := filepath.Join(t.TempDir(), "run1.json")
	code, _, stderr := runCLI(t, "check", "-f", topo, "--token-file", tok, "--known-agents", known, "--format", "json", "-o", out, "--no-bandwidth")
	run1 := agentResults(readRun(t, out), "ps-az")
	if len(run1) == 0 {
		t.Fatalf("first run (exit %d): no results from ps-az: %s", code, stderr)
	}
	for _, r := range run1 {
		if r.Status == result.Error {
			t.Errorf("first run: %s: error %s", r.ID, r.Message)
		}
	}
	if data, _ := os.ReadFile(known); !strings.Contains(string(data), addr+" "+sha1+"\n") {
		t.Fatalf("first run (exit %d) did not record %s %s:\n%s\n%s", code, addr, sha1, data, stderr)
	}
	stop()

	startAgentAt(t, addr, "--token-file", tok, "--cert", cert2, "--key", key2)
	out = filepath.Join(t.TempDir(), "run2.json")
	code, _, stderr = runCLI(t, "check", "-f", topo, "--token-file", tok, "--known-agents", known, "--format", "json", "-o", out, "--no-bandwidth")
	if code != ExitIncomplete {
		t.Errorf("exit %d, want %d (the agent is refused)", code, ExitIncomplete)
	}
	results := agentResults(readRun(t, out), "ps-az")
	if len(results) == 0 {
		t.Fatal("no results from ps-az")
	}
	for _, r := range results {
		if r.Status != result.Error {
			t.Errorf("%s: %v, want error", r.ID, r.Status)
		}
		for _, want := range []string{addr, "was sha256 " + sha1, "now " + sha2, known + ":2"} {
			if !strings.Contains(r.Message, want) {
				t.Errorf("%s: message lacks %q: %s", r.ID, want, r.Message)
			}
		}
		if !strings.Contains(r.Hint, "known-agents") {
			t.Errorf("%s: hint %q", r.ID, r.Hint)
		}
	}
	if !strings.Contains(stderr, sha2) {
		t.Errorf("stderr does not name the new certificate:\n%s", stderr)
	}
}

// TestMutualTLSEndToEnd: agents that take only client certificates (no token) serve a
// coordinator with --client-cert/--client-key that verifies them with --agent-ca: check,
// latency and bandwidth work end to end; without the client certificate the agent refuses.
func TestMutualTLSEndToEnd(t *testing.T) {
	t.Setenv(agent.EnvTokenFile, "")
	pki := newTestPKI(t)
	clientCert, clientKey, _ := pki.issue(t, "coordinator", false)
	agentCert, agentKey, _ := pki.issue(t, "127.0.0.1", true)
	a, b := freeLoopbackAddr(t), freeLoopbackAddr(t)
	for _, addr := range []string{a, b} {
		startAgentAt(t, addr, "--client-ca", pki.CA, "--cert", agentCert, "--key", agentKey)
	}
	mtls := []string{"--client-cert", clientCert, "--client-key", clientKey, "--agent-ca", pki.CA}

	topo := loopbackTopology(t, a)
	out := filepath.Join(t.TempDir(), "run.json")
	code, _, stderr := runCLI(t, append([]string{"check", "-f", topo, "--format", "json", "-o", out, "--no-bandwidth"}, mtls...)...)
	results := agentResults(readRun(t, out), "ps-az")
	if len(results) == 0 {
		t.Fatalf("exit %d, no results from ps-az: %s", code, stderr)
	}
	for _, r := range results {
		if r.Status == result.Error {
			t.Errorf("check over mutual TLS: %s: error %s", r.ID, r.Message)
		}
	}

	code, stdout, stderr := runCLI(t, append([]string{"latency", "--from", a, "--to", b, "--samples", "5", "--interval", "10ms"}, mtls...)...)
	if code != ExitOK || !strings.HasPrefix(stdout, "pass") {
		t.Errorf("latency over mutual TLS: exit %d: %s%s", code, stdout, stderr)
	}
	code, stdout, stderr = runCLI(t, append([]string{"bandwidth", "--from", a, "--to", b, "--duration", "300ms", "--warmup", "0s", "--streams", "1", "--port", freePort(t), "--no-latency"}, mtls...)...)
	if code != ExitOK || !strings.HasPrefix(stdout, "pass") {
		t.Errorf("bandwidth over mutual TLS: exit %d: %s%s", code, stdout, stderr)
	}

	// A coordinator without a client certificate (the token instead) is refused at TLS.
	out = filepath.Join(t.TempDir(), "refused.json")
	code, _, _ = runCLI(t, "check", "-f", topo, "--token-file", testTokenFile(t), "--agent-ca", pki.CA, "--format", "json", "-o", out, "--no-bandwidth")
	refused := agentResults(readRun(t, out), "ps-az")
	if code != ExitIncomplete || len(refused) == 0 {
		t.Errorf("without a client certificate: exit %d, %d results; want 3 and errors", code, len(refused))
	}
	for _, r := range refused {
		if r.Status != result.Error || !strings.Contains(r.Message, "client certificate") {
			t.Errorf("%s: %v %s, want an error about the client certificate", r.ID, r.Status, r.Message)
		}
	}
	// An agent whose certificate the CA did not sign is refused too.
	other := newTestPKI(t)
	code, _, stderr = runCLI(t, "latency", "--from", a, "--to", b, "--samples", "2", "--interval", "10ms",
		"--client-cert", clientCert, "--client-key", clientKey, "--agent-ca", other.CA)
	if code != ExitCannotRun || !strings.Contains(stderr, "certificate") {
		t.Errorf("agents not signed by --agent-ca: exit %d: %s", code, stderr)
	}
}

func TestTrustFlagsUsage(t *testing.T) {
	t.Setenv(agent.EnvTokenFile, "")
	pki := newTestPKI(t)
	cert, key, _ := pki.issue(t, "coordinator", false)
	topo := loopbackTopology(t, "127.0.0.1:1")
	for name, tc := range map[string]struct {
		args []string
		want string
	}{
		"cert without key":             {[]string{"--client-cert", cert}, "--client-cert and --client-key go together"},
		"mutual TLS, no way to verify": {[]string{"--client-cert", cert, "--client-key", key}, "give --agent-ca, or --known-agents"},
		"bad CA file":                  {[]string{"--token-file", testTokenFile(t), "--agent-ca", key}, "no PEM certificate"},
		"bad known-agents":             {[]string{"--token-file", testTokenFile(t), "--known-agents", pki.CA}, "--known-agents"},
	} {
		t.Run(name, func(t *testing.T) {
			code, _, stderr := runCLI(t, append([]string{"check", "-f", topo, "--format", "json"}, tc.args...)...)
			if code != ExitUsage || !strings.Contains(stderr, tc.want) {
				t.Errorf("exit %d, want 2 with %q: %s", code, tc.want, stderr)
			}
		})
	}
}
