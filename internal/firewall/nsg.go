package firewall

import (
	"encoding/json"
	"fmt"
	"io"
	"strconv"
	"strings"

	"github.com/netprobe/netprobe/internal/topology"
)

// NSG priorities: ours start at 1000 so that rules a team already has below 1000 win, and
// stay under Azure's maximum of 4096.
const (
	nsgFirstPriority = 1000
	nsgMaxPriority   = 4096
)

// SecurityRule is an Azure NSG security rule in the ARM shape (the shape `az network nsg show`
// prints and an ARM template's securityRules takes).
type SecurityRule struct {
	Name       string             `json:"name"`
	Properties SecurityRuleFields `json:"properties"`
}

// SecurityRuleFields are the properties of a SecurityRule.
type SecurityRuleFields struct {
	Description              string `json:"description"`
	Protocol                 string `json:"protocol"`
	SourceAddressPrefix      string `json:"sourceAddressPrefix"`
	SourcePortRange          string `json:"sourcePortRange"`
	DestinationAddressPrefix string `json:"destinationAddressPrefix"`
	DestinationPortRange     string `json:"destinationPortRange"`
	Access                   string `json:"access"`
	Priority                 int    `json:"priority"`
	Direction                string `json:"direction"`
}

// NSGDocument is what --format nsg writes.
type NSGDocument struct {
	Comment       string         `json:"comment"`
	SecurityRules []SecurityRule `json:"securityRules"`
	Notes         []string       `json:"notes,omitempty"`
}

// NSG writes the NSG rules for flows that start or end in an Azure site: Inbound on the
// destination's NSG, Outbound on the source's. Source port is "*" as in every NSG rule; the
// addresses are always explicit /32 (or /128) prefixes.
func NSG(w io.Writer, t *topology.Topology, flows []topology.Flow) error {
	rules, notes := plan(t, flows)
	sortRules(rules)
	doc := NSGDocument{
		Comment: fmt.Sprintf("netprobe: NSG rules for the ASR flows of %s (from %s). Apply each with az network nsg rule create (see docs/flows.md), or paste into an ARM template's securityRules.", t.Name, t.File),
		Notes:   notes, SecurityRules: []SecurityRule{},
	}
	prio := nsgFirstPriority
	for _, r := range rules {
		for _, dir := range []struct {
			on    bool
			name  string
			host  string
			short string
		}{{r.toAzure, "Inbound", r.to, "in"}, {r.fromAzure, "Outbound", r.from, "out"}} {
			if !dir.on {
				continue
			}
			if prio > nsgMaxPriority {
				return fmt.Errorf("nsg: more than %d rules; split the estate or group hosts into application security groups", nsgMaxPriority-nsgFirstPriority+1)
			}
			proto, port := "Tcp", strconv.Itoa(r.port)
			switch r.proto {
			case topology.ProtoUDP:
				proto = "Udp"
			case topology.ProtoICMP:
				proto, port = "Icmp", "*" // ICMP has no ports: "*" is the only value NSG takes
			}
			doc.SecurityRules = append(doc.SecurityRules, SecurityRule{
				Name: nsgName(fmt.Sprintf("netprobe-%s-%s-%s-%s%s-%s", r.rules[0], r.from, r.to, strings.ToLower(proto), portSuffix(r.port), dir.short)),
				Properties: SecurityRuleFields{
					Description:              fmt.Sprintf("%s (NSG of %s)", r.comment(), dir.host),
					Protocol:                 proto,
					SourceAddressPrefix:      prefix(r.src.String(), r.src.Is6()),
					SourcePortRange:          "*",
					DestinationAddressPrefix: prefix(r.dst.String(), r.dst.Is6()),
					DestinationPortRange:     port,
					Access:                   "Allow",
					Priority:                 prio,
					Direction:                dir.name,
				},
			})
			prio++
		}
	}
	enc := json.NewEncoder(w)
	enc.SetIndent("", "  ")
	enc.SetEscapeHTML(false) // "->" in descriptions stays readable
	return enc.Encode(doc)
}

func portSuffix(p int) string {
	if p == 0 {
		return ""
	}
	return strconv.Itoa(p)
}

func prefix(addr string, v6 bool) string {
	if v6 {
		return addr + "/128"
	}
	return addr + "/32"
}

// nsgName fits Azure's rule name syntax: up to 80 letters, digits, '.', '-' and '_'.
func nsgName(s string) string {
	s = strings.Map(func(r rune) rune {
		if r >= 'a' && r <= 'z' || r >= 'A' && r <= 'Z' || r >= '0' && r <= '9' || r == '.' || r == '-' || r == '_' {
			return r
		}
		return '_'
	}, s)
	if len(s) > 80 {
		s = s[:80]
	}
	return strings.TrimRight(s, ".")
}
