package labnet

import (
	"context"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/miekg/dns"
)

// TestDNSServerFixedRules: a server without a rules file answers from Rules (the demo's).
func TestDNSServerFixedRules(t *testing.T) {
	rules, err := ParseRules(strings.NewReader("*.blob.core.windows.net nxdomain\n* 127.0.4.20\n"))
	if err != nil {
		t.Fatal(err)
	}
	pc, ln := udpAndTCP(t)
	ctx, cancel := context.WithCancel(context.Background())
	ready, done := make(chan struct{}), make(chan error, 1)
	go func() { done <- (&DNSServer{Rules: rules}).ServeOn(ctx, pc, ln, func() { close(ready) }) }()
	<-ready
	t.Cleanup(func() { cancel(); <-done })
	for name, want := range map[string]string{"x.blob.core.windows.net": "NXDOMAIN", "login.microsoftonline.com": "127.0.4.20"} {
		if got := answerOf(query(t, pc.LocalAddr().String(), name, dns.TypeA, "udp")); got != want {
			t.Errorf("%s: %s, want %s", name, got, want)
		}
	}
}

// TestBlobStore: the SAS and the path are checked, a range is served as asked, blocks are
// counted, and DownRate holds all downloads together to their rate: 384 KiB at 256 KiB/s over
// three parallel requests cannot take less than 1.375 s (the burst is one 32 KiB write).
func TestBlobStore(t *testing.T) {
	b := &BlobStore{Path: "/c/b", Sig: "s", Size: 1 << 20, DownRate: 256 << 10}
	srv := httptest.NewServer(b)
	t.Cleanup(srv.Close)
	get := func(path, rng string) (*http.Response, int64) {
		req, _ := http.NewRequest(http.MethodGet, srv.URL+path, nil)
		if rng != "" {
			req.Header.Set("x-ms-range", rng)
		}
		res, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		defer res.Body.Close()
		n, _ := io.Copy(io.Discard, res.Body)
		return res, n
	}
	if res, _ := get("/c/b?sig=wrong", ""); res.StatusCode != http.StatusForbidden || res.Header.Get("x-ms-error-code") != "AuthenticationFailed" {
		t.Errorf("wrong SAS: %d %s", res.StatusCode, res.Header.Get("x-ms-error-code"))
	}
	if res, _ := get("/c/other?sig=s", ""); res.StatusCode != http.StatusNotFound {
		t.Errorf("wrong path: %d", res.StatusCode)
	}
	if res, n := get("/c/b?sig=s", "bytes=100-199"); res.StatusCode != http.StatusPartialContent || n != 100 {
		t.Errorf("range: %d, %d bytes", res.StatusCode, n)
	}
	put, _ := http.NewRequest(http.MethodPut, srv.URL+"/c/b?sig=s&comp=block&blockid=AA", strings.NewReader(strings.Repeat("x", 1000)))
	if res, err := http.DefaultClient.Do(put); err != nil || res.StatusCode != http.StatusCreated || b.Staged.Load() != 1000 {
		t.Errorf("put block: %v %v, staged %d", res, err, b.Staged.Load())
	}

	start := time.Now()
	var wg sync.WaitGroup
	for i := range 3 {
		wg.Go(func() {
			if _, n := get("/c/b?sig=s", fmt.Sprintf("bytes=%d-%d", i<<17, (i+1)<<17-1)); n != 1<<17 {
				t.Errorf("request %d: %d bytes", i, n)
			}
		})
	}
	wg.Wait()
	// 384 KiB less the first 32 KiB burst (the 100-byte range drew from the bucket too, so
	// this is a lower bound with room) at 256 KiB/s.
	if took := time.Since(start); took < 1375*time.Millisecond-100*time.Millisecond {
		t.Errorf("384 KiB at 256 KiB/s took %v: DownRate does not hold", took)
	}
}
