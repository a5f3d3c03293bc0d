// Package firewall renders required flows as firewall rules a network team can apply: Linux
// iptables-restore input, Azure NSGs (an ARM template, a Bicep file or Terraform azurerm
// resources: one NSG per Azure subnet, rules aggregated within Azure's limits), and Windows
// New-NetFirewallRule lines. Every rule names an explicit source and destination address,
// never "any": the point is to open exactly the flows ASR needs, and netprobe's own (its
// agents' control port, echo and measurements), marked as netprobe's so they can be removed
// after the cutover. It also gives the one-line rule that fixes a single flow, for the engine
// and the TUI to show next to a failure. Pure: flows in, text out.
package firewall

import (
	"fmt"
	"io"
	"net/netip"
	"slices"
	"sort"
	"strings"

	"github.com/netprobe/netprobe/internal/topology"
)

// Format is a firewall rule syntax.
type Format int

const (
	FormatIPTables Format = iota + 1
	// FormatNSG is an ARM template (JSON) for `az deployment group create`.
	FormatNSG
	FormatPowerShell
	FormatBicep
	FormatTerraform
)

var formatNames = []string{FormatIPTables: "iptables", FormatNSG: "nsg", FormatPowerShell: "powershell",
	FormatBicep: "bicep", FormatTerraform: "terraform"}

func (f Format) String() string {
	if f <= 0 || int(f) >= len(formatNames) {
		return fmt.Sprintf("format(%d)", int(f))
	}
	return formatNames[f]
}

// ParseFormat reads a format name as the CLI takes it.
func ParseFormat(s string) (Format, error) {
	for i, n := range formatNames {
		if n != "" && n == s {
			return Format(i), nil
		}
	}
	return 0, fmt.Errorf("unknown firewall format %q (use iptables, nsg, bicep, terraform or powershell)", s)
}

// Input is what the rule formats render.
type Input struct {
	Topology *topology.Topology
	// Flows are ASR's (topology.Flows); Agent are netprobe's own (engine.AgentFlows). Both
	// become rules the same way; a rule only netprobe's own flows need is marked as such.
	Flows, Agent []topology.Flow
	// Notes are added to the output's own notes (what the caller could not turn into rules).
	Notes []string
	// FirstPriority is the NSG priority of the first rule of each NSG; 0 is
	// DefaultFirstPriority.
	FirstPriority int
}

// Render writes the rules of in, in format f.
func Render(w io.Writer, in Input, f Format) error {
	switch f {
	case FormatIPTables:
		return IPTables(w, in)
	case FormatNSG:
		return NSG(w, in)
	case FormatBicep:
		return Bicep(w, in)
	case FormatTerraform:
		return Terraform(w, in)
	case FormatPowerShell:
		return PowerShell(w, in)
	}
	return fmt.Errorf("unknown firewall format %v", f)
}

// rule is one allow rule, possibly serving several flows (the same packets for two reasons).
type rule struct {
	src, dst   netip.Addr
	proto      topology.Proto
	port       int
	from, to   string // host names ("coordinator", or an address, for what is no host)
	rules      []string
	toWindows  bool
	firstIndex int
	// own: only netprobe's own flows need it (Input.Agent); ASR's need none of it.
	own bool
}

func (r *rule) comment() string {
	return strings.Join(r.rules, ",") + " " + r.from + "->" + r.to
}

