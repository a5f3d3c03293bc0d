package main

import (
	"errors"
	"fmt"
	"io"
	"strings"

	"github.com/spf13/cobra"

	"github.com/netprobe/netprobe/internal/topology"
)

func init() { register(newValidateCmd) }

func newValidateCmd() *cobra.Command {
	var file string
	cmd := &cobra.Command{
		Use:   "validate -f FILE",
		Short: "Lint a topology file and the ASR readiness rules, before any agent is installed",
		Long: `Read a topology file and report every problem at once, each with file:line:col and
the YAML path: unknown keys, wrong units, dangling names, overlapping site ranges.

A valid file is then judged on paper against the ASR readiness rules (RD-*: 60 disks per
master target, one OS family per replication group, the configuration server's failback NIC
when IPs are retained, the link kind, a process server in Azure), and the facts no agent can
see are listed as a manual checklist.

Exit codes: 0 valid and no readiness failure, 1 valid but a readiness rule fails,
2 the file is invalid (or cannot be read).`,
		Example: `  netprobe validate -f estate.yaml
  netprobe validate -f topologies/retained-ip-failback.yaml`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			return runValidate(cmd.OutOrStdout(), file)
		},
	}
	cmd.Flags().StringVarP(&file, "file", "f", "", "topology file (required)")
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
