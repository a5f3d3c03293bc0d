package probetest

import (
	"crypto/tls"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"net/netip"
	"strconv"
	"strings"
	"sync/atomic"
	"testing"
)

// BlobStore is a stand-in for an Azure Storage blob endpoint, enough of the REST API for a
// throughput test: HEAD and ranged GET of one blob, PUT of blocks. It serves TLS with cert on
// 127.0.0.1:0 and answers 403 unless the query carries sig=Sig (a SAS), 404 for any other path.
type BlobStore struct {
	Addr netip.AddrPort
	Path string // /container/blob
	Sig  string
	Size int64
	// Staged counts the bytes of blocks PUT so far.
	Staged atomic.Int64
	// Ranges counts the ranged GETs served.
	Ranges atomic.Int64
}

// NewBlobStore starts a blob store until the test ends.
func NewBlobStore(t testing.TB, cert TLSCert, size int64) *BlobStore {
	t.Helper()
	b := &BlobStore{Path: "/netprobe/test-blob", Sig: "good", Size: size}
	srv := httptest.NewUnstartedServer(http.HandlerFunc(b.serve))
	srv.TLS = &tls.Config{Certificates: []tls.Certificate{cert.Pair}}
	srv.StartTLS()
	t.Cleanup(srv.Close)
	b.Addr = netip.MustParseAddrPort(srv.Listener.Addr().String())
	return b
}

func storageError(w http.ResponseWriter, status int, code string) {
	w.Header().Set("x-ms-error-code", code)
	w.Header().Set("Content-Type", "application/xml")
	w.WriteHeader(status)
	fmt.Fprintf(w, "<?xml version=\"1.0\" encoding=\"utf-8\"?><Error><Code>%s</Code><Message>%s</Message></Error>", code, code)
}

func (b *BlobStore) serve(w http.ResponseWriter, r *http.Request) {
	w.Header().Set("x-ms-request-id", "netprobe-test")
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
		b.Ranges.Add(1)
		w.Header().Set("Content-Length", strconv.FormatInt(end-off+1, 10))
		w.Header().Set("Content-Range", fmt.Sprintf("bytes %d-%d/%d", off, end, b.Size))
		w.Header().Set("x-ms-blob-type", "BlockBlob")
		w.WriteHeader(http.StatusPartialContent)
		buf := make([]byte, 32<<10)
		for left := end - off + 1; left > 0; {
			n := min(left, int64(len(buf)))
			if _, err := w.Write(buf[:n]); err != nil {
				return
			}
			left -= n
		}
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

// URL is the blob's URL under host (a production-style name the test's dialer sends to Addr)
// with the SAS signature sig.
func (b *BlobStore) URL(host, sig string) string {
	return "https://" + host + b.Path + "?sv=2025-01-05&sr=b&sp=rw&sig=" + sig
}
