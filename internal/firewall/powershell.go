package firewall

import (
	"fmt"
	"io"
	"net/netip"
	"sort"
	"strings"

	"github.com/netprobe/netprobe/internal/topology"
)

// Windows Firewall groups of the rules: ASR's flows, and those only netprobe itself needs.
const (
	PSGroupASR   = "netprobe ASR"
	PSGroupAgent = "netprobe agent"
)

// PowerShell writes New-NetFirewallRule lines for the Windows hosts that receive flows, grouped
// by the host to run them on. Windows Firewall allows outbound by default, so only inbound
// rules are written. Each rule has a -Name of its own and is removed before it is added, so
// running a block again changes nothing; sources that reach the same local address, protocol
// and port share one rule.
func PowerShell(w io.Writer, in Input) error {
	rules, notes := plan(in)
	sortRules(rules)
	byHost := map[string][]*rule{}
	for _, r := range rules {
		if r.toWindows {
			byHost[r.to] = append(byHost[r.to], r)
		}
	}
	var b strings.Builder
	header(&b, "#", in.Topology, "Run each block in an elevated PowerShell on the host it names; running it again changes nothing.",
		fmt.Sprintf("Remove them later with:  Remove-NetFirewallRule -Group '%s'; Remove-NetFirewallRule -Group '%s'", PSGroupASR, PSGroupAgent))
	for _, n := range notes {
		fmt.Fprintf(&b, "# note: %s\n", n)
	}
	hosts := make([]string, 0, len(byHost))
	for h := range byHost {
		hosts = append(hosts, h)
	}
	sort.Strings(hosts)
	for _, h := range hosts {
		fmt.Fprintf(&b, "\n# --- on %s ---\n", h)
		for _, g := range aggregate(byHost[h]) {
			for _, dst := range g.dsts {
				name, line := psRule(g, dst)
				fmt.Fprintf(&b, "Remove-NetFirewallRule -Name '%s' -ErrorAction SilentlyContinue\n", name)
				b.WriteString(line)
				b.WriteByte('\n')
			}
		}
	}
	_, err := io.WriteString(w, b.String())
	return err
}

// psRule is the rule of g that a host with local address dst takes: its name and its line.
func psRule(g *group, dst netip.Addr) (name, line string) {
	var proto, what string
	ports := strings.Join(portRanges(g.ports), ",")
	switch g.proto {
	case topology.ProtoTCP, topology.ProtoUDP:
		p := strings.ToUpper(g.proto.String())
		proto = fmt.Sprintf("-Protocol %s -LocalPort %s", p, ports)
		what = strings.ToLower(p) + "-" + strings.ReplaceAll(ports, ",", "_")
	case topology.ProtoICMP:
		if dst.Is6() {
			proto, what = "-Protocol ICMPv6 -IcmpType 128", "icmpv6-echo"
		} else {
			proto, what = "-Protocol ICMPv4 -IcmpType 8", "icmpv4-echo"
		}
	}
	group := PSGroupASR
	if g.own() {
		group = PSGroupAgent
	}
	var remote []string
	for _, p := range prefixes(g.srcs) {
		if p.IsSingleIP() {
			remote = append(remote, p.Addr().String())
		} else {
			remote = append(remote, p.String())
		}
	}
	name = psQuote("netprobe-" + what + "-" + dst.String())
	display := psQuote(fmt.Sprintf("netprobe %s %s from %s", strings.Join(g.ruleIDs(), ","), strings.ReplaceAll(what, "-", " "), summary(g.names(true), 3)))
	line = fmt.Sprintf("New-NetFirewallRule -Name '%s' -DisplayName '%s' -Group '%s' -Direction Inbound -Action Allow %s -LocalAddress %s -RemoteAddress %s | Out-Null",
		name, display, group, proto, dst, strings.Join(remote, ","))
	return name, line
}

// psQuote keeps a value safe inside single quotes.
func psQuote(s string) string { return strings.ReplaceAll(s, "'", "") }
