package lab

import (
	"fmt"
	"os/exec"
	"slices"
	"strings"
	"testing"
	"time"
)

// TestLeftoverChildren: a child still running is listed with its command line; once it has
// exited and been waited for, it is not.
func TestLeftoverChildren(t *testing.T) {
	cmd := exec.Command("sleep", "30")
	if err := cmd.Start(); err != nil {
		t.Skipf("no sleep command: %v", err)
	}
	want := fmt.Sprintf("%d sleep 30", cmd.Process.Pid)
	// Start returns once the child exists, not once it has exec'd: until then its command
	// line is empty (seen once in make test), so look again for a while.
	var (
		got []string
		err error
	)
	for deadline := time.Now().Add(5 * time.Second); ; time.Sleep(10 * time.Millisecond) {
		got, err = LeftoverChildren()
		if err != nil || slices.Contains(got, want) || time.Now().After(deadline) {
			break
		}
	}
	_ = cmd.Process.Kill()
	_ = cmd.Wait()
	if err != nil || !slices.Contains(got, want) {
		t.Errorf("children %q (%v), want %q among them", got, err, want)
	}
	got, err = LeftoverChildren()
	if err != nil || slices.ContainsFunc(got, func(s string) bool { return strings.HasPrefix(s, want[:strings.IndexByte(want, ' ')+1]) }) {
		t.Errorf("children after the wait: %q (%v)", got, err)
	}
}
