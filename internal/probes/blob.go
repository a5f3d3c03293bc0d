package probes

import (
	"bytes"
	"context"
	"crypto/rand"
	"crypto/tls"
	"encoding/base64"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/url"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/Azure/azure-sdk-for-go/sdk/azcore"
	"github.com/Azure/azure-sdk-for-go/sdk/azcore/policy"
	"github.com/Azure/azure-sdk-for-go/sdk/azcore/streaming"
	"github.com/Azure/azure-sdk-for-go/sdk/storage/azblob/blob"
	"github.com/Azure/azure-sdk-for-go/sdk/storage/azblob/blockblob"
)

// Blob throughput: what a modernized replication appliance sees of Azure Storage. Failback data
// reaches the appliance as downloads from a storage account (asr-modernized.md 2.3), forward
// replication leaves it as uploads; both cross whatever is between the appliance and Azure (a
// proxy, the internet, ExpressRoute). The probe moves a test blob with parallel ranged GETs
// (download) or staged blocks (upload) for a while and reports the rate after a warm-up.

// BlobRequest asks for a blob throughput measurement.
type BlobRequest struct {
	// URL is the test blob's https URL with its SAS token: read permission for downloads,
	// write for uploads. It is a credential: never log it whole (RedactURL).
	URL string `json:"url"`
	// Upload stages blocks instead of downloading ranges (never committed: the blob is left
	// as it was; Azure drops uncommitted blocks after a week).
	Upload bool `json:"upload,omitempty"`
	// Streams is how many requests run at once (1 to MaxBlobStreams).
	Streams int `json:"streams"`
	// Duration is how long the rate is measured, after Warmup.
	Duration time.Duration `json:"duration_ns"`
	Warmup   time.Duration `json:"warmup_ns,omitempty"`
	// Chunk is the size of one ranged GET or staged block; 0 means DefaultBlobChunk.
	Chunk int64 `json:"chunk_bytes,omitempty"`
	// Proxy is an HTTP proxy URL (the appliance's), "" for a direct connection.
	Proxy string `json:"proxy,omitempty"`
	// RootCAs is a PEM bundle to trust instead of the system's (a lab's own CA).
	RootCAs []byte `json:"root_cas,omitempty"`
}

// BlobResult is what the transfer showed.
type BlobResult struct {
	// Host is the storage endpoint (the URL's host; no path, no SAS).
	Host    string `json:"host"`
	Upload  bool   `json:"upload,omitempty"`
	Streams int    `json:"streams"`
	// Bytes moved in the measured window (after the warm-up), and how long it lasted.
	Bytes   int64         `json:"bytes"`
	Elapsed time.Duration `json:"elapsed_ns"`
	// BitsPerSecond is Bytes over Elapsed.
	BitsPerSecond float64 `json:"bits_per_second"`
	// Intervals are the rates of each second of the measured window, bits per second.
	Intervals []float64 `json:"intervals,omitempty"`
	// BlobSize is the test blob's size (downloads).
	BlobSize int64 `json:"blob_size,omitempty"`
	// Requests ran, and how many of them failed (Detail has the last failure).
	Requests int    `json:"requests"`
	Failed   int    `json:"failed"`
	Detail   string `json:"detail,omitempty"`
}

const (
	// DefaultBlobChunk is one ranged GET or block: 4 MiB, the size of the SDK's default
	// download blocks, large enough that request overhead stays a few per cent.
	DefaultBlobChunk = 4 << 20
	// MaxBlobChunk bounds one request (Azure's staged blocks may be larger; a test needs not).
	MaxBlobChunk = 64 << 20
	// MaxBlobStreams bounds parallel requests: ASR's own failback threads default to 4 and
	// may be raised to 32 (asr-classic-sources.md 3.5).
	MaxBlobStreams = 32
	// blobSample is how often the transferred bytes are sampled for the per-second rates.
	blobSample = time.Second
)

// RedactURL drops a URL's query, which holds the SAS token.
func RedactURL(raw string) string {
	if i := strings.IndexByte(raw, '?'); i >= 0 {
		return raw[:i] + "?<SAS>"
	}
	return raw
}

