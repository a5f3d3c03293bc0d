package probes_test

import (
	"context"
	"errors"
	"net"
	"strings"
	"testing"
	"time"

	"github.com/netprobe/netprobe/internal/probes"
	"github.com/netprobe/netprobe/internal/probes/probetest"
)

const blobHost = "netprobetest.blob.core.windows.net"

// blobEnv dials every name to the local stand-in: no DNS, no packet leaves loopback.
func blobEnv(store *probetest.BlobStore) *probes.Env {
	return &probes.Env{Dial: func(ctx context.Context, network, address string) (net.Conn, error) {
		var d net.Dialer
		return d.DialContext(ctx, "tcp", store.Addr.String())
	}}
}

func TestBlobDownloadAndUpload(t *testing.T) {
	cert := probetest.NewTLSCert(t, "netprobe lab CA", blobHost, time.Hour)
	store := probetest.NewBlobStore(t, cert, 8<<20)
	env := blobEnv(store)
	req := probes.BlobRequest{URL: store.URL(blobHost, "good"), Streams: 2, Duration: 1500 * time.Millisecond, Warmup: 200 * time.Millisecond,
		Chunk: 1 << 20, RootCAs: cert.CAPEM}
	res, err := probes.Blob(context.Background(), env, req)
	if err != nil {
		t.Fatal(err)
	}
	if res.BlobSize != 8<<20 || res.Bytes <= 0 || res.BitsPerSecond <= 0 || res.Failed != 0 || res.Host != blobHost {
		t.Fatalf("download: %+v", res)
	}
	if store.Ranges.Load() < 2 {
		t.Errorf("%d ranged GETs; want several", store.Ranges.Load())
	}
	if got := float64(res.Bytes) * 8 / res.Elapsed.Seconds(); got != res.BitsPerSecond {
		t.Errorf("rate %v, bytes over elapsed %v", res.BitsPerSecond, got)
	}
	req.Upload = true
	up, err := probes.Blob(context.Background(), env, req)
	if err != nil {
		t.Fatal(err)
	}
	if up.Bytes <= 0 || store.Staged.Load() < up.Bytes || !up.Upload {
		t.Fatalf("upload: %+v, store got %d bytes", up, store.Staged.Load())
	}
}

// TestBlobErrors: a refused SAS and a missing blob are the user's to fix (permission,
// invalid), not a network verdict; the SAS never shows in an error.
func TestBlobErrors(t *testing.T) {
	cert := probetest.NewTLSCert(t, "netprobe lab CA", blobHost, time.Hour)
	store := probetest.NewBlobStore(t, cert, 1<<20)
	env := blobEnv(store)
	base := probes.BlobRequest{Streams: 1, Duration: 300 * time.Millisecond, RootCAs: cert.CAPEM}
	bad := base
	bad.URL = store.URL(blobHost, "expired-secret")
	_, err := probes.Blob(context.Background(), env, bad)
	if !errors.Is(err, probes.ErrPermission) || strings.Contains(err.Error(), "expired-secret") {
		t.Errorf("refused SAS: %v", err)
	}
	missing := base
	missing.URL = strings.Replace(store.URL(blobHost, "good"), "test-blob", "nothing", 1)
	if _, err := probes.Blob(context.Background(), env, missing); !errors.Is(err, probes.ErrInvalid) {
		t.Errorf("missing blob: %v", err)
	}
	untrusted := base
	untrusted.URL, untrusted.RootCAs = store.URL(blobHost, "good"), nil
	if _, err := probes.Blob(context.Background(), env, untrusted); !errors.Is(err, probes.ErrUnreachable) || !strings.Contains(err.Error(), "certificate") {
		t.Errorf("untrusted certificate: %v", err)
	}
	if got := probes.RedactURL(store.URL(blobHost, "good")); strings.Contains(got, "sig=") {
		t.Errorf("RedactURL kept the SAS: %s", got)
	}
}

// TestBlobUploadRefused: a SAS refused for writing is an error about the SAS, never a rate made
// of the bytes the refused requests had already handed to the socket.
func TestBlobUploadRefused(t *testing.T) {
	cert := probetest.NewTLSCert(t, "netprobe lab CA", blobHost, time.Hour)
	store := probetest.NewBlobStore(t, cert, 1<<20)
	for range 5 {
		res, err := probes.Blob(context.Background(), blobEnv(store), probes.BlobRequest{URL: store.URL(blobHost, "read-only"), Upload: true,
			Streams: 2, Duration: 500 * time.Millisecond, Chunk: 1 << 20, RootCAs: cert.CAPEM})
		if !errors.Is(err, probes.ErrPermission) || res.BitsPerSecond > 0 && err == nil {
			t.Fatalf("refused upload: %+v, %v", res, err)
		}
	}
}

// TestBlobSilentStorage: a storage endpoint that never answers (a firewall drops the
// connection) is "cannot reach" (ErrTimeout), not a measured rate of zero: an upload has no
// first request of its own to fail on, and its requests are still pending when the window ends.
func TestBlobSilentStorage(t *testing.T) {
	silent := &probes.Env{Dial: func(ctx context.Context, _, _ string) (net.Conn, error) {
		<-ctx.Done() // a dropped SYN: nothing until the caller gives up
		return nil, ctx.Err()
	}}
	for _, upload := range []bool{false, true} {
		req := probes.BlobRequest{URL: "https://" + blobHost + "/netprobe/test-blob?sig=good", Upload: upload, Streams: 2,
			Duration: 300 * time.Millisecond, Warmup: 100 * time.Millisecond}
		res, err := probes.Blob(context.Background(), silent, req)
		if !errors.Is(err, probes.ErrTimeout) || !strings.Contains(err.Error(), blobHost) || strings.Contains(err.Error(), "sig=") {
			t.Errorf("upload %v: %+v, %v; want a timeout naming the host", upload, res, err)
		}
	}
}
