package engine

import (
	"strings"
	"testing"
	"time"

	"github.com/netprobe/netprobe/internal/probes"
	"github.com/netprobe/netprobe/internal/result"
)

func portCheck(expect, confidence string) Check {
	return Check{
		ID: "port/sql01/cs01/443/tcp", Kind: result.CheckPort, Rule: "FB-VM-CS", Phase: "failback",
		From: "sql01", To: "cs01", Address: "192.168.50.4", Port: 443, Proto: "tcp", Expect: expect,
		Confidence: confidence, ErrorCode: "95226", FromAddress: "10.10.5.10", Timeout: 2 * time.Second,
	}
}

func TestJudgePort(t *testing.T) {
	cases := []struct {
		name         string
		expect, conf string
		state        probes.PortState
		reason       probes.Reason
		by           AnsweredBy
		want         result.Status
		msg, hint    string
	}{
		{"open as expected", "open", "doc", probes.Open, probes.SynAck, AnsweredResponder, result.Pass, "reaches cs01 on 443/tcp (syn-ack, answered by responder)", ""},
		{"dropped", "open", "doc", probes.Filtered, probes.Timeout, AnsweredResponder, result.Fail, "no answer within 2s", "drops it. Allow tcp 10.10.5.10 -> 192.168.50.4:443 (ASR error 95226)."},
		{"admin prohibited", "open", "doc", probes.Filtered, probes.ICMPAdminProhibited, AnsweredResponder, result.Fail, "a firewall rejected it (icmp-admin-prohibited)", "rejects it"},
		{"reset with responder", "open", "doc", probes.Closed, probes.Reset, AnsweredResponder, result.Fail, "answered with reset", "rejects it with a TCP reset"},
		{"reset with no agent", "open", "doc", probes.Closed, probes.Reset, AnsweredUnknown, result.Fail, "nothing listens", "run a netprobe agent on cs01"},
		{"no route", "open", "doc", probes.Unreachable, probes.NoRoute, AnsweredUnknown, result.Fail, "no-route", "No route from sql01"},
		{"uncertain demoted", "open", "uncertain", probes.Filtered, probes.Timeout, AnsweredResponder, result.Warn, "not documented by Microsoft", "Allow"},
		{"blocked and closed", "blocked", "doc", probes.Closed, probes.Reset, AnsweredUnknown, result.Pass, "as expected", ""},
		{"blocked and filtered", "blocked", "doc", probes.Filtered, probes.Timeout, AnsweredUnknown, result.Pass, "as expected", ""},
		{"blocked but open", "blocked", "doc", probes.Open, probes.SynAck, AnsweredService, result.Fail, "should be blocked", "Deny tcp"},
		{"udp cannot tell", "open", "doc", probes.OpenFiltered, probes.NoResponse, AnsweredUnknown, result.Warn, "cannot tell open from filtered", "UDP echo"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			c := portCheck(tc.expect, tc.conf)
			r := JudgePort(c, probes.PortResult{State: tc.state, Reason: tc.reason, SourceIP: "10.10.5.10"}, tc.by)
			if r.Status != tc.want {
				t.Errorf("status = %v, want %v (%s)", r.Status, tc.want, r.Message)
			}
			if !strings.Contains(r.Message, tc.msg) {
				t.Errorf("message %q lacks %q", r.Message, tc.msg)
			}
			if !strings.Contains(r.Hint, tc.hint) {
				t.Errorf("hint %q lacks %q", r.Hint, tc.hint)
			}
			if r.State != tc.state.String() || r.Reason != tc.reason.String() || r.Rule != "FB-VM-CS" || r.ID != c.ID {
				t.Errorf("fields not carried: %+v", r)
			}
		})
	}
}

func TestJudgePair(t *testing.T) {
	mk := func(id, state string) result.Result {
		return result.Result{ID: id, Check: "port", Status: result.Fail, State: state}
	}
	cases := []struct {
		name   string
		a, b   string
		wa, wb result.Status
	}{
		{"both open", "open", "open", result.Pass, result.Pass},
		{"neither", "filtered", "closed", result.Fail, result.Fail},
		{"only first", "open", "filtered", result.Pass, result.Warn},
		{"only second", "filtered", "open", result.Warn, result.Pass},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			a, b := JudgePair(mk("a", tc.a), mk("b", tc.b))
			if a.Status != tc.wa || b.Status != tc.wb {
				t.Errorf("got %v/%v, want %v/%v", a.Status, b.Status, tc.wa, tc.wb)
			}
		})
	}
}
