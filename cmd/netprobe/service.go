package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"runtime"
	"strconv"

	"github.com/spf13/cobra"

	"github.com/netprobe/netprobe/internal/agent"
	"github.com/netprobe/netprobe/internal/winsvc"
)

func init() { register(newServiceCmd) }

// systemdHelp is what `netprobe service` says outside Windows, where the service manager is
// systemd and the unit ships in the release archive.
const systemdHelp = `netprobe service manages the Windows service. On Linux, run the agent under systemd
with the unit shipped in the release archive (deploy/systemd/netprobe-agent.service):

  install -m 0755 netprobe /usr/local/bin/netprobe
  deploy/linux/install.sh            # the binary, the netprobe user, /etc/netprobe, the token, the units
  systemctl enable --now netprobe-agent
  journalctl -u netprobe-agent

See docs/install.md.
`

func newServiceCmd() *cobra.Command {
	cmd := &cobra.Command{
		Use:   "service install|uninstall|start|stop|status",
		Short: "Install and control the agent as a Windows service (Linux: use the systemd unit)",
		Long: `Install, remove, start, stop and query the netprobe agent as a Windows service. The
service runs "netprobe agent" with the flags given to install, starts at boot, restarts
after a crash, and logs to the Application event log (source "netprobe").

install, uninstall, start and stop need an elevated prompt; status does not. On Linux
this command prints how to use the shipped systemd unit instead and exits 2.`,
		Example: `  # from an elevated prompt, with netprobe.exe in its final place
  netprobe service install --listen :7411 --token-file C:\ProgramData\netprobe\token --allow 10.20.0.0/16
  netprobe service start
  netprobe service status

  # see the command line the service would get, without installing (any OS)
  netprobe service install --dry-run --token-file C:\ProgramData\netprobe\token`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			if runtime.GOOS != "windows" {
				return notWindows(cmd)
			}
			return exitWith(ExitUsage, errors.New("name an action: install, uninstall, start, stop or status (see --help)"))
		},
	}
	cmd.AddCommand(newServiceInstallCmd(), newServiceUninstallCmd(), newServiceStartCmd(), newServiceStopCmd(), newServiceStatusCmd())
	return cmd
}

func notWindows(cmd *cobra.Command) error {
	fmt.Fprint(cmd.ErrOrStderr(), systemdHelp)
	return exitQuiet(ExitUsage)
}

// serviceErr maps a service operation's failure to an exit code: a missing or unusable
// service manager is the user's to fix (usage), anything else could not run.
func serviceErr(err error) error {
	if err == nil {
		return nil
	}
	return exitWith(ExitCannotRun, err)
}

func newServiceInstallCmd() *cobra.Command {
	var (
		c      winsvc.Config
		dryRun bool
	)
	cmd := &cobra.Command{
		Use:   "install --token-file FILE [--listen ADDR] [--allow CIDR]...",
		Short: "Register the agent as a Windows service that starts at boot",
		Long: `Register "netprobe agent" as an automatic Windows service running this netprobe.exe
with the given agent flags. The token is passed by file, never on the command line: give
the service's account read access to it (see docs/install.md). The default account is
NT AUTHORITY\LocalService, enough for every probe but the raw-socket traceroute mode.`,
		Example: `  netprobe service install --token-file C:\ProgramData\netprobe\token
  netprobe service install --name netprobe-ps01 --listen 10.20.1.5:7411 --token-file C:\ProgramData\netprobe\token --allow 10.20.0.0/16 --log-format json
  netprobe service install --dry-run --token-file C:\ProgramData\netprobe\token`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, args []string) error {
			if !dryRun && runtime.GOOS != "windows" {
				return notWindows(cmd)
			}
			if c.Exe == "" {
				exe, err := os.Executable()
				if err != nil {
					return exitWith(ExitCannotRun, fmt.Errorf("find this executable: %w (give --exe)", err))
				}
				if exe, err = filepath.Abs(exe); err == nil {
					c.Exe = exe
				}
			}
			for _, a := range c.Allow {
				if _, err := parseAllow(a); err != nil {
					return exitWith(ExitUsage, err)
				}
			}
			c = c.WithDefaults()
			if err := c.Validate(); err != nil {
				return exitWith(ExitUsage, err)
			}
			out := cmd.OutOrStdout()
			if dryRun {
				fmt.Fprintf(out, "service %s (%s), account %s, automatic start:\n  %s\n", c.Name, c.DisplayName, c.Account, winsvc.CommandLine(c.Exe, c.AgentArgs()))
				return nil
			}
			if err := winsvc.Install(c); err != nil {
				return serviceErr(err)
			}
			fmt.Fprintf(out, "installed service %s running as %s:\n  %s\nstart it with: netprobe service start --name %s\n", c.Name, c.Account, winsvc.CommandLine(c.Exe, c.AgentArgs()), c.Name)
			return nil
		},
	}
	fl := cmd.Flags()
	fl.StringVar(&c.Name, "name", winsvc.DefaultName, "service name")
	fl.StringVar(&c.Exe, "exe", "", "netprobe.exe the service runs (default: this executable)")
	fl.StringVar(&c.Account, "account", winsvc.AccountLocalService, `account the service runs as: NT AUTHORITY\LocalService, LocalSystem, or a gMSA (DOMAIN\name$)`)
	fl.StringVar(&c.Listen, "listen", ":"+strconv.Itoa(agent.DefaultPort), "agent control address (host:port)")
	fl.StringVar(&c.TokenFile, "token-file", "", "absolute path of the pre-shared token file")
	fl.StringArrayVar(&c.Allow, "allow", nil, "only probe targets in this network (CIDR or IP; repeatable)")
	fl.StringVar(&c.LogFormat, "log-format", "text", "event log entry format: text or json")
	fl.StringVar(&c.CertFile, "cert", "", "absolute path of the agent's PEM certificate (with --key)")
	fl.StringVar(&c.KeyFile, "key", "", "absolute path of the agent's PEM private key")
	fl.BoolVar(&c.CreateCert, "create-cert", false, "the agent makes a self-signed --cert/--key at its first start and keeps it (for coordinators' --known-agents)")
	fl.StringVar(&c.ClientCA, "client-ca", "", "absolute path of a PEM CA bundle: require client certificates signed by it (mutual TLS)")
	fl.BoolVar(&dryRun, "dry-run", false, "print the service's command line and install nothing (works on any OS)")
	return cmd
}

