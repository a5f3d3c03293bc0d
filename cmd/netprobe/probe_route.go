package main

import (
	"context"
	"fmt"
	"net"
	"net/netip"
	"time"

	"github.com/spf13/cobra"

	"github.com/netprobe/netprobe/internal/probes"
	"github.com/netprobe/netprobe/internal/result"
)

// routeKind: netprobe probe route.
func routeKind() probeKind {
	exactlyOne := cobra.ExactArgs(1)
	return probeKind{
		use: "route DEST", short: "Which interface, source address and gateway this host uses for DEST",
		long: `Ask the OS's routing table which interface and source address a packet to DEST would
leave with, and through which gateway (Linux: netlink, like "ip route get"; Windows:
GetBestRoute2; elsewhere the UDP-connect trick, which finds no gateway). Nothing is sent.
This is the dual-NIC check: a configuration server must leave toward the failback network
on its failback NIC.`,
		example: `  netprobe probe route 10.20.1.4
  netprobe probe route 10.20.1.4 --format json`,
		args: exactlyOne, defaultTimeout: 2 * time.Second,
		run: func(ctx context.Context, target string) (result.Result, error) {
			r := result.Result{ID: "probe/route/" + target, Check: result.CheckRoute, Target: target}
			ip, err := netip.ParseAddr(target)
			if err != nil {
				ips, lerr := net.DefaultResolver.LookupNetIP(ctx, "ip4", target)
				if lerr != nil || len(ips) == 0 {
					return r, fmt.Errorf("%w: %q is not an IP address and does not resolve", probes.ErrInvalid, target)
				}
				ip = ips[0]
			}
			rr, err := probes.Route(ctx, ip)
			if err != nil {
				return r, err
			}
			r.Status = result.Pass
			r.Message = fmt.Sprintf("leaves on %s from %s", rr.Interface, rr.SourceIP)
			if rr.Gateway != "" {
				r.Message += " via " + rr.Gateway
			} else if rr.Method == "netlink" {
				r.Message += " (directly connected)"
			}
			r.Metrics = result.Metrics{result.MetricInterface: rr.Interface, result.MetricSourceIP: rr.SourceIP, result.MetricMethod: rr.Method}
			if rr.Gateway != "" {
				r.Metrics[result.MetricGateway] = rr.Gateway
			}
			return r, nil
		},
	}
}
