package main

import (
	"context"
	"strings"
	"time"

	"github.com/spf13/cobra"

	"github.com/netprobe/netprobe/internal/probes"
	"github.com/netprobe/netprobe/internal/result"
)

// dnsKind: netprobe probe dns.
func dnsKind() probeKind {
	var dnsf struct {
		servers []string
		typ     string
	}
	exactlyOne := cobra.ExactArgs(1)
	return probeKind{
		use: "dns NAME", short: "Resolve a name with one or more resolvers and compare their answers",
		long: `Query A, AAAA or PTR records with explicit timeouts (TCP retry when a UDP answer is
truncated). With several --server the answers are compared: different answers flag
split-horizon DNS, a classic failback surprise. Without --server the system's resolvers
(/etc/resolv.conf) are used.`,
		example: `  netprobe probe dns cs01.contoso.local --server 10.10.0.53 --server 10.20.0.53
  netprobe probe dns 10.10.0.4 --type PTR --server 10.10.0.53`,
		args: exactlyOne, defaultTimeout: 3 * time.Second,
		flags: func(c *cobra.Command) {
			c.Flags().StringArrayVar(&dnsf.servers, "server", nil, "resolver ip or ip:port (repeat to compare several)")
			c.Flags().StringVar(&dnsf.typ, "type", "A", "record type: A, AAAA or PTR")
		},
		run: func(ctx context.Context, target string) (result.Result, error) {
			r := result.Result{ID: "probe/dns/" + target, Check: result.CheckDNS, Target: target, Proto: "dns"}
			dr, err := probes.DNS(ctx, nil, probes.DNSRequest{Name: target, Type: dnsf.typ, Servers: dnsf.servers})
			if err != nil {
				return r, err
			}
			r.Status = result.Pass
			var parts []string
			answers := map[string]any{}
			for _, a := range dr.Answers {
				s := a.Server + ": "
				if a.Error != "" {
					s += a.Error
					answers[a.Server] = a.Error
				} else {
					s += a.Rcode + " " + strings.Join(a.Records, " ")
					answers[a.Server] = a.Records
				}
				parts = append(parts, strings.TrimSpace(s))
			}
			r.Message = strings.Join(parts, "; ")
			if dr.Mismatch {
				r.Message = dr.Detail
			}
			r.Metrics = result.Metrics{result.MetricAnswers: answers, result.MetricMismatch: dr.Mismatch}
			return r, nil
		},
	}
}
