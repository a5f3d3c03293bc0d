package tui

import (
	"fmt"

	"github.com/netprobe/netprobe/internal/result"
)

// answerLine says who refused a port check, from its answer metrics (engine/answer.go):
// "device 10.10.0.1, hop 1: the reset was sent by ...", "host: ...", "cannot tell who ...";
// "" when no answer was judged.
func answerLine(res result.Result) string {
	from, _ := res.Metrics[result.MetricAnswerFrom].(string)
	if from == "" {
		return ""
	}
	detail, _ := res.Metrics[result.MetricAnswerDetail].(string)
	head := from
	switch from {
	case "device":
		if ip, _ := res.Metrics[result.MetricAnswerIP].(string); ip != "" {
			head += " " + ip
		}
		if hops, ok := res.Metrics.Float(result.MetricAnswerHops); ok {
			head += fmt.Sprintf(", hop %d", int(hops))
		}
	case "unknown":
		if detail != "" {
			return detail // it says "cannot tell ..." and why
		}
		head = "cannot tell"
	}
	if detail == "" {
		return head
	}
	return head + ": " + detail
}
