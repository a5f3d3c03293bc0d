package main

import (
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"sort"
	"strconv"
	"strings"
	"time"

	"github.com/spf13/cobra"

	"github.com/netprobe/netprobe/internal/capacity"
	"github.com/netprobe/netprobe/internal/history"
	"github.com/netprobe/netprobe/internal/report"
	"github.com/netprobe/netprobe/internal/result"
	"github.com/netprobe/netprobe/internal/topology"
)

func init() { register(newReportCmd) }

type reportFlags struct {
	file, output, format, since, tz, profile string
	window                                   time.Duration
	// history: one directory per coordinator (an estate checked from inside each site has
	// one per site); their runs merge by topology name.
	history []string
}

func newReportCmd() *cobra.Command {
	var f reportFlags
	cmd := &cobra.Command{
		Use:   "report --history DIR [-f TOPOLOGY] [-o report.html]",
		Short: "Write the pre-cutover report (HTML or Markdown) from the history of cron runs",
		Long: `Read the runs that 'netprobe check --history DIR' stored and write the document for the
change-approval board: the verdict per VM and per link (go / no-go), throughput by hour of
day (min / median / p95, single vs multi-stream, both directions), idle vs loaded latency,
path MTU, the failing flows with the rules that fix them, required bandwidth, headroom and
resync time, and the inputs and formulas used.

The HTML page is self-contained (inline CSS and SVG, no scripts, nothing fetched) and
prints on A4. With -f the protected VMs' disks and churn, the RPO and the growth allowance
come from the topology; without it the report uses what the checks recorded.

Corrupt or truncated records in the history are skipped with a warning on stderr.`,
		Example: `  # the report of the last week, for the change ticket
  netprobe report --history /var/lib/netprobe/history -f estate.yaml --since 7d -o report.html

  # an estate checked from inside each site (check --site): both coordinators' histories
  netprobe report --history /var/lib/netprobe/history --history /srv/azure-coordinator/history -f estate.yaml -o report.html

  # with a per-minute churn profile exported from a profiling tool: RPO 100 % / 90 % sizing
  netprobe report --history /var/lib/netprobe/history -f estate.yaml --churn-profile churn.csv -o report.html

  # the Markdown twin on stdout
  netprobe report --history /var/lib/netprobe/history -f estate.yaml --format markdown`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error { return runReport(cmd, f) },
	}
	fl := cmd.Flags()
	fl.StringArrayVar(&f.history, "history", nil, "history directory written by 'netprobe check --history' (required; repeat it to merge the histories of several coordinators, such as one per site)")
	fl.StringVarP(&f.file, "file", "f", "", "topology file: VMs, disks, churn, RPO and growth for the arithmetic")
	fl.StringVarP(&f.output, "output", "o", "", "write the report to this file, atomically (default stdout)")
	fl.StringVar(&f.format, "format", "", "html or markdown (default: markdown for a .md output, else html)")
	fl.StringVar(&f.since, "since", "", "only runs newer than this: a duration (7d, 36h, 2w) or a date (2026-11-20)")
	fl.StringVar(&f.profile, "churn-profile", "", "CSV of per-minute churn (timestamp,vm,churn_mbps): size the link for RPO 100 % and 90 %")
	fl.StringVar(&f.tz, "tz", "Local", "time zone of the hour-of-day buckets (UTC, Local, or a zone such as Europe/Berlin)")
	fl.DurationVar(&f.window, "window", report.DefaultWindow, "the span the verdict is judged for: a history shorter than it is a caveat (0s: do not judge coverage)")
	return cmd
}

// reportInputs are what the report judges against: the topology's (-f), else the defaults a
// topology would get, with the time zone, window, provenance and churn profile.
func reportInputs(f reportFlags, loc *time.Location, now time.Time) (report.Inputs, error) {
	var in report.Inputs
	if f.file != "" {
		t, err := topology.Load(f.file)
		if err != nil {
			return in, exitWith(ExitUsage, fmt.Errorf("topology: %w", err))
		}
		in = report.InputsFromTopology(t)
	} else {
		// Without a topology, the defaults a topology would get: the failback policy's RPO and
		// the Deployment Planner's growth allowance.
		in.RPO, in.Growth = 15*time.Minute, capacity.DefaultGrowth
	}
	in.Location = loc
	in.Window = f.window
	if f.window == 0 {
		in.Window = -1 // --window 0s: coverage is not judged
	}
	in.Provenance.Version, in.Provenance.Commit, in.Provenance.GeneratedAt = version, commit, now
	if f.profile != "" {
		pf, err := os.Open(f.profile)
		if err != nil {
			return in, exitWith(ExitUsage, fmt.Errorf("--churn-profile: %w", err))
		}
		prof, err := capacity.ParseProfile(pf)
		pf.Close()
		if err != nil {
			return in, exitWith(ExitUsage, fmt.Errorf("--churn-profile %s: %w", f.profile, err))
		}
		in.Profile = &prof
	}
	return in, nil
}

