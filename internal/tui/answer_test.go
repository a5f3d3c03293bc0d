package tui

import (
	"strings"
	"testing"

	"github.com/charmbracelet/x/ansi"

	"github.com/netprobe/netprobe/internal/result"
)

// TestDetailAnswerAndEvidence: the detail pane of a refused port check says who sent the
// refusal and where its packets are.
func TestDetailAnswerAndEvidence(t *testing.T) {
	res := result.Result{ID: "port/sql01/cs01/443/tcp", Check: result.CheckPort, From: "sql01", To: "cs01", Status: result.Fail,
		State: "closed", Reason: "reset", Message: "refused", Evidence: "/var/ev/port_sql01_cs01_443_tcp.pcapng",
		Metrics: map[string]any{"answer_from": "device", "answer_ip": "10.10.0.1", "answer_hops": 1.0,
			"answer_detail": "the reset was sent by 10.10.0.1, 2 hop(s) before the host"}}
	r := &row{}
	r.set(res, true)
	text := ansi.Strip(strings.Join(detailLines(r, nil, nil, 200, DefaultStyles(DefaultTheme(), true)), "\n"))
	for _, want := range []string{
		"Answered: device 10.10.0.1, hop 1: the reset was sent by 10.10.0.1, 2 hop(s) before the host",
		"Evidence: /var/ev/port_sql01_cs01_443_tcp.pcapng",
	} {
		if !strings.Contains(text, want) {
			t.Errorf("detail pane lacks %q:\n%s", want, text)
		}
	}
	res.Metrics = map[string]any{"answer_from": "unknown", "answer_detail": "cannot tell who refused the probe: no privilege"}
	res.Evidence = ""
	r.set(res, true)
	text = ansi.Strip(strings.Join(detailLines(r, nil, nil, 200, DefaultStyles(DefaultTheme(), true)), "\n"))
	if !strings.Contains(text, "Answered: cannot tell who refused the probe: no privilege") || strings.Contains(text, "Evidence:") {
		t.Errorf("detail pane of an unknown answer:\n%s", text)
	}
}
