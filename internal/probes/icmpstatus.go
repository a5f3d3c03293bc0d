package probes

import (
	"encoding/binary"
	"fmt"
	"net/netip"
	"slices"
	"time"
)

// The parts of the Windows ICMP probe (icmp_windows.go, IcmpSendEcho2) that need no Windows:
// reading an ICMP_ECHO_REPLY and turning its IP_STATUS into our echo events. Kept here so that
// they are tested on every platform.

// IP_STATUS values of ipexport.h (IP_STATUS_BASE 11000).
const (
	ipSuccess              = 0
	ipBufTooSmall          = 11001
	ipDestNetUnreachable   = 11002
	ipDestHostUnreachable  = 11003
	ipDestProtUnreachable  = 11004
	ipDestPortUnreachable  = 11005
	ipNoResources          = 11006
	ipBadOption            = 11007
	ipHWError              = 11008
	ipPacketTooBig         = 11009
	ipReqTimedOut          = 11010
	ipBadReq               = 11011
	ipBadRoute             = 11012
	ipTTLExpiredTransit    = 11013
	ipTTLExpiredReassembly = 11014
	ipParamProblem         = 11015
	ipSourceQuench         = 11016
	ipOptionTooBig         = 11017
	ipBadDestination       = 11018
	ipGeneralFailure       = 11050
)

// ipStatusOutcome is what one echo came to.
type ipStatusOutcome struct {
	// Kind is the answer, 0 when there was none (lost, or a local failure).
	Kind echoKind
	// Code is the ICMP destination-unreachable code (0 net, 1 host, 2 protocol, 3 port).
	Code uint8
	// Lost: no answer before the timeout.
	Lost bool
	// Failure is a local failure to send, counted among the result's errors.
	Failure string
}

// classifyIPStatus maps an ICMP_ECHO_REPLY Status (or IcmpSendEcho2's last error when it
// returned no reply) to an outcome.
func classifyIPStatus(status uint32) ipStatusOutcome {
	switch status {
	case ipSuccess:
		return ipStatusOutcome{Kind: echoReply}
	case ipReqTimedOut:
		return ipStatusOutcome{Lost: true}
	case ipDestNetUnreachable, ipBadRoute:
		return ipStatusOutcome{Kind: echoUnreachable, Code: 0}
	case ipDestHostUnreachable:
		return ipStatusOutcome{Kind: echoUnreachable, Code: 1}
	case ipDestProtUnreachable:
		return ipStatusOutcome{Kind: echoUnreachable, Code: 2}
	case ipDestPortUnreachable:
		return ipStatusOutcome{Kind: echoUnreachable, Code: 3}
	case ipTTLExpiredTransit, ipTTLExpiredReassembly:
		return ipStatusOutcome{Kind: echoTimeExceeded}
	case ipPacketTooBig:
		// Windows reports the router's answer but not the next-hop MTU it carried.
		return ipStatusOutcome{Kind: echoFragNeeded}
	}
	name, ok := map[uint32]string{
		ipBufTooSmall:    "reply buffer too small",
		ipNoResources:    "no resources",
		ipBadOption:      "bad option",
		ipHWError:        "hardware error",
		ipBadReq:         "bad request",
		ipParamProblem:   "parameter problem",
		ipSourceQuench:   "source quench",
		ipOptionTooBig:   "option too big",
		ipBadDestination: "bad destination",
		ipGeneralFailure: "general failure (no route, or a destination this host cannot ping)",
	}[status]
	if !ok {
		name = fmt.Sprintf("IP status %d", status)
	}
	return ipStatusOutcome{Failure: name}
}

// isIPStatus tells an IP_STATUS value from another Windows error code, for IcmpSendEcho2's
// last error when it returns no reply.
func isIPStatus(code uint32) bool { return code > 11000 && code < 11256 }

// icmpReplyHeader is the part of ICMP_ECHO_REPLY (and ICMP_ECHO_REPLY32) read here: Address
// (IPAddr, network byte order), Status and RoundTripTime (ms), the same in the 32- and 64-bit
// layouts.
const icmpReplyHeader = 12

// parseEchoReply reads the first ICMP_ECHO_REPLY of an IcmpSendEcho2 reply buffer: who
// answered and with what status.
func parseEchoReply(b []byte) (from netip.Addr, status uint32, rttMS uint32, ok bool) {
	if len(b) < icmpReplyHeader {
		return netip.Addr{}, 0, 0, false
	}
	return netip.AddrFrom4([4]byte(b[0:4])), binary.LittleEndian.Uint32(b[4:8]), binary.LittleEndian.Uint32(b[8:12]), true
}

// ipAddrValue is an IPv4 address as the IPAddr argument of IcmpSendEcho2: a ULONG holding the
// address in network byte order, i.e. its bytes in memory are a.b.c.d on a little-endian CPU
// (every Windows target).
func ipAddrValue(a netip.Addr) uint32 {
	b := a.As4()
	return binary.LittleEndian.Uint32(b[:])
}

// echoTally collects the outcomes of a series of echoes into an ICMPResult.
type echoTally struct {
	res  ICMPResult
	got  []bool
	rtts []time.Duration
	errs map[string]int
	done int // echoes with an outcome (reply, error, lost)
}

func newEchoTally(address, method string, count int) *echoTally {
	return &echoTally{res: ICMPResult{Address: address, Method: method}, got: make([]bool, count), rtts: make([]time.Duration, count), errs: map[string]int{}}
}

// add records echo seq's outcome; from is who answered (a router for an error).
func (t *echoTally) add(seq int, o ipStatusOutcome, from netip.Addr, rtt time.Duration) {
	if seq < 0 || seq >= len(t.got) || t.got[seq] {
		return
	}
	t.done++
	switch {
	case o.Kind == echoReply:
		t.got[seq], t.rtts[seq] = true, rtt
		t.res.Received++
	case o.Kind != 0:
		t.errs[echoEvent{Kind: o.Kind, Code: o.Code, From: from}.describe()]++
	case o.Failure != "":
		t.errs["send failed: "+o.Failure]++
	}
}

// result finishes the tally the way ICMP does on the socket path.
func (t *echoTally) result(count int) ICMPResult {
	res := t.res
	for i := range res.Sent {
		if t.got[i] {
			res.RTTs = append(res.RTTs, t.rtts[i])
		}
	}
	res.Loss = 1 - float64(res.Received)/float64(count)
	if len(res.RTTs) > 0 {
		var sum time.Duration
		for _, r := range res.RTTs {
			sum += r
		}
		res.Min, res.Max, res.Avg = slices.Min(res.RTTs), slices.Max(res.RTTs), sum/time.Duration(len(res.RTTs))
	}
	for k, n := range t.errs {
		res.Errors = append(res.Errors, fmt.Sprintf("%dx %s", n, k))
	}
	slices.Sort(res.Errors)
	res.Detail = fmt.Sprintf("%d/%d replies", res.Received, count)
	if res.Sent < count {
		res.Detail += fmt.Sprintf(" (only %d sent before the deadline: lower Count or Interval)", res.Sent)
	}
	return res
}
