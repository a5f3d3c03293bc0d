package tui

// notesLines renders the run's notes as a titled list, each item wrapped at w.
func notesLines(n *Notes, w int, st Styles) []string {
	if n == nil {
		return []string{st.Muted.Render("no notes for this run")}
	}
	out := wrapSpans(w, styled(st.PaneTitle, n.Title))
	for _, it := range n.Items {
		lines := wrapSpans(max(1, w-2), plain(it))
		for i, l := range lines {
			mark := "  "
			if i == 0 {
				mark = "• "
			}
			out = append(out, mark+l)
		}
	}
	return out
}
