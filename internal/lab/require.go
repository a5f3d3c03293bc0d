package lab

import (
	"context"
	"fmt"
	"os"
	"os/exec"
	"runtime"
	"sync"
	"testing"
	"time"
)

// RequiredEnv is the environment variable that turns Require's skip into a failure. CI
// (.ci/run) sets it to 1 so that a lab suite never passes by skipping.
const RequiredEnv = "NETPROBE_LAB_REQUIRED"

var (
	unavailableOnce   sync.Once
	unavailableReason string
)

// Unavailable returns why the lab cannot run on this machine, or "" when it can: it needs
// Linux, root, and the ip, iptables and tc commands with `ip netns` working.
func Unavailable() string {
	unavailableOnce.Do(func() { unavailableReason = probeUnavailable() })
	return unavailableReason
}

func probeUnavailable() string {
	if runtime.GOOS != "linux" {
		return "needs Linux network namespaces, this is " + runtime.GOOS
	}
	if os.Geteuid() != 0 {
		return "needs root for network namespaces and iptables (run the tests as root, or in CI)"
	}
	for _, tool := range []struct{ cmd, pkg string }{{"ip", "iproute2"}, {"tc", "iproute2"}, {"iptables", "iptables"}} {
		if _, err := exec.LookPath(tool.cmd); err != nil {
			return fmt.Sprintf("needs %s on PATH (apt-get install -y %s)", tool.cmd, tool.pkg)
		}
	}
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	if out, err := exec.CommandContext(ctx, "ip", "netns", "list").CombinedOutput(); err != nil {
		return fmt.Sprintf("`ip netns list` fails: %v: %s", err, out)
	}
	return ""
}

// Require skips the test with a one-line reason when the lab cannot run here, or fails it
// when RequiredEnv is 1 (CI), so CI never passes by skipping.
func Require(t testing.TB) {
	t.Helper()
	require(t, Unavailable(), os.Getenv(RequiredEnv) == "1")
}

func require(t testing.TB, reason string, required bool) {
	t.Helper()
	if reason == "" {
		return
	}
	if required {
		t.Fatalf("lab: %s (%s=1 makes this a failure)", reason, RequiredEnv)
		return
	}
	t.Skipf("lab: %s", reason)
}
