//go:build !linux

package probes

import (
	"fmt"
	"runtime"
)

// flowCapture: packet capture is implemented with Linux packet sockets only. On Windows it
// would need a driver (Npcap) that netprobe does not ship, so the probe says so instead.
type flowCapture struct{}

func openCapture(flowTuple) (*flowCapture, error) {
	return nil, fmt.Errorf("%w: packet capture is not available on %s (netprobe captures with Linux packet sockets only): run the probe from a Linux host for evidence", ErrUnsupported, runtime.GOOS)
}

func (*flowCapture) stop() *Capture { return nil }
