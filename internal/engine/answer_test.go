package engine

import (
	"context"
	"errors"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/netprobe/netprobe/internal/probes"
	"github.com/netprobe/netprobe/internal/result"
	"github.com/netprobe/netprobe/internal/topology"
)

func TestJudgeAnswer(t *testing.T) {
	c := Check{ID: "port/sql01/cs01/443/tcp", Kind: result.CheckPort, From: "sql01", To: "cs01", Address: "10.10.0.4", Port: 443, Proto: topology.ProtoTCP,
		Expect: topology.ExpectOpen, FromAddress: "10.10.5.10", ErrorCode: "95226", ToAgent: "10.10.0.4:7411"}
	reset := probes.PortResult{State: probes.Closed, Reason: probes.Reset, SourceIP: "10.10.5.10"}
	device := &probes.Answer{From: probes.AnswerDevice, Packet: "tcp-reset", TTL: 64, HostTTL: 62, Hops: 1, HostHops: 3, Device: "10.10.5.1",
		Detail: "the reset was sent by 10.10.5.1, 2 hop(s) before the host (TTL 64 where the host's own answers arrive with 62, echo-reply): a firewall forges it"}
	cases := []struct {
		name        string
		answer      *probes.Answer
		from        any
		hops        any
		message     string
		hint        string
		messageFrom string // the message JudgePort alone gives, kept
	}{
		{"a device forged the reset", device, "device", 1,
			"sql01 cannot reach cs01 on 443/tcp: the reset was sent by 10.10.5.1, 2 hop(s) before the host",
			"A firewall at 10.10.5.1 (hop 1 from sql01) forges the host's reset. Allow tcp 10.10.5.10 -> 10.10.0.4:443 there (ASR error 95226).", ""},
		{"the host sent it", &probes.Answer{From: probes.AnswerHost, Packet: "tcp-reset", TTL: 62, HostTTL: 62, Hops: 3, HostHops: 3, Detail: "the reset was sent by the host itself"},
			"host", 3, "the host itself sent the refusal (tcp-reset, TTL 62 as its own answers)", "", "the host answered with reset"},
		{"cannot tell", &probes.Answer{From: probes.AnswerUnknown, Detail: "cannot tell who refused the probe: reading the packets needs a raw socket"},
			"unknown", nil, "the host answered with reset", "", "the host answered with reset"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			m := reset
			m.Answer = tc.answer
			r := JudgeAnswer(c, JudgePort(c, m, AnsweredUnknown), m)
			if r.Metrics[result.MetricAnswerFrom] != tc.from || r.Metrics[result.MetricAnswerHops] != tc.hops || r.Metrics[result.MetricAnswerDetail] != tc.answer.Detail {
				t.Errorf("metrics %v, want answer_from %v, answer_hops %v and the detail", r.Metrics, tc.from, tc.hops)
			}
			if !strings.Contains(r.Message, tc.message) || (tc.messageFrom != "" && !strings.Contains(r.Message, tc.messageFrom)) {
				t.Errorf("message %q, want %q", r.Message, tc.message)
			}
			if tc.hint != "" && r.Hint != tc.hint {
				t.Errorf("hint %q\nwant %q", r.Hint, tc.hint)
			}
			if r.Status != result.Fail {
				t.Errorf("status %v, want fail", r.Status)
			}
		})
	}
	t.Run("the host's own firewall resets though the responder listens", func(t *testing.T) {
		m := reset
		m.Answer = &probes.Answer{From: probes.AnswerHost, Packet: "tcp-reset", TTL: 62, Detail: "the reset was sent by the host itself"}
		r := JudgeAnswer(c, JudgePort(c, m, AnsweredResponder), m)
		if want := "The host itself refused it, though the netprobe responder listens on the port: its own firewall rejects the flow. In the host's firewall, allow tcp 10.10.5.10 -> 10.10.0.4:443 (ASR error 95226)."; r.Hint != want {
			t.Errorf("hint %q\nwant %q", r.Hint, want)
		}
	})
	t.Run("admin-prohibited from a router", func(t *testing.T) {
		m := probes.PortResult{State: probes.Filtered, Reason: probes.ICMPAdminProhibited, ICMPFrom: "10.10.5.1", SourceIP: "10.10.5.10",
			Answer: &probes.Answer{From: probes.AnswerDevice, Packet: "icmp 3/13", Hops: 1, Device: "10.10.5.1", Detail: "the ICMP error was sent by 10.10.5.1"}}
		r := JudgeAnswer(c, JudgePort(c, m, AnsweredResponder), m)
		if want := "A router or firewall at 10.10.5.1 (hop 1 from sql01) refuses it (icmp 3/13), not the host: allow tcp 10.10.5.10 -> 10.10.0.4:443 there (ASR error 95226)."; r.Hint != want {
			t.Errorf("hint %q\nwant %q", r.Hint, want)
		}
	})
	t.Run("a pass is left alone", func(t *testing.T) {
		pc := c
		pc.Expect = topology.ExpectBlocked
		m := reset
		m.Answer = device
		r := JudgeAnswer(pc, JudgePort(pc, m, AnsweredUnknown), m)
		if r.Status != result.Pass || strings.Contains(r.Message, "forges") || r.Metrics[result.MetricAnswerFrom] != "device" {
			t.Errorf("got %v %q %v: want a pass that keeps its message and records the answer", r.Status, r.Message, r.Metrics)
		}
	})
}

