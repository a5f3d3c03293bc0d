package probetest

import (
	"context"
	"fmt"
	"net"
	"net/netip"
	"os"
)

// GuardDNS makes the process's resolver refuse every DNS server but loopback, so a test that
// resolves a name by mistake fails instead of sending a query to the machine's resolver
// (tests send packets only to loopback or their own namespaces). /etc/hosts still answers
// (localhost). Call it from TestMain, before m.Run.
func GuardDNS() {
	net.DefaultResolver = &net.Resolver{PreferGo: true, Dial: func(ctx context.Context, network, address string) (net.Conn, error) {
		ap, err := netip.ParseAddrPort(address)
		if err != nil || !ap.Addr().IsLoopback() {
			return nil, fmt.Errorf("test guard: a DNS query to %s was refused: tests send packets only to loopback (resolve names with a probetest.DNSServer, or use addresses)", address)
		}
		var d net.Dialer
		return d.DialContext(ctx, network, address)
	}}
}

// Main is a TestMain for packages with nothing else to do there: GuardDNS, then the tests.
func Main(m interface{ Run() int }) {
	GuardDNS()
	os.Exit(m.Run())
}
