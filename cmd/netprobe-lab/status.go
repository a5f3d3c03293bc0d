package main

import (
	"errors"
	"fmt"
	"io/fs"
	"slices"
	"strings"

	"github.com/netprobe/netprobe/internal/lab"
	"github.com/spf13/cobra"
)

func init() { register(newStatusCmd) }

func newStatusCmd() *cobra.Command {
	return &cobra.Command{
		Use:   "status",
		Short: "Say whether a lab is up and whether all its namespaces still exist",
		Example: `  sudo go run ./cmd/netprobe-lab status
  sudo go run ./cmd/netprobe-lab status --state /tmp/my-lab.json`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			statePath, _ := cmd.Flags().GetString("state")
			st, err := lab.ReadState(statePath)
			if errors.Is(err, fs.ErrNotExist) {
				return exitWith(exitNoLab, fmt.Errorf("no lab is up (no state file %s)", statePath))
			}
			if err != nil {
				return exitWith(exitFailed, err)
			}
			have := st.Existing()
			var missing []string
			for _, ns := range st.Namespaces {
				if !slices.Contains(have, ns) {
					missing = append(missing, ns)
				}
			}
			fmt.Fprintf(cmd.OutOrStdout(), "Lab %s up since %s: %d of %d namespaces present.\n",
				st.Prefix, st.Created.Format("2006-01-02 15:04:05Z"), len(have), len(st.Namespaces))
			if len(missing) > 0 {
				return exitWith(exitFailed, fmt.Errorf("missing: %s; run down, then up", strings.Join(missing, " ")))
			}
			return nil
		},
	}
}
