//go:build windows

package probes

import (
	"net/netip"
	"testing"
	"unsafe"

	"golang.org/x/sys/windows"
)

// The byte layout in sockaddrinet.go must be the real one.
func TestSockaddrInetMatchesWindows(t *testing.T) {
	if s := unsafe.Sizeof(windows.RawSockaddrInet{}); s != sockaddrInetSize {
		t.Errorf("sizeof(SOCKADDR_INET) = %d, want %d", s, sockaddrInetSize)
	}
	if windows.AF_INET != winAFInet || windows.AF_INET6 != winAFInet6 {
		t.Errorf("AF_INET %d / AF_INET6 %d differ from the constants used", windows.AF_INET, windows.AF_INET6)
	}
	for _, s := range []string{"10.20.1.4", "fd00::1"} {
		ip := netip.MustParseAddr(s)
		sa := toSockaddrInet(ip)
		if got, ok := fromSockaddrInet(&sa); !ok || got != ip {
			t.Errorf("round trip of %s = %s, %v", ip, got, ok)
		}
	}
}
