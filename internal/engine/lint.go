package engine

import (
	"fmt"

	"github.com/netprobe/netprobe/internal/result"
	"github.com/netprobe/netprobe/internal/topology"
)

// Findings turns the readiness rules judged on paper into results (check "lint"), so they
// appear beside the measured ones in every output, the TUI and the history.
func Findings(t *topology.Topology) []result.Result {
	var out []result.Result
	seen := map[string]int{}
	for _, f := range topology.Readiness(t) {
		id := fmt.Sprintf("lint/%s/%s", f.Rule, f.Host)
		if f.Host == "" {
			id = fmt.Sprintf("lint/%s/%s", f.Rule, f.Path)
		}
		if n := seen[id]; n > 0 {
			id = fmt.Sprintf("%s#%d", id, n+1)
		}
		seen[id]++
		r := result.Result{
			ID: id, Check: result.CheckLint, Rule: f.Rule, From: f.Host, Message: f.Message,
			Hint: f.Hint, Source: f.Source, Confidence: "doc",
		}
		if f.Line > 0 {
			r.Target = fmt.Sprintf("%s:%d:%d", t.File, f.Line, f.Col)
		}
		switch f.Severity {
		case topology.SevFail:
			r.Status = result.Fail
		case topology.SevWarn:
			r.Status = result.Warn
		default:
			r.Status = result.Pass
		}
		out = append(out, r)
	}
	return out
}
