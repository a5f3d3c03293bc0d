//go:build !linux

package probes

import "net"

// pktinfoUDP: outside Linux the kernel chooses the reply's source address.
func pktinfoUDP(uc *net.UDPConn) (udpRead, udpWrite, bool) { return nil, nil, false }
