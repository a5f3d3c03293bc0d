// Command bwcompare measures netprobe's bandwidth test against iperf3 on the same link, in the
// same run, and prints the ratio. The link is loopback, or with -lab (root) the failback lab's
// VPN veth between the process server's and the master target's namespaces (unshaped unless
// -rate); it never sends anywhere else (the network safety rule). The comparison itself lives
// in bench/bw, shared with the full bench (go run ./bench).
//
//	go run ./bench/bwcompare -t 3s -streams 1,4 -rounds 3 [-reverse] [-lab [-rate 50]]
package main

import (
	"context"
	"flag"
	"fmt"
	"os"
	"os/signal"
	"strconv"
	"strings"
	"time"

	"github.com/netprobe/netprobe/bench/bw"
	"github.com/netprobe/netprobe/internal/lab"
)

func main() {
	dur := flag.Duration("t", 3*time.Second, "measured duration of each run")
	warm := flag.Duration("warmup", time.Second, "warm-up excluded from both tools (iperf3 -O)")
	list := flag.String("streams", "1,4", "comma-separated stream counts")
	rounds := flag.Int("rounds", 3, "runs of each tool per stream count; medians are compared")
	reverse := flag.Bool("reverse", false, "server sends (netprobe receive, iperf3 -R)")
	inLab := flag.Bool("lab", false, "measure over the failback lab's VPN veth (needs root) instead of loopback")
	rate := flag.Int64("rate", 0, "with -lab: shape the VPN to this many Mbit/s (0: unshaped)")
	flag.Parse()
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt)
	defer stop()
	p := bw.Params{Duration: *dur, WarmUp: *warm, Rounds: *rounds, Reverse: *reverse}
	var err error
	if *inLab {
		err = runLab(ctx, *rate, func(l bw.Link) error { return run(ctx, l, p, *list) })
	} else {
		err = run(ctx, bw.Loopback(), p, *list)
	}
	if err != nil {
		fmt.Fprintln(os.Stderr, "bwcompare:", err)
		os.Exit(1)
	}
}

// runLab builds the failback lab (namespaces named np<pid>x..., removed at the end, also on
// error or Ctrl-C) and measures from ps-az to mt01 over its VPN link.
func runLab(ctx context.Context, rateMbps int64, f func(bw.Link) error) error {
	spec := lab.Failback()
	for i := range spec.Links {
		spec.Links[i].Rate = lab.BitsPerSecond(rateMbps) * lab.Mbit
	}
	l, err := lab.Up(ctx, spec, lab.Options{})
	if err != nil {
		return fmt.Errorf("building the lab (needs root and iproute2): %w", err)
	}
	defer func() {
		cctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), time.Minute)
		defer cancel()
		_ = l.Close(cctx)
	}()
	shaped := "unshaped"
	if rateMbps > 0 {
		shaped = fmt.Sprintf("shaped to %d Mbit/s", rateMbps)
	}
	return f(bw.LabLink(l, fmt.Sprintf("lab %s -> %s over the VPN veth (%s)", lab.PSAz, lab.MT01, shaped)))
}

func run(ctx context.Context, l bw.Link, p bw.Params, list string) error {
	fmt.Println(l.Name)
	fmt.Printf("%-8s %-9s %16s %16s %7s\n", "streams", "direction", "netprobe median", "iperf3 median", "ratio")
	worst := 0.0
	for _, f := range strings.Split(list, ",") {
		n, err := strconv.Atoi(strings.TrimSpace(f))
		if err != nil || n < 1 {
			return fmt.Errorf("bad stream count %q", f)
		}
		p.Streams = n
		r, err := bw.Compare(ctx, l, p)
		if err != nil {
			return err
		}
		if worst == 0 || r.Ratio() < worst {
			worst = r.Ratio()
		}
		fmt.Printf("%-8d %-9s %16s %16s %7.3f\n", n, r.Direction, bw.Rate(r.NetMedian), bw.Rate(r.RefMedian), r.Ratio())
	}
	fmt.Printf("worst ratio %.3f (target >= 0.95)\n", worst)
	return nil
}
