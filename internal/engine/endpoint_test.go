package engine

import (
	"fmt"
	"strings"
	"testing"

	"github.com/netprobe/netprobe/internal/probes"
	"github.com/netprobe/netprobe/internal/result"
	"github.com/netprobe/netprobe/internal/topology"
)

// TestJudgeEndpointUnreached: a representative name that does not exist in DNS says nothing
// about the vault's own names (warn, asking for them); the vault's own name not resolving, or
// any endpoint that resolves but does not answer, is a real failure.
func TestJudgeEndpointUnreached(t *testing.T) {
	noName := fmt.Errorf("agent tls probe: %w: blob.core.windows.net:443 does not resolve", probes.ErrNoName)
	timeout := fmt.Errorf("agent tls probe: %w: no answer", probes.ErrTimeout)
	rep := Check{ID: "endpoint/cs01/blob.core.windows.net/443/tcp", Kind: result.CheckEndpoint, From: "cs01", To: "blob.core.windows.net",
		Address: "blob.core.windows.net", Port: 443, Proto: topology.ProtoTCP, Pattern: "*.blob.core.windows.net", Representative: true}
	own := rep
	own.Address, own.To, own.Representative = "contosocache01.blob.core.windows.net", "contosocache01.blob.core.windows.net", false
	tests := []struct {
		name string
		c    Check
		err  error
		want result.Status
	}{
		{"representative name does not exist", rep, noName, result.Warn},
		{"representative name silent", rep, timeout, result.Fail},
		{"the vault's own name does not resolve", own, noName, result.Fail},
		{"the vault's own name silent", own, timeout, result.Fail},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			r := JudgeEndpointUnreached(tc.c, tc.err)
			if r.Status != tc.want {
				t.Errorf("status %s, want %s: %s", r.Status, tc.want, r.Message)
			}
			if r.Hint == "" {
				t.Error("no hint")
			}
		})
	}
}

// TestSoftenEndpoint: a representative name refused by a filtering proxy, an optional endpoint
// and an undocumented one are warnings; the vault's own mandatory name stays a failure.
func TestSoftenEndpoint(t *testing.T) {
	fail := func(c Check) result.Result {
		r := base(c)
		r.Status, r.Message = result.Fail, "the proxy refused"
		return r
	}
	rep := Check{Rule: "MFB-APL-AZ", Address: "vault.azure.net", Pattern: "*.vault.azure.net", Representative: true, Confidence: topology.ConfDoc}
	opt := Check{Rule: "MFB-APL-AZ", Address: "aka.ms", Pattern: "aka.ms", Impact: "the appliance cannot update itself", Confidence: topology.ConfDoc}
	dropped := Check{Rule: "MFB-APL-AZ", Address: "backup.windowsazure.com", Pattern: "*.backup.windowsazure.com", Confidence: topology.ConfUncertain}
	own := Check{Rule: "MFB-APL-AZ", Address: "kv01.vault.azure.net", Pattern: "*.vault.azure.net", Confidence: topology.ConfDoc}
	for _, tc := range []struct {
		name string
		c    Check
		want result.Status
		msg  string
	}{
		{"representative", rep, result.Warn, "only a representative"},
		{"optional", opt, result.Warn, "optional: without it, the appliance cannot update itself"},
		{"dropped in 2026", dropped, result.Warn, "not documented by Microsoft"},
		{"the vault's own", own, result.Fail, ""},
	} {
		t.Run(tc.name, func(t *testing.T) {
			r := SoftenEndpoint(tc.c, fail(tc.c))
			if r.Status != tc.want || !strings.Contains(r.Message, tc.msg) {
				t.Errorf("%s %q", r.Status, r.Message)
			}
		})
	}
}
