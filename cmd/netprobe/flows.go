package main

import (
	"bytes"
	"encoding/csv"
	"encoding/json"
	"fmt"
	"io"
	"slices"
	"strconv"
	"strings"
	"text/tabwriter"

	"github.com/spf13/cobra"

	"github.com/netprobe/netprobe/internal/engine"
	"github.com/netprobe/netprobe/internal/firewall"
	"github.com/netprobe/netprobe/internal/topology"
)

func init() { register(newFlowsCmd) }

// flowFormats are the --format values of netprobe flows, in the order --help lists them.
var flowFormats = []string{"table", "csv", "json", "iptables", "nsg", "bicep", "terraform", "powershell"}

type flowsFlags struct {
	file, format  string
	phases        []string
	coordinators  []string
	noAgentRules  bool
	firstPriority int
}

func newFlowsCmd() *cobra.Command {
	var f flowsFlags
	cmd := &cobra.Command{
		Use:   "flows -f FILE",
		Short: "List the flows ASR needs, or the firewall rules that open exactly those flows",
		Long: `Expand the topology through the ASR catalogue into the required-flow matrix: who must
reach whom, on which port, in which phase, and why (each with its rule ID and source page).

--format iptables|nsg|bicep|terraform|powershell writes firewall rules that open exactly
those flows, with explicit source and destination addresses, never "any": iptables-restore
input (apply with --noflush), Azure NSGs (one per Azure subnet, rules aggregated, within
Azure's limits) as an ARM template, a Bicep file or Terraform azurerm resources, or Windows
New-NetFirewallRule lines (idempotent). Flows to DNS names (the ASR service endpoints) are
listed as notes for an FQDN rule. See docs/flows.md.

Every format also lists netprobe's own flows (rules NP-*, marked as netprobe's): the control
port from the coordinator (--coordinator), and between the agents that measure each other
the UDP echo on the agent port, ICMP echo for PMTU and path, and the bandwidth test's data
port. --no-agent-rules leaves them out.`,
		Example: `  netprobe flows -f estate.yaml
  netprobe flows -f estate.yaml --format csv > flows.csv
  netprobe flows -f estate.yaml --coordinator cs01 --format iptables > asr.rules && iptables-restore --noflush < asr.rules
  netprobe flows -f estate.yaml --coordinator 10.10.0.20 --format nsg > nsg.json && az deployment group create -g RG --template-file nsg.json
  netprobe flows -f estate.yaml --coordinator cs01 --format powershell --phase both`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			return runFlows(cmd.OutOrStdout(), cmd.ErrOrStderr(), f)
		},
	}
	fl := cmd.Flags()
	fl.StringVarP(&f.file, "file", "f", "", "topology file (required)")
	fl.StringVar(&f.format, "format", "table", "output: "+strings.Join(flowFormats, ", "))
	fl.StringSliceVar(&f.phases, "phase", nil, "phases to expand: failback, forward or both (default: the file's settings.phases)")
	fl.StringArrayVar(&f.coordinators, "coordinator", nil, "where netprobe check runs: a host of the topology or an IP address (repeatable); writes the rules for the agents' control port")
	fl.BoolVar(&f.noAgentRules, "no-agent-rules", false, "leave out netprobe's own rules (NP-*: control port, echo, ICMP for PMTU and path, bandwidth)")
	fl.IntVar(&f.firstPriority, "nsg-priority", firewall.DefaultFirstPriority, "priority of the first rule of each NSG (Azure: 100..4096; yours below it win)")
	_ = cmd.MarkFlagFilename("file", "yaml", "yml")
	_ = cmd.RegisterFlagCompletionFunc("format", cobra.FixedCompletions(flowFormats, cobra.ShellCompDirectiveNoFileComp))
	_ = cmd.RegisterFlagCompletionFunc("phase", cobra.FixedCompletions([]string{"failback", "forward", "both"}, cobra.ShellCompDirectiveNoFileComp))
	return cmd
}

func runFlows(stdout, stderr io.Writer, f flowsFlags) error {
	if !slices.Contains(flowFormats, f.format) {
		return exitWith(ExitUsage, fmt.Errorf("unknown --format %q (use %s)", f.format, strings.Join(flowFormats, ", ")))
	}
	// Errors go to stderr: stdout may be piped into iptables-restore.
	t, err := loadTopology(stderr, f.file)
	if err != nil {
		return err
	}
	if len(f.phases) > 0 {
		var ps []topology.Phase
		for _, p := range f.phases {
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
	in := firewall.Input{Topology: t, Flows: flows, FirstPriority: f.firstPriority}
	if !f.noAgentRules {
		var coords []engine.Coordinator
		for _, s := range f.coordinators {
			c, err := engine.ParseCoordinator(t, s)
			if err != nil {
				return exitWith(ExitUsage, fmt.Errorf("--coordinator: %w", err))
			}
			coords = append(coords, c)
		}
		in.Agent = engine.AgentFlows(t, engine.Plan(t, engine.Options{}), coords)
		if len(coords) == 0 {
			in.Notes = append(in.Notes, fmt.Sprintf("%s: the agents' control port (tcp %d unless an agent names its own) must be reachable from where netprobe check runs: give --coordinator HOST|IP to write these rules", engine.RuleControl, t.Settings.AgentPort))
		}
	}
	switch f.format {
	case "table":
		if err := flowsTable(stdout, append(flows, in.Agent...)); err != nil {
			return err
		}
		for _, n := range topology.Notes(t) {
			fmt.Fprintf(stdout, "\nnote: %s\n", n)
		}
		return nil
	case "csv":
		return flowsCSV(stdout, append(flows, in.Agent...))
	case "json":
		enc := json.NewEncoder(stdout)
		enc.SetIndent("", "  ")
		enc.SetEscapeHTML(false)
		return enc.Encode(struct {
			Schema   string          `json:"schema"`
			Topology string          `json:"topology"`
			Notes    []string        `json:"notes,omitempty"`
			Flows    []topology.Flow `json:"flows"`
		}{"netprobe/flows/v1", t.Name, topology.Notes(t), append(flows, in.Agent...)})
	}
	ff, err := firewall.ParseFormat(f.format)
	if err != nil {
		return exitWith(ExitUsage, err)
	}
	// Render into a buffer: a rule set over Azure's limits is an error with nothing on stdout.
	var b bytes.Buffer
	if err := firewall.Render(&b, in, ff); err != nil {
		return exitWith(ExitUsage, err)
	}
	_, err = stdout.Write(b.Bytes())
	return err
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