// Blob measures the throughput between this host and the test blob. The error means the
// transfer could not run at all: the blob cannot be reached (ErrTimeout, ErrRefused,
// ErrUnreachable, ErrNoName), the SAS is refused (ErrPermission) or the request is malformed
// (ErrInvalid). Requests that fail in the middle are counted in the result.
func Blob(ctx context.Context, env *Env, req BlobRequest) (BlobResult, error) {
	u, err := url.Parse(req.URL)
	if err != nil || u.Scheme != "https" || u.Host == "" {
		return BlobResult{}, fmt.Errorf("%w: %s is not the https URL of a blob", ErrInvalid, RedactURL(req.URL))
	}
	if req.Streams < 1 || req.Streams > MaxBlobStreams {
		return BlobResult{}, fmt.Errorf("%w: %d streams (1 to %d)", ErrInvalid, req.Streams, MaxBlobStreams)
	}
	if req.Duration <= 0 {
		return BlobResult{}, fmt.Errorf("%w: a duration is needed", ErrInvalid)
	}
	chunk := req.Chunk
	if chunk == 0 {
		chunk = DefaultBlobChunk
	}
	if chunk < 1 || chunk > MaxBlobChunk {
		return BlobResult{}, fmt.Errorf("%w: chunk of %d bytes (1 to %d)", ErrInvalid, chunk, MaxBlobChunk)
	}
	hc, err := blobHTTPClient(env, req, u)
	if err != nil {
		return BlobResult{}, err
	}
	opts := azcore.ClientOptions{
		Transport: hc,
		// One try: a retried request would hide the failure and distort the rate.
		Retry:     policy.RetryOptions{MaxRetries: -1},
		Telemetry: policy.TelemetryOptions{Disabled: true},
	}
	res := BlobResult{Host: u.Host, Upload: req.Upload, Streams: req.Streams}
	var xfer transfer
	if req.Upload {
		c, err := blockblob.NewClientWithNoCredential(req.URL, &blockblob.ClientOptions{ClientOptions: opts})
		if err != nil {
			return res, fmt.Errorf("%w: %v", ErrInvalid, err)
		}
		xfer, err = newUpload(c, chunk)
		if err != nil {
			return res, err
		}
	} else {
		c, err := blob.NewClientWithNoCredential(req.URL, &blob.ClientOptions{ClientOptions: opts})
		if err != nil {
			return res, fmt.Errorf("%w: %v", ErrInvalid, err)
		}
		pctx, cancel := context.WithTimeout(ctx, min(req.Warmup+req.Duration, 30*time.Second))
		props, err := c.GetProperties(pctx, nil)
		cancel()
		if err != nil {
			return res, blobError(ctx, err, u.Host)
		}
		if props.ContentLength == nil || *props.ContentLength <= 0 {
			return res, fmt.Errorf("%w: the test blob %s is empty; upload some hundreds of MiB of anything to it", ErrInvalid, RedactURL(req.URL))
		}
		res.BlobSize = *props.ContentLength
		xfer = &download{c: c, size: res.BlobSize, chunk: chunk}
	}
	return runTransfer(ctx, env, req, xfer, res)
}

// transfer is one kind of request, repeated by each stream.
type transfer interface {
	// one moves a chunk, counting bytes into n as they go.
	one(ctx context.Context, n *atomic.Int64) error
}

