package main

import (
	"context"
	"fmt"

	"github.com/netprobe/netprobe/bench/bw"
	"github.com/netprobe/netprobe/internal/lab"
)

// throughput compares netprobe's bandwidth test with iperf3 from ps-az to mt01 over the VPN
// veth, unshaped and then shaped with tbf, with 1 and 4 streams.
func throughput(ctx context.Context, l *lab.Lab, c Config) []Row {
	var rows []Row
	runAll := func(shape string) {
		for _, n := range []int{1, 4} {
			name := fmt.Sprintf("throughput %d stream(s), %s", n, shape)
			ref := fmt.Sprintf("iperf3 -P%d", n)
			step("%s: %d rounds of %s + %s warm-up per tool", name, c.Rounds, c.Duration, c.WarmUp)
			r, err := bw.Compare(ctx, bw.LabLink(l, shape), bw.Params{Streams: n, Duration: c.Duration, WarmUp: c.WarmUp, Rounds: c.Rounds})
			if err != nil {
				rows = append(rows, failedRow(name, ref, err))
				continue
			}
			rows = append(rows, ratioAtLeast(Row{Name: name, RefName: ref, Unit: "bit/s",
				Netprobe: r.NetMedian, Reference: r.RefMedian, Rounds: r.Netprobe, RefRounds: r.Iperf3}, 0.95))
		}
	}
	runAll("unshaped veth")
	if ctx.Err() != nil {
		return rows
	}
	undo, err := l.ApplyContext(ctx, lab.Shape{Link: lab.VPN, Rate: lab.BitsPerSecond(c.ShapeMbps) * lab.Mbit})
	if err != nil {
		return append(rows, failedRow("throughput, tbf-shaped", "iperf3", err))
	}
	defer func() { _ = undo(context.WithoutCancel(ctx)) }()
	runAll(fmt.Sprintf("tbf %d Mbit/s", c.ShapeMbps))
	return rows
}
