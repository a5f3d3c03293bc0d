package main

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"runtime"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"github.com/netprobe/netprobe/internal/demo"
	"github.com/netprobe/netprobe/internal/result"
	"github.com/netprobe/netprobe/internal/tui"
)

// startDemo runs runDemo on the loopback addresses of n, and skips when the estate cannot
// start here (another test holds its addresses), unless the lab is required.
func startDemo(t *testing.T, ctx context.Context, f demoFlags, env demoEnv) (stdout, stderr string, err error) {
	t.Helper()
	if testing.Short() {
		t.Skip("runs the whole demo, bandwidth tests included")
	}
	var out, errb bytes.Buffer
	err = runDemo(ctx, &out, &errb, f, env)
	var ee *exitError
	if errors.As(err, &ee) && ee.code == ExitCannotRun && os.Getenv("NETPROBE_LAB_REQUIRED") == "" {
		t.Skipf("the demo cannot start here: %v", err)
	}
	return out.String(), errb.String(), err
}

// verdictLines are the verdict lines of a run, sorted: "status id state reason" per check.
func verdictLines(run result.Run) []string {
	out := make([]string, 0, len(run.Results))
	for _, r := range run.Results {
		out = append(out, strings.TrimSpace(fmt.Sprintf("%-5s %s %s %s", r.Status, r.ID, r.State, r.Reason)))
	}
	slices.Sort(out)
	return out
}

// TestDemoVerdictsAreStable runs the whole demo headless, as `netprobe demo --format json`
// does, and compares every check's verdict with testdata/demo/verdicts.golden: the planted
// faults and nothing else, on every run, also on a busy machine. Run it with -count=10.
func TestDemoVerdictsAreStable(t *testing.T) {
	if runtime.GOOS != "linux" {
		t.Skip("the planted filtered port needs Linux (internal/demo/stuck_linux.go)")
	}
	ctx, cancel := context.WithTimeout(t.Context(), 3*time.Minute)
	defer cancel()
	out, stderr, err := startDemo(t, ctx, demoFlags{headless: true, format: "json", formatSet: true},
		demoEnv{net: demo.Net{OnPrem: "127.0.61", Azure: "127.0.62", Failback: "127.0.63"}})
	if err != nil {
		t.Fatalf("demo: %v\n%s", err, stderr)
	}
	var run result.Run
	if err := json.Unmarshal([]byte(out), &run); err != nil {
		t.Fatalf("demo --format json: %v\n%s", err, out)
	}
	got := strings.Join(verdictLines(run), "\n") + "\n"
	path := filepath.Join("testdata", "demo", "verdicts.golden")
	if updateGolden() {
		if err := os.WriteFile(path, []byte(got), 0o644); err != nil {
			t.Fatal(err)
		}
		return
	}
	want, err := os.ReadFile(path)
	if err != nil {
		t.Fatalf("%v (go test ./cmd/netprobe -run TestDemoVerdictsAreStable -update writes it)", err)
	}
	if d := cmp.Diff(string(want), got); d != "" {
		var why []string
		for _, r := range run.Results {
			if !strings.Contains(string(want), r.ID+" ") || !strings.Contains(string(want), fmt.Sprintf("%-5s %s", r.Status, r.ID)) {
				why = append(why, fmt.Sprintf("%s: %s", r.ID, r.Message))
			}
		}
		t.Errorf("the demo's verdicts changed (-golden +this run):\n%s\nwhy:\n%s", d, strings.Join(why, "\n"))
	}
}

// TestDemoTUIPrintsTheOutcome: the demo's TUI leaves its alternate screen on q, so the demo
// prints the planted faults and the results it had, here after a q before the run ended.
func TestDemoTUIPrintsTheOutcome(t *testing.T) {
	ctx, cancel := context.WithTimeout(t.Context(), time.Minute)
	defer cancel()
	inR, inW := io.Pipe()
	t.Cleanup(func() { inW.Close(); inR.Close() })
	go func() {
		// The pipe hands the q over when the program reads its input, once it runs.
		io.WriteString(inW, "q")
	}()
	opts := &tui.Options{NoColor: true, Input: inR, Output: io.Discard, Width: 80, Height: 24}
	out, stderr, err := startDemo(t, ctx, demoFlags{format: "text"},
		demoEnv{net: demo.Net{OnPrem: "127.0.81", Azure: "127.0.82", Failback: "127.0.83"}, tui: opts})
	if err != nil {
		t.Fatalf("demo: %v\n%s", err, stderr)
	}
	for _, want := range []string{"planted faults:", demo.Faults[0], "The TUI closed before every check finished", "demo-failback: ", " checks: "} {
		if !strings.Contains(out, want) {
			t.Errorf("after q the demo does not print %q:\n%s", want, out)
		}
	}
}
