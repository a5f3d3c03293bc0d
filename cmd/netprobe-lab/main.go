// Command netprobe-lab builds the example failback lab of docs/lab.md in Linux network
// namespaces and leaves it running, so people can poke at it with ping, nc, tcpdump, iperf3
// and netprobe (`make lab-up`); `down` removes exactly what `up` recorded (`make lab-down`).
// It needs root on Linux. Everything it creates lives inside its own namespaces: nothing is
// added to the machine's own network.
package main

import (
	"context"
	"errors"
	"fmt"
	"os"
	"os/signal"
	"sort"
	"syscall"

	"github.com/spf13/cobra"
)

// Exit codes, mapped here only.
const (
	exitOK      = 0
	exitFailed  = 1 // the lab could not be built or removed
	exitUsage   = 2
	exitNoLab   = 3 // status: no lab is up
	exitSignals = 130
)

// exitError carries an exit code from a command to main.
type exitError struct {
	code int
	err  error
}

func (e *exitError) Error() string { return e.err.Error() }
func (e *exitError) Unwrap() error { return e.err }

func exitWith(code int, err error) error { return &exitError{code: code, err: err} }

var subcommands []func() *cobra.Command

// register adds a subcommand constructor; each subcommand's file calls it from init.
func register(f func() *cobra.Command) { subcommands = append(subcommands, f) }

// defaultState is where up records what it created: /run is a tmpfs, so a reboot (which also
// removes the namespaces) removes the record with them.
const defaultState = "/run/netprobe-lab.json"

func newRootCmd() *cobra.Command {
	root := &cobra.Command{
		Use:   "netprobe-lab",
		Short: "Build the example failback network in namespaces to poke at (root, Linux)",
		Long: `netprobe-lab builds the failback lab of docs/lab.md out of Linux network namespaces:
an on-premises site (cs01 with a failback NIC, mt01) and an Azure site (ps-az, and the
retained-IP VMs sql01 and app01), each behind a router namespace, joined by a "vpn" link
with MTU 1400 shaped to 50 Mbit/s. It stays up until "down".`,
		Example: `  sudo go run ./cmd/netprobe-lab up      # or: make lab-up
  sudo ip netns exec nplab-mt01 ping -c 3 10.20.1.4
  sudo go run ./cmd/netprobe-lab down    # or: make lab-down`,
		SilenceUsage:  true,
		SilenceErrors: true,
	}
	root.PersistentFlags().String("state", defaultState, "state file recording what the lab created")
	cmds := make([]*cobra.Command, 0, len(subcommands))
	for _, f := range subcommands {
		cmds = append(cmds, f())
	}
	sort.Slice(cmds, func(i, j int) bool { return cmds[i].Name() < cmds[j].Name() })
	root.AddCommand(cmds...)
	return root
}

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	root := newRootCmd()
	root.SetArgs(os.Args[1:])
	err := root.ExecuteContext(ctx)
	stop()
	os.Exit(exitCode(ctx, err))
}

func exitCode(ctx context.Context, err error) int {
	if err == nil {
		return exitOK
	}
	fmt.Fprintf(os.Stderr, "netprobe-lab: %v\n", err)
	var ee *exitError
	switch {
	case errors.As(err, &ee):
		return ee.code
	case ctx.Err() != nil:
		return exitSignals
	}
	return exitUsage // cobra's own errors: unknown command or flag
}
