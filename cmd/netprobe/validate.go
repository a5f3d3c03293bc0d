package main

import (
	"errors"
	"fmt"
	"io"
	"strings"
	"time"

	"github.com/spf13/cobra"

	"github.com/netprobe/netprobe/internal/engine"
	"github.com/netprobe/netprobe/internal/report"
	"github.com/netprobe/netprobe/internal/result"
	"github.com/netprobe/netprobe/internal/topology"
)

func init() { register(newValidateCmd) }

func newValidateCmd() *cobra.Command {
	var file, format string
	cmd := &cobra.Command{
		Use:   "validate -f FILE",
		Short: "Lint a topology file and the ASR readiness rules, before any agent is installed",
		Long: `Read a topology file and report every problem at once, each with file:line:col and
the YAML path: unknown keys, wrong units, dangling names, overlapping site ranges.

A valid file is then judged on paper against the ASR readiness rules (RD-*: 60 disks per
master target, one OS family per replication group, the configuration server's failback NIC
when IPs are retained, the link kind, a process server in Azure), and the facts no agent can
see are listed as a manual checklist.

With --format json it writes the results document of 'netprobe check --format json'
(docs/results.md): each readiness finding and each manual checklist item is a result of
check "lint", and an invalid file gives one failing result per error, with its position.

Exit codes: 0 valid and no readiness failure, 1 valid but a readiness rule fails,
2 the file is invalid (or cannot be read).`,
		Example: `  netprobe validate -f estate.yaml
  netprobe validate -f topologies/retained-ip-failback.yaml
  netprobe validate -f estate.yaml --format json | jq '.results[] | select(.status=="fail")'`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			switch format {
			case "text":
				return runValidate(cmd.OutOrStdout(), file)
			case "json":
				return runValidateJSON(cmd.OutOrStdout(), file, time.Now())
			}
			return exitWith(ExitUsage, fmt.Errorf("--format %q: use text or json", format))
		},
	}
	cmd.Flags().StringVarP(&file, "file", "f", "", "topology file (required)")
	cmd.Flags().StringVar(&format, "format", "text", "text, or json: the results document of docs/results.md")
	_ = cmd.MarkFlagFilename("file", "yaml", "yml")
	return cmd
}

// loadTopology loads path and, when the file is invalid, prints every error to w and returns
// the exit-2 error, so that no caller prints a list as one run-on message.
func loadTopology(w io.Writer, path string) (*topology.Topology, error) {
	if path == "" {
		return nil, exitWith(ExitUsage, errors.New("-f FILE is required: the topology file (see docs/topology.md)"))
	}
	t, err := topology.Load(path)
	var list topology.ErrorList
	if errors.As(err, &list) {
		fmt.Fprintln(w, list.Error())
		fmt.Fprintf(w, "%s: %s; fix %s and run netprobe validate again (format: docs/topology.md)\n",
			path, plural(len(list), "error"), them(len(list)))
		return nil, exitQuiet(ExitUsage)
	}
	if err != nil {
		return nil, exitWith(ExitUsage, err)
	}
	return t, nil
}

