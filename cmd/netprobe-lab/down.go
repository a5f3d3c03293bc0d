package main

import (
	"context"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"time"

	"github.com/netprobe/netprobe/internal/lab"
	"github.com/spf13/cobra"
)

func init() { register(newDownCmd) }

func newDownCmd() *cobra.Command {
	return &cobra.Command{
		Use:   "down",
		Short: "Remove exactly what up created, as listed in the state file",
		Long: `down deletes the namespaces listed in the state file (and with them their interfaces,
routes, firewall rules and shaping), then the state file. It never deletes a namespace the
state file does not list, and refuses names outside the file's prefix. With no lab up it
says so and succeeds.`,
		Example: `  sudo go run ./cmd/netprobe-lab down     # or: make lab-down`,
		Args:    cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			statePath, _ := cmd.Flags().GetString("state")
			st, err := lab.ReadState(statePath)
			if errors.Is(err, fs.ErrNotExist) {
				fmt.Fprintf(cmd.OutOrStdout(), "No lab is up (no state file %s).\n", statePath)
				return nil
			}
			if err != nil {
				return exitWith(exitFailed, fmt.Errorf("%w; inspect it, remove the listed namespaces with `ip netns del`, then delete it", err))
			}
			// Deleting namespaces takes milliseconds; finish even if interrupted, so that the
			// state file and the namespaces stay in step.
			ctx, cancel := context.WithTimeout(context.WithoutCancel(cmd.Context()), time.Minute)
			defer cancel()
			if err := lab.Down(ctx, st); err != nil {
				return exitWith(exitFailed, fmt.Errorf("removing the lab: %w (state file %s kept; run down again)", err, statePath))
			}
			if err := os.Remove(statePath); err != nil {
				return exitWith(exitFailed, err)
			}
			fmt.Fprintf(cmd.OutOrStdout(), "Lab down: removed %d namespaces (%s-*).\n", len(st.Namespaces), st.Prefix)
			return nil
		},
	}
}