// evidenceProber answers port probes: closed by a reset on port 443 (with a capture), open
// elsewhere; it records the requests.
type evidenceProber struct {
	sleepyProber
	mu   sync.Mutex // guards reqs
	reqs []probes.PortRequest
}

func (p *evidenceProber) Probe(ctx context.Context, kind string, params, res any) error {
	req, ok := params.(probes.PortRequest)
	out, ok2 := res.(*probes.PortResult)
	if !ok || !ok2 {
		return p.sleepyProber.Probe(ctx, kind, params, res)
	}
	p.mu.Lock()
	p.reqs = append(p.reqs, req)
	p.mu.Unlock()
	*out = probes.PortResult{State: probes.Open, Reason: probes.SynAck}
	if strings.HasSuffix(req.Address, ":443") {
		*out = probes.PortResult{State: probes.Closed, Reason: probes.Reset,
			Answer: &probes.Answer{From: probes.AnswerDevice, Hops: 1, Device: "10.10.5.1", Detail: "the reset was sent by 10.10.5.1"}}
		if req.Capture {
			out.Capture = &probes.Capture{Flow: "tcp 10.10.5.10.40000 > 10.10.0.4.443", Packets: []probes.CapturedPacket{{Data: []byte{0x45}, Len: 40}}}
		}
	}
	return nil
}

// TestRunEvidence: with an evidence writer, port probes ask for their packets, the failing
// check's go to the writer and its result names the file; a passing check writes nothing.
func TestRunEvidence(t *testing.T) {
	plan := []Check{
		{ID: "port/sql01/cs01/443/tcp", Kind: result.CheckPort, From: "sql01", To: "cs01", FromAgent: "sql01:7411", ToAgent: "10.10.0.4:7411",
			Address: "10.10.0.4", Port: 443, Proto: topology.ProtoTCP, Expect: topology.ExpectOpen, Timeout: time.Second},
		{ID: "port/sql01/cs01/9443/tcp", Kind: result.CheckPort, From: "sql01", To: "cs01", FromAgent: "sql01:7411",
			Address: "10.10.0.4", Port: 9443, Proto: topology.ProtoTCP, Expect: topology.ExpectOpen, Timeout: time.Second},
	}
	fake := &evidenceProber{}
	var mu sync.Mutex
	written := map[string]*probes.Capture{}
	r := &Runner{Dial: func(ctx context.Context, addr string) (Prober, error) {
		if addr != "sql01:7411" {
			return nil, errors.New("no agent here")
		}
		return fake, nil
	}, Evidence: func(id string, c *probes.Capture) (string, error) {
		mu.Lock()
		defer mu.Unlock()
		written[id] = c
		return "/evidence/" + id + ".pcapng", nil
	}}
	got, _, _ := collect(t, r.Run(context.Background(), plan))
	failing, passing := got["port/sql01/cs01/443/tcp"], got["port/sql01/cs01/9443/tcp"]
	if failing.Status != result.Fail || failing.Evidence != "/evidence/port/sql01/cs01/443/tcp.pcapng" || failing.Metrics[result.MetricAnswerFrom] != "device" {
		t.Errorf("failing check: %v evidence %q metrics %v", failing.Status, failing.Evidence, failing.Metrics)
	}
	if passing.Status != result.Pass || passing.Evidence != "" {
		t.Errorf("passing check: %v evidence %q, want pass without evidence", passing.Status, passing.Evidence)
	}
	if len(written) != 1 || written["port/sql01/cs01/443/tcp"] == nil {
		t.Errorf("written %v, want the failing check's capture only", written)
	}
	for _, req := range fake.reqs {
		if !req.Capture {
			t.Errorf("%s: the probe did not ask for its packets", req.Address)
		}
		if strings.HasSuffix(req.Address, ":443") && (len(req.RefPorts) != 1 || req.RefPorts[0] != 7411) {
			t.Errorf("%s: ref ports %v, want the destination agent's 7411", req.Address, req.RefPorts)
		}
	}

	t.Run("no packets: the result says why", func(t *testing.T) {
		r.Evidence = func(string, *probes.Capture) (string, error) { return "", errors.New("disk full") }
		got, _, _ := collect(t, r.Run(context.Background(), plan[:1]))
		if e := got[plan[0].ID].Metrics[result.MetricEvidenceError]; e != "disk full" {
			t.Errorf("evidence_error %v, want the writer's error", e)
		}
	})
}
