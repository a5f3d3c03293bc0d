package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"math/rand/v2"
	"os"
	"runtime/debug"
	"strings"
	"time"

	"github.com/spf13/cobra"

	"github.com/netprobe/netprobe/internal/engine"
	"github.com/netprobe/netprobe/internal/evidence"
	"github.com/netprobe/netprobe/internal/history"
	"github.com/netprobe/netprobe/internal/report"
	"github.com/netprobe/netprobe/internal/result"
	"github.com/netprobe/netprobe/internal/topology"
	"github.com/netprobe/netprobe/internal/tui"
)

func init() { register(newCheckCmd) }

type checkFlags struct {
	trust                         trustFlags
	file, format, output          string
	phases, only                  []string
	timeout                       time.Duration
	concurrency                   int
	fullWait                      bool
	strict, headless, noBandwidth bool
	noHostFacts                   bool
	historyDir                    string
	site                          string
	historyMaxAge                 time.Duration
	historyMaxBytes               int64
	historyWait                   time.Duration
	jitter                        time.Duration
	evidenceDir                   string
	// headlessCmd is this invocation as a headless `netprobe check`, for messages.
	headlessCmd string
}

func newCheckCmd() *cobra.Command {
	var f checkFlags
	cmd := &cobra.Command{
		Use:   "check -f FILE",
		Short: "Test every required flow with the agents on the hosts (headless for cron and CI)",
		Long: `Run the checks of a topology: every port the ASR catalogue requires, in the right
direction, with nmap-grade verdicts; ICMP, route selection on the configuration server,
path MTU, latency and bandwidth between the agents; and the readiness rules on paper.

Destination agents open temporary responders on the flow ports, so firewalls can be tested
before ASR is installed. Flows from a host without an agent are reported as skip.

Agents are trusted by the token (their answers are signed with it); --known-agents FILE
also records each agent's certificate on first use and refuses a changed one (an error
naming the agent and both fingerprints), --agent-ca verifies agents' certificates against
a CA, and --client-cert/--client-key answer agents started with --client-ca.

On a terminal, check opens the live TUI unless --headless, --format, -o, --history or
--evidence is given.

--evidence DIR writes the packets of every port check that does not pass to DIR, one
pcapng file per check named after its ID (tcpdump -r, Wireshark); the result names it.
Refused port checks also say who refused them (answer_from: host, device or unknown) where
the agent may open raw sockets (Linux, root or CAP_NET_RAW).
Results go to stdout (or -o FILE, written atomically); progress and logs go to stderr.

Exit codes: 0 no fail and no error (warnings allowed unless --strict), 1 at least one fail,
2 bad usage or invalid topology (nothing probed), 3 no fail but at least one error (the run
is incomplete), 4 another run holds the --history lock, 130 interrupted (partial results
are still written).`,
		Example: `  netprobe check -f estate.yaml --token-file /etc/netprobe/token
  netprobe check -f estate.yaml --token-file /etc/netprobe/token --known-agents /var/lib/netprobe/known_agents
  netprobe check -f estate.yaml --format json -o /var/lib/netprobe/last.json
  netprobe check -f estate.yaml --only 'port/*/cs01/*' --phase failback
  # the packets of each failing port check, for the firewall team (tcpdump -r, Wireshark)
  netprobe check -f estate.yaml --evidence ./evidence --format json -o run.json
  # cron: history for the pre-cutover report, Prometheus textfile for alerting
  netprobe check -f estate.yaml --history /var/lib/netprobe/history --jitter 2m \
      --format prometheus -o /var/lib/node_exporter/textfile/netprobe.prom`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			f.headlessCmd = headlessCommand(cmd.Flags())
			return runCheck(cmd.Context(), cmd.OutOrStdout(), cmd.ErrOrStderr(), f, cmd.Flags().Changed("format"))
		},
	}
	fl := cmd.Flags()
	fl.StringVarP(&f.file, "file", "f", "", "topology file (required)")
	addTrustFlags(fl, &f.trust)
	fl.StringVar(&f.format, "format", "text", "output format: "+strings.Join(report.Names(), ", "))
	fl.StringVarP(&f.output, "output", "o", "", "write the output to FILE atomically instead of stdout")
	fl.StringSliceVar(&f.phases, "phase", nil, "only these phases: failback, forward (default: the topology's settings.phases)")
	fl.StringArrayVar(&f.only, "only", nil, "only checks whose ID matches this glob or contains this text (repeatable), e.g. 'port/*/cs01/*'")
	fl.DurationVar(&f.timeout, "timeout", 0, "one probe attempt (default: the topology's settings.timeout)")
	fl.IntVar(&f.concurrency, "concurrency", 0, "checks in flight at once (default: one per 16 planned checks, 64 to 512)")
	fl.BoolVar(&f.fullWait, "full-wait", false, "wait the whole timeout for every silent TCP port, instead of filtering it once the destination agent's own port has shown the round trip (docs/probes.md)")
	fl.BoolVar(&f.strict, "strict", false, "exit 1 on warnings too")
	fl.BoolVar(&f.headless, "headless", false, "never open the TUI, even on a terminal")
	fl.BoolVar(&f.noBandwidth, "no-bandwidth", false, "leave the bandwidth tests out (they take checks.bandwidth.duration each)")
	fl.BoolVar(&f.noHostFacts, "no-host-facts", false, "leave out the master target's host-fact rules (RD-RETENTION, RD-VMTOOLS, RD-SCSI)")
	fl.StringVar(&f.historyDir, "history", "", "append this run to the history store in DIR (for netprobe report)")
	fl.DurationVar(&f.historyMaxAge, "history-max-age", 0, "prune history older than this (e.g. 720h); 0 keeps everything")
	fl.Int64Var(&f.historyMaxBytes, "history-max-bytes", 0, "prune the oldest history days beyond this total size in bytes; 0 means no limit")
	fl.DurationVar(&f.historyWait, "history-wait", history.DefaultLockTimeout, "how long to wait for another run's history lock before giving up (exit 4)")
	fl.DurationVar(&f.jitter, "jitter", 0, "wait a random time up to this before starting, so cron jobs of a fleet do not fire in step")
	fl.StringVar(&f.evidenceDir, "evidence", "", "write the packets of every port check that does not pass to DIR, one pcapng file per check (agents on Linux with CAP_NET_RAW)")
	fl.StringVar(&f.site, "site", "", "check from inside this site only: the other sites' checks are skipped as \"run from site X\" (estates without a private path between the sites)")
	_ = cmd.MarkFlagRequired("file")
	_ = cmd.RegisterFlagCompletionFunc("format", func(*cobra.Command, []string, string) ([]string, cobra.ShellCompDirective) {
		return report.Names(), cobra.ShellCompDirectiveNoFileComp
	})
	return cmd
}

