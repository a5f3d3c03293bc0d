package labnet

import (
	"fmt"
	"io"
	"net/http"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"

	"golang.org/x/time/rate"
)

// BlobStore stands in for an Azure Storage blob endpoint, with enough of the REST API for a
// throughput test: HEAD and ranged GET of one blob of Size zero bytes at Path, PUT of blocks
// (counted, then dropped). A request whose query lacks sig=Sig (the SAS) gets 403, any other
// path 404, both with Azure's error code header. Serve it over TLS (http.Server, httptest).
type BlobStore struct {
	Path string // /container/blob
	Sig  string
	Size int64
	// DownRate caps what all downloads together are served at, in bytes per second (a shaped
	// internet link); 0 serves as fast as the connection takes it.
	DownRate float64

	// Staged counts the bytes of blocks PUT so far; Ranges the ranged GETs served.
	Staged atomic.Int64
	Ranges atomic.Int64

	once sync.Once
	lim  *rate.Limiter
}

// blobWrite is the unit a download is written (and paced) in.
const blobWrite = 32 << 10

// URL is the blob's URL under host (host or host:port: a production-style name that resolves
// to the store) with the SAS signature sig.
func (b *BlobStore) URL(host, sig string) string {
	return "https://" + host + b.Path + "?sv=2025-01-05&sr=b&sp=rw&sig=" + sig
}

func storageError(w http.ResponseWriter, status int, code string) {
	w.Header().Set("x-ms-error-code", code)
	w.Header().Set("Content-Type", "application/xml")
	w.WriteHeader(status)
	fmt.Fprintf(w, "<?xml version=\"1.0\" encoding=\"utf-8\"?><Error><Code>%s</Code><Message>%s</Message></Error>", code, code)
}

// ServeHTTP answers one request of the blob REST API.
func (b *BlobStore) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	w.Header().Set("x-ms-request-id", "netprobe-stand-in")
	w.Header().Set("x-ms-version", "2025-01-05")
	if r.URL.Query().Get("sig") != b.Sig {
		storageError(w, http.StatusForbidden, "AuthenticationFailed")
		return
	}
	if r.URL.Path != b.Path {
		storageError(w, http.StatusNotFound, "BlobNotFound")
		return
	}
	switch r.Method {
	case http.MethodHead:
		w.Header().Set("Content-Length", strconv.FormatInt(b.Size, 10))
		w.Header().Set("x-ms-blob-type", "BlockBlob")
		w.WriteHeader(http.StatusOK)
	case http.MethodGet:
		b.download(w, r)
	case http.MethodPut:
		if r.URL.Query().Get("comp") != "block" {
			storageError(w, http.StatusBadRequest, "UnsupportedQueryParameter")
			return
		}
		n, _ := io.Copy(io.Discard, r.Body)
		b.Staged.Add(n)
		w.WriteHeader(http.StatusCreated)
	default:
		storageError(w, http.StatusMethodNotAllowed, "UnsupportedHttpVerb")
	}
}

// download serves a ranged GET (the whole blob without a range), paced by DownRate.
func (b *BlobStore) download(w http.ResponseWriter, r *http.Request) {
	off, end := int64(0), b.Size-1
	rng := r.Header.Get("x-ms-range")
	if rng == "" {
		rng = r.Header.Get("Range")
	}
	if v, ok := strings.CutPrefix(rng, "bytes="); ok {
		lo, hi, _ := strings.Cut(v, "-")
		off, _ = strconv.ParseInt(lo, 10, 64)
		if hi != "" {
			end, _ = strconv.ParseInt(hi, 10, 64)
		}
	}
	end = min(end, b.Size-1)
	if off < 0 || off > end {
		storageError(w, http.StatusRequestedRangeNotSatisfiable, "InvalidRange")
		return
	}
	b.Ranges.Add(1)
	w.Header().Set("Content-Length", strconv.FormatInt(end-off+1, 10))
	w.Header().Set("Content-Range", fmt.Sprintf("bytes %d-%d/%d", off, end, b.Size))
	w.Header().Set("x-ms-blob-type", "BlockBlob")
	w.WriteHeader(http.StatusPartialContent)
	b.once.Do(func() {
		if b.DownRate > 0 {
			b.lim = rate.NewLimiter(rate.Limit(b.DownRate), blobWrite)
		}
	})
	buf := make([]byte, blobWrite)
	for left := end - off + 1; left > 0; {
		n := min(left, int64(len(buf)))
		if b.lim != nil {
			if err := b.lim.WaitN(r.Context(), int(n)); err != nil {
				return
			}
		}
		if _, err := w.Write(buf[:n]); err != nil {
			return
		}
		left -= n
	}
}
