package main

import (
	"fmt"
	"os"
	"testing"

	"github.com/netprobe/netprobe/internal/lab"
	"github.com/netprobe/netprobe/internal/probes/probetest"
)

// TestMain turns an accidental DNS query to the machine's resolver into a failure, and, after
// the tests, fails the run when a lab test left a namespace, an /etc/netns directory or a
// process (an agent, Azurite) behind: every one of them is removed, also when a test fails.
func TestMain(m *testing.M) {
	probetest.GuardDNS()
	code := m.Run()
	left, err := lab.Leftovers()
	procs, perr := lab.LeftoverChildren()
	if err != nil || perr != nil || len(left)+len(procs) > 0 {
		fmt.Fprintf(os.Stderr, "lab tests left behind: namespaces %v, processes %v (%v %v)\n", left, procs, err, perr)
		code = 1
	}
	os.Exit(code)
}
