// Package promtool runs Prometheus's own linter and rule tester, promtool, from tests: `check
// metrics` on exposition text, `check rules` and `test rules` on rule files. It only runs the
// tool on local files and stdin; promtool talks to no server here.
//
// A test that needs promtool skips with a one-line reason when it is not on PATH, unless
// lab.RequiredEnv is 1 (CI): then a missing promtool fails the test, so CI never passes by
// skipping. .ci/run installs it with Debian's prometheus package.
package promtool

import (
	"bytes"
	"context"
	"os"
	"os/exec"
	"strings"
	"testing"
	"time"

	"github.com/netprobe/netprobe/internal/lab"
)

// timeout bounds one promtool call: linting a textfile or testing the rules takes well under
// a second; a loaded CI machine gets a generous margin.
const timeout = 2 * time.Minute

// Path returns promtool's path, or skips t (fails it in CI) when it is not installed.
func Path(t testing.TB) string {
	t.Helper()
	p, err := exec.LookPath("promtool")
	if err == nil {
		return p
	}
	const why = "promtool not on PATH (apt-get install prometheus; Debian's package ships it)"
	if os.Getenv(lab.RequiredEnv) == "1" {
		t.Fatalf("%s (%s=1 makes this a failure)", why, lab.RequiredEnv)
	}
	t.Skip(why)
	return ""
}

// Run runs promtool with args and stdin, and returns what it printed (stdout and stderr
// together) and its error (an *exec.ExitError when it exits non-zero).
func Run(t testing.TB, stdin []byte, args ...string) (string, error) {
	t.Helper()
	path := Path(t)
	ctx, cancel := context.WithTimeout(context.Background(), timeout)
	defer cancel()
	cmd := exec.CommandContext(ctx, path, args...)
	cmd.Stdin = bytes.NewReader(stdin)
	out, err := cmd.CombinedOutput()
	return string(out), err
}

// CheckMetrics fails t unless `promtool check metrics` finds nothing to say about exposition
// (Prometheus text format): exit 0 and no output.
func CheckMetrics(t testing.TB, exposition []byte) {
	t.Helper()
	if len(bytes.TrimSpace(exposition)) == 0 {
		t.Fatal("no metrics to check")
	}
	out, err := Run(t, exposition, "check", "metrics")
	if err != nil || strings.TrimSpace(out) != "" {
		t.Errorf("promtool check metrics: %v\n%s", err, out)
	}
}
