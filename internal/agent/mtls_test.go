package agent

import (
	"context"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/tls"
	"crypto/x509"
	"crypto/x509/pkix"
	"errors"
	"math/big"
	"strings"
	"testing"
	"time"
)

// testCA makes a CA and a client certificate it signs.
func testCA(t *testing.T) (*x509.CertPool, tls.Certificate) {
	t.Helper()
	caKey, _ := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	caTmpl := &x509.Certificate{
		SerialNumber: big.NewInt(1), Subject: pkix.Name{CommonName: "test ca"},
		NotBefore: time.Now().Add(-time.Hour), NotAfter: time.Now().Add(time.Hour),
		IsCA: true, BasicConstraintsValid: true, KeyUsage: x509.KeyUsageCertSign,
	}
	caDER, err := x509.CreateCertificate(rand.Reader, caTmpl, caTmpl, &caKey.PublicKey, caKey)
	if err != nil {
		t.Fatal(err)
	}
	ca, _ := x509.ParseCertificate(caDER)
	key, _ := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	tmpl := &x509.Certificate{
		SerialNumber: big.NewInt(2), Subject: pkix.Name{CommonName: "coordinator"},
		NotBefore: time.Now().Add(-time.Hour), NotAfter: time.Now().Add(time.Hour),
		KeyUsage: x509.KeyUsageDigitalSignature, ExtKeyUsage: []x509.ExtKeyUsage{x509.ExtKeyUsageClientAuth},
	}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, ca, &key.PublicKey, caKey)
	if err != nil {
		t.Fatal(err)
	}
	pool := x509.NewCertPool()
	pool.AddCert(ca)
	return pool, tls.Certificate{Certificate: [][]byte{der}, PrivateKey: key}
}

func TestMutualTLS(t *testing.T) {
	pool, clientCert := testCA(t)
	a := startAgent(t, Config{ClientCAs: pool}) // mutual TLS only: no token
	pin := a.srv.Fingerprint()
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()

	c, err := Dial(ctx, a.addr, ClientConfig{Certificates: []tls.Certificate{clientCert}, CertSHA256: pin})
	if err != nil {
		t.Fatalf("Dial with client certificate: %v", err)
	}
	if !c.Info().MTLS {
		t.Error("Info.MTLS = false")
	}
	c.Close()

	_, otherCert := testCA(t) // signed by a CA the agent does not trust
	if _, err := Dial(ctx, a.addr, ClientConfig{Certificates: []tls.Certificate{otherCert}, CertSHA256: pin}); !errors.Is(err, ErrAuth) {
		t.Errorf("untrusted client certificate: %v, want ErrAuth", err)
	}
	if _, err := Dial(ctx, a.addr, ClientConfig{Certificates: []tls.Certificate{clientCert}}); err == nil || !strings.Contains(err.Error(), "pin") {
		t.Errorf("mTLS without a way to verify the agent: %v, want a config error", err)
	}
}

func TestCertificatePin(t *testing.T) {
	a := startAgent(t, Config{})
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	c, err := Dial(ctx, a.addr, ClientConfig{Token: testToken, CertSHA256: a.srv.Fingerprint()})
	if err != nil {
		t.Fatalf("right pin: %v", err)
	}
	c.Close()
	wrong := strings.Repeat("ab", 32)
	if _, err := Dial(ctx, a.addr, ClientConfig{Token: testToken, CertSHA256: wrong}); !errors.Is(err, ErrAuth) {
		t.Errorf("wrong pin: %v, want ErrAuth", err)
	}
}
