package tui

import (
	"math"
	"strings"
)

// sparkBlocks are the eight heights of a sparkline, lowest first.
var sparkBlocks = []rune("▁▂▃▄▅▆▇█")

// sparkline draws vs scaled between their minimum and maximum (the change is what the eye
// should catch), keeping the last w values: a live series scrolls left.
func sparkline(vs []float64, w int) string {
	if len(vs) == 0 || w <= 0 {
		return ""
	}
	if len(vs) > w {
		vs = vs[len(vs)-w:]
	}
	lo, hi := vs[0], vs[0]
	for _, v := range vs {
		lo, hi = min(lo, v), max(hi, v)
	}
	var b strings.Builder
	for _, v := range vs {
		i := len(sparkBlocks) / 2 // a flat series sits in the middle
		if hi > lo {
			i = int(math.Round((v - lo) / (hi - lo) * float64(len(sparkBlocks)-1)))
		}
		b.WriteRune(sparkBlocks[max(0, min(i, len(sparkBlocks)-1))])
	}
	return b.String()
}

// gauge draws frac (0..1, clamped) as a bar of w cells: the filled part and the empty part
// are returned apart so each can be styled; the characters differ too, so the bar reads
// without colour.
func gauge(frac float64, w int) (full, empty string) {
	if w <= 0 {
		return "", ""
	}
	if math.IsNaN(frac) {
		frac = 0
	}
	frac = max(0, min(frac, 1))
	n := int(math.Round(frac * float64(w)))
	return strings.Repeat("█", n), strings.Repeat("░", w-n)
}