// runTransfer runs req.Streams loops of xfer for warm-up plus duration, samples the byte count
// every second, and reports the rate of the window after the warm-up.
func runTransfer(parent context.Context, env *Env, req BlobRequest, xfer transfer, res BlobResult) (BlobResult, error) {
	ctx, cancel := context.WithTimeout(parent, req.Warmup+req.Duration)
	defer cancel()
	var moved atomic.Int64
	var requests, failed atomic.Int64
	var mu sync.Mutex // guards lastErr, firstErr, fatal
	var lastErr, firstErr, fatal error
	var wg sync.WaitGroup
	for range req.Streams {
		wg.Go(func() {
			for ctx.Err() == nil {
				requests.Add(1)
				if err := xfer.one(ctx, &moved); err != nil {
					if ctx.Err() != nil {
						return // the window ended mid-request: its bytes so far counted
					}
					failed.Add(1)
					mu.Lock()
					lastErr = err
					if firstErr == nil {
						firstErr = err
					}
					mu.Unlock()
					// A refused SAS or a missing blob fails every request alike: stop, and
					// report that instead of whatever the stopped requests moved.
					if fatalBlob(err) {
						mu.Lock()
						if fatal == nil {
							fatal = err
						}
						mu.Unlock()
						cancel()
						return
					}
				}
			}
		})
	}
	start := env.now()
	tick := time.NewTicker(blobSample)
	defer tick.Stop()
	var winStart time.Time
	var winBytes int64
	warm := req.Warmup <= 0
	if warm {
		winStart = start
	}
	last, prev := start, int64(0)
loop:
	for {
		select {
		case <-ctx.Done():
			break loop
		case <-tick.C:
			now, b := env.now(), moved.Load()
			switch {
			case !warm && now.Sub(start) >= req.Warmup:
				warm, winStart, winBytes = true, now, b
			case warm && now.After(last):
				res.Intervals = append(res.Intervals, float64(b-prev)*8/now.Sub(last).Seconds())
			}
			last, prev = now, b
		}
	}
	end := env.now()
	wg.Wait()
	res.Requests, res.Failed = int(requests.Load()), int(failed.Load())
	if lastErr != nil {
		res.Detail = lastErr.Error()
	}
	if winStart.IsZero() {
		winStart, winBytes = start, 0
	}
	res.Bytes = moved.Load() - winBytes
	res.Elapsed = end.Sub(winStart)
	if res.Elapsed > 0 {
		res.BitsPerSecond = float64(res.Bytes) * 8 / res.Elapsed.Seconds()
	}
	if fatal != nil {
		return res, blobError(context.Background(), fatal, res.Host)
	}
	if res.Bytes == 0 && firstErr != nil {
		return res, blobError(context.Background(), firstErr, res.Host)
	}
	if moved.Load() == 0 {
		// Not one byte either way and no request failed: every request was still waiting for
		// a connection when the time was up (a dropped SYN, a proxy that never connects).
		// Nothing answered: that is no measured rate of zero.
		if cerr := cancelled(parent); cerr != nil {
			return res, cerr
		}
		return res, fmt.Errorf("%w: nothing from %s answered in %s", ErrTimeout, res.Host, req.Warmup+req.Duration)
	}
	return res, nil
}

// download reads ranges of the blob round and round.
type download struct {
	c     *blob.Client
	size  int64
	chunk int64
	next  atomic.Int64
}

func (d *download) one(ctx context.Context, n *atomic.Int64) error {
	off := (d.next.Add(d.chunk) - d.chunk) % d.size
	count := min(d.chunk, d.size-off)
	resp, err := d.c.DownloadStream(ctx, &blob.DownloadStreamOptions{Range: blob.HTTPRange{Offset: off, Count: count}})
	if err != nil {
		return err
	}
	defer resp.Body.Close()
	_, err = io.Copy(io.Discard, countingReader{resp.Body, n})
	return err
}

// upload stages blocks of random bytes under fresh ids, never committing them.
type upload struct {
	c       *blockblob.Client
	payload []byte
	run     string
	seq     atomic.Int64
}

func newUpload(c *blockblob.Client, chunk int64) (*upload, error) {
	p := make([]byte, chunk)
	if _, err := rand.Read(p); err != nil { // incompressible, as replication data mostly is
		return nil, err
	}
	var id [6]byte
	_, _ = rand.Read(id[:])
	return &upload{c: c, payload: p, run: base64.RawURLEncoding.EncodeToString(id[:])}, nil
}

func (u *upload) one(ctx context.Context, n *atomic.Int64) error {
	// Block ids of one blob must all have the same length: a fixed-width counter.
	id := base64.StdEncoding.EncodeToString(fmt.Appendf(nil, "netprobe-%s-%012d", u.run, u.seq.Add(1)))
	// Bytes count as they leave, but only a block the service accepted keeps them: a refused
	// or failed one takes them back (its body may be in the socket already, read, unsent).
	body := &countingSeeker{r: bytes.NewReader(u.payload), n: n}
	_, err := u.c.StageBlock(ctx, id, streaming.NopCloser(body), nil)
	if err != nil && ctx.Err() == nil {
		body.uncount()
	}
	return err
}

type countingReader struct {
	r io.Reader
	n *atomic.Int64
}

func (c countingReader) Read(p []byte) (int, error) {
	k, err := c.r.Read(p)
	c.n.Add(int64(k))
	return k, err
}