func runCheck(ctx context.Context, stdout, stderr io.Writer, f checkFlags, formatSet bool) error {
	softMemoryLimit()
	defer startProfiles(stderr)()
	t, formatter, plan, err := planCheck(f)
	if err != nil {
		return err
	}
	site := f.site
	if site != "" {
		if plan, err = (siteScope{}).named(t, plan, site); err != nil {
			return err
		}
	}
	dial, err := dialerFor(plan, f.trust)
	if err != nil {
		return err
	}
	// Take the history lock before probing: a second cron run must not probe in parallel.
	store, err := openHistory(ctx, f)
	if err != nil {
		return err
	}
	if store != nil {
		defer store.Close()
	}
	if err := waitJitter(ctx, f.jitter, stderr); err != nil {
		return err
	}
	if site == "" {
		plan, site = siteScope{}.auto(ctx, t, plan, stderr)
	}
	var ev *evidence.Dir
	if f.evidenceDir != "" {
		if ev, err = evidence.Open(f.evidenceDir, "netprobe "+currentBuild().Version); err != nil {
			return exitWith(ExitUsage, fmt.Errorf("--evidence: %w", err))
		}
	}

	// The TUI is for a person at a terminal; a run that writes history, evidence, a file or a
	// chosen format is a cron or CI run, headless.
	if !f.headless && !formatSet && f.output == "" && store == nil && ev == nil && isTerminal(os.Stdout) && isTerminal(os.Stdin) {
		err := runTUI(ctx, t, plan, f.runner(dial, os.Stderr), f.strict, f.headlessCmd)
		if !errors.Is(err, tui.ErrNoTerminal) {
			return err
		}
		fmt.Fprintf(stderr, "netprobe: %v; running headless\n", err)
	}
	c := &checkRun{f: f, stdout: stdout, stderr: stderr, t: t, plan: plan, site: site, formatter: formatter, store: store, ev: ev}
	return c.run(ctx, dial)
}