func newServiceUninstallCmd() *cobra.Command {
	return serviceActionCmd("uninstall", "Stop and remove the agent's Windows service",
		`  netprobe service uninstall --name netprobe-agent`,
		func(cmd *cobra.Command, name string) (string, error) {
			return fmt.Sprintf("removed service %s", name), winsvc.Uninstall(cmd.Context(), name)
		})
}

func newServiceStartCmd() *cobra.Command {
	return serviceActionCmd("start", "Start the agent's Windows service", `  netprobe service start`,
		func(_ *cobra.Command, name string) (string, error) {
			return fmt.Sprintf("asked service %s to start; check with: netprobe service status --name %s", name, name), winsvc.Start(name)
		})
}

func newServiceStopCmd() *cobra.Command {
	return serviceActionCmd("stop", "Stop the agent's Windows service and wait until it has stopped", `  netprobe service stop`,
		func(cmd *cobra.Command, name string) (string, error) {
			return fmt.Sprintf("service %s stopped", name), winsvc.Stop(cmd.Context(), name)
		})
}

// serviceActionCmd is a `netprobe service` subcommand that acts on the named service and
// says what it did: act returns the line to print on success and the action's error.
func serviceActionCmd(use, short, example string, act func(cmd *cobra.Command, name string) (string, error)) *cobra.Command {
	var name string
	cmd := &cobra.Command{
		Use:     use,
		Short:   short,
		Example: example,
		Args:    cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			if runtime.GOOS != "windows" {
				return notWindows(cmd)
			}
			done, err := act(cmd, name)
			if err != nil {
				return serviceErr(err)
			}
			fmt.Fprintln(cmd.OutOrStdout(), done)
			return nil
		},
	}
	cmd.Flags().StringVar(&name, "name", winsvc.DefaultName, "service name")
	return cmd
}

func newServiceStatusCmd() *cobra.Command {
	var name string
	cmd := &cobra.Command{
		Use:   "status",
		Short: "Show the agent service's state, account and command line",
		Long: `Show the state of the agent's Windows service. The exit code says it too: 0 running,
1 installed but not running, 2 not installed.`,
		Example: `  netprobe service status --name netprobe-agent`,
		Args:    cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			if runtime.GOOS != "windows" {
				return notWindows(cmd)
			}
			st, err := winsvc.Query(name)
			if err != nil {
				return serviceErr(err)
			}
			writeServiceStatus(cmd.OutOrStdout(), st)
			switch st.State {
			case winsvc.StateRunning:
				return nil
			case winsvc.StateNotInstalled:
				return exitQuiet(ExitUsage)
			}
			return exitQuiet(ExitFail)
		},
	}
	cmd.Flags().StringVar(&name, "name", winsvc.DefaultName, "service name")
	return cmd
}

func writeServiceStatus(w io.Writer, st winsvc.Status) {
	if st.State == winsvc.StateNotInstalled {
		fmt.Fprintf(w, "service %s: not installed (netprobe service install --help)\n", st.Name)
		return
	}
	fmt.Fprintf(w, "service %s: %s", st.Name, st.State)
	if st.PID != 0 {
		fmt.Fprintf(w, " (pid %d)", st.PID)
	}
	fmt.Fprintln(w)
	if st.StartType != "" {
		fmt.Fprintf(w, "  start:   %s\n", st.StartType)
	}
	if st.Account != "" {
		fmt.Fprintf(w, "  account: %s\n", st.Account)
	}
	if st.CommandLine != "" {
		fmt.Fprintf(w, "  command: %s\n", st.CommandLine)
	}
}

// runAgentHosted runs the agent, under the Windows service control manager when it started
// the process: then a stop request cancels the agent's context (a graceful shutdown, as
// SIGTERM does under systemd) and its log lines go to the event log instead of stderr.
func runAgentHosted(cmd *cobra.Command, f agentFlags) error {
	isSvc, err := winsvc.IsService()
	if err != nil || !isSvc {
		return runAgent(cmd, f)
	}
	err = winsvc.Run(cmd.Context(), func(ctx context.Context, log io.Writer) error {
		cmd.SetContext(ctx)
		cmd.SetErr(log)
		return runAgent(cmd, f)
	})
	return err
}
