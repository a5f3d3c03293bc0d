package main

import (
	"fmt"
	"os"

	"github.com/spf13/cobra"

	"github.com/netprobe/netprobe/internal/engine"
)

func init() { register(newTUICmd) }

func newTUICmd() *cobra.Command {
	var f checkFlags
	cmd := &cobra.Command{
		Use:   "tui -f FILE",
		Short: "Watch every required flow live in a terminal dashboard while you fix them",
		Long: `Open the live dashboard on a topology: the flows grouped by phase and rule with failures
first, the reason and the fix of the selected one, the topology with agent state, latency and
bandwidth as they are measured. Re-run one check (r) or every failing one (R) after changing a
firewall rule, and watch it turn green.

This is what 'netprobe check' shows on a terminal; 'tui' insists on it (and says so when there
is no terminal). Exit codes are those of check.`,
		Example: `  netprobe tui -f estate.yaml --token-file /etc/netprobe/token
  netprobe tui -f estate.yaml --only 'port/*/cs01/*'     # just the flows toward the configuration server`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			f.headlessCmd = headlessCommand(cmd.Flags())
			if !isTerminal(os.Stdout) || !isTerminal(os.Stdin) {
				return exitWith(ExitUsage, fmt.Errorf("tui needs a terminal on stdin and stdout; `%s` prints the same results as text", f.headlessCmd))
			}
			softMemoryLimit()
			t, err := loadForRun(f.file)
			if err != nil {
				return err
			}
			plan := engine.Plan(t, engine.Options{Phases: f.phases, Only: f.only, Timeout: f.timeout,
				NoBandwidth: f.noBandwidth, NoHostFacts: f.noHostFacts})
			if len(plan) == 0 {
				return exitWith(ExitUsage, fmt.Errorf("nothing to check in %s with these filters", f.file))
			}
			dial, err := dialerFor(plan, f.trust)
			if err != nil {
				return err
			}
			return runTUI(cmd.Context(), t, plan, f.runner(dial, os.Stderr), f.strict, f.headlessCmd)
		},
	}
	fl := cmd.Flags()
	fl.StringVarP(&f.file, "file", "f", "", "topology file (required)")
	addTrustFlags(fl, &f.trust)
	fl.StringSliceVar(&f.phases, "phase", nil, "only these phases: failback, forward")
	fl.StringArrayVar(&f.only, "only", nil, "only checks whose ID matches this glob or contains this text (repeatable)")
	fl.DurationVar(&f.timeout, "timeout", 0, "one probe attempt (default: the topology's settings.timeout)")
	fl.IntVar(&f.concurrency, "concurrency", 0, "checks in flight at once (default: one per 16 planned checks, 64 to 512)")
	fl.BoolVar(&f.fullWait, "full-wait", false, "wait the whole timeout for every silent TCP port (docs/probes.md)")
	fl.BoolVar(&f.strict, "strict", false, "exit 1 on warnings too")
	fl.BoolVar(&f.noBandwidth, "no-bandwidth", false, "leave the bandwidth tests out")
	fl.BoolVar(&f.noHostFacts, "no-host-facts", false, "leave out the master target's host-fact rules")
	_ = cmd.MarkFlagRequired("file")
	return cmd
}
