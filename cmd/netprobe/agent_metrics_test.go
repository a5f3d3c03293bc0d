package main

import (
	"bytes"
	"context"
	"io"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/prometheus/common/expfmt"
	"github.com/prometheus/common/model"

	"github.com/netprobe/netprobe/internal/agent"
	"github.com/netprobe/netprobe/internal/promtool"
)

// TestAgentCmdMetrics: --metrics serves the agent's Prometheus metrics over plain HTTP while
// the agent runs, and stops with it.
func TestAgentCmdMetrics(t *testing.T) {
	tok := filepath.Join(t.TempDir(), "token")
	if err := os.WriteFile(tok, []byte("0123456789abcdef0123456789abcdef"), 0o600); err != nil {
		t.Fatal(err)
	}
	addr, maddr := freeLoopbackAddr(t), freeLoopbackAddr(t)
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	done := make(chan ExitCode, 1)
	go func() {
		done <- run(ctx, []string{"agent", "--listen", addr, "--token-file", tok, "--metrics", maddr, "--log-format", "json"})
	}()

	var resp *http.Response
	var err error
	for deadline := time.Now().Add(5 * time.Second); ; {
		resp, err = http.Get("http://" + maddr + "/metrics")
		if err == nil || time.Now().After(deadline) {
			break
		}
		time.Sleep(50 * time.Millisecond) // the agent is still starting
	}
	if err != nil {
		t.Fatalf("scrape: %v", err)
	}
	raw, err := io.ReadAll(resp.Body)
	resp.Body.Close()
	if err != nil {
		t.Fatalf("scrape: %v", err)
	}
	p := expfmt.NewTextParser(model.UTF8Validation)
	mfs, err := p.TextToMetricFamilies(bytes.NewReader(raw))
	if err != nil {
		t.Fatalf("parse: %v", err)
	}
	t.Run("promtool check metrics", func(t *testing.T) { promtool.CheckMetrics(t, raw) })
	for _, name := range []string{agent.MetricBuildInfo, agent.MetricProbes, agent.MetricRespondersOpen, agent.MetricAuthFailures} {
		if _, ok := mfs[name]; !ok {
			t.Errorf("%s not exposed", name)
		}
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
	if resp, err := http.Get("http://" + maddr + "/metrics"); err == nil {
		resp.Body.Close()
		t.Error("metrics still served after the agent stopped")
	}
}

func TestAgentCmdMetricsAddressTaken(t *testing.T) {
	tok := filepath.Join(t.TempDir(), "token")
	if err := os.WriteFile(tok, []byte("0123456789abcdef0123456789abcdef"), 0o600); err != nil {
		t.Fatal(err)
	}
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	code := run(t.Context(), []string{"agent", "--listen", freeLoopbackAddr(t), "--token-file", tok, "--metrics", ln.Addr().String()})
	if code != ExitCannotRun {
		t.Errorf("exit %d with the metrics address taken, want %d", code, ExitCannotRun)
	}
}
