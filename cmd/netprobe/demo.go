package main

import (
	"context"
	"fmt"
	"io"
	"os"
	"strings"
	"time"

	"github.com/spf13/cobra"

	"github.com/netprobe/netprobe/internal/agent"
	"github.com/netprobe/netprobe/internal/demo"
	"github.com/netprobe/netprobe/internal/engine"
	"github.com/netprobe/netprobe/internal/report"
	"github.com/netprobe/netprobe/internal/result"
	"github.com/netprobe/netprobe/internal/tui"
)

func init() { register(newDemoCmd) }

func newDemoCmd() *cobra.Command {
	var headless bool
	var format string
	cmd := &cobra.Command{
		Use:   "demo",
		Short: "Run netprobe on a built-in failback estate with real agents on loopback",
		Long: `Start a built-in retained-IP failback estate whose hosts are loopback addresses of this
machine (127.0.1.x on-premises, 127.0.2.x in "Azure"), each with a real agent running
in this process, plant a few faults with ordinary sockets, and test every flow the ASR
catalogue requires - shown in the live TUI on a terminal, or as text otherwise.

Nothing leaves this machine, and no root is needed: the catalogue's port 443 is shifted
to 20443 so it can be bound without privileges. The demo exits 0 when it ran, whatever it
found (its faults are planted on purpose).`,
		Example: `  netprobe demo
  netprobe demo --headless               # text, as a cron run would print it
  netprobe demo --format json | jq '.results[] | select(.status=="fail")'`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			return runDemo(cmd.Context(), cmd.OutOrStdout(), cmd.ErrOrStderr(), demo.DefaultNet, headless || cmd.Flags().Changed("format"), format)
		},
	}
	cmd.Flags().BoolVar(&headless, "headless", false, "print results instead of opening the TUI")
	cmd.Flags().StringVar(&format, "format", "text", "output format when headless: "+strings.Join(report.Names(), ", "))
	return cmd
}

// runDemo runs the demo estate on the loopback addresses of n (demo.DefaultNet; tests that
// run beside other demos take their own).
func runDemo(ctx context.Context, stdout, stderr io.Writer, n demo.Net, headless bool, format string) error {
	formatter, err := report.Lookup(format)
	if err != nil {
		return exitWith(ExitUsage, fmt.Errorf("--format %q: %w", format, err))
	}
	d, err := demo.StartOn(ctx, n)
	if err != nil {
		return exitWith(ExitCannotRun, err)
	}
	defer d.Close()
	t := d.Topology
	plan := engine.RemapPorts(engine.Plan(t, engine.Options{NoHostFacts: true}), demo.PortOffset)
	runner := &engine.Runner{Dial: engine.AgentDialer(agent.ClientConfig{Token: d.Token}), Log: logger(stderr), BindSource: true}

	if !headless && isTerminal(os.Stdout) && isTerminal(os.Stdin) {
		src := &tui.EngineSource{Plan: plan, Findings: engine.Findings(t), Runner: runner}
		if _, err := tui.Run(ctx, src, estateOf(t), tui.Options{}); err != nil && ctx.Err() == nil {
			return exitWith(ExitCannotRun, fmt.Errorf("tui: %w", err))
		}
		return nil
	}

	fmt.Fprintf(stderr, "netprobe demo: %d checks on a built-in estate on loopback; planted faults:\n", len(plan))
	for _, f := range demo.Faults {
		fmt.Fprintf(stderr, "  - %s\n", f)
	}
	started := time.Now()
	results := engine.Findings(t)
	progress := newProgress(stderr, len(plan))
	agents := agentLog{}
	interrupted := false
	for ev := range runner.Run(ctx, plan) {
		switch {
		case ev.Result != nil:
			results = append(results, *ev.Result)
			progress.result(*ev.Result)
		case ev.Agent != nil:
			agents.add(*ev.Agent)
		case ev.Done:
			interrupted = ev.Interrupted
		}
	}
	progress.done()
	run := result.NewRun(t.Name, started, time.Since(started), results)
	run.Interrupted = interrupted
	stampRun(&run, t, agents)
	if err := formatter.Format(stdout, run); err != nil {
		return exitWith(ExitCannotRun, err)
	}
	if interrupted {
		return exitWith(ExitInterrupted, fmt.Errorf("interrupted"))
	}
	return nil
}
