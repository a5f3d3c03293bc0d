package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"strconv"
	"time"

	"github.com/spf13/cobra"

	"github.com/netprobe/netprobe/internal/agent"
	"github.com/netprobe/netprobe/internal/engine"
	"github.com/netprobe/netprobe/internal/probes"
	"github.com/netprobe/netprobe/internal/result"
	"github.com/netprobe/netprobe/internal/topology"
)

func init() { register(newLatencyCmd) }

type latencyFlags struct {
	trust                      trustFlags
	from, to, format           string
	samples                    int
	interval, warnP95, failP95 time.Duration
}

func newLatencyCmd() *cobra.Command {
	f := latencyFlags{}
	cmd := &cobra.Command{
		Use:   "latency --from AGENT --to AGENT",
		Short: "Measure round-trip latency, jitter and loss between two agents (UDP echo)",
		Long: `Measure round-trip time from one agent to another by UDP echo, from any machine that
reaches both agents' control ports. The --to agent opens a temporary UDP echo on its control
port number; the --from agent sends --samples datagrams, one per --interval, and matches
replies by sequence number (late, duplicated and reordered replies are counted, not
mistaken for others).

Reported: min, p50, p90, p95, p99 (nearest-rank), max, jitter (mean absolute difference of
consecutive samples, RFC 3550 style) and loss. --warn-p95 / --fail-p95 judge the p95 like
checks.latency in a topology file.

--format json prints one result of docs/results.md (check "latency").
Exit codes: 0 measured, 1 above --fail-p95 or no reply at all, 2 bad usage, 5 could not measure.`,
		Example: `  netprobe latency --from 10.20.1.4:7411 --to 10.10.0.8:7411 --token-file /etc/netprobe/token
  netprobe latency --from ps-az:7411 --to sql01:7411 --samples 100 --interval 100ms --fail-p95 50ms --format json`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			return runLatency(cmd.Context(), cmd.OutOrStdout(), cmd.ErrOrStderr(), f)
		},
	}
	fl := cmd.Flags()
	fl.StringVar(&f.from, "from", "", "agent that sends the echoes (host:port of its control API)")
	fl.StringVar(&f.to, "to", "", "agent that echoes (host:port of its control API)")
	fl.IntVar(&f.samples, "samples", probes.DefaultLatencySamples, "datagrams to send")
	fl.DurationVar(&f.interval, "interval", probes.DefaultLatencyInterval, "gap between datagrams")
	fl.DurationVar(&f.warnP95, "warn-p95", 0, "warn when p95 is above this (0: no threshold)")
	fl.DurationVar(&f.failP95, "fail-p95", 0, "fail when p95 is above this (0: no threshold)")
	addTrustFlags(fl, &f.trust)
	fl.StringVar(&f.format, "format", "text", "output format: text or json")
	return cmd
}

func runLatency(ctx context.Context, stdout, stderr io.Writer, f latencyFlags) error {
	var errs []error
	if f.from == "" || f.to == "" {
		errs = append(errs, errors.New("--from and --to are both required (host:port of each agent's control API)"))
	}
	if f.format != "text" && f.format != "json" {
		errs = append(errs, fmt.Errorf("--format %q: use text or json", f.format))
	}
	if f.samples < 1 || f.samples > 10000 || f.interval <= 0 {
		errs = append(errs, errors.New("--samples must be 1..10000 and --interval > 0"))
	}
	host, port, err := net.SplitHostPort(f.to)
	if f.to != "" && err != nil {
		errs = append(errs, fmt.Errorf("--to %q: %w", f.to, err))
	}
	if err := errors.Join(errs...); err != nil {
		return exitWith(ExitUsage, err)
	}
	echoPort, _ := strconv.Atoi(port)
	from, to, err := dialPair(ctx, f.from, f.to, f.trust)
	if err != nil {
		return err
	}
	defer from.Close()
	defer to.Close()
	start := time.Now()
	total := time.Duration(f.samples) * f.interval
	rs, err := to.OpenRespondersTTL(ctx, []agent.Listen{{Proto: "udp", Port: echoPort}}, total+time.Minute)
	if err != nil {
		return exitWith(ExitCannotRun, fmt.Errorf("asking %s for a UDP echo: %w", f.to, err))
	}
	defer func() {
		cctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), 5*time.Second)
		defer cancel()
		_ = to.CloseResponders(cctx, rs.ID)
	}()
	for _, p := range rs.Ports {
		if p.Status != agent.Opened {
			return exitWith(ExitCannotRun, fmt.Errorf("%s could not open a UDP echo on %d (%s: %s)", f.to, echoPort, p.Status, p.Detail))
		}
	}
	stop := func() {}
	if f.format == "text" && isTerminalWriter(stderr) {
		stop = startProgressLine(stderr, total).stop
	}
	lr, err := from.Latency(ctx, probes.LatencyRequest{Address: net.JoinHostPort(host, port), Samples: f.samples, Interval: f.interval})
	stop()
	if err != nil && !errors.Is(err, probes.ErrRefused) {
		if ctx.Err() != nil {
			return exitWith(ExitInterrupted, fmt.Errorf("latency test interrupted: %w", ctx.Err()))
		}
		return exitWith(ExitCannotRun, fmt.Errorf("latency %s -> %s: %w", f.from, f.to, err))
	}
	c := engine.Check{
		ID: "latency/" + f.from + "/" + f.to, Kind: result.CheckLatency, From: f.from, To: f.to,
		Address: host, Proto: topology.ProtoUDP, ToAgent: f.to, Samples: f.samples, Interval: f.interval,
		WarnP95: f.warnP95, FailP95: f.failP95,
	}
	r := engine.JudgeLatency(c, lr.Stats())
	r.Target = net.JoinHostPort(host, port)
	r.DurationMS = time.Since(start).Milliseconds()
	if err := writeLatency(stdout, f.format, r); err != nil {
		return exitWith(ExitCannotRun, err)
	}
	if r.Status == result.Fail {
		return exitQuiet(ExitFail)
	}
	return nil
}

func writeLatency(w io.Writer, format string, r result.Result) error {
	if format == "json" {
		return writeBandwidth(w, format, r) // the same one-result JSON document
	}
	_, err := fmt.Fprintf(w, "%s  %s\n", r.Status, r.Message)
	if err == nil && r.Hint != "" {
		_, err = fmt.Fprintf(w, "  hint: %s\n", r.Hint)
	}
	if err == nil {
		if mn, ok := r.Metrics[result.MetricMinMS].(float64); ok {
			_, err = fmt.Fprintf(w, "  min %.2f  p50 %.2f  p90 %.2f  p95 %.2f  p99 %.2f  max %.2f ms\n", mn,
				r.Metrics[result.MetricP50MS], r.Metrics[result.MetricP90MS], r.Metrics[result.MetricP95MS], r.Metrics[result.MetricP99MS], r.Metrics[result.MetricMaxMS])
		}
	}
	return err
}