// plan turns in's flows into deduplicated allow rules plus notes on flows that need no rule
// or cannot be written as one (DNS names, expected-blocked flows, measurements).
func plan(in Input) (rules []*rule, notes []string) {
	t := in.Topology
	flows := append(slices.Clip(in.Flows), in.Agent...)
	notes = append(notes, topology.Notes(t)...)
	byKey := map[string]*rule{}
	measured := map[topology.FlowKind]int{}
	var pmtuDst, endpoints []string
	for i, f := range flows {
		own := i >= len(in.Flows)
		switch f.Kind {
		case topology.FlowPort, topology.FlowICMP:
		case topology.FlowEndpoint:
			// The documented name (a wildcard) is what the rule must allow, not the one name
			// netprobe tested under it.
			name := f.To
			if f.Pattern != "" && f.Representative {
				name = f.Pattern
			}
			if e := fmt.Sprintf("%s -> %s %d/%s", f.From, name, f.Port, f.Proto); !contains(endpoints, e) {
				endpoints = append(endpoints, e)
			}
			continue
		case topology.FlowPMTU:
			// Path MTU discovery needs ICMP "fragmentation needed" from the routers on the
			// path back to the sender; those routers are not in the topology.
			if e := f.FromAddress + " (" + f.From + ")"; !contains(pmtuDst, e) {
				pmtuDst = append(pmtuDst, e)
			}
			continue
		default:
			measured[f.Kind]++
			continue
		}
		if f.Expect != topology.ExpectOpen {
			notes = append(notes, fmt.Sprintf("%s: %s -> %s %s is expected %s: no allow rule", f.Rule, f.From, f.To, portText(f), f.Expect))
			continue
		}
		src, err1 := netip.ParseAddr(f.FromAddress)
		dst, err2 := netip.ParseAddr(f.Address)
		if err1 != nil || err2 != nil {
			notes = append(notes, fmt.Sprintf("%s: %s (%s) -> %s (%s) %s: a DNS name, not an address; write this rule by hand", f.Rule, f.From, f.FromAddress, f.To, f.Address, portText(f)))
			continue
		}
		key := fmt.Sprintf("%s|%s|%d|%d", src, dst, f.Proto, f.Port)
		r, ok := byKey[key]
		if !ok {
			r = &rule{src: src.Unmap(), dst: dst.Unmap(), proto: f.Proto, port: f.Port, from: f.From, to: f.To, firstIndex: i, own: own}
			if h := t.Hosts[f.To]; h != nil {
				r.toWindows = h.OS == "windows"
			}
			byKey[key] = r
			rules = append(rules, r)
		}
		r.own = r.own && own
		if !contains(r.rules, f.Rule) {
			r.rules = append(r.rules, f.Rule)
		}
	}
	if len(endpoints) > 0 {
		notes = append(notes, fmt.Sprintf("ASR service endpoints are DNS names: allow them with FQDN rules (or the AzureCloud service tag / published IP ranges): %s", strings.Join(endpoints, ", ")))
	}
	if len(pmtuDst) > 0 {
		notes = append(notes, fmt.Sprintf("FB-PMTU: do not drop ICMP fragmentation-needed (type 3 code 4) toward the %d hosts that send large packets (path MTU discovery needs it): %s", len(pmtuDst), abbreviate(pmtuDst, 8)))
	}
	if n := measured[topology.FlowPath] + measured[topology.FlowRoute] + measured[topology.FlowLatency] + measured[topology.FlowBandwidth]; n > 0 {
		own := "netprobe's own rules (NP-*) below open what they send"
		if len(in.Agent) == 0 {
			own = "they need netprobe's own rules (NP-*), which are not in this output"
		}
		notes = append(notes, fmt.Sprintf("%d flows are measurements between agents (path, route, latency, bandwidth): %s", n, own))
	}
	return rules, append(notes, in.Notes...)
}

// abbreviate keeps a note about a 1,000-VM estate on one readable line.
func abbreviate(items []string, n int) string {
	if len(items) <= n {
		return strings.Join(items, ", ")
	}
	return strings.Join(items[:n], ", ") + fmt.Sprintf(", and %d more", len(items)-n)
}

func contains(list []string, s string) bool {
	for _, v := range list {
		if v == s {
			return true
		}
	}
	return false
}

func portText(f topology.Flow) string {
	if f.Proto == topology.ProtoICMP || f.Port == 0 {
		return f.Proto.String()
	}
	return fmt.Sprintf("%d/%s", f.Port, f.Proto)
}

// RuleFor is the one-line rule that makes flow f pass, in words a firewall team reads:
// "allow tcp 10.10.5.10 -> 192.168.50.4:443". It is "" for flows no rule can fix (a route).
func RuleFor(f topology.Flow) string {
	switch f.Kind {
	case topology.FlowPort, topology.FlowEndpoint:
		if f.Expect != 0 && f.Expect != topology.ExpectOpen {
			return fmt.Sprintf("block %s %s -> %s", f.Proto, f.FromAddress, hostPort(f.Address, f.Port))
		}
		return fmt.Sprintf("allow %s %s -> %s", f.Proto, f.FromAddress, hostPort(f.Address, f.Port))
	case topology.FlowICMP:
		if f.Expect != 0 && f.Expect != topology.ExpectOpen {
			return fmt.Sprintf("block icmp echo %s -> %s", f.FromAddress, f.Address)
		}
		return fmt.Sprintf("allow icmp echo %s -> %s", f.FromAddress, f.Address)
	case topology.FlowPMTU:
		return fmt.Sprintf("allow icmp fragmentation-needed (type 3 code 4) back to %s, and clamp TCP MSS on the tunnel", f.FromAddress)
	case topology.FlowPath:
		return fmt.Sprintf("route %s -> %s over the private link with no NAT", f.FromAddress, f.Address)
	}
	return ""
}

func hostPort(host string, port int) string {
	if a, err := netip.ParseAddr(host); err == nil && a.Is6() {
		return fmt.Sprintf("[%s]:%d", host, port)
	}
	return fmt.Sprintf("%s:%d", host, port)
}

func sortRules(rules []*rule) {
	sort.SliceStable(rules, func(i, j int) bool { return rules[i].firstIndex < rules[j].firstIndex })
}

func header(w io.Writer, prefix string, t *topology.Topology, lines ...string) {
	fmt.Fprintf(w, "%s netprobe: firewall rules for the ASR flows of %s (generated from %s)\n", prefix, t.Name, t.File)
	for _, l := range lines {
		fmt.Fprintf(w, "%s %s\n", prefix, l)
	}
}
