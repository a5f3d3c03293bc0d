package tui

import (
	"fmt"
	"strings"

	"github.com/charmbracelet/x/ansi"
)

// topologyLines renders the estate: sites with their networks, links, and hosts with their
// roles and whether their agent is up (as reported by the Source's agent events).
func topologyLines(e Estate, agents map[string]AgentStatus, w int, st Styles) []string {
	var out []string
	add := func(s string) { out = append(out, ansi.Truncate(s, w, "…")) }
	name := e.Name
	if name == "" {
		name = "(unnamed)"
	}
	add(st.PaneTitle.Render("Topology ") + name)
	if len(e.Sites) > 0 {
		add(st.Label.Render("Sites"))
		for _, s := range e.Sites {
			add(fmt.Sprintf("  %-10s %-8s %s", s.Name, s.Kind, strings.Join(s.Networks, " ")))
		}
	}
	if len(e.Links) > 0 {
		add(st.Label.Render("Links"))
		for _, l := range e.Links {
			line := fmt.Sprintf("  %-10s %-12s %s ↔ %s", l.Name, l.Kind, l.Sites[0], l.Sites[1])
			if l.Bandwidth > 0 {
				line += "  " + l.Bandwidth.String()
			}
			if l.MTU > 0 {
				line += fmt.Sprintf("  mtu %d", l.MTU)
			}
			add(line)
		}
	}
	if len(e.Hosts) > 0 {
		up, withAgent := 0, 0
		for _, h := range e.Hosts {
			if _, known := agents[h.Name]; known || h.Agent != "" {
				withAgent++
			}
			if agents[h.Name].Up {
				up++
			}
		}
		add(st.Label.Render("Hosts") + st.Muted.Render(fmt.Sprintf("  agents up %d/%d", up, withAgent)))
		nameW := 4
		for _, h := range e.Hosts {
			nameW = max(nameW, len(h.Name))
		}
		for _, h := range e.Hosts {
			a, known := agents[h.Name]
			var word string
			switch {
			case h.Agent == "" && !known:
				word = st.Muted.Render("- none")
			case a.Up:
				word = st.AgentUp.Render("● up  ")
			case known:
				word = st.AgentDown.Render("○ DOWN")
			default:
				word = st.Muted.Render("? wait")
			}
			line := fmt.Sprintf("  %s %-*s %-8s %s", word, nameW, h.Name, h.Site, strings.Join(h.Roles, ","))
			if !a.Up && a.Detail != "" {
				line += st.Muted.Render("  (" + a.Detail + ")")
			}
			add(line)
		}
	}
	return out
}
