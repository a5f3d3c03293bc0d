package probetest

import (
	"context"
	"fmt"
	"net"
	"os"
)

// GuardDNS makes the process's resolver refuse to query any DNS server, so a test that
// resolves a name by mistake fails instead of sending a query to the machine's resolver (tests
// send packets only to loopback or their own namespaces; even a loopback resolver such as
// systemd-resolved's 127.0.0.53 forwards upstream). /etc/hosts still answers (localhost);
// tests that need DNS query a probetest.DNSServer by its address. Call it from TestMain,
// before m.Run.
func GuardDNS() {
	net.DefaultResolver = &net.Resolver{PreferGo: true, Dial: func(_ context.Context, _, address string) (net.Conn, error) {
		return nil, fmt.Errorf("test guard: a DNS query to %s was refused: tests send packets only to loopback (use addresses, or a probetest.DNSServer)", address)
	}}
}

// Main is a TestMain for packages with nothing else to do there: GuardDNS, then the tests.
func Main(m interface{ Run() int }) {
	GuardDNS()
	os.Exit(m.Run())
}
