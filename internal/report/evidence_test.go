package report

import (
	"bytes"
	"strings"
	"testing"
	"time"

	"github.com/netprobe/netprobe/internal/result"
)

// TestReportAnswerAndEvidence: a port check refused by a forging device reads so in the
// failing flows, with a link to its packets, in Markdown and HTML; one the host refused says
// the host.
func TestReportAnswerAndEvidence(t *testing.T) {
	at := time.Date(2026, 11, 25, 14, 0, 0, 0, time.UTC)
	rs := []result.Result{
		{ID: "port/sql01/cs01/443/tcp", Check: "port", Rule: "FB-VM-CS", From: "sql01", To: "cs01", Target: "10.10.0.4:443", Proto: "tcp",
			Status: result.Fail, State: "closed", Reason: "reset", Message: "refused", Hint: "allow it at 10.10.5.1",
			Metrics:  map[string]any{"answer_from": "device", "answer_ip": "10.10.5.1", "answer_hops": 1.0},
			Evidence: "/var/lib/netprobe/evidence/port_sql01_cs01_443_tcp.pcapng"},
		{ID: "port/app01/cs01/443/tcp", Check: "port", Rule: "FB-VM-CS", From: "app01", To: "cs01", Target: "10.10.0.4:443", Proto: "tcp",
			Status: result.Fail, State: "closed", Reason: "reset", Message: "refused", Metrics: map[string]any{"answer_from": "host", "answer_hops": 3}},
	}
	rep := Build([]result.Run{result.NewRun("t", at, time.Second, rs)}, Inputs{})
	var md, page bytes.Buffer
	if err := rep.Markdown(&md); err != nil {
		t.Fatal(err)
	}
	if err := rep.HTML(&page); err != nil {
		t.Fatal(err)
	}
	for _, want := range []string{
		"closed (reset), sent by the device 10.10.5.1, hop 1 ([packets](file:///var/lib/netprobe/evidence/port_sql01_cs01_443_tcp.pcapng))",
		"closed (reset), sent by the host itself |",
	} {
		if !strings.Contains(md.String(), want) {
			t.Errorf("markdown lacks %q", want)
		}
	}
	if want := `closed (reset), sent by the device 10.10.5.1, hop 1 (<a href="file:///var/lib/netprobe/evidence/port_sql01_cs01_443_tcp.pcapng">packets</a>)`; !strings.Contains(page.String(), want) {
		t.Errorf("HTML lacks %q", want)
	}
}

func TestEvidenceURL(t *testing.T) {
	for _, c := range []struct{ path, want string }{
		{"/var/ev/a b.pcapng", "file:///var/ev/a%20b.pcapng"},
		{"C:/ev/port_x.pcapng", "file:///C:/ev/port_x.pcapng"},
	} {
		if got := evidenceURL(c.path); got != c.want {
			t.Errorf("evidenceURL(%q) = %q, want %q", c.path, got, c.want)
		}
	}
}

// TestTextEvidence: the text format names a failing check's packets under its hint.
func TestTextEvidence(t *testing.T) {
	r := result.Result{ID: "port/sql01/cs01/443/tcp", Check: "port", Status: result.Fail, Message: "refused", Hint: "allow it",
		Evidence: "/var/ev/port_sql01_cs01_443_tcp.pcapng"}
	var buf bytes.Buffer
	if err := (Text{}).Format(&buf, result.NewRun("t", time.Time{}, 0, []result.Result{r})); err != nil {
		t.Fatal(err)
	}
	if want := "      hint: allow it\n      packets: /var/ev/port_sql01_cs01_443_tcp.pcapng\n"; !strings.Contains(buf.String(), want) {
		t.Errorf("text:\n%s\nwant %q", buf.String(), want)
	}
}
