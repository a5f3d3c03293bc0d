package probes

import (
	"bytes"
	"fmt"
	"net/netip"
)

// The responder wire format. A destination agent's temporary TCP listener greets every
// connection with one hello line naming the source address it observed; its UDP echo sends each
// datagram back prefixed with the same. The prober reads it to learn NAT (observed != sent) and
// which NIC of the far host was reached. Real ASR services never send this line, which is how a
// prober tells a responder from a service when it does not already know.
//
//	TCP hello:  "NETPROBE/1 <observed-ip:port>\n"
//	UDP reply:  "NETPROBE/1 <observed-ip:port>\n" + the datagram as received
const helloPrefix = "NETPROBE/1 "

// MaxHello bounds how much of a greeting a prober reads.
const MaxHello = 64

// ResponderHello is the line a TCP responder writes to a connection from remote.
func ResponderHello(remote netip.AddrPort) []byte {
	return fmt.Appendf(nil, "%s%s\n", helloPrefix, remote)
}

// EchoReply is what a UDP echo responder sends back for payload received from remote.
func EchoReply(remote netip.AddrPort, payload []byte) []byte {
	return append(ResponderHello(remote), payload...)
}

// ParseHello reads a responder greeting (TCP hello or the head of a UDP echo reply). It returns
// the observed source, the rest of the message, and false when b is not a responder's message.
func ParseHello(b []byte) (observed netip.AddrPort, rest []byte, ok bool) {
	if !bytes.HasPrefix(b, []byte(helloPrefix)) {
		return netip.AddrPort{}, nil, false
	}
	line, rest, found := bytes.Cut(b[len(helloPrefix):], []byte("\n"))
	if !found || len(line) > MaxHello {
		return netip.AddrPort{}, nil, false
	}
	ap, err := netip.ParseAddrPort(string(line))
	if err != nil {
		return netip.AddrPort{}, nil, false
	}
	return ap, rest, true
}
