package engine

import (
	"net/netip"
	"strings"
	"testing"

	"github.com/netprobe/netprobe/internal/probes"
	"github.com/netprobe/netprobe/internal/result"
	"github.com/netprobe/netprobe/internal/topology"
)

func TestPrivateLinkName(t *testing.T) {
	for name, want := range map[string]bool{
		"labkv.privatelink.vaultcore.azure.net":                               true,
		"vault1-asr-pod01-rcm1.weu.privatelink.siterecovery.windowsazure.com": true,
		"acct.privatelink.blob.core.windows.net.":                             true,
		"acct.blob.core.windows.net":                                          false,
		"privatelink.blob.core.windows.net":                                   false, // the zone itself
		"privatelink-app.contoso.com":                                         false,
		"login.microsoftonline.com":                                           false,
	} {
		if got := privateLinkName(name); got != want {
			t.Errorf("%s: %v, want %v", name, got, want)
		}
	}
}

func TestJudgePrivateEndpoint(t *testing.T) {
	pe := Check{ID: "endpoint/web01/labkv.privatelink.vaultcore.azure.net/443/tcp", Kind: result.CheckEndpoint, From: "web01",
		To: "labkv.privatelink.vaultcore.azure.net", Address: "labkv.privatelink.vaultcore.azure.net", Port: 443, Proto: topology.ProtoTCP,
		Ranges: []NamedRange{{Prefix: netip.MustParsePrefix("20.40.0.0/16"), Name: "sites.azure"}}}
	handshake := probes.TLSResult{Version: "TLS 1.3", Subject: "CN=labkv.privatelink.vaultcore.azure.net", Verified: true}
	with := func(m probes.TLSResult, addr string) probes.TLSResult { m.RemoteAddr = addr; return m }
	for _, tc := range []struct {
		name     string
		c        Check
		m        probes.TLSResult
		want     result.Status
		wantText string
	}{
		{"private address", pe, with(handshake, "10.40.2.40:443"), result.Pass, "resolved to the private address 10.40.2.40"},
		{"public address", pe, with(handshake, "203.0.113.20:443"), result.Fail, "resolved on web01 to the public address 203.0.113.20"},
		{"a site network numbered in public space", pe, with(handshake, "20.40.2.40:443"), result.Pass, "private address 20.40.2.40"},
		{"through a proxy", pe, handshake, result.Pass, "the proxy resolved"},
		{"handshake failed, public", pe, with(probes.TLSResult{HandshakeError: "EOF"}, "203.0.113.20:443"), result.Fail, "no TLS handshake completed"},
		{"not a private endpoint's name", Check{From: "web01", To: "login.microsoftonline.com", Address: "login.microsoftonline.com", Port: 443, Proto: topology.ProtoTCP},
			with(handshake, "203.0.113.20:443"), result.Pass, "login.microsoftonline.com:443: TLS 1.3"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			r := JudgePrivateEndpoint(tc.c, tc.m, JudgeTLS(tc.c, tc.m))
			if r.Status != tc.want || !strings.Contains(r.Message, tc.wantText) {
				t.Errorf("%s: %q; want %s saying %q", r.Status, r.Message, tc.want, tc.wantText)
			}
			if tc.want == result.Fail && tc.m.Version != "" && !strings.Contains(r.Hint, "privatelink.vaultcore.azure.net") {
				t.Errorf("hint %q does not name the private DNS zone", r.Hint)
			}
		})
	}
}

// TestPlanPrivateEndpointRanges: a private endpoint's name named in azure.endpoints is checked
// against the sites' networks, like a path's hops.
func TestPlanPrivateEndpointRanges(t *testing.T) {
	tp := loadTopology(t, "../../topologies/modernized.yaml")
	tp.Azure.Endpoints = []string{"fabrikam-kv.privatelink.vaultcore.azure.net"}
	plan := Plan(tp, Options{Only: []string{"privatelink"}})
	if len(plan) == 0 {
		t.Fatal("no check of the private endpoint's name")
	}
	for _, c := range plan {
		var got []string
		for _, r := range c.Ranges {
			got = append(got, r.Prefix.String()+"("+r.Name+")")
		}
		if strings.Join(got, " ") != "10.40.0.0/16(sites.azure) 10.30.0.0/16(sites.onprem)" {
			t.Errorf("%s: ranges %v, want both sites' networks", c.ID, got)
		}
	}
}
