package engine

import (
	"fmt"
	"net/netip"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/netprobe/netprobe/internal/bwtest"
	"github.com/netprobe/netprobe/internal/capacity"
	"github.com/netprobe/netprobe/internal/probes"
	"github.com/netprobe/netprobe/internal/result"
	"github.com/netprobe/netprobe/internal/topology"
)

func portCheck(expect, confidence string) Check {
	return Check{
		ID: "port/sql01/cs01/443/tcp", Kind: result.CheckPort, Rule: "FB-VM-CS", Phase: topology.PhaseFailback,
		From: "sql01", To: "cs01", Address: "192.168.50.4", Port: 443, Proto: topology.ProtoTCP, Expect: expects[expect],
		Confidence: confidences[confidence], ErrorCode: "95226", FromAddress: "10.10.5.10", Timeout: 2 * time.Second,
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

// TestJudgePortAdaptiveWait: a port the adaptive wait filtered says how long it listened and
// how fast the host's agent port answered, not the whole timeout it did not wait; the verdict
// is a dropped port's.
func TestJudgePortAdaptiveWait(t *testing.T) {
	c := portCheck("open", "doc")
	m := probes.PortResult{State: probes.Filtered, Reason: probes.Timeout, SourceIP: "10.10.5.10",
		Waited: 520 * time.Millisecond, HostRTT: 3 * time.Millisecond}
	r := JudgePort(c, m, AnsweredResponder)
	if want := "no answer to 2 tries within 520.0ms, while the host's agent port answered in 3.0ms"; r.Status != result.Fail || !strings.Contains(r.Message, want) {
		t.Errorf("%s %q, want fail with %q", r.Status, r.Message, want)
	}
	if !strings.Contains(r.Hint, "drops it") {
		t.Errorf("hint %q, want a dropped port's", r.Hint)
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

func TestJudgePairPartnerNotMeasured(t *testing.T) {
	closed := result.Result{ID: "a", Check: "port", Status: result.Fail, State: "closed", Confidence: "uncertain"}
	for _, other := range []result.Status{result.Error, result.Skip} {
		a, b := JudgePair(closed, result.Result{ID: "b", Status: other})
		if a.Status != result.Warn || !strings.Contains(a.Message, "other direction was not measured") {
			t.Errorf("partner %v: %v %q, want a warn judged alone (uncertain rule)", other, a.Status, a.Message)
		}
		if b.Status != other {
			t.Errorf("partner changed to %v", b.Status)
		}
	}
	// The documented confidence of a side judged alone keeps its fail.
	doc := closed
	doc.Confidence = "doc"
	if got := JudgeAlone(doc); got.Status != result.Fail {
		t.Errorf("doc rule judged alone: %v", got.Status)
	}
}

func TestJudgePairKeepsNAT(t *testing.T) {
	natted := result.Result{ID: "a", Status: result.Fail, State: "open", Metrics: map[string]any{"nat": true}}
	open := result.Result{ID: "b", Status: result.Pass, State: "open"}
	a, b := JudgePair(natted, open)
	if a.Status != result.Fail {
		t.Errorf("NAT'd side: %v, want fail", a.Status)
	}
	if b.Status != result.Pass {
		t.Errorf("clean side: %v, want pass (it is open and not translated)", b.Status)
	}
}

func TestJudgePath(t *testing.T) {
	c := Check{ID: "path/ps-az/s2s", Kind: "path", From: "ps-az", To: "s2s", Address: "10.10.0.8"}
	hop := func(a string) probes.Hop { return probes.Hop{Addr: a} }
	cases := []struct {
		name    string
		m       probes.PathResult
		want    result.Status
		message string
	}{
		{"private", probes.PathResult{Hops: []probes.Hop{hop("10.20.1.1"), hop("172.31.255.1"), hop("10.10.0.8")}, Reached: true, Private: true}, result.Pass, "stays private"},
		{"public hop", probes.PathResult{Hops: []probes.Hop{hop("10.20.1.1"), hop("203.0.113.9"), hop("10.10.0.8")}, Reached: true}, result.Fail, "leaves the private network at 203.0.113.9"},
		{"silent gateway", probes.PathResult{Hops: []probes.Hop{hop("10.20.1.1"), hop(""), hop("10.10.0.8")}, Reached: true}, result.Warn, "some stayed silent"},
		{"not reached", probes.PathResult{Hops: []probes.Hop{hop("10.20.1.1"), hop("")}}, result.Warn, "did not reach"},
		{"stopped by a filter", probes.PathResult{Hops: []probes.Hop{hop("10.20.1.1"), {TTL: 2, Addr: "172.31.255.1", Note: "!X"}}}, result.Warn, "did not reach 10.10.0.8 (10.20.1.1 -> 172.31.255.1 !X)"},
		{"public and not reached", probes.PathResult{Hops: []probes.Hop{hop("198.51.100.1"), hop("")}}, result.Fail, "leaves the private network"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			r := JudgePath(c, tc.m)
			if r.Status != tc.want || !strings.Contains(r.Message, tc.message) {
				t.Errorf("%v %q, want %v containing %q", r.Status, r.Message, tc.want, tc.message)
			}
		})
	}
}

func TestJudgeICMPErrorTokens(t *testing.T) {
	c := Check{ID: "icmp/sql01/cs01", Kind: "icmp", From: "sql01", To: "cs01", Address: "192.168.50.4", Confidence: topology.ConfDoc}
	for in, want := range map[string]string{
		"3x icmp-admin-prohibited from 10.1.2.3": "filtered/icmp-admin-prohibited",
		"host-unreachable from 10.0.0.1":         "unreachable/icmp-host-unreachable",
		"net-unreachable from 10.0.0.1":          "unreachable/icmp-net-unreachable",
	} {
		r := JudgeICMP(c, probes.ICMPResult{Sent: 3, Errors: []string{in}})
		if got := r.State + "/" + r.Reason; got != want || r.Status != result.Fail {
			t.Errorf("%q: %v %s, want fail %s", in, r.Status, got, want)
		}
	}
}

func TestHostOnly(t *testing.T) {
	for in, want := range map[string]string{
		"10.0.0.1:443": "10.0.0.1", "10.0.0.1": "10.0.0.1", "fd00::5": "fd00::5",
		"[fd00::5]:9443": "fd00::5", "cs01.contoso.local:443": "cs01.contoso.local", "cs01": "cs01",
	} {
		if got := hostOnly(in); got != want {
			t.Errorf("hostOnly(%q) = %q, want %q", in, got, want)
		}
	}
}

func TestJudgePairKeepsTLSWarning(t *testing.T) {
	tlsBad := result.Result{ID: "a", Status: result.Warn, State: "open", Metrics: map[string]any{"tls_warning": true}}
	open := result.Result{ID: "b", Status: result.Pass, State: "open"}
	a, b := JudgePair(tlsBad, open)
	if a.Status != result.Warn || b.Status != result.Pass {
		t.Errorf("got %v/%v, want warn (TLS problem) / pass", a.Status, b.Status)
	}
}

func TestJudgeDNSConsistencyNeedsTwoAnsweringSites(t *testing.T) {
	c := Check{ID: "dns/cs01.contoso.local", Kind: "dns", Address: "cs01.contoso.local"}
	ok := probes.DNSAnswer{Server: "onprem", Rcode: "NOERROR", Records: []string{"10.10.0.4"}}
	if r := JudgeDNSConsistency(c, []probes.DNSAnswer{ok}, []string{"onprem"}); r.Status != result.Skip {
		t.Errorf("one site: %v, want skip", r.Status)
	}
	other := probes.DNSAnswer{Server: "azure", Rcode: "NOERROR", Records: []string{"10.20.9.9"}}
	if r := JudgeDNSConsistency(c, []probes.DNSAnswer{ok, other}, []string{"onprem", "azure"}); r.Status != result.Warn {
		t.Errorf("different answers: %v, want warn", r.Status)
	}
}

// TestJudgeBandwidthHeadroomEdges: the published headroom is on the same side of 1 and 1.2
// as the verdict, also where rounding to nearest would cross (0.996 is a fail, not "1.00").
func TestJudgeBandwidthHeadroomEdges(t *testing.T) {
	const required = 100e6
	for _, tc := range []struct {
		name     string
		measured float64 // bits per second
		want     result.Status
		below    float64 // the published headroom is below this
		atLeast  float64 // ... and at least this
	}{
		{"just short", 99.6e6, result.Fail, 1, 0.99},
		{"exactly enough to carry it", 100e6, result.Warn, 1.2, 1},
		{"just tight", 119.6e6, result.Warn, 1.2, 1.19},
		{"exactly comfortable", 120e6, result.Pass, 1.21, 1.2},
		{"comfortable", 250e6, result.Pass, 2.51, 2.5},
	} {
		t.Run(tc.name, func(t *testing.T) {
			c := Check{ID: "bandwidth/ps-az/mt01/4", Kind: result.CheckBandwidth, From: "ps-az", To: "mt01", RequiredBps: required, Streams: 4}
			r := JudgeBandwidth(c, bwtest.Result{Streams: 4, Rate: capacity.BitsPerSecond(tc.measured)}, "ps-az")
			head, ok := r.Metrics["headroom"].(float64)
			if !ok {
				t.Fatalf("no headroom in %v", r.Metrics)
			}
			if r.Status != tc.want || head >= tc.below || head < tc.atLeast {
				t.Errorf("%s with headroom %v, want %s with headroom in [%v, %v)", r.Status, head, tc.want, tc.atLeast, tc.below)
			}
			if want := fmt.Sprintf("(headroom %.2f)", head); !strings.Contains(r.Message, want) {
				t.Errorf("message %q does not say %s", r.Message, want)
			}
		})
	}
}

// TestJudgePathDeclaredRanges: "private end to end" means no hop on the public internet. A hop
// counts as inside when it is private, loopback, in a declared site network or in the link's
// own peering range. ExpressRoute private peering may number its peering subnets with public
// addresses, so there an undeclared public hop is a warning that names it; over a VPN it
// means the traffic left the tunnel.
func TestJudgePathDeclaredRanges(t *testing.T) {
	pfx := netip.MustParsePrefix
	ranges := []NamedRange{
		{Prefix: pfx("10.10.0.0/16"), Name: "sites.onprem"},
		{Prefix: pfx("198.51.100.0/24"), Name: "sites.onprem"}, // a site numbered with public addresses
		{Prefix: pfx("10.20.0.0/16"), Name: "sites.azure"},
	}
	peering := append(slices.Clone(ranges), NamedRange{Prefix: pfx("203.0.113.0/30"), Name: "links.er1.peering"})
	hop := func(a string) probes.Hop { return probes.Hop{Addr: a} }
	viaPublic := probes.PathResult{Hops: []probes.Hop{hop("10.20.0.1"), hop("203.0.113.1"), hop("203.0.113.2"), hop("10.10.0.8")}, Reached: true}
	siteHop := probes.PathResult{Hops: []probes.Hop{hop("10.20.0.1"), hop("198.51.100.1"), hop("10.10.0.8")}, Reached: true}
	cases := []struct {
		name   string
		kind   topology.LinkKind
		ranges []NamedRange
		m      probes.PathResult
		want   result.Status
		msg    []string
		hint   string
	}{
		{"ExpressRoute, peering undeclared", topology.LinkExpressRoutePrivate, ranges, viaPublic, result.Warn,
			[]string{"203.0.113.1, 203.0.113.2", "outside every declared range"}, "links[].peering"},
		{"ExpressRoute, peering declared", topology.LinkExpressRoutePrivate, peering, viaPublic, result.Pass,
			[]string{"203.0.113.1 (links.er1.peering)", "off the public internet"}, ""},
		{"VPN, public hop undeclared", topology.LinkVPN, ranges, viaPublic, result.Fail,
			[]string{"left the tunnel", "203.0.113.1"}, "links[].peering"},
		{"VPN, gateway declared", topology.LinkVPN, peering, viaPublic, result.Pass, []string{"(links.er1.peering)"}, ""},
		{"public addresses of a declared site", topology.LinkVPN, ranges, siteHop, result.Pass, []string{"198.51.100.1 (sites.onprem)"}, ""},
		{"ExpressRoute, public hop and silent hops", topology.LinkExpressRoutePrivate, ranges,
			probes.PathResult{Hops: []probes.Hop{hop("10.20.0.1"), hop(""), hop("203.0.113.1")}}, result.Warn, []string{"203.0.113.1", "did not reach"}, "links[].peering"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			c := Check{ID: "path/ps-az/er1", Kind: "path", From: "ps-az", To: "er1", Address: "10.10.0.8", LinkKind: tc.kind, Ranges: tc.ranges}
			r := JudgePath(c, tc.m)
			if r.Status != tc.want {
				t.Errorf("status %v, want %v: %s", r.Status, tc.want, r.Message)
			}
			for _, m := range tc.msg {
				if !strings.Contains(r.Message, m) {
					t.Errorf("message %q lacks %q", r.Message, m)
				}
			}
			if !strings.Contains(r.Hint, tc.hint) {
				t.Errorf("hint %q lacks %q", r.Hint, tc.hint)
			}
			if r.Status == result.Pass && !strings.Contains(r.Message, "NAT") {
				t.Errorf("a passing path should say NAT is judged by the port checks: %q", r.Message)
			}
		})
	}
}

// TestJudgePathLinkLocal: a tunnel interface answering from its APIPA BGP address is inside.
func TestJudgePathLinkLocal(t *testing.T) {
	c := Check{ID: "path/ps-az/s2s", Kind: "path", From: "ps-az", To: "s2s", Address: "10.10.0.8", LinkKind: topology.LinkVPN}
	r := JudgePath(c, probes.PathResult{Hops: []probes.Hop{{Addr: "10.20.0.1"}, {Addr: "169.254.21.1"}, {Addr: "10.10.0.8"}}, Reached: true})
	if r.Status != result.Pass {
		t.Errorf("%s: %s", r.Status, r.Message)
	}
}

// TestNATSeenByEcho: the agents' UDP echo shows NAT even when ASR's services hold the ports (no
// responder's hello): a passing latency result then fails, saying what the far agent saw.
func TestNATSeenByEcho(t *testing.T) {
	if s := natSeen(probes.LatencyResult{SourceIP: "10.20.1.4", ObservedSource: "10.20.1.4:40000"}); s != "" {
		t.Errorf("no NAT: %q", s)
	}
	seen := natSeen(probes.LatencyResult{SourceIP: "10.20.1.4", ObservedSource: "198.51.100.7:40000"})
	r := result.Result{Status: result.Pass, Message: "ps-az -> mt01: p50 1ms"}
	markNAT(&r, seen)
	if r.Status != result.Fail || r.Metrics["nat"] != true || !strings.Contains(r.Message, "saw the source as 198.51.100.7, not 10.20.1.4") {
		t.Errorf("NAT: %+v", r)
	}
}
