package main

import (
	"sort"
	"strings"

	"github.com/spf13/cobra"
)

// subcommands holds the constructors registered by each subcommand's file (one file per
// subcommand), so adding a command never edits this file.
var subcommands []func() *cobra.Command

// register adds a subcommand constructor; call it from an init function.
func register(f func() *cobra.Command) { subcommands = append(subcommands, f) }

func newRootCmd() *cobra.Command {
	root := &cobra.Command{
		Use:   "netprobe",
		Short: "Will the network carry an Azure Site Recovery failback? Find out before cutover.",
		Long: `netprobe reads a topology file (sites, link, hosts and their ASR roles), derives every
flow that an Azure Site Recovery reprotect and failback needs, and has probe agents on the
hosts test them for real: ports in the right direction, the VPN or ExpressRoute path, path MTU,
the configuration server's dual-NIC routing, latency and bandwidth against the RPO.

Start with:
  netprobe validate -f estate.yaml      lint the file and the ASR readiness rules
  netprobe flows -f estate.yaml         the flows the firewall team must open
  netprobe check -f estate.yaml         test them with the agents on the hosts
  netprobe demo                         see it on a built-in estate on loopback

Exit codes: 0 all good, 1 a check failed, 2 bad usage or invalid topology,
3 the run is incomplete (errors), 4 another run holds the history lock, 130 interrupted.`,
		SilenceUsage:  true,
		SilenceErrors: true,
	}
	// --version, as nmap, iperf3 and prometheus have it, prints what `netprobe version` does.
	// The text is a template for cobra: it carries no {{ }} of its own.
	b := currentBuild()
	var v strings.Builder
	b.write(&v)
	root.Version = b.Version
	root.SetVersionTemplate(v.String())
	root.Flags().BoolP("version", "v", false, "print the version, commit, Go version and OS/arch (as 'netprobe version')")
	cmds := make([]*cobra.Command, 0, len(subcommands))
	for _, f := range subcommands {
		cmds = append(cmds, f())
	}
	sort.Slice(cmds, func(i, j int) bool { return cmds[i].Name() < cmds[j].Name() })
	root.AddCommand(cmds...)
	return root
}
