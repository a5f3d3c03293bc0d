package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"slices"
	"strings"
	"sync"
	"text/tabwriter"
	"time"

	"github.com/netprobe/netprobe/internal/lab"
	"github.com/spf13/cobra"
)

func init() { register(newUpCmd) }

// defaultPrefix names the CLI's namespaces (nplab-cs01). Tests use np<pid>x<n>, so the two
// never meet.
const defaultPrefix = "nplab"

func newUpCmd() *cobra.Command {
	var (
		prefix string
		rate   int64
		mtu    int
	)
	cmd := &cobra.Command{
		Use:   "up",
		Short: "Build the failback lab and leave it running",
		Long: `up builds the failback lab and records every namespace it creates in the state file as it
goes, so that "down" removes exactly those even if up is interrupted or killed. Ctrl-C while
building removes what was built so far.`,
		Example: `  sudo go run ./cmd/netprobe-lab up
  sudo go run ./cmd/netprobe-lab up --rate 0          # VPN unshaped
  sudo go run ./cmd/netprobe-lab up --mtu 1300 --rate 20`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			if prefix == "" || strings.ContainsAny(prefix, "/ ") {
				return exitWith(exitUsage, fmt.Errorf("--prefix %q: want a short name without '/' or spaces", prefix))
			}
			spec := lab.Failback()
			spec.Link(lab.VPN).Rate = lab.BitsPerSecond(rate) * lab.Mbit
			spec.Link(lab.VPN).MTU = mtu
			if err := spec.Validate(); err != nil {
				return exitWith(exitUsage, err)
			}
			statePath, _ := cmd.Flags().GetString("state")
			return up(cmd.Context(), cmd.OutOrStdout(), spec, prefix, statePath)
		},
	}
	cmd.Flags().StringVar(&prefix, "prefix", defaultPrefix, "namespace name prefix")
	cmd.Flags().Int64Var(&rate, "rate", int64(lab.VPNRate/lab.Mbit), "VPN rate in Mbit/s (tbf); 0 leaves it unshaped")
	cmd.Flags().IntVar(&mtu, "mtu", lab.VPNMTU, "VPN MTU")
	return cmd
}

func up(ctx context.Context, out io.Writer, spec lab.Spec, prefix, statePath string) error {
	if reason := lab.Unavailable(); reason != "" {
		return exitWith(exitFailed, fmt.Errorf("cannot build the lab: %s", reason))
	}
	if _, err := os.Stat(statePath); err == nil {
		return exitWith(exitFailed, fmt.Errorf("a lab is already up (state file %s); remove it first with: make lab-down", statePath))
	}
	// Record every namespace the moment it exists, before anything goes in it, so a crash
	// or kill -9 halfway still leaves a state file that down can act on.
	st := lab.State{Version: lab.StateVersion, Prefix: prefix, Created: time.Now().UTC()}
	var (
		mu     sync.Mutex // guards st and recErr
		recErr error
	)
	if err := lab.WriteState(statePath, st); err != nil {
		return exitWith(exitFailed, err)
	}
	record := func(ns string) {
		mu.Lock()
		defer mu.Unlock()
		st.Namespaces = append(st.Namespaces, ns)
		if err := lab.WriteState(statePath, st); err != nil && recErr == nil {
			recErr = err
		}
	}
	l, err := lab.Up(ctx, spec, lab.Options{Prefix: prefix, OnCreate: record})
	if err != nil {
		// Up removed what it created; the record goes with it.
		_ = os.Remove(statePath)
		if ctx.Err() != nil {
			return exitWith(exitSignals, errors.New("interrupted; removed what was built"))
		}
		return exitWith(exitFailed, err)
	}
	final := l.State()
	mu.Lock()
	rerr := recErr
	mu.Unlock()
	if err := errors.Join(rerr, lab.WriteState(statePath, final)); err != nil {
		cctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), time.Minute)
		defer cancel()
		return exitWith(exitFailed, errors.Join(fmt.Errorf("cannot record the lab, so removed it: %w", err), l.Close(cctx)))
	}
	printGuide(out, final, spec, statePath)
	return nil
}

// printGuide tells the user what exists and how to poke at it.
func printGuide(w io.Writer, st lab.State, spec lab.Spec, statePath string) {
	vpn := spec.Link(lab.VPN)
	shaping := "unshaped"
	if vpn.Rate > 0 {
		shaping = "shaped to " + vpn.Rate.String()
	}
	mtu := vpn.MTU
	if mtu == 0 {
		mtu = 1500
	}
	fmt.Fprintf(w, "Failback lab up: %d namespaces, VPN MTU %d, %s.\nState file: %s\n\n", len(st.Namespaces), mtu, shaping, statePath)
	tw := tabwriter.NewWriter(w, 0, 0, 2, ' ', 0)
	fmt.Fprintln(tw, "NODE\tNAMESPACE\tADDRESSES")
	for _, n := range st.Nodes {
		var addrs []string
		for nic, a := range n.Addrs {
			addrs = append(addrs, nic+" "+a)
		}
		slices.Sort(addrs)
		name := n.Name
		if n.Router {
			name += " (router)"
		}
		fmt.Fprintf(tw, "%s\t%s\t%s\n", name, n.Netns, strings.Join(addrs, ", "))
	}
	_ = tw.Flush()
	ns := func(node string) string { return st.Prefix + "-" + node }
	down := "make lab-down"
	if statePath != defaultState {
		down = "go run ./cmd/netprobe-lab down --state " + statePath
	}
	fmt.Fprintf(w, `
Poke at it (as root):
  # mt01 to the Azure process server, across the VPN
  ip netns exec %[1]s ping -c 3 %[6]s
  # too big for the VPN: the on-premises router answers "frag needed", mtu=%[8]d
  ip netns exec %[1]s ping -M do -s 1450 -c 2 %[6]s
  # cs01 reaches Azure through eth1 (%[7]s), its failback NIC
  ip netns exec %[2]s ip route get %[6]s
  # throughput across the VPN
  ip netns exec %[3]s iperf3 -s -1 -D; ip netns exec %[1]s iperf3 -c %[6]s -t 3
  # watch the VPN on the on-premises router; plant a fault by hand
  ip netns exec %[4]s tcpdump -ni vpn
  ip netns exec %[4]s iptables -I FORWARD -p tcp --dport 9443 -j DROP
  # a shell "on" sql01
  ip netns exec %[5]s bash

Remove it with: %[9]s
`, ns(lab.MT01), ns(lab.CS01), ns(lab.PSAz), ns(lab.OnPrem), ns(lab.SQL01), lab.AddrPSAz, lab.AddrCS01FB, mtu, down)
}
