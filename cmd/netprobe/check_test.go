package main

import (
	"context"
	"encoding/json"
	"errors"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"

	dto "github.com/prometheus/client_model/go"
	"github.com/prometheus/common/expfmt"
	"github.com/prometheus/common/model"

	"github.com/netprobe/netprobe/internal/demo"
	"github.com/netprobe/netprobe/internal/history"
	"github.com/netprobe/netprobe/internal/result"
)

// loopbackTopology is a small estate on loopback; agent is "" (no agents) or one address used
// by ps-az.
func loopbackTopology(t *testing.T, psAgent string) string {
	t.Helper()
	agentLine := ""
	if psAgent != "" {
		agentLine = "\n    agent: " + psAgent
	}
	y := `version: 1
name: loopback
settings: {azure_endpoints: false, timeout: 500ms}
sites:
  onprem: {kind: onprem, networks: [127.0.51.0/24]}
  azure: {kind: azure, networks: [127.0.52.0/24]}
links:
  - {name: s2s, kind: vpn, sites: [onprem, azure]}
hosts:
  cs01: {site: onprem, os: linux, roles: [configuration-server, master-target], address: 127.0.51.4}
  ps-az:
    site: azure
    os: linux
    roles: [process-server]
    address: 127.0.52.4` + agentLine + `
  vm01: {site: azure, os: linux, roles: [protected-vm], address: 127.0.52.10}
`
	p := filepath.Join(t.TempDir(), "estate.yaml")
	if err := os.WriteFile(p, []byte(y), 0o644); err != nil {
		t.Fatal(err)
	}
	return p
}

func readRun(t *testing.T, path string) result.Run {
	t.Helper()
	data, err := os.ReadFile(path)
	if err != nil {
		t.Fatalf("no output written: %v", err)
	}
	var run result.Run
	if err := json.Unmarshal(data, &run); err != nil {
		t.Fatalf("output is not the JSON document: %v", err)
	}
	return run
}

func TestCheckNoAgentsAtAll(t *testing.T) {
	out := filepath.Join(t.TempDir(), "run.json")
	// No token is needed when no check uses an agent.
	t.Setenv("NETPROBE_TOKEN_FILE", "")
	code, _, stderr := runCLI(t, "check", "-f", loopbackTopology(t, ""), "--format", "json", "-o", out)
	if code != ExitOK {
		t.Fatalf("exit %d, want 0 (nothing can fail without agents): %s", code, stderr)
	}
	run := readRun(t, out)
	if run.Summary.Skip == 0 || run.Summary.Fail+run.Summary.Error > 0 {
		t.Errorf("summary %+v: want skips and no fail or error", run.Summary)
	}
	for _, r := range run.Results {
		if r.Check != result.CheckLint && r.Status != result.Skip {
			t.Errorf("%s: %v, want skip", r.ID, r.Status)
		}
		if r.Status == result.Skip && !strings.Contains(r.Message, "no agent") {
			t.Errorf("%s: skip without the reason: %q", r.ID, r.Message)
		}
	}
}

func TestCheckAgentUnreachableIsIncomplete(t *testing.T) {
	ln, err := net.Listen("tcp", "127.0.52.4:0")
	if err != nil {
		t.Skip(err)
	}
	dead := ln.Addr().String()
	ln.Close()
	token := filepath.Join(t.TempDir(), "token")
	os.WriteFile(token, []byte("0123456789abcdef0123456789abcdef"), 0o600)
	out := filepath.Join(t.TempDir(), "run.json")
	start := time.Now()
	code, _, stderr := runCLI(t, "check", "-f", loopbackTopology(t, dead), "--token-file", token, "--format", "json", "-o", out)
	if code != ExitIncomplete {
		t.Errorf("exit %d, want %d (an agent did not answer)", code, ExitIncomplete)
	}
	if d := time.Since(start); d > 15*time.Second {
		t.Errorf("took %v with a dead agent", d)
	}
	if !strings.Contains(stderr, dead) {
		t.Errorf("stderr does not name the dead agent %s:\n%s", dead, stderr)
	}
	run := readRun(t, out)
	if run.Summary.Error == 0 {
		t.Errorf("no error results: %+v", run.Summary)
	}
	// The run document says which agent did not answer, what ran and on which file.
	if len(run.Agents) != 1 || run.Agents[0].Address != dead || run.Agents[0].Up || run.Agents[0].Error == "" ||
		strings.Join(run.Agents[0].Hosts, ",") != "ps-az" {
		t.Errorf("agents %+v, want %s (ps-az) down with its error", run.Agents, dead)
	}
	if run.Version != currentBuild().Version || len(run.TopologySHA256) != 64 {
		t.Errorf("version %q, topology_sha256 %q", run.Version, run.TopologySHA256)
	}
}

