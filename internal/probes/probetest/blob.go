package probetest

import (
	"crypto/tls"
	"net/http/httptest"
	"net/netip"
	"testing"

	"github.com/netprobe/netprobe/internal/lab/labnet"
)

// BlobStore is labnet's stand-in for an Azure Storage blob endpoint, served with TLS on
// 127.0.0.1:0 for a test: one blob at Path, readable and writable with sig=Sig.
type BlobStore struct {
	*labnet.BlobStore
	Addr netip.AddrPort
}

// NewBlobStore starts a blob store of a size-byte blob until the test ends.
func NewBlobStore(t testing.TB, cert TLSCert, size int64) *BlobStore {
	t.Helper()
	b := &labnet.BlobStore{Path: "/netprobe/test-blob", Sig: "good", Size: size}
	srv := httptest.NewUnstartedServer(b)
	srv.TLS = &tls.Config{Certificates: []tls.Certificate{cert.Pair}}
	srv.StartTLS()
	t.Cleanup(srv.Close)
	return &BlobStore{BlobStore: b, Addr: netip.MustParseAddrPort(srv.Listener.Addr().String())}
}