// countingSeeker counts the bytes the HTTP client reads; a rewind (retry) uncounts them, and
// so does uncount, after which nothing more counts. net/http writes a request body on a
// goroutine of its own and may still be reading it when a refusal has already returned
// (net/http.RoundTripper), hence the mutex.
type countingSeeker struct {
	n    *atomic.Int64
	mu   sync.Mutex // guards r, read and uncounted
	r    *bytes.Reader
	read int64
	// uncounted: the bytes read were taken back; later reads (the transport finishing the
	// body of a refused request) count for nothing.
	uncounted bool
}

func (c *countingSeeker) Read(p []byte) (int, error) {
	c.mu.Lock()
	defer c.mu.Unlock()
	k, err := c.r.Read(p)
	if !c.uncounted {
		c.n.Add(int64(k))
		c.read += int64(k)
	}
	return k, err
}

func (c *countingSeeker) Seek(off int64, whence int) (int64, error) {
	c.mu.Lock()
	defer c.mu.Unlock()
	pos, err := c.r.Seek(off, whence)
	if err == nil && pos < c.read && !c.uncounted {
		c.n.Add(pos - c.read)
		c.read = pos
	}
	return pos, err
}

// uncount takes back every byte counted so far and stops counting.
func (c *countingSeeker) uncount() {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.n.Add(-c.read)
	c.read = 0
	c.uncounted = true
}

// blobHTTPClient is the HTTP client of the SDK: the Env's dialer (tests), the proxy, the roots.
func blobHTTPClient(env *Env, req BlobRequest, u *url.URL) (*http.Client, error) {
	tr := &http.Transport{
		DialContext:         func(ctx context.Context, network, addr string) (net.Conn, error) { return env.dial(ctx, network, addr) },
		TLSHandshakeTimeout: 10 * time.Second,
		MaxIdleConnsPerHost: MaxBlobStreams,
		ForceAttemptHTTP2:   false, // one TCP connection per stream, as the replication engines use
		TLSClientConfig:     &tls.Config{ServerName: u.Hostname(), MinVersion: tls.VersionTLS12},
	}
	if req.Proxy != "" {
		p, err := url.Parse(req.Proxy)
		if err != nil || p.Scheme != "http" || p.Host == "" {
			return nil, fmt.Errorf("%w: proxy %q is not http://HOST:PORT", ErrInvalid, req.Proxy)
		}
		tr.Proxy = http.ProxyURL(p)
	}
	pool, err := env.roots(req.RootCAs)
	if err != nil {
		return nil, err
	}
	tr.TLSClientConfig.RootCAs = pool
	return &http.Client{Transport: tr}, nil
}

// fatalBlob reports an error every further request would repeat.
func fatalBlob(err error) bool {
	var re *azcore.ResponseError
	if errors.As(err, &re) {
		return re.StatusCode == http.StatusForbidden || re.StatusCode == http.StatusNotFound ||
			re.StatusCode == http.StatusUnauthorized || re.StatusCode == http.StatusProxyAuthRequired
	}
	return false
}

// blobError classifies a storage error: what the service said (403, 404, 407) or what the
// network did.
func blobError(ctx context.Context, err error, host string) error {
	if cerr := cancelled(ctx); cerr != nil {
		return cerr
	}
	var re *azcore.ResponseError
	if errors.As(err, &re) {
		switch re.StatusCode {
		case http.StatusForbidden, http.StatusUnauthorized:
			return fmt.Errorf("%w: %s refused the SAS (%d %s): it must allow %s and be unexpired", ErrPermission, host, re.StatusCode, re.ErrorCode, "read (sp=r) for downloads, write (sp=w) for uploads,")
		case http.StatusNotFound:
			return fmt.Errorf("%w: %s has no such blob or container (%s): upload the test blob first", ErrInvalid, host, re.ErrorCode)
		case http.StatusProxyAuthRequired:
			return fmt.Errorf("%w: the proxy asks for authentication (407), which ASR does not support", ErrRefused)
		}
		return fmt.Errorf("%w: %s answered %d %s", ErrUnreachable, host, re.StatusCode, re.ErrorCode)
	}
	var ce *tls.CertificateVerificationError
	if errors.As(err, &ce) {
		return fmt.Errorf("%w: %s's certificate does not verify (%v): an inspecting proxy, or the wrong host", ErrUnreachable, host, ce.Err)
	}
	return connectError(err, host)
}
