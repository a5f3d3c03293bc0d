package demo

import (
	"testing"

	"github.com/netprobe/netprobe/internal/probes/probetest"
)

// TestMain turns an accidental DNS query to the machine's resolver into a failure.
func TestMain(m *testing.M) { probetest.Main(m) }
