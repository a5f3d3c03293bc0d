package engine

import (
	"fmt"
	"testing"

	"github.com/netprobe/netprobe/internal/probes"
	"github.com/netprobe/netprobe/internal/result"
	"github.com/netprobe/netprobe/internal/topology"
)

func TestPlanApplianceListen(t *testing.T) {
	tp, err := topology.Load("../../topologies/modernized.yaml")
	if err != nil {
		t.Fatal(err)
	}
	var got []string
	for _, c := range Plan(tp, Options{Only: []string{"/listen-"}}) {
		got = append(got, c.ID+" "+c.Target())
	}
	want := []string{"host/asr-appliance/listen-443 127.0.0.1:443", "host/asr-appliance/listen-9443 127.0.0.1:9443"}
	if fmt.Sprint(got) != fmt.Sprint(want) {
		t.Errorf("checks %v, want %v", got, want)
	}
	if n := len(Plan(tp, Options{Only: []string{"/listen-"}, NoHostFacts: true})); n != 0 {
		t.Errorf("--no-host-facts keeps %d listen checks", n)
	}
}

func TestJudgeListen(t *testing.T) {
	c := Check{ID: "host/apl/listen-443", Kind: result.CheckTLS, Rule: "RDM-APL-LISTEN", From: "apl", To: "apl", Address: "127.0.0.1", Port: 443}
	for _, tc := range []struct {
		name string
		m    probes.TLSResult
		err  error
		want result.Status
	}{
		{"TLS 1.3", probes.TLSResult{Version: "TLS 1.3"}, nil, result.Pass},
		{"TLS 1.2, self-signed", probes.TLSResult{Version: "TLS 1.2", VerifyError: "x509: unknown authority"}, nil, result.Pass},
		{"TLS 1.1 only", probes.TLSResult{Version: "TLS 1.1"}, nil, result.Fail},
		{"not TLS", probes.TLSResult{HandshakeError: "first record does not look like a TLS handshake"}, nil, result.Fail},
		{"nothing listens", probes.TLSResult{}, fmt.Errorf("%w: refused", probes.ErrRefused), result.Fail},
	} {
		t.Run(tc.name, func(t *testing.T) {
			if r := JudgeListen(c, tc.m, tc.err); r.Status != tc.want || (r.Status == result.Fail && r.Hint == "") {
				t.Errorf("%s (%s), want %s with a hint", r.Status, r.Message, tc.want)
			}
		})
	}
}
