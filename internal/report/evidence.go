package report

import (
	"fmt"
	"html/template"
	"net/url"
	"path/filepath"
	"strings"

	"github.com/netprobe/netprobe/internal/result"
)

// Who answered a refused port check and its evidence file, as the report shows them in the
// failing flows (issue 16): the firewall team reads who sent the refusal and opens the
// packets.

// answerOf reads a result's answer metrics (engine/answer.go; numbers decode from JSON as
// float64).
func answerOf(r result.Result) (from, ip string, hops int) {
	from, _ = r.Metrics[result.MetricAnswerFrom].(string)
	ip, _ = r.Metrics[result.MetricAnswerIP].(string)
	switch v := r.Metrics[result.MetricAnswerHops].(type) {
	case float64:
		hops = int(v)
	case int:
		hops = v
	}
	return from, ip, hops
}

// answerText is "sent by the device 10.10.0.1, hop 1" or "sent by the host itself"; "" when
// no answer was judged or it cannot be told.
func answerText(f FlowFinding) string {
	switch f.AnswerFrom {
	case "device":
		s := "sent by a device on the path"
		if f.AnswerIP != "" {
			s = "sent by the device " + f.AnswerIP
		}
		if f.AnswerHops > 0 {
			s += fmt.Sprintf(", hop %d", f.AnswerHops)
		}
		return s
	case "host":
		return "sent by the host itself"
	}
	return ""
}

// evidenceURL is an evidence file as a file: URL, for a link that opens it locally.
func evidenceURL(path string) string {
	p := filepath.ToSlash(path)
	if !strings.HasPrefix(p, "/") {
		p = "/" + p // C:/evidence/x.pcapng
	}
	return (&url.URL{Scheme: "file", Path: p}).String()
}

// evidenceHref is evidenceURL for html/template, which would otherwise refuse a file: URL.
func evidenceHref(path string) template.URL { return template.URL(evidenceURL(path)) }
