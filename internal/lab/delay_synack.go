package lab

import (
	"context"
	"fmt"
	"net/netip"
	"time"
)

// DelaySynAcks holds every TCP SYN-ACK that Router forwards toward the network To for Delay
// before forwarding it on: a path where answers to new connections come late (a congested
// tunnel, a loaded firewall) while everything else passes at once. The kernel here has no
// netem, so the delay line lives in user space (delay_synack_linux.go): a mangle rule marks
// the SYN-ACKs, a policy route sends marked packets into a TUN device of the router, and the
// lab reads each one there and writes it back into the router after Delay, which then
// forwards it as usual (its TTL is one lower than without the fault).
//
// Undo removes the rule, the route and the device.
type DelaySynAcks struct {
	Router string
	To     netip.Prefix
	Delay  time.Duration
}

// The delay line of DelaySynAcks: one per router at a time.
const (
	synDelayDev   = "npsyndelay"
	synDelayMark  = "0x4e50" // "NP"
	synDelayTable = "78"
)

func (f DelaySynAcks) String() string {
	return fmt.Sprintf("delay tcp syn-acks to %s by %v at %s router", f.To, f.Delay, f.Router)
}

func (f DelaySynAcks) apply(ctx context.Context, l *Lab) (func(context.Context) error, error) {
	r, err := l.router(f.Router)
	if err != nil {
		return nil, fmt.Errorf("%v: %w", f, err)
	}
	if !f.To.IsValid() || f.Delay < 0 {
		return nil, fmt.Errorf("%v: set To (a network) and a non-negative Delay", f)
	}
	return delaySynAcks(ctx, l, r, f)
}
