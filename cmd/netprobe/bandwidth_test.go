package main

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"net"
	"os"
	"path/filepath"
	"strconv"
	"testing"
	"time"

	"github.com/netprobe/netprobe/internal/agent"
	"github.com/netprobe/netprobe/internal/bwtest"
	"github.com/netprobe/netprobe/internal/capacity"
	"github.com/netprobe/netprobe/internal/engine"
	"github.com/netprobe/netprobe/internal/probes"
	"github.com/netprobe/netprobe/internal/probes/probetest"
	"github.com/netprobe/netprobe/internal/result"
	"github.com/netprobe/netprobe/internal/topology"
)

// startTestAgents runs n agents on loopback (netprobe agent, as users run it) and returns their
// addresses and the token file. They stop when the test ends.
func startTestAgents(t *testing.T, n int) ([]string, string) {
	t.Helper()
	dir := t.TempDir()
	tok := filepath.Join(dir, "token")
	token := []byte("0123456789abcdef0123456789abcdef")
	if err := os.WriteFile(tok, token, 0o600); err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	var addrs []string
	var done []chan ExitCode
	t.Cleanup(func() {
		cancel()
		for _, d := range done {
			<-d
		}
	})
	for range n {
		addr := freeLoopbackAddr(t)
		d := make(chan ExitCode, 1)
		go func() {
			d <- run(ctx, []string{"agent", "--listen", addr, "--allow", "127.0.0.0/8", "--token-file", tok})
		}()
		done = append(done, d)
		addrs = append(addrs, addr)
	}
	for _, addr := range addrs {
		deadline := time.Now().Add(5 * time.Second)
		for {
			dctx, dcancel := context.WithTimeout(ctx, time.Second)
			c, err := agent.Dial(dctx, addr, agent.ClientConfig{Token: token})
			dcancel()
			if err == nil {
				c.Close()
				break
			}
			if time.Now().After(deadline) {
				t.Fatalf("agent %s did not start: %v", addr, err)
			}
			time.Sleep(50 * time.Millisecond) // the agent is still starting
		}
	}
	return addrs, tok
}

func freeLoopbackAddr(t *testing.T) string {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	return ln.Addr().String()
}

func freePort(t *testing.T) string {
	_, p, _ := net.SplitHostPort(freeLoopbackAddr(t))
	return p
}

// execute runs the CLI like main does, capturing stdout, and returns the exit code.
func execute(t *testing.T, args ...string) (ExitCode, string) {
	t.Helper()
	root := newRootCmd()
	var out, errb bytes.Buffer
	root.SetArgs(args)
	root.SetOut(&out)
	root.SetErr(&errb)
	err := root.ExecuteContext(t.Context())
	code := ExitOK
	if err != nil {
		var ee *exitError
		if errors.As(err, &ee) {
			code = ee.code
		} else {
			code = ExitUsage
		}
		t.Logf("netprobe %v: %v (stderr %q)", args, err, errb.String())
	}
	return code, out.String()
}

func decodeResult(t *testing.T, out string) result.Result {
	t.Helper()
	var r result.Result
	if err := json.Unmarshal([]byte(out), &r); err != nil {
		t.Fatalf("output is not one JSON result: %v\n%s", err, out)
	}
	return r
}

func TestBandwidthCmd(t *testing.T) {
	agents, tok := startTestAgents(t, 2)
	from, to := agents[0], agents[1]
	tests := []struct {
		name     string
		extra    []string
		code     ExitCode
		status   result.Status
		openedBy string
	}{
		{"from sends to to", nil, ExitOK, result.Pass, from},
		{"reverse: to opens the connections", []string{"--reverse"}, ExitOK, result.Pass, to},
		// No loopback carries a petabit: the churn cannot be carried, the RPO will be missed.
		{"short of the required rate", []string{"--required-mbps", "1e9"}, ExitFail, result.Fail, from},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			args := append([]string{"bandwidth", "--from", from, "--to", to, "--token-file", tok, "--streams", "2",
				"--duration", "400ms", "--warmup", "100ms", "--port", freePort(t), "--format", "json"}, tt.extra...)
			code, out := execute(t, args...)
			if code != tt.code {
				t.Fatalf("exit %d, want %d\n%s", code, tt.code, out)
			}
			r := decodeResult(t, out)
			if r.Check != result.CheckBandwidth || r.Status != tt.status {
				t.Errorf("check %q status %v, want bandwidth %v: %s", r.Check, r.Status, tt.status, r.Message)
			}
			mbps, _ := r.Metrics["mbps"].(float64)
			per, _ := r.Metrics["per_stream"].([]any)
			if mbps <= 0 || len(per) != 2 || r.Metrics["streams"] != float64(2) {
				t.Errorf("metrics %v", r.Metrics)
			}
			if r.Metrics["opened_by"] != tt.openedBy {
				t.Errorf("opened_by %v, want %s", r.Metrics["opened_by"], tt.openedBy)
			}
			// 1 s intervals: a 400 ms test has one, partial, interval (bwtest tests the rest).
			if len(r.Intervals) != 1 || r.Intervals[0] <= 0 {
				t.Errorf("intervals %v, want one for 400ms", r.Intervals)
			}
			for _, k := range []string{"p50_ms", "loaded_p50_ms", "loaded_p95_ms"} {
				if _, ok := r.Metrics[k].(float64); !ok {
					t.Errorf("no %s in %v", k, r.Metrics)
				}
			}
			if tt.status == result.Fail {
				if h, _ := r.Metrics["headroom"].(float64); h >= 1 || r.Hint == "" {
					t.Errorf("headroom %v hint %q", r.Metrics["headroom"], r.Hint)
				}
			}
		})
	}
}

