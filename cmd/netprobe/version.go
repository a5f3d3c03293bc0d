package main

import (
	"fmt"
	"io"
	"runtime"
	"runtime/debug"
	"strings"

	"github.com/spf13/cobra"
)

func init() { register(newVersionCmd) }

// version and commit are set at link time by the Makefile
// (-X main.version=... -X main.commit=...); a plain `go build` leaves these defaults.
var (
	version = "dev"
	commit  = "unknown"
)

// buildInfo is what `netprobe version` prints and what an agent reports in Hello.
type buildInfo struct {
	Version, Commit, GoVersion, OS, Arch string
}

// currentBuild reads the link-time variables, falling back on what the Go toolchain recorded
// (a `go install ...@v1.2.3` has a module version and VCS settings but no -X flags).
func currentBuild() buildInfo {
	b := buildInfo{Version: version, Commit: commit, GoVersion: runtime.Version(), OS: runtime.GOOS, Arch: runtime.GOARCH}
	bi, ok := debug.ReadBuildInfo()
	if !ok {
		return b
	}
	if b.Version == "dev" && bi.Main.Version != "" && bi.Main.Version != "(devel)" {
		b.Version = strings.TrimPrefix(bi.Main.Version, "v")
	}
	if b.Commit == "unknown" {
		for _, s := range bi.Settings {
			if s.Key == "vcs.revision" && len(s.Value) >= 7 {
				b.Commit = s.Value[:7]
			}
		}
	}
	return b
}

func (b buildInfo) write(w io.Writer) {
	fmt.Fprintf(w, "netprobe %s\n", b.Version)
	fmt.Fprintf(w, "  commit:  %s\n", b.Commit)
	fmt.Fprintf(w, "  go:      %s\n", b.GoVersion)
	fmt.Fprintf(w, "  os/arch: %s/%s\n", b.OS, b.Arch)
}

func newVersionCmd() *cobra.Command {
	var short bool
	cmd := &cobra.Command{
		Use:   "version",
		Short: "Print the version, commit, Go version and OS/arch of this binary",
		Long: `Print what this binary is: the release version and commit it was built from, the Go
toolchain and the platform. Agents report the same version to the coordinator, so a
mismatch between hosts shows up in a check run.`,
		Example: `  netprobe version
  netprobe version --short     # just the version, for scripts`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			b := currentBuild()
			if short {
				fmt.Fprintln(cmd.OutOrStdout(), b.Version)
				return nil
			}
			b.write(cmd.OutOrStdout())
			return nil
		},
	}
	cmd.Flags().BoolVar(&short, "short", false, "print the version only")
	return cmd
}
