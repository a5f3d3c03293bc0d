package tui

import (
	"strings"

	"charm.land/lipgloss/v2"
	"github.com/charmbracelet/x/ansi"
)

// span is a piece of a line of text with its style. A span marked whole is not broken at its
// spaces (a metric and its value stay together) unless it is wider than a line.
type span struct {
	text  string
	style *lipgloss.Style // nil: plain
	whole bool
}

func plain(s string) span                         { return span{text: s} }
func styled(st lipgloss.Style, s string) span     { return span{text: s, style: &st} }
func wholeSpan(st *lipgloss.Style, s string) span { return span{text: s, style: st, whole: true} }

// wrapSpans lays spans out in lines of at most w cells, breaking at spaces, and styles every
// piece of every line with its span's own style. Wrapping styled text instead (ansi.Wrap)
// leaves the continuation lines unstyled: a hint would turn to the pane's colour after its
// first line.
func wrapSpans(w int, spans ...span) []string {
	w = max(w, 1)
	type piece struct {
		text  string
		style *lipgloss.Style
	}
	var lines [][]piece
	var cur []piece
	curW := 0
	pendingSpace := ""
	var spaceStyle *lipgloss.Style
	flush := func() {
		lines = append(lines, cur)
		cur, curW, pendingSpace = nil, 0, ""
	}
	put := func(word string, st *lipgloss.Style) {
		ww := ansi.StringWidth(word)
		if curW > 0 && curW+ansi.StringWidth(pendingSpace)+ww > w {
			flush()
		}
		if curW > 0 && pendingSpace != "" {
			cur = append(cur, piece{pendingSpace, spaceStyle})
			curW += ansi.StringWidth(pendingSpace)
		}
		pendingSpace = ""
		for ww > w-curW { // a word wider than the line is cut where the line ends
			head := ansi.Truncate(word, w-curW, "")
			if head == "" && curW > 0 {
				flush()
				continue
			}
			if head == "" { // a character wider than the whole line: it goes alone
				head = string([]rune(word)[0])
			}
			cur = append(cur, piece{head, st})
			word = strings.TrimPrefix(word, head)
			ww = ansi.StringWidth(word)
			flush()
		}
		if word != "" {
			cur = append(cur, piece{word, st})
			curW += ww
		}
	}
	for _, s := range spans {
		if s.whole {
			put(s.text, s.style)
			continue
		}
		for i, f := range strings.Split(s.text, " ") {
			if i > 0 {
				pendingSpace += " "
				spaceStyle = s.style
			}
			if f != "" {
				put(f, s.style)
			}
		}
	}
	if len(cur) > 0 || len(lines) == 0 {
		flush()
	}
	out := make([]string, len(lines))
	for i, l := range lines {
		var b strings.Builder
		for _, p := range l {
			if p.style == nil {
				b.WriteString(p.text)
			} else {
				b.WriteString(p.style.Render(p.text))
			}
		}
		out[i] = b.String()
	}
	return out
}