func TestBandwidthCmdPortHeld(t *testing.T) {
	agents, tok := startTestAgents(t, 2)
	// A "real service" on the data port: the agent leaves it alone, so no test can run there.
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	probetest.HoldPort(t, ln)
	port := strconv.Itoa(ln.Addr().(*net.TCPAddr).Port)
	code, _ := execute(t, "bandwidth", "--from", agents[0], "--to", agents[1], "--token-file", tok, "--port", port, "--duration", "200ms")
	if code != ExitCannotRun {
		t.Errorf("exit %d, want %d", code, ExitCannotRun)
	}
}

func TestBandwidthCmdUsage(t *testing.T) {
	tests := []struct {
		name string
		args []string
	}{
		{"no agents", []string{"bandwidth"}},
		{"bad format", []string{"bandwidth", "--from", "a:1", "--to", "b:1", "--format", "xml"}},
		{"zero streams", []string{"bandwidth", "--from", "a:1", "--to", "b:1", "--streams", "0"}},
		{"too many streams", []string{"bandwidth", "--from", "a:1", "--to", "b:1", "--streams", "33"}},
		{"latency without agents", []string{"latency"}},
		{"latency bad samples", []string{"latency", "--from", "a:1", "--to", "b:1", "--samples", "0"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if code, _ := execute(t, tt.args...); code != ExitUsage {
				t.Errorf("exit %d, want %d", code, ExitUsage)
			}
		})
	}
}

func TestLatencyCmd(t *testing.T) {
	agents, tok := startTestAgents(t, 2)
	code, out := execute(t, "latency", "--from", agents[0], "--to", agents[1], "--token-file", tok,
		"--samples", "5", "--interval", "10ms", "--format", "json")
	if code != ExitOK {
		t.Fatalf("exit %d\n%s", code, out)
	}
	r := decodeResult(t, out)
	if r.Check != result.CheckLatency || r.Status != result.Pass {
		t.Errorf("check %q status %v: %s", r.Check, r.Status, r.Message)
	}
	if r.Metrics["samples"] != float64(5) || r.Metrics["loss"] != float64(0) {
		t.Errorf("metrics %v", r.Metrics)
	}
	// A p95 threshold no loopback meets in the other direction: 1ns fails.
	code, _ = execute(t, "latency", "--from", agents[0], "--to", agents[1], "--token-file", tok,
		"--samples", "3", "--interval", "10ms", "--fail-p95", "1ns")
	if code != ExitFail {
		t.Errorf("--fail-p95 1ns: exit %d, want %d", code, ExitFail)
	}
}

// TestBandwidthTextGolden pins the text a person reads, from fixed measurements.
func TestBandwidthTextGolden(t *testing.T) {
	c := engine.Check{ID: "bandwidth/ps:7070/mt:7070/2", Kind: result.CheckBandwidth, From: "ps:7070", To: "mt:7070",
		Address: "10.10.0.8", Port: 9443, Proto: topology.ProtoTCP, Streams: 2, RequiredBps: 57.2e6}
	m := bwtest.Result{Direction: bwtest.Send, Streams: 2, Rate: 61e6, PerStream: []capacity.BitsPerSecond{30e6, 31e6},
		Intervals: []float64{60e6, 61e6, 62e6},
		Loaded:    &probes.LatencyResult{RTTs: []time.Duration{20 * time.Millisecond, 30 * time.Millisecond}, Sent: 2, Received: 2}}
	bw := engine.JudgeBandwidth(c, m, "ps:7070")
	for k, v := range (probes.LatencyStats{Samples: 20, P50: 3 * time.Millisecond, P95: 4 * time.Millisecond}).Metrics("") {
		bw.Metrics[k] = v
	}
	lat := engine.JudgeLatency(engine.Check{ID: "latency/ps:7070/mt:7070", Kind: result.CheckLatency, From: "ps:7070", To: "mt:7070", WarnP95: 5 * time.Millisecond},
		probes.ComputeLatencyStats([]time.Duration{3 * time.Millisecond, 4 * time.Millisecond, 6 * time.Millisecond}, 4))
	var out bytes.Buffer
	if err := writeBandwidth(&out, "text", bw); err != nil {
		t.Fatal(err)
	}
	if err := writeLatency(&out, "text", lat); err != nil {
		t.Fatal(err)
	}
	golden := filepath.Join("testdata", "bandwidth", "text.golden")
	if updateGolden() {
		if err := os.MkdirAll(filepath.Dir(golden), 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(golden, out.Bytes(), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	want, err := os.ReadFile(golden)
	if err != nil {
		t.Fatalf("%v (run go test -run TestBandwidthTextGolden -update)", err)
	}
	if out.String() != string(want) {
		t.Errorf("text output changed (-update to accept):\n got:\n%s\nwant:\n%s", out.String(), want)
	}
}
