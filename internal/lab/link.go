package lab

import (
	"context"
	"fmt"
	"strings"
)

// linkEnd is one interface of a link.
type linkEnd struct {
	node *Host
	dev  string
}

// linkEnds resolves "vpn" (both routers) or "host/nic" (the host's NIC and, when both is
// set, its router-side port).
func (l *Lab) linkEnds(link string, both bool) ([]linkEnd, error) {
	if host, nic, ok := strings.Cut(link, "/"); ok {
		h, err := l.node(host)
		if err != nil {
			return nil, err
		}
		port, ok := h.ports[nic]
		if !ok {
			return nil, fmt.Errorf("%s has no NIC %q: %w", host, nic, ErrNotFound)
		}
		ends := []linkEnd{{h, nic}}
		if both {
			ends = append(ends, linkEnd{l.nodes[h.site], port})
		}
		return ends, nil
	}
	ln := l.spec.Link(link)
	if ln == nil {
		return nil, fmt.Errorf("link %q: %w (a link name, or host/nic)", link, ErrNotFound)
	}
	return []linkEnd{{l.nodes[ln.Sites[0]], ln.Name}, {l.nodes[ln.Sites[1]], ln.Name}}, nil
}

// shape sets a tbf of rate on both ends of link, or removes it when rate is 0.
func (l *Lab) shape(ctx context.Context, link string, rate BitsPerSecond) error {
	ends, err := l.linkEnds(link, true)
	if err != nil {
		return err
	}
	l.mu.Lock()
	shaped := l.rates[link] > 0
	l.mu.Unlock()
	for _, e := range ends {
		if rate == 0 {
			if shaped {
				if _, err := run(ctx, "ip", "netns", "exec", e.node.netns, "tc", "qdisc", "del", "dev", e.dev, "root"); err != nil {
					return err
				}
			}
			continue
		}
		// Burst is 10 ms at the rate (never below four full frames): enough for the kernel's
		// timer granularity at any HZ, small enough that a 1-second measurement overshoots
		// by about 1 %. latency bounds the queue at 50 ms of data, like a real VPN device.
		burst := max(int64(rate)/8/100, 4*1514)
		if _, err := run(ctx, "ip", "netns", "exec", e.node.netns, "tc", "qdisc", "replace", "dev", e.dev, "root",
			"tbf", "rate", fmt.Sprintf("%dbit", int64(rate)), "burst", fmt.Sprint(burst), "latency", "50ms"); err != nil {
			return err
		}
	}
	l.mu.Lock()
	l.rates[link] = rate
	l.mu.Unlock()
	return nil
}

// mtu reads an interface's MTU.
func (h *Host) mtu(ctx context.Context, dev string) (int, error) {
	out, err := run(ctx, "ip", "-n", h.netns, "-o", "link", "show", "dev", dev)
	if err != nil {
		return 0, err
	}
	f := strings.Fields(string(out))
	for i := range len(f) - 1 {
		if f[i] == "mtu" {
			var m int
			if _, err := fmt.Sscan(f[i+1], &m); err == nil {
				return m, nil
			}
		}
	}
	return 0, fmt.Errorf("no mtu in %q", out)
}
