package main

import (
	"encoding/csv"
	"encoding/json"
	"fmt"
	"io"
	"strconv"
	"text/tabwriter"

	"github.com/spf13/cobra"

	"github.com/netprobe/netprobe/internal/firewall"
	"github.com/netprobe/netprobe/internal/topology"
)

func init() { register(newFlowsCmd) }

// flowFormats are the --format values of netprobe flows, in the order --help lists them.
var flowFormats = []string{"table", "csv", "json", "iptables", "nsg", "powershell"}

func newFlowsCmd() *cobra.Command {
	var file, format string
	var phases []string
	cmd := &cobra.Command{
		Use:   "flows -f FILE",
		Short: "List the flows ASR needs, or the firewall rules that open exactly those flows",
		Long: `Expand the topology through the ASR catalogue into the required-flow matrix: who must
reach whom, on which port, in which phase, and why (each with its rule ID and source page).

--format iptables|nsg|powershell writes firewall rules that open exactly those flows, with
explicit source and destination addresses, never "any": iptables-restore input (apply with
--noflush), Azure NSG security rules as JSON, or Windows New-NetFirewallRule lines. Flows to
DNS names (the ASR service endpoints) are listed as notes for an FQDN rule. See docs/flows.md.`,
		Example: `  netprobe flows -f estate.yaml
  netprobe flows -f estate.yaml --format csv > flows.csv
  netprobe flows -f estate.yaml --format iptables > asr.rules && iptables-restore --noflush < asr.rules
  netprobe flows -f estate.yaml --format nsg > nsg.json
  netprobe flows -f estate.yaml --format powershell --phase both`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			return runFlows(cmd.OutOrStdout(), cmd.ErrOrStderr(), file, format, phases)
		},
	}
	fl := cmd.Flags()
	fl.StringVarP(&file, "file", "f", "", "topology file (required)")
	fl.StringVar(&format, "format", "table", "output: table, csv, json, iptables, nsg or powershell")
	fl.StringSliceVar(&phases, "phase", nil, "phases to expand: failback, forward or both (default: the file's settings.phases)")
	_ = cmd.MarkFlagFilename("file", "yaml", "yml")
	_ = cmd.RegisterFlagCompletionFunc("format", cobra.FixedCompletions(flowFormats, cobra.ShellCompDirectiveNoFileComp))
	_ = cmd.RegisterFlagCompletionFunc("phase", cobra.FixedCompletions([]string{"failback", "forward", "both"}, cobra.ShellCompDirectiveNoFileComp))
	return cmd
}

func runFlows(stdout, stderr io.Writer, file, format string, phases []string) error {
	known := false
	for _, f := range flowFormats {
		known = known || f == format
	}
	if !known {
		return exitWith(ExitUsage, fmt.Errorf("unknown --format %q (use table, csv, json, iptables, nsg or powershell)", format))
	}
	// Errors go to stderr: stdout may be piped into iptables-restore.
	t, err := loadTopology(stderr, file)
	if err != nil {
		return err
	}
	if len(phases) > 0 {
		var ps []topology.Phase
		for _, p := range phases {
			switch p {
			case "failback":
				ps = append(ps, topology.PhaseFailback)
			case "forward":
				ps = append(ps, topology.PhaseForward)
			case "both":
				ps = append(ps, topology.PhaseFailback, topology.PhaseForward)
			default:
				return exitWith(ExitUsage, fmt.Errorf("unknown --phase %q (use failback, forward or both)", p))
			}
		}
		t.Settings.Phases = ps
	}
	flows := topology.Flows(t)
	switch format {
	case "table":
		if err := flowsTable(stdout, flows); err != nil {
			return err
		}
		for _, n := range topology.Notes(t) {
			fmt.Fprintf(stdout, "\nnote: %s\n", n)
		}
		return nil
	case "csv":
		return flowsCSV(stdout, flows)
	case "json":
		enc := json.NewEncoder(stdout)
		enc.SetIndent("", "  ")
		enc.SetEscapeHTML(false)
		return enc.Encode(struct {
			Schema   string          `json:"schema"`
			Topology string          `json:"topology"`
			Notes    []string        `json:"notes,omitempty"`
			Flows    []topology.Flow `json:"flows"`
		}{"netprobe/flows/v1", t.Name, topology.Notes(t), flows})
	}
	ff, err := firewall.ParseFormat(format)
	if err != nil {
		return exitWith(ExitUsage, err)
	}
	return firewall.Render(stdout, t, flows, ff)
}

// portCell and protoCell show what a flow tests: a port and protocol, or the kind of
// measurement when it is not a port.
func portCell(f topology.Flow) string {
	if f.Port == 0 {
		return "-"
	}
	return strconv.Itoa(f.Port)
}

func protoCell(f topology.Flow) string {
	switch f.Kind {
	case topology.FlowPort, topology.FlowICMP, topology.FlowEndpoint:
		return f.Proto.String()
	}
	return f.Kind.String()
}

func flowsTable(w io.Writer, flows []topology.Flow) error {
	tw := tabwriter.NewWriter(w, 0, 0, 2, ' ', 0)
	fmt.Fprintln(tw, "FROM\tTO\tADDRESS\tPORT\tPROTO\tRULE\tPHASE\tWHY")
	for _, f := range flows {
		why := f.Why
		if f.Expect != 0 && f.Expect != topology.ExpectOpen {
			why = "expect " + f.Expect.String() + ": " + why
		}
		fmt.Fprintf(tw, "%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\n", f.From, f.To, f.Address, portCell(f), protoCell(f), f.Rule, f.Phase, why)
	}
	return tw.Flush()
}

func flowsCSV(w io.Writer, flows []topology.Flow) error {
	cw := csv.NewWriter(w)
	_ = cw.Write([]string{"from", "to", "address", "port", "proto", "rule", "phase", "kind", "expect", "from_address", "confidence", "asr_error", "pair", "source", "why"})
	for _, f := range flows {
		expect := ""
		if f.Expect != 0 {
			expect = f.Expect.String()
		}
		port := ""
		if f.Port != 0 {
			port = strconv.Itoa(f.Port)
		}
		_ = cw.Write([]string{f.From, f.To, f.Address, port, protoCell(f), f.Rule, f.Phase.String(), f.Kind.String(), expect,
			f.FromAddress, f.Confidence.String(), f.ErrorCode, f.Pair, f.Source, f.Why})
	}
	cw.Flush()
	return cw.Error()
}