// loadHistories reads the runs of every --history directory, oldest first, from cutoff on
// (zero: all); what the store could not read is a warning on stderr.
func loadHistories(dirs []string, cutoff time.Time, stderr io.Writer) []result.Run {
	var runs []result.Run
	var warns []history.Warning
	for _, dir := range dirs {
		rs, ws := history.Load(dir)
		runs, warns = append(runs, rs...), append(warns, ws...)
	}
	sort.SliceStable(runs, func(i, j int) bool { return runs[i].StartedAt.Before(runs[j].StartedAt) })
	for _, w := range warns {
		fmt.Fprintf(stderr, "netprobe: warning: %s\n", w)
	}
	if cutoff.IsZero() {
		return runs
	}
	kept := runs[:0]
	for _, r := range runs {
		if !r.StartedAt.Before(cutoff) {
			kept = append(kept, r)
		}
	}
	return kept
}

func runReport(cmd *cobra.Command, f reportFlags) error {
	if len(f.history) == 0 {
		return exitWith(ExitUsage, errors.New("report needs --history DIR: the directory 'netprobe check --history' writes to"))
	}
	format := f.format
	if format == "" {
		format = "html"
		if ext := strings.ToLower(filepath.Ext(f.output)); ext == ".md" || ext == ".markdown" {
			format = "markdown"
		}
	}
	if format != "html" && format != "markdown" {
		return exitWith(ExitUsage, fmt.Errorf("--format %q: use html or markdown", format))
	}
	now := time.Now()
	var cutoff time.Time
	if f.since != "" {
		var err error
		if cutoff, err = parseSince(f.since, now); err != nil {
			return exitWith(ExitUsage, err)
		}
	}
	loc, err := time.LoadLocation(f.tz)
	if err != nil {
		return exitWith(ExitUsage, fmt.Errorf("--tz %q: %w (use UTC, Local or an IANA zone name)", f.tz, err))
	}

	in, err := reportInputs(f, loc, now)
	if err != nil {
		return err
	}
	stderr := cmd.ErrOrStderr()
	runs := loadHistories(f.history, cutoff, stderr)
	if n := countTopology(runs, in.Topology); n == 0 {
		what := "no runs"
		if in.Topology != "" {
			what = "no runs of topology " + in.Topology
		}
		if !cutoff.IsZero() {
			what += " since " + cutoff.Format("2006-01-02 15:04")
		}
		dirs := strings.Join(f.history, ", ")
		return exitWith(ExitCannotRun, fmt.Errorf("%s in %s: nothing to report (run 'netprobe check --history %s' from cron first)", what, dirs, f.history[0]))
	}

	rep := report.Build(runs, in)
	write := func(w io.Writer) error {
		if format == "markdown" {
			return rep.Markdown(w)
		}
		return rep.HTML(w)
	}
	if f.output == "" || f.output == "-" {
		return write(cmd.OutOrStdout())
	}
	if err := report.WriteFileAtomic(f.output, write); err != nil {
		return exitWith(ExitCannotRun, err)
	}
	fmt.Fprintf(stderr, "netprobe: %s report of %d runs written to %s: %s\n", format, rep.Runs, f.output, rep.Verdict)
	return nil
}

func countTopology(runs []result.Run, name string) int {
	n := 0
	for _, r := range runs {
		if name == "" || r.Topology == name {
			n++
		}
	}
	return n
}

// parseSince reads "7d", "2w", "36h", "90m" (any Go duration, plus d and w) or a date.
func parseSince(s string, now time.Time) (time.Time, error) {
	if t, err := time.ParseInLocation("2006-01-02", s, time.Local); err == nil {
		return t, nil
	}
	if t, err := time.Parse(time.RFC3339, s); err == nil {
		return t, nil
	}
	mult := time.Duration(0)
	switch {
	case strings.HasSuffix(s, "d"):
		mult = 24 * time.Hour
	case strings.HasSuffix(s, "w"):
		mult = 7 * 24 * time.Hour
	}
	if mult != 0 {
		n, err := strconv.ParseFloat(strings.TrimRight(s[:len(s)-1], " "), 64)
		if err == nil && n > 0 {
			return now.Add(-time.Duration(n * float64(mult))), nil
		}
	} else if d, err := time.ParseDuration(s); err == nil && d > 0 {
		return now.Add(-d), nil
	}
	return time.Time{}, fmt.Errorf("--since %q: use a duration such as 7d, 36h or 2w, or a date such as 2026-11-20", s)
}