// planCheck loads the topology and plans the checks the flags ask for.
func planCheck(f checkFlags) (*topology.Topology, report.Formatter, []engine.Check, error) {
	t, err := loadForRun(f.file)
	if err != nil {
		return nil, nil, nil, err
	}
	formatter, err := report.Lookup(f.format)
	if err != nil {
		return nil, nil, nil, exitWith(ExitUsage, fmt.Errorf("--format %q: %w (want one of %s)", f.format, err, strings.Join(report.Names(), ", ")))
	}
	for _, p := range f.phases {
		if p != "failback" && p != "forward" {
			return nil, nil, nil, exitWith(ExitUsage, fmt.Errorf("--phase %q: want failback or forward", p))
		}
	}
	plan := engine.Plan(t, engine.Options{Phases: f.phases, Only: f.only, Timeout: f.timeout,
		NoBandwidth: f.noBandwidth, NoHostFacts: f.noHostFacts})
	if len(f.only) > 0 && len(plan) == 0 {
		return nil, nil, nil, exitWith(ExitUsage, fmt.Errorf("--only %s matches no check; `netprobe flows -f %s` lists them", strings.Join(f.only, ","), f.file))
	}
	return t, formatter, plan, nil
}

// openHistory opens --history DIR with its lock; nil without --history.
func openHistory(ctx context.Context, f checkFlags) (*history.Store, error) {
	if f.historyDir == "" {
		return nil, nil
	}
	store, err := history.Open(ctx, f.historyDir, history.Options{LockTimeout: f.historyWait, MaxAge: f.historyMaxAge, MaxBytes: f.historyMaxBytes})
	if err != nil {
		if errors.Is(err, history.ErrLocked) {
			return nil, exitWith(ExitLocked, fmt.Errorf("%w: another netprobe check is writing %s; this run did nothing (raise --history-wait or space the cron jobs)", err, f.historyDir))
		}
		return nil, exitWith(ExitNotRecorded, fmt.Errorf("--history %s cannot be written: %w; nothing was probed (check the disk and the directory's permissions)", f.historyDir, err))
	}
	return store, nil
}

// waitJitter waits a random time up to jitter (--jitter), so a fleet's cron jobs do not fire
// in step.
func waitJitter(ctx context.Context, jitter time.Duration, stderr io.Writer) error {
	if jitter <= 0 {
		return nil
	}
	d := rand.N(jitter)
	fmt.Fprintf(stderr, "netprobe: waiting %s (--jitter) before starting\n", d.Round(time.Second))
	select {
	case <-time.After(d):
		return nil
	case <-ctx.Done():
		return exitWith(ExitInterrupted, errors.New("interrupted during --jitter wait; nothing was probed"))
	}
}

// checkRun is one headless run of netprobe check: its plan, where its results go, and what
// could not be written. A failed write (stdout closed, disk full) does not stop the run: the
// history still gets it, and the exit code says the record is incomplete (ExitNotRecorded).
type checkRun struct {
	f              checkFlags
	stdout, stderr io.Writer
	t              *topology.Topology
	plan           []engine.Check
	site           string
	formatter      report.Formatter
	store          *history.Store
	ev             *evidence.Dir
	stream         report.StreamFormatter // nil unless the format streams to stdout
	notWritten     []error
}

