package firewall

import (
	"fmt"
	"io"
	"sort"
	"strings"

	"github.com/netprobe/netprobe/internal/topology"
)

// PowerShell writes New-NetFirewallRule lines for the Windows hosts that receive flows, grouped
// by the host to run them on. Windows Firewall allows outbound by default, so only inbound
// rules are written.
func PowerShell(w io.Writer, t *topology.Topology, flows []topology.Flow) error {
	rules, notes := plan(t, flows)
	sortRules(rules)
	byHost := map[string][]*rule{}
	for _, r := range rules {
		if r.toWindows {
			byHost[r.to] = append(byHost[r.to], r)
		}
	}
	var b strings.Builder
	header(&b, "#", t, "Run each block in an elevated PowerShell on the host it names.",
		"Remove them later with:  Remove-NetFirewallRule -Group 'netprobe ASR'")
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
		for _, r := range byHost[h] {
			b.WriteString(psLine(r))
			b.WriteByte('\n')
		}
	}
	_, err := io.WriteString(w, b.String())
	return err
}

func psLine(r *rule) string {
	var proto string
	switch r.proto {
	case topology.ProtoTCP:
		proto = fmt.Sprintf("-Protocol TCP -LocalPort %d", r.port)
	case topology.ProtoUDP:
		proto = fmt.Sprintf("-Protocol UDP -LocalPort %d", r.port)
	case topology.ProtoICMP:
		if r.dst.Is6() {
			proto = "-Protocol ICMPv6 -IcmpType 128"
		} else {
			proto = "-Protocol ICMPv4 -IcmpType 8"
		}
	}
	name := strings.ReplaceAll("netprobe "+r.comment()+" "+strings.TrimPrefix(fmt.Sprintf("%d/%s", r.port, r.proto), "0/"), "'", "")
	return fmt.Sprintf("New-NetFirewallRule -DisplayName '%s' -Group 'netprobe ASR' -Direction Inbound -Action Allow %s -LocalAddress %s -RemoteAddress %s",
		name, proto, r.dst, r.src)
}
