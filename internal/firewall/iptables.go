package firewall

import (
	"fmt"
	"io"
	"strings"

	"github.com/netprobe/netprobe/internal/topology"
)

// Chain is the iptables chain the rules go into; the firewall team hooks it where it belongs.
// AgentChain holds the rules only netprobe's own flows need; Chain jumps to it last, so one
// hook serves both, and `iptables -F NETPROBE-AGENT` takes netprobe's rules out after the
// cutover.
const (
	Chain      = "NETPROBE-ASR"
	AgentChain = "NETPROBE-AGENT"
)

// IPTables writes iptables-restore input for the filter table: chains of ACCEPT rules with
// explicit addresses. It is meant for `iptables-restore --noflush`, which replaces only these
// chains; without --noflush iptables-restore would replace the whole filter table.
func IPTables(w io.Writer, in Input) error {
	rules, notes := plan(in)
	sortRules(rules)
	chains := "chain " + Chain + " only"
	if len(in.Agent) > 0 {
		chains = "chains " + Chain + " and " + AgentChain + " only; " + AgentChain + " holds netprobe's own rules"
	}
	var b strings.Builder
	header(&b, "#", in.Topology,
		"Load with:  iptables-restore --noflush < this-file   (replaces "+chains+")",
		"Then route traffic through it, e.g.:  iptables -I FORWARD -j "+Chain+"   (INPUT on a host)",
		"Replies need a stateful rule ahead of your drop rules: -m conntrack --ctstate ESTABLISHED,RELATED -j ACCEPT")
	for _, n := range notes {
		fmt.Fprintf(&b, "# note: %s\n", n)
	}
	b.WriteString("*filter\n")
	fmt.Fprintf(&b, ":%s - [0:0]\n", Chain)
	if len(in.Agent) > 0 {
		fmt.Fprintf(&b, ":%s - [0:0]\n", AgentChain)
	}
	write := func(r *rule, chain string) {
		if !r.src.Is4() || !r.dst.Is4() {
			// IPv6 belongs in ip6tables-restore input; say so rather than drop it silently.
			fmt.Fprintf(&b, "# ip6tables: %s\n", iptablesLine(r, chain))
			return
		}
		b.WriteString(iptablesLine(r, chain))
		b.WriteByte('\n')
	}
	for _, r := range rules {
		if !r.own {
			write(r, Chain)
		}
	}
	if len(in.Agent) > 0 {
		fmt.Fprintf(&b, "-A %s -m comment --comment \"netprobe's own rules\" -j %s\n", Chain, AgentChain)
		for _, r := range rules {
			if r.own {
				write(r, AgentChain)
			}
		}
	}
	b.WriteString("COMMIT\n")
	_, err := io.WriteString(w, b.String())
	return err
}

func iptablesLine(r *rule, chain string) string {
	bits := 32
	if r.src.Is6() {
		bits = 128
	}
	match := ""
	switch r.proto {
	case topology.ProtoTCP:
		match = fmt.Sprintf("-p tcp -m tcp --dport %d", r.port)
	case topology.ProtoUDP:
		match = fmt.Sprintf("-p udp -m udp --dport %d", r.port)
	case topology.ProtoICMP:
		match = "-p icmp -m icmp --icmp-type 8"
	}
	return fmt.Sprintf("-A %s -s %s/%d -d %s/%d %s -m comment --comment %q -j ACCEPT",
		chain, r.src, bits, r.dst, bits, match, sanitizeComment(r.comment()))
}

// sanitizeComment keeps a comment within what xt_comment takes (255 bytes, no quotes).
func sanitizeComment(s string) string {
	s = strings.Map(func(r rune) rune {
		if r == '"' || r == '\\' || r < 0x20 || r > 0x7e {
			return '_'
		}
		return r
	}, s)
	if len(s) > 255 {
		s = s[:255]
	}
	return s
}

// IPTablesRule is the single iptables line that opens flow f, or "" when it is not a port or
// ICMP flow between two IPv4 addresses.
func IPTablesRule(f topology.Flow) string {
	t := &topology.Topology{Hosts: map[string]*topology.Host{}, Sites: map[string]*topology.Site{}}
	f.Expect = topology.ExpectOpen
	rules, _ := plan(Input{Topology: t, Flows: []topology.Flow{f}})
	if len(rules) != 1 || !rules[0].src.Is4() || !rules[0].dst.Is4() {
		return ""
	}
	return strings.Replace(iptablesLine(rules[0], Chain), "-A "+Chain, "-I FORWARD", 1)
}
