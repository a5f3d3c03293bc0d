package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strings"
	"time"

	"github.com/spf13/cobra"

	"github.com/netprobe/netprobe/internal/agent"
	"github.com/netprobe/netprobe/internal/demo"
	"github.com/netprobe/netprobe/internal/engine"
	"github.com/netprobe/netprobe/internal/history"
	"github.com/netprobe/netprobe/internal/report"
	"github.com/netprobe/netprobe/internal/result"
	"github.com/netprobe/netprobe/internal/tui"
)

func init() { register(newDemoCmd) }

// demoTopologyFile is the name the demo gives its estate in a --history directory, so that
// `netprobe report -f` can read the VMs, disks and link the runs were made on.
const demoTopologyFile = "demo-estate.yaml"

type demoFlags struct {
	headless, formatSet bool
	format, history     string
	runs                int
	// architecture is the estate: classic (the default) or modernized.
	architecture string
}

// demoArchitectures are the built-in estates, by the name --architecture takes.
var demoArchitectures = map[string]func(context.Context, demo.Net) (*demo.Demo, error){
	"classic":    demo.StartOn,
	"modernized": demo.StartModernized,
}

// demoEnv holds the seams of runDemo; the zero value is the real thing. Tests give the estate
// loopback addresses of its own (packages test in parallel), fix the clock, and drive the TUI
// through pipes.
type demoEnv struct {
	net demo.Net         // zero: demo.DefaultNet
	now func() time.Time // nil: time.Now
	tui *tui.Options     // nil: the terminal, when stdin and stdout are one
}

func newDemoCmd() *cobra.Command {
	var f demoFlags
	cmd := &cobra.Command{
		Use:   "demo",
		Short: "Run netprobe on a built-in failback estate with real agents on loopback",
		Long: `Start a built-in retained-IP failback estate whose hosts are loopback addresses of this
machine (127.0.1.x on-premises, 127.0.2.x in "Azure"), each with a real agent running
in this process, plant a few faults with ordinary sockets, and test every flow the ASR
catalogue requires - shown in the live TUI on a terminal (i lists the planted faults; the
results are printed when you quit), or as text otherwise.

--architecture modernized starts a modernized estate instead: a replication appliance
behind its HTTP proxy, failback through Azure Storage and no VPN. Azure's endpoints, the
log storage account and the proxy are stand-ins on 127.0.4.x, found through the demo's own
DNS servers and trusted through a CA made at start; no name is looked up beyond this
machine.

With --history DIR the demo runs --runs times headless and stores each run where
'netprobe report' reads them, with the estate as DIR/` + demoTopologyFile + `: a real
pre-cutover report in one more command.

Nothing leaves this machine, and no root is needed: the catalogue's port 443 is shifted
to 20443 so it can be bound without privileges. The demo exits 0 when it ran, whatever it
found (its faults are planted on purpose).`,
		Example: `  netprobe demo
  netprobe demo --architecture modernized   # the appliance, Azure Storage, no VPN
  netprobe demo --headless               # text, as a cron run would print it
  netprobe demo --format json | jq '.results[] | select(.status=="fail")'
  # a history of 3 runs, then the report the change board reads
  netprobe demo --history /tmp/demo-history --runs 3
  netprobe report --history /tmp/demo-history -f /tmp/demo-history/` + demoTopologyFile + ` -o report.html`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			f.formatSet = cmd.Flags().Changed("format")
			if cmd.Flags().Changed("runs") && f.history == "" {
				return exitWith(ExitUsage, errors.New("--runs needs --history DIR: where the runs are stored for 'netprobe report'"))
			}
			if _, ok := demoArchitectures[f.architecture]; !ok {
				return exitWith(ExitUsage, fmt.Errorf("--architecture %q: use classic or modernized", f.architecture))
			}
			return runDemo(cmd.Context(), cmd.OutOrStdout(), cmd.ErrOrStderr(), f, demoEnv{})
		},
	}
	fl := cmd.Flags()
	fl.BoolVar(&f.headless, "headless", false, "print results instead of opening the TUI")
	fl.StringVar(&f.format, "format", "text", "output format when headless: "+strings.Join(report.Names(), ", "))
	fl.StringVar(&f.history, "history", "", "run headless and append each run to the history in DIR, with the estate as DIR/"+demoTopologyFile+" (for netprobe report)")
	fl.IntVar(&f.runs, "runs", 1, "with --history: how many runs to make, one after the other")
	fl.StringVar(&f.architecture, "architecture", "classic", "the built-in estate: classic (configuration server, process server, VPN) or modernized (replication appliance, Azure Storage)")
	_ = cmd.RegisterFlagCompletionFunc("architecture", func(*cobra.Command, []string, string) ([]string, cobra.ShellCompDirective) {
		return []string{"classic", "modernized"}, cobra.ShellCompDirectiveNoFileComp
	})
	return cmd
}

