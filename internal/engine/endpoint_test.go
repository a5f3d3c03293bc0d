package engine

import (
	"fmt"
	"testing"

	"github.com/netprobe/netprobe/internal/probes"
	"github.com/netprobe/netprobe/internal/result"
)

// TestJudgeEndpointUnreached: a representative name that does not exist in DNS says nothing
// about the vault's own names (warn, asking for them); the vault's own name not resolving, or
// any endpoint that resolves but does not answer, is a real failure.
func TestJudgeEndpointUnreached(t *testing.T) {
	noName := fmt.Errorf("agent tls probe: %w: blob.core.windows.net:443 does not resolve", probes.ErrNoName)
	timeout := fmt.Errorf("agent tls probe: %w: no answer", probes.ErrTimeout)
	rep := Check{ID: "endpoint/cs01/blob.core.windows.net/443/tcp", Kind: result.CheckEndpoint, From: "cs01", To: "blob.core.windows.net",
		Address: "blob.core.windows.net", Port: 443, Proto: "tcp", Pattern: "*.blob.core.windows.net", Representative: true}
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