func runValidate(w io.Writer, path string) error {
	t, err := loadTopology(w, path)
	if err != nil {
		return err
	}
	flows := topology.Flows(t)
	phases := make([]string, len(t.Settings.Phases))
	for i, p := range t.Settings.Phases {
		phases[i] = p.String()
	}
	fmt.Fprintf(w, "%s: valid topology %q: %s, %s, %s, %s (%s)\n", path, t.Name,
		plural(len(t.Sites), "site"), plural(len(t.Links), "link"), plural(len(t.Hosts), "host"),
		plural(len(flows), "required flow"), strings.Join(phases, ", "))
	for _, n := range topology.Notes(t) {
		fmt.Fprintf(w, "note: %s\n", n)
	}

	findings := topology.Readiness(t)
	fails, warns := 0, 0
	fmt.Fprintln(w, "\nReadiness on paper:")
	if len(findings) == 0 {
		fmt.Fprintln(w, "  no finding")
	}
	for _, f := range findings {
		switch f.Severity {
		case topology.SevFail:
			fails++
		case topology.SevWarn:
			warns++
		}
		fmt.Fprintf(w, "  %s:%d:%d: %s: %s %s: %s\n", path, f.Line, f.Col, f.Path, f.Severity, f.Rule, f.Message)
		if f.Hint != "" {
			fmt.Fprintf(w, "      fix: %s\n", f.Hint)
		}
	}
	fmt.Fprintln(w, "\nManual checklist (no agent can see these; confirm them by hand):")
	for _, item := range topology.ManualChecklist(t) {
		fmt.Fprintf(w, "  [ ] %s\n", item)
	}
	fmt.Fprintf(w, "\n%s, %s.\n", plural(fails, "readiness failure"), plural(warns, "warning"))
	if fails > 0 {
		return exitQuiet(ExitFail)
	}
	return nil
}

// runValidateJSON writes what runValidate prints as the results document of docs/results.md,
// with the same exit codes: the readiness findings as engine.Findings makes them for a check
// run, the manual checklist as skipped lint results (no agent can test them), and an invalid
// file as one failing lint result per error. started is the document's started_at.
func runValidateJSON(w io.Writer, path string, started time.Time) error {
	if path == "" {
		return exitWith(ExitUsage, errors.New("-f FILE is required: the topology file (see docs/topology.md)"))
	}
	t, err := topology.Load(path)
	var list topology.ErrorList
	var results []result.Result
	name := ""
	switch {
	case errors.As(err, &list):
		results = invalidResults(path, list)
	case err != nil:
		return exitWith(ExitUsage, err)
	default:
		name = t.Name
		results = append(engine.Findings(t), manualResults(t)...)
	}
	run := result.NewRun(name, started, 0, results)
	json, err := report.Lookup("json")
	if err != nil {
		return exitWith(ExitCannotRun, err)
	}
	if err := json.Format(w, run); err != nil {
		return exitWith(ExitCannotRun, err)
	}
	switch {
	case len(list) > 0:
		return exitQuiet(ExitUsage)
	case run.Summary.Fail > 0:
		return exitQuiet(ExitFail)
	}
	return nil
}

// invalidResults turns the errors of an invalid file into failing lint results, keyed by the
// YAML path they concern.
func invalidResults(path string, list topology.ErrorList) []result.Result {
	out := make([]result.Result, 0, len(list))
	seen := map[string]int{}
	for _, e := range list {
		where := e.Path
		if where == "" {
			where = "file"
		}
		id := "lint/topology/" + where
		if n := seen[id]; n > 0 {
			id = fmt.Sprintf("%s#%d", id, n+1)
		}
		seen[id]++
		r := result.Result{ID: id, Check: result.CheckLint, Status: result.Fail, Message: e.Msg,
			Hint: "Fix the file (format: docs/topology.md) and run netprobe validate again."}
		if e.Path != "" {
			r.Message = e.Path + ": " + e.Msg
		}
		r.Target = path
		if e.Line > 0 {
			r.Target = fmt.Sprintf("%s:%d:%d", path, e.Line, e.Col)
		}
		out = append(out, r)
	}
	return out
}

// manualResults are the manual checklist as results: skipped, because no agent can see them.
func manualResults(t *topology.Topology) []result.Result {
	items := topology.ManualChecklist(t)
	out := make([]result.Result, len(items))
	for i, item := range items {
		out[i] = result.Result{ID: fmt.Sprintf("lint/manual/%02d", i+1), Check: result.CheckLint, Rule: "MANUAL",
			Status: result.Skip, Message: item, Hint: "No agent can see this: confirm it by hand before cutover."}
	}
	return out
}

func plural(n int, what string) string {
	if n == 1 {
		return "1 " + what
	}
	return fmt.Sprintf("%d %ss", n, what)
}

func them(n int) string {
	if n == 1 {
		return "it"
	}
	return "them"
}