// demoSession is a started demo estate and what runs checks on it.
type demoSession struct {
	d      *demo.Demo
	plan   []engine.Check
	runner *engine.Runner
	now    func() time.Time
}

func runDemo(ctx context.Context, stdout, stderr io.Writer, f demoFlags, env demoEnv) error {
	formatter, err := report.Lookup(f.format)
	if err != nil {
		return exitWith(ExitUsage, fmt.Errorf("--format %q: %w", f.format, err))
	}
	if f.history != "" && (f.formatSet || f.runs < 1) {
		return exitWith(ExitUsage, errors.New("--history stores runs for 'netprobe report': give --runs 1 or more, and no --format"))
	}
	n := env.net
	if n == (demo.Net{}) {
		n = demo.DefaultNet
	}
	start := demoArchitectures[f.architecture]
	if start == nil {
		start = demo.StartOn
	}
	d, err := start(ctx, n)
	if err != nil {
		return exitWith(ExitCannotRun, err)
	}
	defer d.Close()
	s := &demoSession{d: d, now: env.now,
		plan:   engine.RemapPorts(engine.Plan(d.Topology, engine.Options{NoHostFacts: true}), demo.PortOffset),
		runner: &engine.Runner{Dial: engine.AgentDialer(agent.ClientConfig{Token: d.Token}), Log: logger(stderr), BindSource: true}}
	if s.now == nil {
		s.now = time.Now
	}

	if f.history != "" {
		return s.history(ctx, stdout, stderr, f.history, f.runs)
	}
	if !f.headless && !f.formatSet && (env.tui != nil || isTerminal(os.Stdout) && isTerminal(os.Stdin)) {
		err := s.tui(ctx, stdout, env.tui)
		if !errors.Is(err, tui.ErrNoTerminal) {
			return err
		}
		fmt.Fprintf(stderr, "netprobe: %v; running headless\n", err)
	}

	s.announce(stderr)
	run := s.run(ctx, newProgress(stderr, len(s.plan)))
	if err := formatter.Format(stdout, run); err != nil {
		return exitWith(ExitCannotRun, err)
	}
	if run.Interrupted {
		return exitWith(ExitInterrupted, errors.New("interrupted"))
	}
	return nil
}

// announce lists the planted faults, so the user can compare them with what netprobe finds.
func (s *demoSession) announce(w io.Writer) {
	fmt.Fprintf(w, "netprobe demo: %d checks on a built-in estate on loopback; planted faults:\n", len(s.plan))
	for _, f := range s.d.Faults {
		fmt.Fprintf(w, "  - %s\n", f)
	}
}

