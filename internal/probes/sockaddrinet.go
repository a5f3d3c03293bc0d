package probes

import (
	"encoding/binary"
	"net/netip"
)

// SOCKADDR_INET, the union GetBestRoute2 takes and returns (route_windows.go), as bytes, so
// that the conversion is tested on every platform: family (little-endian), port (network
// order), then for IPv4 the address at offset 4; for IPv6 the flow info and the address at
// offset 8, then the scope ID.
const (
	sockaddrInetSize = 28
	winAFInet        = 2  // AF_INET
	winAFInet6       = 23 // AF_INET6 on Windows (10 on Linux)
)

func sockaddrInetBytes(ip netip.Addr) [sockaddrInetSize]byte {
	var b [sockaddrInetSize]byte
	if ip.Is4() {
		binary.LittleEndian.PutUint16(b[0:], winAFInet)
		a := ip.As4()
		copy(b[4:8], a[:])
	} else {
		binary.LittleEndian.PutUint16(b[0:], winAFInet6)
		a := ip.As16()
		copy(b[8:24], a[:])
	}
	return b
}

func addrFromSockaddrInet(b *[sockaddrInetSize]byte) (netip.Addr, bool) {
	switch binary.LittleEndian.Uint16(b[0:]) {
	case winAFInet:
		return netip.AddrFrom4([4]byte(b[4:8])), true
	case winAFInet6:
		return netip.AddrFrom16([16]byte(b[8:24])).Unmap(), true
	}
	return netip.Addr{}, false
}
