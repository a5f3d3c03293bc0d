package main

import (
	"context"
	"errors"
	"fmt"
	"os"
	"sort"
	"strings"

	"github.com/spf13/pflag"

	"github.com/netprobe/netprobe/internal/engine"
	"github.com/netprobe/netprobe/internal/result"
	"github.com/netprobe/netprobe/internal/topology"
	"github.com/netprobe/netprobe/internal/tui"
)

// estateOf converts the topology for the TUI's topology pane.
func estateOf(t *topology.Topology) tui.Estate {
	e := tui.Estate{Name: t.Name}
	for name, s := range t.Sites {
		var nets []string
		for _, n := range s.Networks {
			nets = append(nets, n.String())
		}
		e.Sites = append(e.Sites, tui.Site{Name: name, Kind: s.Kind.String(), Networks: nets})
	}
	sort.Slice(e.Sites, func(i, j int) bool { return e.Sites[i].Name < e.Sites[j].Name })
	for _, l := range t.Links {
		e.Links = append(e.Links, tui.Link{Name: l.Name, Kind: l.Kind.String(), Sites: l.Sites, MTU: l.MTU, Bandwidth: tui.BitsPerSecond(l.Bandwidth)})
	}
	for _, name := range sortedHostNames(t) {
		h := t.Hosts[name]
		var roles []string
		for _, r := range h.Roles {
			roles = append(roles, r.String())
		}
		e.Hosts = append(e.Hosts, tui.Host{Name: name, Site: h.Site, Roles: roles, Agent: h.Agent})
	}
	return e
}

func sortedHostNames(t *topology.Topology) []string {
	names := make([]string, 0, len(t.Hosts))
	for n := range t.Hosts {
		names = append(names, n)
	}
	sort.Strings(names)
	return names
}

// runTUI opens the live dashboard on a plan and exits like headless mode would. headless is
// the command that prints the same results without a terminal; errors name it.
func runTUI(ctx context.Context, t *topology.Topology, plan []engine.Check, runner *engine.Runner, strict bool, headless string) error {
	src := &tui.EngineSource{Plan: plan, Findings: engine.Findings(t), Runner: runner}
	rep, err := tui.Run(ctx, src, estateOf(t), tui.Options{})
	switch {
	case errors.Is(err, tui.ErrNoTerminal):
		return exitWith(ExitUsage, fmt.Errorf("%w; `%s` prints the same results as text", err, headless))
	case ctx.Err() != nil:
		return exitWith(ExitInterrupted, errors.New("interrupted"))
	case err != nil:
		return exitWith(ExitCannotRun, fmt.Errorf("%w (`%s` prints the same results meanwhile)", err, headless))
	}
	run := result.Run{Summary: rep.Summary, Results: rep.Results, Interrupted: !rep.Complete}
	fmt.Fprintf(os.Stderr, "netprobe: %d pass, %d warn, %d fail, %d error, %d skip\n",
		rep.Summary.Pass, rep.Summary.Warn, rep.Summary.Fail, rep.Summary.Error, rep.Summary.Skip)
	return exitForRun(run, strict)
}

// headlessCommand is the `netprobe check --headless` that runs what this invocation of check
// or tui asked for: every flag of tui is a flag of check, so the flags the user set carry over.
func headlessCommand(fs *pflag.FlagSet) string {
	parts := []string{"netprobe", "check"}
	fs.Visit(func(f *pflag.Flag) {
		if f.Name == "headless" {
			return
		}
		vals := []string{f.Value.String()}
		if sv, ok := f.Value.(pflag.SliceValue); ok {
			vals = sv.GetSlice()
		}
		for _, v := range vals {
			parts = append(parts, "--"+f.Name+"="+shellQuote(v))
		}
	})
	return strings.Join(append(parts, "--headless"), " ")
}

// shellQuote quotes s for a POSIX shell when it holds anything but plain word characters.
func shellQuote(s string) string {
	if s != "" && strings.Trim(s, "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789-_./:=,@+") == "" {
		return s
	}
	return "'" + strings.ReplaceAll(s, "'", `'\''`) + "'"
}