// run runs the plan, then writes the run and records it in the history.
func (c *checkRun) run(ctx context.Context, dial engine.Dialer) error {
	started := time.Now()
	runner := c.f.runner(dial, c.stderr)
	if c.ev != nil {
		runner.Evidence = c.ev.Write
	}
	if s, ok := c.formatter.(report.StreamFormatter); ok && c.f.output == "" {
		c.stream = s
	}
	// A run streamed to stdout without history holds only the count of its results.
	results := &checkResults{hold: c.stream == nil || c.store != nil}
	for _, r := range engine.Findings(c.t) {
		results.add(r)
		c.writeStream(r)
	}
	agents, interrupted := c.collect(ctx, runner, results)
	if c.ev != nil {
		fmt.Fprintf(c.stderr, "netprobe: %d evidence file(s) in %s\n", results.evidence, c.ev.Path())
	}
	run := results.run(c.t.Name, started, time.Since(started))
	run.Interrupted = interrupted
	run.Site = c.site
	stampRun(&run, c.t, agents)
	c.record(ctx, run)
	return exitNotRecorded(exitForRun(run, c.f.strict), run, c.notWritten)
}

// collect runs the plan, adding each result to results (and to a streaming format as it
// comes) and showing progress; it returns the agents' states and whether the run was
// interrupted.
func (c *checkRun) collect(ctx context.Context, runner *engine.Runner, results *checkResults) (agentLog, bool) {
	progress := newProgress(c.stderr, len(c.plan))
	agents := agentLog{}
	interrupted := false
	rctx, cancel := context.WithCancel(ctx)
	defer cancel()
	events := runner.Run(rctx, c.plan)
	// Whatever ends this loop early, the engine must finish (closing its responders): cancel
	// it and read its stream to the end.
	defer func() {
		cancel()
		for range events {
		}
	}()
	for ev := range events {
		switch {
		case ev.Result != nil:
			results.add(*ev.Result)
			progress.result(*ev.Result)
			c.writeStream(*ev.Result)
		case ev.Agent != nil:
			progress.agent(*ev.Agent)
			agents.add(*ev.Agent)
		case ev.Done:
			interrupted = ev.Interrupted
		}
	}
	progress.done()
	return agents, interrupted
}

// writeStream writes one result to a streaming format on stdout, until a write fails.
func (c *checkRun) writeStream(r result.Result) {
	if c.stream == nil || len(c.notWritten) > 0 {
		return
	}
	if err := c.stream.WriteResult(c.stdout, r); err != nil {
		c.notWritten = append(c.notWritten, fmt.Errorf("writing results to stdout: %w", err))
	}
}

// record writes the run in its format (unless it streamed) and appends it to the history.
func (c *checkRun) record(ctx context.Context, run result.Run) {
	formatter := c.formatter
	if c.store != nil {
		formatter = withFailingRuns(formatter, c.store, run, c.stderr)
	}
	if c.stream == nil {
		write := func(w io.Writer) error { return formatter.Format(w, run) }
		dest := "stdout"
		var err error
		if c.f.output != "" {
			dest = c.f.output
			err = report.WriteFileAtomic(c.f.output, write)
		} else {
			err = write(c.stdout)
		}
		if err != nil {
			c.notWritten = append(c.notWritten, fmt.Errorf("writing results to %s: %w", dest, err))
		}
	}
	if c.store != nil {
		if err := c.store.Append(context.WithoutCancel(ctx), run); err != nil {
			c.notWritten = append(c.notWritten, fmt.Errorf("history not written to %s: %w", c.f.historyDir, err))
		}
	}
}