// run makes one headless run of the demo's plan: the readiness findings, then every check.
func (s *demoSession) run(ctx context.Context, progress *progress) result.Run {
	t := s.d.Topology
	started := s.now()
	results := engine.Findings(t)
	agents := agentLog{}
	interrupted := false
	for ev := range s.runner.Run(ctx, s.plan) {
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
	run := result.NewRun(t.Name, started, s.now().Sub(started), results)
	run.Interrupted = interrupted
	stampRun(&run, t, agents) // the netprobe version, the estate's SHA-256, the agents
	return run
}

// tui shows the run in the TUI, with the planted faults a key away, and prints the outcome
// to w when the user quits: the TUI's alternate screen leaves nothing behind.
func (s *demoSession) tui(ctx context.Context, w io.Writer, opts *tui.Options) error {
	o := tui.Options{}
	if opts != nil {
		o = *opts
	}
	o.Notes = &tui.Notes{
		Title:  "Planted faults",
		Banner: fmt.Sprintf("demo: %d faults planted on purpose (i lists them); the rest should pass", len(s.d.Faults)),
		Items:  s.d.Faults,
	}
	t := s.d.Topology
	src := &tui.EngineSource{Plan: s.plan, Findings: engine.Findings(t), Runner: s.runner}
	started := s.now()
	rep, err := tui.Run(ctx, src, estateOf(t), o)
	switch {
	case errors.Is(err, tui.ErrNoTerminal):
		return err
	case err != nil && ctx.Err() == nil:
		return exitWith(ExitCannotRun, fmt.Errorf("%w (`netprobe demo --headless` prints the same results meanwhile)", err))
	}
	run := result.NewRun(t.Name, started, s.now().Sub(started), rep.Results)
	run.Interrupted = !rep.Complete
	s.announce(w)
	if !rep.Complete {
		fmt.Fprintf(w, "The TUI closed before every check finished: %d of %d results.\n", len(rep.Results), len(s.plan)+len(engine.Findings(t)))
	}
	if err := (report.Text{}).Format(w, run); err != nil {
		return exitWith(ExitCannotRun, err)
	}
	if ctx.Err() != nil {
		return exitWith(ExitInterrupted, errors.New("interrupted"))
	}
	return nil
}

// history makes runs headless runs, appends each to the history in dir, and writes the
// estate beside them, then names the report command.
func (s *demoSession) history(ctx context.Context, stdout, stderr io.Writer, dir string, runs int) error {
	store, err := history.Open(ctx, dir, history.Options{})
	if err != nil {
		if errors.Is(err, history.ErrLocked) {
			return exitWith(ExitLocked, err)
		}
		return exitWith(ExitUsage, fmt.Errorf("--history %s: %w", dir, err))
	}
	defer store.Close()
	topo := filepath.Join(dir, demoTopologyFile)
	if err := report.WriteFileAtomic(topo, func(w io.Writer) error { _, err := w.Write(s.d.YAML); return err }); err != nil {
		return exitWith(ExitCannotRun, fmt.Errorf("writing the demo estate: %w", err))
	}
	s.announce(stderr)
	for i := 1; i <= runs; i++ {
		run := s.run(ctx, newProgress(stderr, len(s.plan)))
		if run.Interrupted {
			return exitWith(ExitInterrupted, fmt.Errorf("interrupted during run %d of %d; the %d before it are stored in %s", i, runs, i-1, dir))
		}
		if err := store.Append(context.WithoutCancel(ctx), run); err != nil {
			return exitWith(ExitCannotRun, fmt.Errorf("storing run %d: %w", i, err))
		}
		sum := run.Summary
		fmt.Fprintf(stderr, "netprobe demo: run %d of %d: %d pass, %d warn, %d fail, %d error, %d skip\n",
			i, runs, sum.Pass, sum.Warn, sum.Fail, sum.Error, sum.Skip)
	}
	fmt.Fprintf(stdout, "%s of %s stored in %s, the estate in %s. The pre-cutover report:\n  netprobe report --history %s -f %s -o report.html\n",
		plural(runs, "run"), s.d.Topology.Name, dir, topo, shellQuote(dir), shellQuote(topo))
	return nil
}
