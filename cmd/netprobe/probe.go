package main

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"time"

	"github.com/spf13/cobra"

	"github.com/netprobe/netprobe/internal/probes"
	"github.com/netprobe/netprobe/internal/result"
)

func init() { register(newProbeCmd) }

// probeFlags are the flags every probe kind shares.
type probeFlags struct {
	timeout time.Duration
	format  string
}

// probeKind is one `netprobe probe KIND`: its flags and how to run it into a result.
type probeKind struct {
	use, short, long, example string
	args                      cobra.PositionalArgs
	// defaultTimeout is the --timeout when the user gives none: long enough for the probe's
	// own schedule (a traceroute waits for every hop, a PMTU search sends a dozen probes).
	defaultTimeout time.Duration
	// timeoutFor, when set, computes the default from the kind's flags (a 20-echo ping at 1s
	// intervals needs more than 3s).
	timeoutFor func() time.Duration
	flags      func(cmd *cobra.Command)
	run        func(ctx context.Context, target string) (result.Result, error)
	// many, when set, is asked first: a target naming several probes (a port list) runs as
	// one and prints one result per probe. ok false leaves the target to run.
	many func(ctx context.Context, target string) (rs []result.Result, ok bool, err error)
}

func newProbeCmd() *cobra.Command {
	pf := &probeFlags{}
	cmd := &cobra.Command{
		Use:   "probe KIND TARGET [flags]",
		Short: "Run one probe from this host, ad hoc (port, icmp, dns, tls, route, path, pmtu)",
		Long: `Run a single probe from this host and say what the network did, with nmap's vocabulary:
open, closed, filtered, open|filtered, unreachable, and the reason (syn-ack, reset,
timeout, icmp-admin-prohibited, ...). Like psping or Test-NetConnection, with verdicts.

An ad hoc probe has no expectation, so its status is "pass" whenever the probe ran,
whatever it found: the finding is in state and reason. The exit code is 0 when the probe
ran, 5 when it could not run (bad target, no privilege for ICMP, name not resolvable);
usage errors exit 2.

--format json prints one result object of docs/results.md (check, target, proto, state,
reason, message, metrics); a port list prints an array of them.`,
		Example: `  netprobe probe port 10.0.0.5:9443
  netprobe probe port --udp --echo 10.0.0.5:9443
  netprobe probe icmp 10.0.0.5 --count 10
  netprobe probe dns cs01.contoso.local --server 10.10.0.53 --server 10.20.0.53
  netprobe probe tls cs01.contoso.local:443 --expect-issuer "Contoso Issuing CA"
  netprobe probe route 10.20.1.4
  netprobe probe path 10.20.1.4:9443 --format json
  netprobe probe pmtu 10.20.1.4`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			return exitWith(ExitUsage, errors.New("name a probe kind: port, icmp, dns, tls, route, path or pmtu (see netprobe probe --help)"))
		},
	}
	cmd.PersistentFlags().DurationVar(&pf.timeout, "timeout", 0, "deadline for the whole probe (default by kind: port 2s, icmp count*interval+1s, dns/tls 3s, path/pmtu 5s)")
	cmd.PersistentFlags().StringVar(&pf.format, "format", "text", "output format: text or json")
	for _, k := range probeKinds() {
		cmd.AddCommand(k.command(pf))
	}
	return cmd
}

