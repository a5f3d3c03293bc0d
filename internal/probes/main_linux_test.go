//go:build linux

package probes_test

import (
	"fmt"
	"os"
	"testing"

	"github.com/netprobe/netprobe/internal/lab"
	"github.com/netprobe/netprobe/internal/probes/probetest"
)

// TestMain fails the run when a test left a namespace behind: every namespace a test creates,
// it removes, also when it fails.
// It also turns an accidental DNS query to the machine's resolver into a failure.
func TestMain(m *testing.M) {
	probetest.GuardDNS()
	code := m.Run()
	if os.Geteuid() == 0 && os.Getenv(labEnv) == "" && os.Getenv(probetest.InNetnsEnv) == "" {
		mine, _ := probetest.Leftovers()
		labs, _ := lab.Leftovers()
		if left := append(mine, labs...); len(left) > 0 {
			fmt.Fprintf(os.Stderr, "namespaces left behind: %v\n", left)
			code = 1
		}
	}
	os.Exit(code)
}
