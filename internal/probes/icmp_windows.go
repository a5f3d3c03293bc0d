//go:build windows

package probes

import (
	"context"
	"errors"
	"fmt"
	"net/netip"
	"sync"
	"time"
	"unsafe"

	"golang.org/x/sys/windows"
)

// ICMP on Windows goes through the ICMP helper API (IcmpSendEcho2), which any user may call,
// instead of a raw socket, which needs an administrator. The classification of what comes
// back is in icmpstatus.go.

var (
	iphlpapi            = windows.NewLazySystemDLL("iphlpapi.dll")
	procIcmpCreateFile  = iphlpapi.NewProc("IcmpCreateFile")
	procIcmpCloseHandle = iphlpapi.NewProc("IcmpCloseHandle")
	procIcmpSendEcho2   = iphlpapi.NewProc("IcmpSendEcho2")
)

// ipOptionInformation is IP_OPTION_INFORMATION (ipexport.h).
type ipOptionInformation struct {
	TTL, TOS, Flags, OptionsSize uint8
	OptionsData                  uintptr
}

const ipFlagDF = 0x02 // IP_FLAG_DF: set Don't Fragment

// nativeICMP runs the ICMP probe with IcmpSendEcho2; ok is false when the API is missing and
// the socket path should be tried. Each echo is one synchronous call on its own goroutine, sent
// Interval apart, and waits at most until the probe's deadline, so that the series keeps its
// pace when replies are slow.
func nativeICMP(ctx context.Context, env *Env, req ICMPRequest, dst netip.Addr) (ICMPResult, bool, error) {
	if err := procIcmpSendEcho2.Find(); err != nil {
		return ICMPResult{}, false, nil
	}
	if !dst.Is4() {
		return ICMPResult{}, true, fmt.Errorf("%w: ICMP probes are IPv4 only for now (%s)", ErrUnsupported, dst)
	}
	r, _, cerr := procIcmpCreateFile.Call()
	h := windows.Handle(r)
	if h == windows.InvalidHandle {
		return ICMPResult{}, true, fmt.Errorf("%w: IcmpCreateFile: %v", ErrPermission, cerr)
	}
	var wg sync.WaitGroup
	// The calls cannot be interrupted; the handle is closed once the last one has timed out.
	defer func() {
		go func() { wg.Wait(); procIcmpCloseHandle.Call(uintptr(h)) }()
	}()

	type answer struct {
		seq  int
		o    ipStatusOutcome
		from netip.Addr
		rtt  time.Duration
	}
	answers := make(chan answer, req.Count) // buffered: a late echo never blocks its goroutine
	dl, _ := ctx.Deadline()
	t := newEchoTally(dst.String(), "iphlpapi", req.Count)
	send := func() {
		seq := t.res.Sent
		t.res.Sent++
		wait := time.Until(dl)
		if wait < time.Millisecond {
			wait = time.Millisecond
		}
		wg.Add(1)
		go func() {
			defer wg.Done()
			start := env.now()
			o, from := echoOnce(h, dst, req, wait)
			answers <- answer{seq, o, from, env.now().Sub(start)}
		}()
	}
	tick := time.NewTicker(req.Interval)
	defer tick.Stop()
	send()
loop:
	for t.done < req.Count {
		select {
		case <-ctx.Done():
			break loop
		case <-tick.C:
			if t.res.Sent < req.Count {
				send()
			}
		case a := <-answers:
			t.add(a.seq, a.o, a.from, a.rtt)
		}
	}
	if cerr := cancelled(ctx); cerr != nil {
		return ICMPResult{}, true, cerr
	}
	return t.result(req.Count), true, nil
}

// echoOnce sends one echo request and waits up to wait for its answer.
func echoOnce(h windows.Handle, dst netip.Addr, req ICMPRequest, wait time.Duration) (ipStatusOutcome, netip.Addr) {
	data := make([]byte, req.Size)
	copy(data, "netprobe")
	// Room for the reply structure (40 bytes on 64-bit), the echoed data, and the 8 bytes of
	// an ICMP error, with margin as the API asks.
	reply := make([]byte, 64+req.Size+8+64)
	var opts *ipOptionInformation
	if req.DF {
		opts = &ipOptionInformation{TTL: 128, Flags: ipFlagDF}
	}
	// ICMP has set Size > 0, so data[0] exists. The pointers are converted in the call's
	// argument list, which keeps their memory alive for the call.
	n, _, err := procIcmpSendEcho2.Call(uintptr(h), 0, 0, 0,
		uintptr(ipAddrValue(dst)), uintptr(unsafe.Pointer(&data[0])), uintptr(len(data)),
		uintptr(unsafe.Pointer(opts)), uintptr(unsafe.Pointer(&reply[0])), uintptr(len(reply)),
		uintptr(wait/time.Millisecond))
	if n == 0 {
		var errno windows.Errno
		if errors.As(err, &errno) && isIPStatus(uint32(errno)) {
			return classifyIPStatus(uint32(errno)), netip.Addr{}
		}
		return ipStatusOutcome{Failure: fmt.Sprint(err)}, netip.Addr{}
	}
	from, status, _, ok := parseEchoReply(reply)
	if !ok {
		return ipStatusOutcome{Failure: "short reply"}, netip.Addr{}
	}
	return classifyIPStatus(status), from
}
