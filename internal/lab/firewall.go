package lab

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"maps"
	"os/exec"
	"slices"
	"strings"
)

// Firewall loads iptables-restore input (what `netprobe flows --format iptables` writes)
// into every host's INPUT chain and every router's FORWARD chain, behind a default-drop
// policy: a network whose only openings are those rules, the way a host firewall and a
// network firewall on the path both enforce them. Ahead of the rules go what every real
// stateful firewall has: replies and related ICMP (ESTABLISHED,RELATED), and, on a host,
// its own loopback. Undo restores the ACCEPT policies and removes the chains.
type Firewall struct {
	// Rules is iptables-restore input for the filter table; it is loaded with --noflush,
	// so it replaces only the chains it declares.
	Rules string
	// Chain is the chain of Rules to send traffic through (NETPROBE-ASR).
	Chain string
}

func (f Firewall) String() string { return "firewall: default drop, then chain " + f.Chain }

func (f Firewall) apply(ctx context.Context, l *Lab) (func(context.Context) error, error) {
	chains := declaredChains(f.Rules)
	if !slices.Contains(chains, f.Chain) {
		return nil, fmt.Errorf("%v: the rules declare no chain %s (they declare %s)", f, f.Chain, strings.Join(chains, ", "))
	}
	var undos []func(context.Context) error
	undoAll := func(ctx context.Context) error {
		var errs []error
		for _, u := range slices.Backward(undos) {
			errs = append(errs, u(ctx))
		}
		return errors.Join(errs...)
	}
	for _, name := range slices.Sorted(maps.Keys(l.nodes)) {
		n := l.nodes[name]
		hook := "INPUT"
		if n.router {
			hook = "FORWARD"
		}
		u, err := f.load(ctx, n, hook, chains)
		if err != nil {
			return nil, errors.Join(fmt.Errorf("%v on %s: %w", f, name, err), undoAll(ctx))
		}
		undos = append(undos, u)
	}
	return undoAll, nil
}

// load puts the rules into one namespace and hooks them into chain hook.
func (f Firewall) load(ctx context.Context, n *Host, hook string, chains []string) (func(context.Context) error, error) {
	removeChains := func(ctx context.Context) error {
		var errs []error
		// Flush every chain first: one may jump to another, which cannot go while referenced.
		for _, op := range []string{"-F", "-X"} {
			for _, c := range chains {
				_, err := run(ctx, "ip", "netns", "exec", n.netns, "iptables", "-w", op, c)
				errs = append(errs, err)
			}
		}
		return errors.Join(errs...)
	}
	if err := restore(ctx, n.netns, f.Rules); err != nil {
		return nil, errors.Join(err, removeChains(ctx))
	}
	match := []rule{{node: n, table: "filter", chain: hook, spec: []string{"-j", f.Chain}},
		{node: n, table: "filter", chain: hook, spec: []string{"-m", "conntrack", "--ctstate", "ESTABLISHED,RELATED", "-j", "ACCEPT"}}}
	if !n.router {
		match = append(match, rule{node: n, table: "filter", chain: hook, spec: []string{"-i", "lo", "-j", "ACCEPT"}})
	}
	unhook, err := applyRules(ctx, f.String(), match)
	if err != nil {
		return nil, errors.Join(err, removeChains(ctx))
	}
	policy := func(ctx context.Context, target string) error {
		_, err := run(ctx, "ip", "netns", "exec", n.netns, "iptables", "-w", "-P", hook, target)
		return err
	}
	undo := func(ctx context.Context) error {
		return errors.Join(policy(ctx, "ACCEPT"), unhook(ctx), removeChains(ctx))
	}
	if err := policy(ctx, "DROP"); err != nil {
		return nil, errors.Join(err, undo(ctx))
	}
	return undo, nil
}

// restore feeds rules to iptables-restore --noflush inside the namespace.
func restore(ctx context.Context, netns, rules string) error {
	ctx, cancel := context.WithTimeout(ctx, cmdTimeout)
	defer cancel()
	cmd := exec.CommandContext(ctx, "ip", "netns", "exec", netns, "iptables-restore", "-w", "--noflush")
	cmd.Stdin = strings.NewReader(rules)
	var out bytes.Buffer
	cmd.Stdout, cmd.Stderr = &out, &out
	if err := cmd.Run(); err != nil {
		return fmt.Errorf("%w: iptables-restore in %s: %v: %s", ErrCommand, netns, err, strings.TrimSpace(out.String()))
	}
	return nil
}

// declaredChains are the user chains iptables-restore input declares (":NAME - [0:0]").
func declaredChains(rules string) []string {
	var out []string
	for line := range strings.Lines(rules) {
		if name, ok := strings.CutPrefix(line, ":"); ok {
			if f := strings.Fields(name); len(f) > 1 && f[1] == "-" {
				out = append(out, f[0])
			}
		}
	}
	return out
}
