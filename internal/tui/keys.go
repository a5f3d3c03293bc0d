package tui

import "charm.land/bubbles/v2/key"

// KeyMap is every key the TUI answers to; the help screen is generated from it, so a key
// cannot exist without being documented.
type KeyMap struct {
	Up, Down, PageUp, PageDown, Home, End key.Binding
	Focus, Back                           key.Binding
	Rerun, RerunFailing                   key.Binding
	Phase, Filter, Sort, Topology, Notes  key.Binding
	Help, Quit                            key.Binding
	// ForceQuit quits from anywhere, the filter prompt too, where Quit's q is typed.
	ForceQuit key.Binding
	// FilterDone and FilterCancel end the filter prompt, keeping or clearing what was typed;
	// every other key is typed into it. The prompt names them; the help screen does not.
	FilterDone, FilterCancel key.Binding
}

// DefaultKeyMap is the key map of the TUI.
func DefaultKeyMap() KeyMap {
	return KeyMap{
		Up:           key.NewBinding(key.WithKeys("up", "k"), key.WithHelp("↑/k", "up")),
		Down:         key.NewBinding(key.WithKeys("down", "j"), key.WithHelp("↓/j", "down")),
		PageUp:       key.NewBinding(key.WithKeys("pgup", "b"), key.WithHelp("pgup", "page up")),
		PageDown:     key.NewBinding(key.WithKeys("pgdown", "f", "space"), key.WithHelp("pgdn", "page down")),
		Home:         key.NewBinding(key.WithKeys("home", "g"), key.WithHelp("g/home", "first")),
		End:          key.NewBinding(key.WithKeys("end", "G"), key.WithHelp("G/end", "last")),
		Focus:        key.NewBinding(key.WithKeys("enter", "tab"), key.WithHelp("enter/tab", "detail")),
		Back:         key.NewBinding(key.WithKeys("esc", "shift+tab"), key.WithHelp("esc", "back")),
		Rerun:        key.NewBinding(key.WithKeys("r"), key.WithHelp("r", "re-run check")),
		RerunFailing: key.NewBinding(key.WithKeys("R"), key.WithHelp("R", "re-run failing")),
		Phase:        key.NewBinding(key.WithKeys("p"), key.WithHelp("p", "phase")),
		Filter:       key.NewBinding(key.WithKeys("/"), key.WithHelp("/", "filter")),
		Sort:         key.NewBinding(key.WithKeys("s"), key.WithHelp("s", "sort")),
		Topology:     key.NewBinding(key.WithKeys("t"), key.WithHelp("t", "topology")),
		// Notes is enabled only when the run has notes (Options.Notes), which name it.
		Notes: key.NewBinding(key.WithKeys("i"), key.WithHelp("i", "notes")),
		Help:  key.NewBinding(key.WithKeys("?"), key.WithHelp("?", "help")),
		Quit:  key.NewBinding(key.WithKeys("q", "ctrl+c"), key.WithHelp("q", "quit")),

		ForceQuit:    key.NewBinding(key.WithKeys("ctrl+c"), key.WithHelp("ctrl+c", "quit")),
		FilterDone:   key.NewBinding(key.WithKeys("enter"), key.WithHelp("enter", "keep the filter")),
		FilterCancel: key.NewBinding(key.WithKeys("esc"), key.WithHelp("esc", "clear the filter")),
	}
}

// ShortHelp implements help.KeyMap: the one-line footer.
func (k KeyMap) ShortHelp() []key.Binding {
	return []key.Binding{k.Help, k.Quit, k.Notes, k.Focus, k.Rerun, k.RerunFailing, k.Filter, k.Sort, k.Topology, k.Phase}
}

// FullHelp implements help.KeyMap: the columns of the `?` screen.
func (k KeyMap) FullHelp() [][]key.Binding {
	return [][]key.Binding{
		{k.Up, k.Down, k.PageUp, k.PageDown, k.Home, k.End},
		{k.Focus, k.Back, k.Rerun, k.RerunFailing},
		{k.Phase, k.Filter, k.Sort, k.Topology, k.Notes},
		{k.Help, k.Quit},
	}
}
