package main

import (
	"context"
	"net"
	"strings"
	"time"

	"github.com/spf13/cobra"

	"github.com/netprobe/netprobe/internal/probes"
	"github.com/netprobe/netprobe/internal/result"
)

// pathKind: netprobe probe path.
func pathKind() probeKind {
	var path struct {
		mode    string
		maxHops int
	}
	exactlyOne := cobra.ExactArgs(1)
	return probeKind{
		use: "path DEST[:PORT]", short: "Traceroute with TCP SYNs to the flow's port (or UDP, ICMP): hops and privacy",
		long: `List the routers between here and DEST, one probe per TTL, all at once. The default TCP
mode sends SYNs to the flow's own port, which is what firewalls let through; on Linux the
TCP and UDP modes need no privilege. The path is "private" when every hop answered from a
private address (RFC 1918, RFC 6598, ULA): ASR failback must not cross the internet.`,
		example: `  netprobe probe path 10.20.1.4:9443
  netprobe probe path 10.20.1.4 --mode icmp --max-hops 15`,
		args: exactlyOne, defaultTimeout: 5 * time.Second,
		flags: func(c *cobra.Command) {
			c.Flags().StringVar(&path.mode, "mode", "", "tcp (default with a port), udp or icmp (default without a port)")
			c.Flags().IntVar(&path.maxHops, "max-hops", probes.DefaultMaxHops, "largest TTL to try")
		},
		run: func(ctx context.Context, target string) (result.Result, error) {
			mode := path.mode
			if mode == "" {
				mode = "icmp"
				if _, _, err := net.SplitHostPort(target); err == nil {
					mode = "tcp"
				}
			}
			r := result.Result{ID: "probe/path/" + target + "/" + mode, Check: result.CheckPath, Target: target, Proto: mode}
			pr, err := probes.Path(ctx, nil, probes.PathRequest{Address: target, Mode: mode, MaxHops: path.maxHops})
			if err != nil {
				return r, err
			}
			hops := make([]string, 0, len(pr.Hops))
			for _, h := range pr.Hops {
				a := h.Addr
				if a == "" {
					a = "*"
				}
				hops = append(hops, a)
			}
			r.Status = result.Pass
			r.Message = strings.Join(hops, " > ") + " - " + pr.Detail
			if pr.Private {
				r.Message += "; every hop is private"
			}
			r.Metrics = result.Metrics{result.MetricHops: hops, result.MetricPrivate: pr.Private, result.MetricReached: pr.Reached}
			return r, nil
		},
	}
}
