package main

import (
	"context"
	"time"

	"github.com/spf13/cobra"

	"github.com/netprobe/netprobe/internal/probes"
	"github.com/netprobe/netprobe/internal/result"
)

// pmtuKind: netprobe probe pmtu.
func pmtuKind() probeKind {
	var pmtu struct {
		min, max int
		mode     string
	}
	exactlyOne := cobra.ExactArgs(1)
	return probeKind{
		use: "pmtu DEST[:PORT]", short: "Path MTU by Don't-Fragment probes; detects MTU black holes, recommends an MSS",
		long: `Find the largest IPv4 packet that crosses the path, by binary search with probes sent
with Don't Fragment (Linux): ICMP echoes (ping socket or root), or with --mode udp
datagrams to a netprobe UDP echo responder at DEST:PORT, for paths that filter ICMP echo
(no privilege needed). "Fragmentation needed" answers are followed; packets that vanish
without one while smaller ones pass are an MTU black hole, which stalls replication once
TCP sends full-size segments. Recommends MSS = MTU - 40.`,
		example: `  netprobe probe pmtu 10.20.1.4
  netprobe probe pmtu 10.20.1.4 --min 1200 --max 1500 --format json
  netprobe probe pmtu 10.20.1.4:9443 --mode udp     # a netprobe agent's responder echoes there`,
		args: exactlyOne, defaultTimeout: 5 * time.Second,
		flags: func(c *cobra.Command) {
			c.Flags().IntVar(&pmtu.min, "min", 576, "smallest packet size to assume works (bytes, IP header included)")
			c.Flags().IntVar(&pmtu.max, "max", 1500, "largest packet size to try")
			c.Flags().StringVar(&pmtu.mode, "mode", "icmp", "icmp (echo) or udp (to a netprobe UDP echo responder at DEST:PORT)")
		},
		run: func(ctx context.Context, target string) (result.Result, error) {
			r := result.Result{ID: "probe/pmtu/" + target, Check: result.CheckPMTU, Target: target, Proto: pmtu.mode}
			pr, err := probes.PMTU(ctx, nil, probes.PMTURequest{Address: target, Mode: pmtu.mode, Min: pmtu.min, Max: pmtu.max})
			if err != nil {
				return r, err
			}
			r.Status, r.Message = result.Pass, pr.Detail
			r.Metrics = result.Metrics{result.MetricMTU: pr.MTU, result.MetricMSS: pr.MSS, result.MetricBlackhole: pr.Blackhole, result.MetricFragNeeded: pr.FragNeeded, result.MetricProbes: pr.Probes, result.MetricMethod: pr.Method}
			if pr.NextHopMTU > 0 {
				r.Metrics[result.MetricNextHopMTU] = pr.NextHopMTU
			}
			return r, nil
		},
	}
}
