package main

import (
	"context"
	"net"
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/netprobe/netprobe/internal/agent"
)

func TestAgentCmdUsageErrors(t *testing.T) {
	dir := t.TempDir()
	tok := filepath.Join(dir, "token")
	if err := os.WriteFile(tok, []byte("0123456789abcdef0123456789abcdef\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	t.Setenv(agent.EnvTokenFile, "")
	cases := []struct {
		name string
		args []string
	}{
		{"no token", []string{"agent", "--listen", "127.0.0.1:0"}},
		{"missing token file", []string{"agent", "--listen", "127.0.0.1:0", "--token-file", filepath.Join(dir, "nope")}},
		{"cert without key", []string{"agent", "--listen", "127.0.0.1:0", "--token-file", tok, "--cert", tok}},
		{"bad allow", []string{"agent", "--listen", "127.0.0.1:0", "--token-file", tok, "--allow", "10.0.0.0/33"}},
		{"bad log format", []string{"agent", "--listen", "127.0.0.1:0", "--token-file", tok, "--log-format", "xml"}},
		{"extra argument", []string{"agent", "--token-file", tok, "now"}},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
			defer cancel()
			if got := run(ctx, tc.args); got != ExitUsage {
				t.Errorf("exit %d, want %d", got, ExitUsage)
			}
		})
	}
}

// TestAgentCmdServes starts the command on loopback, talks to it with the client, and stops
// it as systemd would (context cancelled): exit 0.
func TestAgentCmdServes(t *testing.T) {
	dir := t.TempDir()
	tok := filepath.Join(dir, "token")
	token := []byte("0123456789abcdef0123456789abcdef")
	if err := os.WriteFile(tok, token, 0o600); err != nil {
		t.Fatal(err)
	}
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	addr := ln.Addr().String()
	ln.Close()

	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	done := make(chan ExitCode, 1)
	t.Setenv(agent.EnvTokenFile, tok) // the token from the environment, as under systemd
	go func() {
		done <- run(ctx, []string{"agent", "--listen", addr, "--allow", "127.0.0.0/8", "--log-format", "json"})
	}()

	var c *agent.Client
	deadline := time.Now().Add(5 * time.Second)
	for {
		dctx, dcancel := context.WithTimeout(ctx, time.Second)
		c, err = agent.Dial(dctx, addr, agent.ClientConfig{Token: token})
		dcancel()
		if err == nil || time.Now().After(deadline) {
			break
		}
		time.Sleep(50 * time.Millisecond) // the agent is still starting
	}
	if err != nil {
		t.Fatalf("Dial: %v", err)
	}
	defer c.Close()
	if c.Info().Hostname == "" {
		t.Errorf("Info = %+v", c.Info())
	}
	cancel()
	select {
	case code := <-done:
		if code != ExitOK {
			t.Errorf("exit %d after stop, want 0", code)
		}
	case <-time.After(10 * time.Second):
		t.Fatal("agent did not stop")
	}
}

// TestAgentCmdCreateCert: --create-cert makes the certificate once; the next start keeps it,
// so a coordinator's known-agents line stays right. Half an identity is an error.
func TestAgentCmdCreateCert(t *testing.T) {
	dir := t.TempDir()
	tok := filepath.Join(dir, "token")
	if err := os.WriteFile(tok, []byte("0123456789abcdef0123456789abcdef"), 0o600); err != nil {
		t.Fatal(err)
	}
	cert, key := filepath.Join(dir, "agent.crt"), filepath.Join(dir, "agent.key")
	addr := freeLoopbackAddr(t)
	fingerprint := func() string {
		stop := startAgentAt(t, addr, "--token-file", tok, "--cert", cert, "--key", key, "--create-cert")
		defer stop()
		ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		defer cancel()
		known, err := agent.LoadKnownAgents(filepath.Join(dir, "known"))
		if err != nil {
			t.Fatal(err)
		}
		c, err := agent.Dial(ctx, addr, agent.ClientConfig{Token: []byte("0123456789abcdef0123456789abcdef"), KnownAgents: known})
		if err != nil {
			t.Fatalf("Dial: %v", err)
		}
		c.Close()
		sha, _ := known.Lookup(addr)
		return sha
	}
	first := fingerprint()
	if fi, err := os.Stat(key); err != nil || fi.Mode().Perm() != 0o600 {
		t.Fatalf("key: %v, mode %v; want 0600", err, fi.Mode().Perm())
	}
	if second := fingerprint(); first == "" || second != first {
		t.Errorf("fingerprint %s after a restart, %s before: the identity did not last", second, first)
	}
	if err := os.Remove(cert); err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	if code := run(ctx, []string{"agent", "--listen", "127.0.0.1:0", "--token-file", tok, "--cert", cert, "--key", key, "--create-cert"}); code != ExitCannotRun {
		t.Errorf("key without its certificate: exit %d, want %d", code, ExitCannotRun)
	}
	if code := run(ctx, []string{"agent", "--listen", "127.0.0.1:0", "--token-file", tok, "--create-cert"}); code != ExitUsage {
		t.Errorf("--create-cert without --cert: exit %d, want %d", code, ExitUsage)
	}
}
