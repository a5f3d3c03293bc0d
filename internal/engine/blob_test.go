package engine

import (
	"context"
	"fmt"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"github.com/netprobe/netprobe/internal/agent"
	"github.com/netprobe/netprobe/internal/probes"
	"github.com/netprobe/netprobe/internal/result"
	"github.com/netprobe/netprobe/internal/topology"
)

// TestPlanBlob: the modernized example plans the appliance's download (failback, judged
// against web01 and web02's churn) and upload (forward, db01's), and the SAS never reaches an
// ID or a target; without a test blob the checks are skipped with what to add.
func TestPlanBlob(t *testing.T) {
	tp, err := topology.Load("../../topologies/modernized.yaml")
	if err != nil {
		t.Fatal(err)
	}
	got := map[string]string{}
	for _, c := range Plan(tp, Options{Only: []string{"blob/"}}) {
		got[c.ID] = fmt.Sprintf("required %.2f Mbit/s, resync %d GiB, upload %v, proxy %s, skip %q", c.RequiredBps/1e6, c.UsedBytes>>30, c.Upload, c.Proxy, c.SkipReason)
		if strings.Contains(c.ID+c.Target(), "sig=") || !strings.Contains(c.BlobURL, "sig=") {
			t.Errorf("%s: the SAS belongs in BlobURL only (target %s)", c.ID, c.Target())
		}
	}
	// web01 1 MB/s + 512 KB/s, web02 1 MB/s: 2.512 MB/s x 8 x 1.3 = 26.12 Mbit/s; db01 2 MB/s: 20.8.
	want := map[string]string{
		"blob/asr-appliance/azure-storage/down/1": "required 26.12 Mbit/s, resync 320 GiB, upload false, proxy http://proxy.fabrikam.local:3128, skip \"\"",
		"blob/asr-appliance/azure-storage/down/4": "required 26.12 Mbit/s, resync 320 GiB, upload false, proxy http://proxy.fabrikam.local:3128, skip \"\"",
		"blob/asr-appliance/azure-storage/up/1":   "required 20.80 Mbit/s, resync 256 GiB, upload true, proxy http://proxy.fabrikam.local:3128, skip \"\"",
		"blob/asr-appliance/azure-storage/up/4":   "required 20.80 Mbit/s, resync 256 GiB, upload true, proxy http://proxy.fabrikam.local:3128, skip \"\"",
	}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("blob checks (-want +got):\n%s", diff)
	}
	tp.Azure.BandwidthTestURL = ""
	for _, c := range Plan(tp, Options{Only: []string{"blob/"}}) {
		if !strings.Contains(c.SkipReason, "azure.bandwidth_test_url") {
			t.Errorf("%s without a test blob: skip %q", c.ID, c.SkipReason)
		}
	}
}

func TestJudgeBlob(t *testing.T) {
	c := Check{ID: "blob/apl/azure-storage/down/4", Kind: result.CheckBlob, From: "apl", To: "azure-storage", Address: "acct.blob.core.windows.net",
		RequiredBps: 40e6, UsedBytes: 100 << 30, Streams: 4, Duration: 10 * time.Second}
	for _, tc := range []struct {
		name   string
		mbps   float64
		failed int
		want   result.Status
	}{
		{"plenty", 100, 0, result.Pass},
		{"tight", 45, 0, result.Warn},
		{"short", 30, 0, result.Fail},
		{"plenty but requests failing", 100, 3, result.Warn},
	} {
		t.Run(tc.name, func(t *testing.T) {
			r := JudgeBlob(c, probes.BlobResult{Host: c.Address, Streams: 4, BitsPerSecond: tc.mbps * 1e6, Bytes: 1e8, Requests: 20, Failed: tc.failed, Detail: "EOF"})
			if r.Status != tc.want {
				t.Errorf("status %s, want %s: %s", r.Status, tc.want, r.Message)
			}
			if r.Metrics["resync_hours"] == nil || r.Target != c.Address {
				t.Errorf("metrics %v target %s", r.Metrics, r.Target)
			}
		})
	}
	// A refused SAS is netprobe's to report (error), a silent endpoint the network's (fail).
	if r := JudgeBlobError(context.Background(), c, fmt.Errorf("agent blob probe: %w: 403", probes.ErrPermission)); r.Status != result.Error {
		t.Errorf("refused SAS: %s", r.Status)
	}
	if r := JudgeBlobError(context.Background(), c, fmt.Errorf("agent blob probe: %w: no answer", probes.ErrTimeout)); r.Status != result.Fail {
		t.Errorf("silent storage: %s", r.Status)
	}
}

// blobProber answers blob probes after a while, counting how many run at once.
type blobProber struct {
	sleepyProber
	mu             *sync.Mutex // guards inflight, most
	inflight, most *int
}

func (p blobProber) Probe(ctx context.Context, kind string, params, res any) error {
	if kind != agent.KindBlob {
		return p.sleepyProber.Probe(ctx, kind, params, res)
	}
	p.mu.Lock()
	*p.inflight++
	*p.most = max(*p.most, *p.inflight)
	p.mu.Unlock()
	defer func() {
		p.mu.Lock()
		*p.inflight--
		p.mu.Unlock()
	}()
	if err := p.sleepyProber.Probe(ctx, kind, params, res); err != nil {
		return err
	}
	*res.(*probes.BlobResult) = probes.BlobResult{Host: "acct.blob.core.windows.net", Streams: 4, BitsPerSecond: 50e6, Bytes: 1e7, Requests: 3}
	return nil
}

// TestRunBlobOneAtATime: blob tests share the appliance's internet link (and its proxy) as
// agent-to-agent bandwidth tests share a VPN: two at once would each measure a share of it and
// be judged short. The modernized example plans four (down and up, 1 and 4 streams).
func TestRunBlobOneAtATime(t *testing.T) {
	tp, err := topology.Load("../../topologies/modernized.yaml")
	if err != nil {
		t.Fatal(err)
	}
	plan := Plan(tp, Options{Only: []string{"blob/", "endpoint/asr-appliance/"}})
	var mu sync.Mutex
	var inflight, most int
	fake := blobProber{sleepyProber: sleepyProber{delay: 30 * time.Millisecond}, mu: &mu, inflight: &inflight, most: &most}
	r := &Runner{Concurrency: 16, Dial: func(context.Context, string) (Prober, error) { return fake, nil }}
	blobs := 0
	for ev := range r.Run(context.Background(), plan) {
		if ev.Result != nil && ev.Result.Check == result.CheckBlob {
			blobs++
			if ev.Result.Status != result.Pass {
				t.Errorf("%s: %s %s", ev.Result.ID, ev.Result.Status, ev.Result.Message)
			}
		}
	}
	if blobs != 4 || most != 1 {
		t.Errorf("%d blob results, at most %d at once; want 4, one at a time", blobs, most)
	}
}

// TestPlanNoBandwidthLeavesBlobOut: --no-bandwidth leaves out every test that takes
// checks.bandwidth.duration, the blob transfers with the agent-to-agent ones.
func TestPlanNoBandwidthLeavesBlobOut(t *testing.T) {
	tp, err := topology.Load("../../topologies/modernized.yaml")
	if err != nil {
		t.Fatal(err)
	}
	if n := len(Plan(tp, Options{Only: []string{"blob/"}})); n == 0 {
		t.Fatal("the example plans no blob test")
	}
	for _, c := range Plan(tp, Options{NoBandwidth: true}) {
		if c.Kind == result.CheckBlob || c.Kind == result.CheckBandwidth {
			t.Errorf("%s planned with NoBandwidth", c.ID)
		}
	}
}
