package main

import (
	"context"
	"fmt"
	"strings"
	"time"

	"github.com/spf13/cobra"

	"github.com/netprobe/netprobe/internal/probes"
	"github.com/netprobe/netprobe/internal/result"
)

// icmpKind: netprobe probe icmp.
func icmpKind() probeKind {
	var icmp struct {
		count    int
		interval time.Duration
		size     int
		df       bool
	}
	exactlyOne := cobra.ExactArgs(1)
	return probeKind{
		use: "icmp HOST", short: "Ping: loss and round-trip times",
		long: `Send ICMP echoes: an unprivileged ping socket where the OS allows it (Linux:
net.ipv4.ping_group_range), a raw socket otherwise (root). Without either the probe is
skipped with the reason (exit 5).`,
		example: `  netprobe probe icmp 10.20.1.4
  netprobe probe icmp 10.20.1.4 --count 20 --interval 100ms --size 1372 --df`,
		args: exactlyOne, defaultTimeout: 3 * time.Second,
		// Every echo sent, plus a second for the last reply: ping's own default wait.
		timeoutFor: func() time.Duration { return time.Duration(icmp.count)*icmp.interval + time.Second },
		flags: func(c *cobra.Command) {
			c.Flags().IntVar(&icmp.count, "count", probes.DefaultICMPCount, "echoes to send")
			c.Flags().DurationVar(&icmp.interval, "interval", probes.DefaultICMPInterval, "time between echoes")
			c.Flags().IntVar(&icmp.size, "size", 56, "echo payload bytes (the IPv4 packet is size+28)")
			c.Flags().BoolVar(&icmp.df, "df", false, "set Don't Fragment (Linux)")
		},
		run: func(ctx context.Context, target string) (result.Result, error) {
			r := result.Result{ID: "probe/icmp/" + target, Check: result.CheckICMP, Target: target, Proto: "icmp"}
			ir, err := probes.ICMP(ctx, nil, probes.ICMPRequest{Address: target, Count: icmp.count, Interval: icmp.interval, Size: icmp.size, DF: icmp.df})
			if err != nil {
				return r, err
			}
			r.Status = result.Pass
			r.Message = fmt.Sprintf("%d/%d replies, %.0f%% loss", ir.Received, ir.Sent, ir.Loss*100)
			if ir.Received > 0 {
				r.Message += fmt.Sprintf(", rtt min/avg/max %.3f/%.3f/%.3f ms", result.Millis(ir.Min), result.Millis(ir.Avg), result.Millis(ir.Max))
			}
			if len(ir.Errors) > 0 {
				r.Message += "; " + strings.Join(ir.Errors, ", ")
			}
			r.Metrics = result.Metrics{result.MetricSamples: ir.Sent, result.MetricLoss: ir.Loss, result.MetricMethod: ir.Method}
			if ir.Received > 0 {
				r.Metrics[result.MetricMinMS], r.Metrics[result.MetricAvgMS], r.Metrics[result.MetricMaxMS] = result.Millis(ir.Min), result.Millis(ir.Avg), result.Millis(ir.Max)
			}
			return r, nil
		},
	}
}
