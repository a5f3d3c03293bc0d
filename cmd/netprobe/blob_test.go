package main

import (
	"encoding/json"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/netprobe/netprobe/internal/probes/probetest"
	"github.com/netprobe/netprobe/internal/result"
)

// TestBandwidthBlob: netprobe bandwidth --blob measures a test blob from this machine (a local
// blob store stand-in on 127.0.0.1: no name is resolved), judges it against --required-mbps,
// and never prints the SAS; a refused SAS exits 5 saying what to fix.
func TestBandwidthBlob(t *testing.T) {
	cert := probetest.NewTLSCert(t, "netprobe test CA", "127.0.0.1", time.Hour)
	store := probetest.NewBlobStore(t, cert, 4<<20)
	ca := filepath.Join(t.TempDir(), "ca.pem")
	if err := os.WriteFile(ca, cert.CAPEM, 0o644); err != nil {
		t.Fatal(err)
	}
	url := store.URL(store.Addr.String(), "good")
	code, out, stderr := runCLI(t, "bandwidth", "--blob", url, "--ca-file", ca, "--streams", "2", "--duration", "1s", "--warmup", "0s",
		"--required-mbps", "0.001", "--format", "json")
	if code != ExitOK {
		t.Fatalf("exit %d\n%s%s", code, out, stderr)
	}
	var r result.Result
	if err := json.Unmarshal([]byte(out), &r); err != nil {
		t.Fatal(err)
	}
	if r.Check != result.CheckBlob || r.Status != result.Pass || r.Metrics["mbps"].(float64) <= 0 || r.Metrics["headroom"] == nil {
		t.Errorf("result %+v", r)
	}
	if strings.Contains(out+stderr, "sig=") {
		t.Errorf("the SAS was printed:\n%s%s", out, stderr)
	}
	code, out, stderr = runCLI(t, "bandwidth", "--blob", store.URL(store.Addr.String(), "wrong-secret"), "--ca-file", ca, "--duration", "1s")
	if code != ExitCannotRun || !strings.Contains(stderr, "refused the SAS") || strings.Contains(out+stderr, "wrong-secret") {
		t.Errorf("refused SAS: exit %d\n%s%s", code, out, stderr)
	}
	if code, _, stderr := runCLI(t, "bandwidth", "--blob", url, "--to", "x:7411"); code != ExitUsage || !strings.Contains(stderr, "--to measures an agent pair") {
		t.Errorf("--blob with --to: exit %d %s", code, stderr)
	}
}