// exitNotRecorded turns a run's exit into ExitNotRecorded when some of its record could not
// be written, saying what was lost and what the verdicts were; an interrupted run keeps 130.
func exitNotRecorded(verdict error, run result.Run, notWritten []error) error {
	var ee *exitError
	if len(notWritten) == 0 || errors.As(verdict, &ee) && ee.code == ExitInterrupted {
		return verdict
	}
	code := ExitOK
	if errors.As(verdict, &ee) {
		code = ee.code
	}
	s := run.Summary
	return exitWith(ExitNotRecorded, fmt.Errorf("%w; the run itself ended with %d pass, %d warn, %d fail, %d error, %d skip (exit %d had it been recorded): free the disk or fix the permissions, then run again",
		errors.Join(notWritten...), s.Pass, s.Warn, s.Fail, s.Error, s.Skip, code))
}

// withFailingRuns hands the Prometheus textfile what the history knows: how many runs in a row
// each failing check has failed (netprobe_check_failing_runs). Other formats do not use it.
func withFailingRuns(f report.Formatter, store *history.Store, run result.Run, stderr io.Writer) report.Formatter {
	p, ok := f.(report.Prometheus)
	if !ok {
		return f
	}
	counts, warns := store.FailingRuns(run)
	if len(warns) > 0 {
		// Not fatal: those records are passed over, as `netprobe report` does.
		fmt.Fprintf(stderr, "netprobe: %d history record(s) skipped while counting failing runs, first: %s\n", len(warns), warns[0])
	}
	p.FailingRuns = counts
	return p
}

// exitForRun maps a run's summary to the exit code of results.md.
func exitForRun(run result.Run, strict bool) error {
	switch {
	case run.Interrupted:
		return exitWith(ExitInterrupted, errors.New("interrupted: the results written are partial"))
	case run.Summary.Fail > 0 || (strict && run.Summary.Warn > 0):
		return exitQuiet(ExitFail)
	case run.Summary.Error > 0:
		return exitQuiet(ExitIncomplete)
	}
	return nil
}

// loadForRun loads and validates a topology; an invalid one is a usage error (exit 2), with
// every problem listed by position.
func loadForRun(path string) (*topology.Topology, error) {
	if path == "" {
		return nil, exitWith(ExitUsage, errors.New("-f FILE is required: the topology to test (see docs/topology.md)"))
	}
	t, err := topology.Load(path)
	if err != nil {
		return nil, exitWith(ExitUsage, fmt.Errorf("%s is not a valid topology:\n%w", path, err))
	}
	return t, nil
}

// dialerFor builds the agent dialer; the token is needed only when some check uses an agent.
func dialerFor(plan []engine.Check, trust trustFlags) (engine.Dialer, error) {
	needs := false
	for _, c := range plan {
		if c.SkipReason == "" && c.FromAgent != "" {
			needs = true
			break
		}
	}
	if !needs {
		return func(context.Context, string) (engine.Prober, error) {
			return nil, errors.New("no agent configured")
		}, nil
	}
	cfg, err := trust.clientConfig()
	if err != nil {
		return nil, err
	}
	return engine.AgentDialer(cfg), nil
}

// runner is the engine runner of a check or tui run with these flags.
func (f checkFlags) runner(dial engine.Dialer, stderr io.Writer) *engine.Runner {
	return &engine.Runner{Dial: dial, Concurrency: f.concurrency, FullWait: f.fullWait, Log: logger(stderr)}
}

func isTerminal(f *os.File) bool {
	st, err := f.Stat()
	return err == nil && st.Mode()&os.ModeCharDevice != 0
}

// coordinatorMemoryLimit is the Go heap's soft limit for a check run: the collector works
// harder near it instead of letting the heap double, so a run over a thousand agents stays
// within the 200 MB the configuration server can spare (make bench). GOMEMLIMIT overrides it.
const coordinatorMemoryLimit = 150 << 20

func softMemoryLimit() {
	if os.Getenv("GOMEMLIMIT") == "" {
		debug.SetMemoryLimit(coordinatorMemoryLimit)
	}
}
