package topology

import "github.com/goccy/go-yaml/ast"

var settingsKeys = []string{"agent_port", "data_port", "vcenter_port", "timeout", "phases", "azure_endpoints", "rpo", "growth", "architecture"}

func (d *decoder) settings(s *Settings, sec field) {
	for _, f := range d.mapping(sec.val, sec.path, settingsKeys) {
		switch f.key {
		case "agent_port":
			if v, ok := d.intRange(f, 1, 65535, "port"); ok {
				s.AgentPort = v
			}
		case "data_port":
			if v, ok := d.intRange(f, 1, 65535, "port"); ok {
				s.DataPort = v
			}
		case "vcenter_port":
			if v, ok := d.intRange(f, 1, 65535, "port"); ok {
				s.VCenterPort = v
			}
		case "timeout":
			if v, ok := unit(d, f, ParseDuration); ok {
				if v == 0 {
					d.errorf(f.val, f.path, "must be more than 0 (try 2s)")
				} else {
					s.Timeout = v
				}
			}
		case "rpo":
			if v, ok := unit(d, f, ParseDuration); ok {
				if v == 0 {
					d.errorf(f.val, f.path, "must be more than 0 (try 15m)")
				} else {
					s.RPO = v
				}
			}
		case "azure_endpoints":
			if v, ok := d.boolField(f); ok {
				s.AzureEndpoints = v
			}
		case "architecture":
			if v, ok := d.enum(f, architectureNames, "architecture"); ok && v != 0 {
				s.Architecture = Architecture(v)
			}
		case "growth":
			if v, ok := unit(d, f, ParsePercent); ok {
				if v > 10 {
					d.errorf(f.val, f.path, "%s is more than 1000%%; churn growth is usually 0%% to 100%%", scalarText(f.val))
				} else {
					s.Growth = v
				}
			}
		case "phases":
			var phases []Phase
			items := 0
			add := func(p Phase) {
				if !containsPhase(phases, p) {
					phases = append(phases, p)
				}
			}
			d.seq(f.val, f.path, func(i int, item ast.Node, p string) {
				items++
				v, ok := d.strItem(item, p)
				if !ok {
					return
				}
				switch v {
				case "failback":
					add(PhaseFailback)
				case "forward":
					add(PhaseForward)
				case "both":
					add(PhaseFailback)
					add(PhaseForward)
				default:
					d.errorf(item, p, "unknown phase %q (use failback, forward or both)", v)
				}
			})
			switch {
			case items == 0:
				d.errorf(f.val, f.path, "needs at least one phase: failback, forward or both")
			case len(phases) > 0:
				// Items that named no phase are errors of their own (above); the default
				// stays, so validation never sees an empty list.
				s.Phases = phases
			}
		}
	}
}

func containsPhase(ps []Phase, p Phase) bool {
	for _, v := range ps {
		if v == p {
			return true
		}
	}
	return false
}