func TestCheckBadUsage(t *testing.T) {
	for name, args := range map[string][]string{
		"no file":           {"check"},
		"missing file":      {"check", "-f", "/nonexistent/estate.yaml"},
		"unknown format":    {"check", "-f", loopbackTopology(t, ""), "--format", "xml"},
		"bad phase":         {"check", "-f", loopbackTopology(t, ""), "--phase", "sideways"},
		"only matches none": {"check", "-f", loopbackTopology(t, ""), "--only", "port/nothing/*"},
	} {
		t.Run(name, func(t *testing.T) {
			code, _, stderr := runCLI(t, args...)
			if code != ExitUsage {
				t.Errorf("exit %d, want %d: %s", code, ExitUsage, stderr)
			}
			if strings.Contains(stderr, "goroutine") || stderr == "" {
				t.Errorf("stderr: %q", stderr)
			}
		})
	}
}

// TestCheckInterrupted sends SIGINT to a real `netprobe check` during a bandwidth test of the
// demo estate: the partial results are written, marked interrupted, and the exit code is 130.
func TestCheckInterrupted(t *testing.T) {
	if testing.Short() {
		t.Skip("builds the binary")
	}
	bin := filepath.Join(t.TempDir(), "netprobe")
	if out, err := exec.Command("go", "build", "-o", bin, ".").CombinedOutput(); err != nil {
		t.Fatalf("go build: %v\n%s", err, out)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	defer cancel()
	d, err := demo.StartOn(ctx, demo.Net{OnPrem: "127.0.51", Azure: "127.0.52", Failback: "127.0.53"})
	if err != nil {
		t.Skipf("demo estate cannot start: %v", err)
	}
	defer d.Close()
	dir := t.TempDir()
	topo, token, out := filepath.Join(dir, "demo.yaml"), filepath.Join(dir, "token"), filepath.Join(dir, "run.json")
	os.WriteFile(topo, d.YAML, 0o644)
	os.WriteFile(token, d.Token, 0o600)
	// Bandwidth tests run last and take seconds: interrupt during them.
	cmd := exec.CommandContext(ctx, bin, "check", "-f", topo, "--token-file", token, "--only", "bandwidth", "--format", "json", "-o", out)
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	time.Sleep(1500 * time.Millisecond)
	cmd.Process.Signal(syscall.SIGINT)
	err = cmd.Wait()
	var ee *exec.ExitError
	if !errors.As(err, &ee) || ee.ExitCode() != int(ExitInterrupted) {
		t.Fatalf("exit: %v, want %d", err, ExitInterrupted)
	}
	run := readRun(t, out)
	if !run.Interrupted {
		t.Error("results not marked interrupted")
	}
	if len(run.Results) == 0 {
		t.Error("no partial results written")
	}
	// The bandwidth responder the run opened on ps-az's data port is closed again (mt01's
	// 9443 is held by the demo's stuck listener, so the test ran with ps-az serving).
	ln, err := net.Listen("tcp", "127.0.52.4:9443")
	if err != nil {
		t.Errorf("ps-az's data port is still held after the interrupted run: %v", err)
	} else {
		ln.Close()
	}
}

// TestCheckHistoryLocked: a second cron run that finds the history locked waits briefly, then
// exits 4 without probing or writing anything.
func TestCheckHistoryLocked(t *testing.T) {
	dir := t.TempDir()
	held, err := history.Open(context.Background(), dir, history.Options{})
	if err != nil {
		t.Fatal(err)
	}
	defer held.Close()
	out := filepath.Join(t.TempDir(), "run.json")
	t.Setenv("NETPROBE_TOKEN_FILE", "")
	start := time.Now()
	code, _, stderr := runCLI(t, "check", "-f", loopbackTopology(t, ""), "--history", dir, "--history-wait", "200ms", "--format", "json", "-o", out)
	if code != ExitLocked {
		t.Errorf("exit %d, want %d: %s", code, ExitLocked, stderr)
	}
	if d := time.Since(start); d > 5*time.Second {
		t.Errorf("waited %v for a 200ms lock timeout", d)
	}
	if _, err := os.Stat(out); err == nil {
		t.Error("a locked-out run wrote results")
	}
	if !strings.Contains(stderr, "another netprobe check") {
		t.Errorf("stderr does not say why: %q", stderr)
	}
	held.Close()
	code, _, stderr = runCLI(t, "check", "-f", loopbackTopology(t, ""), "--history", dir, "--format", "json", "-o", out)
	if code != ExitOK {
		t.Fatalf("after the lock is released: exit %d: %s", code, stderr)
	}
	runs, warns := history.Load(dir)
	if len(runs) != 1 || len(warns) != 0 {
		t.Errorf("history holds %d runs, %d warnings; want 1 run", len(runs), len(warns))
	}
}

func TestCheckHistoryRetention(t *testing.T) {
	dir := t.TempDir()
	// Two old day files of about 1 KB each; the run's own file is the newest and stays.
	for _, day := range []string{"2026-01-01", "2026-01-02"} {
		line := `{"schema":"netprobe/check/v1","topology":"old","started_at":"` + day + `T00:00:00Z","duration_ms":1,"summary":{"pass":0,"warn":0,"fail":0,"error":0,"skip":0},"results":[]}` + "\n"
		if err := os.WriteFile(filepath.Join(dir, "runs-"+day+".jsonl"), []byte(strings.Repeat(line, 5)), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	t.Setenv("NETPROBE_TOKEN_FILE", "")
	code, _, stderr := runCLI(t, "check", "-f", loopbackTopology(t, ""), "--history", dir, "--history-max-bytes", "1500", "--format", "json", "-o", filepath.Join(t.TempDir(), "r.json"))
	if code != ExitOK {
		t.Fatalf("exit %d: %s", code, stderr)
	}
	left, _ := filepath.Glob(filepath.Join(dir, "runs-*.jsonl"))
	for _, f := range left {
		if strings.Contains(f, "2026-01-01") {
			t.Errorf("the oldest day survived a 1500-byte cap: %v", left)
		}
	}
	if len(left) == 0 {
		t.Error("retention removed the newest day too")
	}
}

// TestCheckHistoryFailingRuns: cron runs with --history and --format prometheus count the runs
// in a row each check has failed. The estate fails a readiness rule on paper (a Windows VM with
// only a Linux master target), so it fails every run without an agent or a packet.
func TestCheckHistoryFailingRuns(t *testing.T) {
	topo := loopbackTopology(t, "")
	b, _ := os.ReadFile(topo)
	os.WriteFile(topo, []byte(strings.Replace(string(b), "vm01: {site: azure, os: linux", "vm01: {site: azure, os: windows", 1)), 0o644)
	t.Setenv("NETPROBE_TOKEN_FILE", "")
	dir, out := t.TempDir(), filepath.Join(t.TempDir(), "netprobe.prom")
	for run := 1; run <= 3; run++ {
		code, _, stderr := runCLI(t, "check", "-f", topo, "--history", dir, "--format", "prometheus", "-o", out)
		if code != ExitFail {
			t.Fatalf("run %d: exit %d, want %d: %s", run, code, ExitFail, stderr)
		}
		mfs := parsePromFile(t, out)
		failing := 0
		for _, m := range mfs["netprobe_check_failing_runs"].GetMetric() {
			id := labelOf(m, "id")
			want := 0.0
			if statusOf(t, mfs, id) == 3 {
				want = float64(run)
				failing++
			}
			if got := m.GetGauge().GetValue(); got != want {
				t.Errorf("run %d: %s failing for %v runs, want %v", run, id, got, want)
			}
		}
		if failing == 0 {
			t.Fatalf("run %d: no failing check in %s", run, out)
		}
	}
	// Without --history the count is unknown and not written.
	code, _, _ := runCLI(t, "check", "-f", topo, "--format", "prometheus", "-o", out)
	if _, ok := parsePromFile(t, out)["netprobe_check_failing_runs"]; code != ExitFail || ok {
		t.Errorf("exit %d, failing runs written without a history: %v", code, ok)
	}
}

func parsePromFile(t *testing.T, path string) map[string]*dto.MetricFamily {
	t.Helper()
	f, err := os.Open(path)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	p := expfmt.NewTextParser(model.UTF8Validation)
	mfs, err := p.TextToMetricFamilies(f)
	if err != nil {
		t.Fatalf("%s: %v", path, err)
	}
	return mfs
}

func labelOf(m *dto.Metric, name string) string {
	for _, lp := range m.GetLabel() {
		if lp.GetName() == name {
			return lp.GetValue()
		}
	}
	return ""
}

func statusOf(t *testing.T, mfs map[string]*dto.MetricFamily, id string) float64 {
	t.Helper()
	for _, m := range mfs["netprobe_check_status"].GetMetric() {
		if labelOf(m, "id") == id {
			return m.GetGauge().GetValue()
		}
	}
	t.Fatalf("no status for %s", id)
	return 0

}

// TestCheckRecordNotWritten: a run whose history or output cannot be written exits 6, not 0:
// cron must learn that the report will lack this run (issue 14, item 6). The day file the
// history would append to is a directory here, which even root cannot append to.
func TestCheckRecordNotWritten(t *testing.T) {
	t.Setenv("NETPROBE_TOKEN_FILE", "")
	dir := t.TempDir()
	now := time.Now().UTC()
	for _, d := range []time.Time{now, now.Add(24 * time.Hour)} { // a run across midnight
		if err := os.MkdirAll(filepath.Join(dir, "runs-"+d.Format("2006-01-02")+".jsonl"), 0o755); err != nil {
			t.Fatal(err)
		}
	}
	out := filepath.Join(t.TempDir(), "run.json")
	code, _, stderr := runCLI(t, "check", "-f", loopbackTopology(t, ""), "--history", dir, "--format", "json", "-o", out)
	if code != ExitNotRecorded {
		t.Errorf("history append failed: exit %d, want %d: %s", code, ExitNotRecorded, stderr)
	}
	if !strings.Contains(stderr, "history not written") || !strings.Contains(stderr, "exit 0 had it been recorded") {
		t.Errorf("stderr does not say what was lost and what the run found: %q", stderr)
	}
	if _, err := os.Stat(out); err != nil {
		t.Errorf("the output that could be written was not: %v", err)
	}

	// An output file that cannot be written: the same code (it was 5, "could not run").
	bad := filepath.Join(t.TempDir(), "no-such-dir", "run.json")
	code, _, stderr = runCLI(t, "check", "-f", loopbackTopology(t, ""), "--format", "json", "-o", bad)
	if code != ExitNotRecorded || !strings.Contains(stderr, "writing results to "+bad) {
		t.Errorf("output not written: exit %d, want %d: %s", code, ExitNotRecorded, stderr)
	}
}
