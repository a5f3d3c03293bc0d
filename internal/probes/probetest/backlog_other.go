//go:build !linux

package probetest

import (
	"net/netip"
	"testing"
)

// FullBacklog needs Linux's listen(2) backlog semantics; elsewhere the test skips.
func FullBacklog(t testing.TB) netip.AddrPort {
	t.Skip("full-backlog listener needs Linux; the Env blackhole test covers timeouts here")
	return netip.AddrPort{}
}
