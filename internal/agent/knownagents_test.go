package agent

import (
	"context"
	"crypto/tls"
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

func TestKnownAgentsTrustOnFirstUse(t *testing.T) {
	a := startAgent(t, Config{})
	path := filepath.Join(t.TempDir(), "known_agents")
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	dial := func(token []byte) error {
		known, err := LoadKnownAgents(path)
		if err != nil {
			t.Fatal(err)
		}
		c, err := Dial(ctx, a.addr, ClientConfig{Token: token, KnownAgents: known})
		if err == nil {
			c.Close()
		}
		return err
	}

	// An interceptor (here: a wrong token, so the answers do not verify) is never recorded.
	if err := dial([]byte("not-the-token-0123456789")); !errors.Is(err, ErrAuth) {
		t.Fatalf("wrong token: %v, want ErrAuth", err)
	}
	if _, err := os.Stat(path); !os.IsNotExist(err) {
		t.Fatalf("an unauthenticated agent was recorded: %v", err)
	}
	// First use: recorded.
	if err := dial(testToken); err != nil {
		t.Fatalf("first use: %v", err)
	}
	known, err := LoadKnownAgents(path)
	if err != nil {
		t.Fatal(err)
	}
	if sha, ok := known.Lookup(a.addr); !ok || sha != a.srv.Fingerprint() {
		t.Fatalf("recorded %q (%v), want the agent's %s", sha, ok, a.srv.Fingerprint())
	}
	// Again: the same certificate passes, and nothing is added.
	before, _ := os.ReadFile(path)
	if err := dial(testToken); err != nil {
		t.Fatalf("second use: %v", err)
	}
	if after, _ := os.ReadFile(path); string(after) != string(before) {
		t.Errorf("file changed on a known agent:\n%s\n->\n%s", before, after)
	}
	if fi, err := os.Stat(path); err != nil || fi.Mode().Perm() != 0o600 {
		t.Errorf("file mode %v (%v), want 0600", fi.Mode().Perm(), err)
	}
}

// TestKnownAgentsRefusesChangedCertificate: an agent whose certificate is not the recorded
// one is refused with an error naming it and both fingerprints, before any request.
func TestKnownAgentsRefusesChangedCertificate(t *testing.T) {
	a := startAgent(t, Config{})
	old := strings.Repeat("ab", 32)
	path := filepath.Join(t.TempDir(), "known_agents")
	if err := os.WriteFile(path, []byte("# pinned by hand\n127.0.0.1:1 "+strings.Repeat("cd", 32)+"\n"+a.addr+" "+strings.ToUpper(old)+"\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	known, err := LoadKnownAgents(path)
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	_, err = Dial(ctx, a.addr, ClientConfig{Token: testToken, KnownAgents: known})
	var changed *CertChangedError
	if !errors.As(err, &changed) || !errors.Is(err, ErrCertChanged) {
		t.Fatalf("Dial: %v, want a CertChangedError", err)
	}
	if changed.Agent != a.addr || changed.Old != old || changed.New != a.srv.Fingerprint() || changed.Line != 3 {
		t.Errorf("error %+v, want agent %s, old %s, new %s, line 3", changed, a.addr, old, a.srv.Fingerprint())
	}
	for _, want := range []string{a.addr, old, a.srv.Fingerprint(), path + ":3"} {
		if !strings.Contains(err.Error(), want) {
			t.Errorf("message lacks %q: %v", want, err)
		}
	}
	if strings.Contains(a.logs.String(), "auth_failed") {
		t.Errorf("a request reached the agent: %s", a.logs.String())
	}
}

// TestKnownAgentsPinMutualTLS: with mutual TLS and no token, a line of the file is what
// verifies the agent; without one the client refuses to start.
func TestKnownAgentsPinMutualTLS(t *testing.T) {
	pool, clientCert := testCA(t)
	a := startAgent(t, Config{ClientCAs: pool})
	path := filepath.Join(t.TempDir(), "known_agents")
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	known, _ := LoadKnownAgents(path)
	cfg := ClientConfig{Certificates: []tls.Certificate{clientCert}, KnownAgents: known}
	if _, err := Dial(ctx, a.addr, cfg); err == nil || !strings.Contains(err.Error(), "known-agents") {
		t.Fatalf("mutual TLS, agent unknown: %v, want a refusal naming the known-agents file", err)
	}
	if err := os.WriteFile(path, []byte(a.addr+" "+a.srv.Fingerprint()+"\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	cfg.KnownAgents, _ = LoadKnownAgents(path)
	c, err := Dial(ctx, a.addr, cfg)
	if err != nil {
		t.Fatalf("mutual TLS, agent pinned: %v", err)
	}
	if !c.Info().MTLS {
		t.Error("Info.MTLS = false")
	}
	c.Close()
}

func TestLoadKnownAgentsErrors(t *testing.T) {
	sha1, sha2 := strings.Repeat("ab", 32), strings.Repeat("cd", 32)
	for _, tc := range []struct{ name, content, want string }{
		{"not hex", "10.0.0.1:7411 zz\n", "known_agents:1: want an agent address"},
		{"three fields", "# c\n10.0.0.1:7411 x " + sha1 + "\n", "known_agents:2:"},
		{"disagreeing lines", "10.0.0.1:7411 " + sha1 + "\n10.0.0.1:7411 " + sha2 + "\n", "known_agents:2: agent 10.0.0.1:7411 was recorded with another certificate on line 1"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			path := filepath.Join(t.TempDir(), "known_agents")
			if err := os.WriteFile(path, []byte(tc.content), 0o600); err != nil {
				t.Fatal(err)
			}
			if _, err := LoadKnownAgents(path); err == nil || !strings.Contains(err.Error(), tc.want) {
				t.Errorf("LoadKnownAgents: %v, want %q", err, tc.want)
			}
		})
	}
	// The same line twice (two coordinators recording at once) is fine; colons are too.
	path := filepath.Join(t.TempDir(), "known_agents")
	colons := strings.TrimSuffix(strings.Repeat("AB:", 32), ":")
	if err := os.WriteFile(path, []byte("10.0.0.1:7411 "+sha1+"\n10.0.0.1:7411 "+colons), 0o600); err != nil {
		t.Fatal(err)
	}
	k, err := LoadKnownAgents(path)
	if err != nil {
		t.Fatal(err)
	}
	if sha, _ := k.Lookup("10.0.0.1:7411"); sha != sha1 {
		t.Errorf("Lookup = %s", sha)
	}
	// A record after a last line without its newline starts a line of its own.
	if err := k.record("10.0.0.2:7411", sha2); err != nil {
		t.Fatal(err)
	}
	if k2, err := LoadKnownAgents(path); err != nil || !k2.has("10.0.0.2:7411") {
		t.Errorf("after record: %v", err)
	}
}
