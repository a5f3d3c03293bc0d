//go:build linux

package main

import (
	"context"
	"encoding/json"
	"fmt"
	"os"
	"os/exec"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/netprobe/netprobe/internal/lab"
	"github.com/netprobe/netprobe/internal/probes"
	"github.com/netprobe/netprobe/internal/result"
)

// The CLI runs inside a lab host the way a user runs it there: `ip netns exec HOST netprobe
// probe ...`. The test binary stands in for netprobe: re-executed with cliArgsEnv set, it runs
// TestProbeCLIInner, which is main's run() with those arguments and its exit code.
const cliArgsEnv = "NETPROBE_CLI_ARGS"

func TestProbeCLIInner(t *testing.T) {
	raw := os.Getenv(cliArgsEnv)
	if raw == "" {
		t.Skip("runs only as the netprobe stand-in inside a lab namespace")
	}
	var args []string
	if err := json.Unmarshal([]byte(raw), &args); err != nil {
		t.Fatal(err)
	}
	os.Exit(int(run(context.Background(), args)))
}

// netprobeIn runs `netprobe args...` inside h and decodes its one JSON result.
func netprobeIn(t *testing.T, h *lab.Host, args ...string) (ExitCode, result.Result) {
	t.Helper()
	b, _ := json.Marshal(append(args, "--format", "json"))
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	defer cancel()
	cmd := exec.CommandContext(ctx, "ip", "netns", "exec", h.Netns(), os.Args[0], "-test.run", "^TestProbeCLIInner$")
	cmd.Env = append(os.Environ(), cliArgsEnv+"="+string(b))
	var stdout, stderr strings.Builder
	cmd.Stdout, cmd.Stderr = &stdout, &stderr
	err := cmd.Run()
	code := ExitOK
	if ee, ok := err.(*exec.ExitError); ok {
		code = ExitCode(ee.ExitCode())
	} else if err != nil {
		t.Fatal(err)
	}
	var r result.Result
	if err := json.Unmarshal([]byte(stdout.String()), &r); err != nil {
		t.Fatalf("netprobe %v in %s: %v\nstdout: %s\nstderr: %s", args, h.Name(), err, stdout.String(), stderr.String())
	}
	return code, r
}

// TestProbeCLIInLab: `netprobe probe` on the failback lab's hosts gives the JSON a user or a
// script reads: port states with their source, the dual-NIC route, the VPN's MTU.
func TestProbeCLIInLab(t *testing.T) {
	if os.Getenv(cliArgsEnv) != "" {
		t.Skip("outer half")
	}
	spec := lab.Failback()
	spec.Link(lab.VPN).Rate = 0
	l := lab.Build(t, spec)
	ps := l.Host(lab.PSAz)
	ln, err := ps.Listen("tcp", ":9443")
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	var wg sync.WaitGroup
	wg.Add(1)
	go func() { defer wg.Done(); _ = probes.ServeTCPResponder(ctx, ln) }()
	t.Cleanup(func() { cancel(); wg.Wait() })
	l.Apply(t, lab.RejectPort{Host: lab.PSAz, Proto: lab.TCP, Port: 9451, With: lab.AdminProhibited, Via: lab.OnPrem})

	target := func(port int) string { return fmt.Sprintf("%s:%d", lab.AddrPSAz, port) }
	cases := []struct {
		name    string
		host    string
		args    []string
		state   string
		reason  string
		metrics map[string]any
	}{
		{"open through a responder", lab.MT01, []string{"probe", "port", target(9443), "--banner"}, "open", "syn-ack",
			map[string]any{"source_ip": lab.AddrMT01, "interface": "eth0", "answered_by": "responder"}},
		{"filtered by the on-premises firewall", lab.MT01, []string{"probe", "port", target(9451)}, "filtered", "icmp-admin-prohibited",
			map[string]any{"icmp_from": lab.AddrOnPremGW}},
		{"cs01 leaves on its failback NIC", lab.CS01, []string{"probe", "route", lab.AddrPSAz}, "", "",
			map[string]any{"interface": "eth1", "source_ip": lab.AddrCS01FB, "gateway": lab.AddrFBGW}},
		{"pmtu across the vpn", lab.MT01, []string{"probe", "pmtu", lab.AddrPSAz}, "", "",
			map[string]any{"mtu": float64(lab.VPNMTU), "mss": float64(lab.VPNMTU - 40), "blackhole": false}},
		{"path over both routers", lab.MT01, []string{"probe", "path", target(9443)}, "", "",
			map[string]any{"private": true, "reached": true}},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			code, r := netprobeIn(t, l.Host(tc.host), tc.args...)
			if code != ExitOK || r.Status != result.Pass {
				t.Fatalf("exit %d status %v: %s", code, r.Status, r.Message)
			}
			if r.State != tc.state || r.Reason != tc.reason {
				t.Errorf("state %q reason %q (%s), want %q %q", r.State, r.Reason, r.Message, tc.state, tc.reason)
			}
			for k, want := range tc.metrics {
				if got := r.Metrics[k]; got != want {
					t.Errorf("metrics[%q] = %v, want %v (%s)", k, got, want, r.Message)
				}
			}
		})
	}
}
