//go:build linux

package probetest

import (
	"fmt"
	"os"
	"os/exec"
	"strings"
	"sync/atomic"
	"testing"
)

// RequireRoot skips t with a reason when namespaces cannot be made here, or fails it when
// NETPROBE_LAB_REQUIRED is set (CI must never pass by skipping).
func RequireRoot(t testing.TB) {
	t.Helper()
	why := ""
	if os.Geteuid() != 0 {
		why = "needs root for network namespaces"
	} else if _, err := exec.LookPath("ip"); err != nil {
		why = "needs iproute2 (ip)"
	}
	if why == "" {
		return
	}
	if os.Getenv("NETPROBE_LAB_REQUIRED") != "" {
		t.Fatalf("%s, and NETPROBE_LAB_REQUIRED is set", why)
	}
	t.Skip(why)
}

var nsSeq atomic.Int64

// Netns creates a network namespace with only loopback up, named np-<pid>-<n>-probes, and
// deletes it in t.Cleanup. Packets sent inside it stay inside it.
func Netns(t testing.TB) string {
	t.Helper()
	RequireRoot(t)
	name := fmt.Sprintf("np-%d-%d-probes", os.Getpid(), nsSeq.Add(1))
	Run(t, "ip", "netns", "add", name)
	t.Cleanup(func() { _ = exec.Command("ip", "netns", "del", name).Run() })
	Run(t, "ip", "-n", name, "link", "set", "lo", "up")
	return name
}

// Run runs a command and fails t with its output when it fails.
func Run(t testing.TB, name string, args ...string) string {
	t.Helper()
	out, err := exec.Command(name, args...).CombinedOutput()
	if err != nil {
		t.Fatalf("%s %s: %v\n%s", name, strings.Join(args, " "), err, out)
	}
	return string(out)
}

// InNetnsEnv is set in the environment of a test re-executed inside a namespace.
const InNetnsEnv = "NETPROBE_PROBETEST_NETNS"

// RunTestInNetns re-executes this test binary inside ns, running only the test named test,
// with env added, and fails t with its output when that test fails. The inner test sees
// InNetnsEnv set.
func RunTestInNetns(t testing.TB, ns, test string, env ...string) string {
	t.Helper()
	return runInNetns(t, ns, nil, os.Args[0], test, env)
}

// RunTestInNetnsUnprivileged is RunTestInNetns as user nobody with no capabilities, to
// check what a probe does without privilege. The test binary is copied where nobody can run it.
func RunTestInNetnsUnprivileged(t testing.TB, ns, test string, env ...string) string {
	t.Helper()
	if _, err := exec.LookPath("setpriv"); err != nil {
		t.Skip("needs setpriv (util-linux) to drop privileges")
	}
	dir, err := os.MkdirTemp("", "np-probetest-")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { os.RemoveAll(dir) })
	bin := dir + "/probes.test"
	Run(t, "cp", os.Args[0], bin)
	if err := os.Chmod(dir, 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.Chmod(bin, 0o755); err != nil {
		t.Fatal(err)
	}
	return runInNetns(t, ns, []string{"setpriv", "--reuid=65534", "--regid=65534", "--clear-groups", "--inh-caps=-all", "--"}, bin, test, env)
}

func runInNetns(t testing.TB, ns string, prefix []string, bin, test string, env []string) string {
	t.Helper()
	args := append(append([]string{"netns", "exec", ns}, prefix...), bin, "-test.run", "^"+test+"$", "-test.count=1", "-test.v")
	cmd := exec.Command("ip", args...)
	cmd.Dir = os.TempDir()
	cmd.Env = append(append(os.Environ(), InNetnsEnv+"="+ns), env...)
	out, err := cmd.CombinedOutput()
	if err != nil {
		t.Fatalf("%s inside %s: %v\n%s", test, ns, err, out)
	}
	if !strings.Contains(string(out), "--- PASS: "+test) {
		t.Fatalf("%s inside %s did not run:\n%s", test, ns, out)
	}
	return string(out)
}

// Leftovers lists the namespaces that Netns created in this process and that still exist. A
// TestMain calls it after m.Run to prove that cleanup worked, also on failure.
func Leftovers() ([]string, error) {
	out, err := exec.Command("ip", "netns", "list").Output()
	if err != nil {
		return nil, err
	}
	prefix := fmt.Sprintf("np-%d-", os.Getpid())
	var left []string
	for _, line := range strings.Split(string(out), "\n") {
		if f := strings.Fields(line); len(f) > 0 && strings.HasPrefix(f[0], prefix) {
			left = append(left, f[0])
		}
	}
	return left, nil
}