func (k probeKind) command(pf *probeFlags) *cobra.Command {
	c := &cobra.Command{
		Use: k.use, Short: k.short, Long: k.long, Example: k.example, Args: k.args,
		RunE: func(cmd *cobra.Command, args []string) error {
			if pf.format != "text" && pf.format != "json" {
				return exitWith(ExitUsage, fmt.Errorf("--format %q: use text or json", pf.format))
			}
			timeout := pf.timeout
			if timeout <= 0 {
				timeout = k.defaultTimeout
				if k.timeoutFor != nil {
					timeout = max(timeout, k.timeoutFor())
				}
			}
			ctx, cancel := context.WithTimeout(cmd.Context(), timeout)
			defer cancel()
			start := time.Now()
			if k.many != nil {
				if rs, ok, err := k.many(ctx, args[0]); ok || err != nil {
					return finishMany(cmd.OutOrStdout(), pf.format, rs, err, time.Since(start))
				}
			}
			r, err := k.run(ctx, args[0])
			r.DurationMS = time.Since(start).Milliseconds()
			if err != nil {
				r = cannotRun(r, err)
			}
			if werr := writeProbeResult(cmd.OutOrStdout(), pf.format, r); werr != nil {
				return exitWith(ExitCannotRun, werr)
			}
			if err != nil {
				if errors.Is(err, probes.ErrInvalid) {
					return exitQuiet(ExitUsage)
				}
				return exitQuiet(ExitCannotRun)
			}
			return nil
		},
	}
	if k.flags != nil {
		k.flags(c)
	}
	return c
}

// finishMany prints the results of a target that named several probes: a line each, or a
// JSON array in the order given. An error stops the whole set, as for a single probe.
func finishMany(w io.Writer, format string, rs []result.Result, err error, took time.Duration) error {
	for i := range rs {
		rs[i].DurationMS = took.Milliseconds()
	}
	var werr error
	switch {
	case len(rs) == 0: // the list itself is wrong: nothing was probed
	case format == "json":
		enc := json.NewEncoder(w)
		enc.SetIndent("", "  ")
		werr = enc.Encode(rs)
	default:
		for _, r := range rs {
			if _, werr = fmt.Fprintln(w, probeText(r)); werr != nil {
				break
			}
		}
	}
	switch {
	case werr != nil:
		return exitWith(ExitCannotRun, werr)
	case err == nil:
		return nil
	case len(rs) == 0:
		return exitWith(ExitUsage, err)
	case errors.Is(err, probes.ErrInvalid):
		return exitQuiet(ExitUsage)
	}
	return exitQuiet(ExitCannotRun)
}

// cannotRun turns a probe error into the result a user reads: skip when the probe is not
// allowed here (privilege, OS), error otherwise.
func cannotRun(r result.Result, err error) result.Result {
	r.Status = result.Error
	if errors.Is(err, probes.ErrPermission) || errors.Is(err, probes.ErrUnsupported) {
		r.Status = result.Skip
	}
	r.State, r.Reason = "", ""
	r.Message = err.Error()
	r.Metrics = nil
	return r
}

func writeProbeResult(w io.Writer, format string, r result.Result) error {
	if format == "json" {
		enc := json.NewEncoder(w)
		enc.SetIndent("", "  ")
		return enc.Encode(r)
	}
	_, err := fmt.Fprintln(w, probeText(r))
	return err
}

// probeText is the one line a person reads, for example
// "10.0.0.5:9443/tcp filtered (timeout): no answer within 2s - a firewall drops it".
func probeText(r result.Result) string {
	line := probeLine(r)
	if r.Evidence != "" {
		line += "\n  packets: " + r.Evidence
	}
	return line
}

func probeLine(r result.Result) string {
	what := string(r.Check) + " " + r.Target
	if r.Check == result.CheckPort {
		what = r.Target + "/" + r.Proto // nmap's "PORT/PROTO", the form network teams read
	}
	switch {
	case r.Status == result.Error || r.Status == result.Skip:
		return fmt.Sprintf("%s %s: %s", what, r.Status, r.Message)
	case r.State != "" && r.Reason != "":
		return fmt.Sprintf("%s %s (%s): %s", what, r.State, r.Reason, r.Message)
	case r.State != "":
		return fmt.Sprintf("%s %s: %s", what, r.State, r.Message)
	}
	return fmt.Sprintf("%s: %s", what, r.Message)
}

// probeKinds are the probe subcommands, one file each (probe_<kind>.go).
func probeKinds() []probeKind {
	return []probeKind{portKind(), icmpKind(), dnsKind(), tlsKind(), routeKind(), pathKind(), pmtuKind()}
}
