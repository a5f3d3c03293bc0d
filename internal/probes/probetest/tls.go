package probetest

import (
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/tls"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/pem"
	"math/big"
	"net"
	"net/http"
	"net/http/httptest"
	"net/netip"
	"sync"
	"testing"
	"time"
)

// TLSCert is a generated CA and a leaf certificate it signed.
type TLSCert struct {
	CAPEM []byte            // the CA certificate, PEM, to verify against
	Leaf  *x509.Certificate // the certificate the server presents
	Pair  tls.Certificate
}

// NewTLSCert makes a CA named caName and a leaf for dnsName valid for validFor.
func NewTLSCert(t testing.TB, caName, dnsName string, validFor time.Duration) TLSCert {
	t.Helper()
	caKey, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	now := time.Now()
	caTmpl := &x509.Certificate{
		SerialNumber: big.NewInt(1), Subject: pkix.Name{CommonName: caName},
		NotBefore: now.Add(-time.Hour), NotAfter: now.Add(validFor + time.Hour),
		IsCA: true, BasicConstraintsValid: true, KeyUsage: x509.KeyUsageCertSign,
	}
	caDER, err := x509.CreateCertificate(rand.Reader, caTmpl, caTmpl, &caKey.PublicKey, caKey)
	if err != nil {
		t.Fatal(err)
	}
	ca, _ := x509.ParseCertificate(caDER)
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	leafTmpl := &x509.Certificate{
		SerialNumber: big.NewInt(2), Subject: pkix.Name{CommonName: dnsName},
		DNSNames: []string{dnsName}, NotBefore: now.Add(-time.Hour), NotAfter: now.Add(validFor),
		KeyUsage: x509.KeyUsageDigitalSignature, ExtKeyUsage: []x509.ExtKeyUsage{x509.ExtKeyUsageServerAuth},
	}
	if ip := net.ParseIP(dnsName); ip != nil { // a certificate for an address, as a test's 127.0.0.1
		leafTmpl.DNSNames, leafTmpl.IPAddresses = nil, []net.IP{ip}
	}
	leafDER, err := x509.CreateCertificate(rand.Reader, leafTmpl, ca, &key.PublicKey, caKey)
	if err != nil {
		t.Fatal(err)
	}
	leaf, _ := x509.ParseCertificate(leafDER)
	return TLSCert{
		CAPEM: pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: caDER}),
		Leaf:  leaf,
		Pair:  tls.Certificate{Certificate: [][]byte{leafDER}, PrivateKey: key, Leaf: leaf},
	}
}

// TLSServer serves TLS with cert on 127.0.0.1:0 until the test ends: it completes the
// handshake and closes.
func TLSServer(t testing.TB, cert TLSCert) netip.AddrPort {
	t.Helper()
	ln, err := tls.Listen("tcp", "127.0.0.1:0", &tls.Config{Certificates: []tls.Certificate{cert.Pair}})
	if err != nil {
		t.Fatal(err)
	}
	var wg sync.WaitGroup
	wg.Add(1)
	go func() {
		defer wg.Done()
		for {
			c, err := ln.Accept()
			if err != nil {
				return
			}
			wg.Add(1)
			go func(c net.Conn) {
				defer wg.Done()
				defer c.Close()
				_ = c.SetDeadline(time.Now().Add(2 * time.Second))
				_ = c.(*tls.Conn).Handshake()
			}(c)
		}
	}()
	t.Cleanup(func() { ln.Close(); wg.Wait() })
	return addrOf(ln.Addr())
}

// HTTPSServer serves HTTPS with cert on 127.0.0.1:0 until the test ends, answering every
// request with a Date header read from date: a stand-in for an Azure endpoint in clock-skew
// tests.
func HTTPSServer(t testing.TB, cert TLSCert, date func() time.Time) netip.AddrPort {
	t.Helper()
	srv := httptest.NewUnstartedServer(http.HandlerFunc(func(w http.ResponseWriter, _ *http.Request) {
		w.Header().Set("Date", date().UTC().Format(http.TimeFormat))
	}))
	srv.TLS = &tls.Config{Certificates: []tls.Certificate{cert.Pair}}
	srv.StartTLS()
	t.Cleanup(srv.Close)
	return addrOf(srv.Listener.Addr())
}
