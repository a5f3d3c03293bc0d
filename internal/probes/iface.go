package probes

import (
	"net"
	"net/netip"
	"sync"
	"time"
)

// interfaceByIP names the local interface that holds ip, or "" when none does. The table of
// addresses is read once and kept a few seconds (ifaceTable): reading it is a netlink dump of
// every address per interface, 14 % of the CPU of an agent that holds 250 addresses and probes
// a few hundred ports a second (make bench's estate), for a name that changes rarely.
func interfaceByIP(ip netip.Addr) string {
	return ifaces.lookup(netnsKey(), ip.Unmap(), time.Now())
}

// ifaceTableTTL is how long a read table answers; an address it lacks is looked for in a
// fresh table once it is ifaceMissTTL old (an address added since).
const (
	ifaceTableTTL = 5 * time.Second
	ifaceMissTTL  = time.Second
)

var ifaces ifaceTables

// ifaceTables are the local addresses and the interfaces that hold them, as last read, per
// network namespace.
type ifaceTables struct {
	mu   sync.Mutex
	byNS map[uint64]*ifaceTable
	load func() map[netip.Addr]string // nil: readInterfaces (tests replace it)
}

type ifaceTable struct {
	read  time.Time
	names map[netip.Addr]string
}

func (t *ifaceTables) lookup(ns uint64, ip netip.Addr, now time.Time) string {
	t.mu.Lock()
	defer t.mu.Unlock()
	if t.byNS == nil {
		t.byNS = map[uint64]*ifaceTable{}
	}
	tb := t.byNS[ns]
	if tb == nil {
		if len(t.byNS) >= 64 { // namespaces come and go in tests; forget them all
			clear(t.byNS)
		}
		tb = &ifaceTable{}
		t.byNS[ns] = tb
	}
	name, ok := tb.names[ip]
	age := now.Sub(tb.read)
	if tb.names == nil || age >= ifaceTableTTL || !ok && age >= ifaceMissTTL {
		load := t.load
		if load == nil {
			load = readInterfaces
		}
		tb.names, tb.read = load(), now
		name = tb.names[ip]
	}
	return name
}

// readInterfaces maps every local address to the name of its interface.
func readInterfaces() map[netip.Addr]string {
	names := map[netip.Addr]string{}
	ifs, err := net.Interfaces()
	if err != nil {
		return names
	}
	for _, ifc := range ifs {
		addrs, err := ifc.Addrs()
		if err != nil {
			continue
		}
		for _, a := range addrs {
			if n, ok := a.(*net.IPNet); ok {
				if x, ok := netip.AddrFromSlice(n.IP); ok {
					if _, dup := names[x.Unmap()]; !dup {
						names[x.Unmap()] = ifc.Name
					}
				}
			}
		}
	}
	return names
}
