package tui

import (
	"image/color"

	"charm.land/bubbles/v2/help"
	"charm.land/lipgloss/v2"

	"github.com/netprobe/netprobe/internal/result"
)

// Theme is the one palette of the TUI. Colours only ever add to words: every status is also
// written out, so the screen reads the same without colour.
type Theme struct {
	Pass, Warn, Fail, Error, Skip, Pending color.Color
	Accent, Muted, Border, Selected        color.Color
}

// DefaultTheme is tuned for dark terminals, which is what most admins run.
func DefaultTheme() Theme {
	return Theme{
		Pass:     lipgloss.Color("#5fd75f"),
		Warn:     lipgloss.Color("#ffd75f"),
		Fail:     lipgloss.Color("#ff5f5f"),
		Error:    lipgloss.Color("#ff87ff"),
		Skip:     lipgloss.Color("#8a8a8a"),
		Pending:  lipgloss.Color("#5fafff"),
		Accent:   lipgloss.Color("#87d7ff"),
		Muted:    lipgloss.Color("#8a8a8a"),
		Border:   lipgloss.Color("#585858"),
		Selected: lipgloss.Color("#303a4a"),
	}
}

// Styles are built once from a theme and named by the role they play on screen.
type Styles struct {
	Title      lipgloss.Style
	Muted      lipgloss.Style
	Label      lipgloss.Style
	Group      lipgloss.Style
	ColHeader  lipgloss.Style
	Row        lipgloss.Style
	RowCursor  lipgloss.Style
	Pane       lipgloss.Style
	PaneFocus  lipgloss.Style
	PaneTitle  lipgloss.Style
	Hint       lipgloss.Style
	ErrorLine  lipgloss.Style
	GaugeFull  lipgloss.Style
	GaugeEmpty lipgloss.Style
	Spark      lipgloss.Style
	AgentUp    lipgloss.Style
	AgentDown  lipgloss.Style
	status     map[result.Status]lipgloss.Style
	pending    lipgloss.Style
	Help       help.Styles
}

// DefaultStyles builds the styles of theme t. With noColor (NO_COLOR set) no colour is used
// at all; selection and focus stay visible through reverse video and bold.
func DefaultStyles(t Theme, noColor bool) Styles {
	fg := func(s lipgloss.Style, c color.Color) lipgloss.Style {
		if noColor {
			return s
		}
		return s.Foreground(c)
	}
	border := lipgloss.NewStyle().Border(lipgloss.RoundedBorder()).Padding(0, 1)
	s := Styles{
		Title:     fg(lipgloss.NewStyle().Bold(true), t.Accent),
		Muted:     fg(lipgloss.NewStyle(), t.Muted),
		Label:     lipgloss.NewStyle().Bold(true),
		Group:     fg(lipgloss.NewStyle().Bold(true), t.Accent),
		ColHeader: fg(lipgloss.NewStyle().Bold(true), t.Muted),
		Row:       lipgloss.NewStyle(),
		// The border alone is grey: a foreground on the pane would also tint every line of
		// text inside that has no colour of its own.
		Pane:       border.BorderForeground(t.Border),
		PaneFocus:  border.BorderForeground(t.Accent),
		PaneTitle:  fg(lipgloss.NewStyle().Bold(true), t.Accent),
		Hint:       fg(lipgloss.NewStyle(), t.Warn),
		ErrorLine:  fg(lipgloss.NewStyle().Bold(true), t.Fail),
		GaugeFull:  fg(lipgloss.NewStyle(), t.Pass),
		GaugeEmpty: fg(lipgloss.NewStyle(), t.Border),
		Spark:      fg(lipgloss.NewStyle(), t.Accent),
		AgentUp:    fg(lipgloss.NewStyle(), t.Pass),
		AgentDown:  fg(lipgloss.NewStyle().Bold(true), t.Fail),
		pending:    fg(lipgloss.NewStyle(), t.Pending),
		Help:       help.DefaultDarkStyles(),
	}
	if noColor {
		s.RowCursor = lipgloss.NewStyle().Reverse(true)
		s.Pane = border
		s.PaneFocus = border.Border(lipgloss.ThickBorder())
		s.Help = help.Styles{}
	} else {
		s.RowCursor = lipgloss.NewStyle().Background(t.Selected).Bold(true)
	}
	s.status = map[result.Status]lipgloss.Style{
		result.Pass:  fg(lipgloss.NewStyle(), t.Pass),
		result.Warn:  fg(lipgloss.NewStyle().Bold(true), t.Warn),
		result.Fail:  fg(lipgloss.NewStyle().Bold(true), t.Fail),
		result.Error: fg(lipgloss.NewStyle().Bold(true), t.Error),
		result.Skip:  fg(lipgloss.NewStyle(), t.Skip),
	}
	return s
}

// Status is the style of a status word; status 0 (pending or running) has its own.
func (s Styles) Status(st result.Status) lipgloss.Style {
	if v, ok := s.status[st]; ok {
		return v
	}
	return s.pending
}
