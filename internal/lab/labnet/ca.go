// Package labnet holds the lab's stand-ins for the internet a modernized failback reaches: a
// certificate authority of its own, a DNS server that answers from a rules file, an HTTPS
// responder that answers any name with a certificate of that CA, and an unauthenticated HTTP
// CONNECT proxy. `netprobe-lab serve` runs them inside the lab's namespaces; nothing here
// chooses an address: callers pass listeners and addresses inside namespaces they created (or
// loopback, in tests), so the network safety rule of design/lab.md holds by construction.
package labnet

import (
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/tls"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/pem"
	"errors"
	"fmt"
	"math/big"
	"net"
	"os"
	"time"
)

// certLife is how long the lab's certificates are valid around their creation: a lab lives
// for minutes, and an hour back covers clocks of namespaces (which share the machine's) read a
// moment apart.
const (
	certBefore = time.Hour
	certAfter  = 24 * time.Hour
)

// CA is the lab's certificate authority. Processes that must trust it get its certificate
// through SSL_CERT_FILE (Go and OpenSSL read it); the lab's TLS servers present leaves it
// issues.
type CA struct {
	cert    *x509.Certificate
	key     *ecdsa.PrivateKey
	certPEM []byte
}

// NewCA makes a fresh CA valid around now.
func NewCA(now time.Time) (*CA, error) {
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		return nil, err
	}
	tmpl := &x509.Certificate{
		SerialNumber:          serial(),
		Subject:               pkix.Name{CommonName: "netprobe lab CA", Organization: []string{"netprobe lab"}},
		NotBefore:             now.Add(-certBefore),
		NotAfter:              now.Add(certAfter),
		KeyUsage:              x509.KeyUsageCertSign | x509.KeyUsageDigitalSignature,
		BasicConstraintsValid: true,
		IsCA:                  true,
		MaxPathLenZero:        true,
	}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, tmpl, &key.PublicKey, key)
	if err != nil {
		return nil, err
	}
	cert, err := x509.ParseCertificate(der)
	if err != nil {
		return nil, err
	}
	return &CA{cert: cert, key: key, certPEM: pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: der})}, nil
}

// LoadCA reads a CA that WriteFiles wrote.
func LoadCA(certFile, keyFile string) (*CA, error) {
	certPEM, err := os.ReadFile(certFile)
	if err != nil {
		return nil, err
	}
	keyPEM, err := os.ReadFile(keyFile)
	if err != nil {
		return nil, err
	}
	cb, _ := pem.Decode(certPEM)
	kb, _ := pem.Decode(keyPEM)
	if cb == nil || kb == nil {
		return nil, errors.New("lab CA: no PEM block in the certificate or key file")
	}
	cert, err := x509.ParseCertificate(cb.Bytes)
	if err != nil {
		return nil, fmt.Errorf("lab CA certificate: %w", err)
	}
	key, err := x509.ParseECPrivateKey(kb.Bytes)
	if err != nil {
		return nil, fmt.Errorf("lab CA key: %w", err)
	}
	return &CA{cert: cert, key: key, certPEM: certPEM}, nil
}

// CertPEM is the CA's certificate, for SSL_CERT_FILE.
func (ca *CA) CertPEM() []byte { return ca.certPEM }

// Pool is a pool holding the CA alone.
func (ca *CA) Pool() *x509.CertPool {
	p := x509.NewCertPool()
	p.AddCert(ca.cert)
	return p
}

// WriteFiles writes the CA's certificate and key (mode 0600) for `netprobe-lab serve https`.
func (ca *CA) WriteFiles(certFile, keyFile string) error {
	der, err := x509.MarshalECPrivateKey(ca.key)
	if err != nil {
		return err
	}
	if err := os.WriteFile(certFile, ca.certPEM, 0o644); err != nil {
		return err
	}
	return os.WriteFile(keyFile, pem.EncodeToMemory(&pem.Block{Type: "EC PRIVATE KEY", Bytes: der}), 0o600)
}

// Leaf is a server certificate the CA issued, in both forms its users need.
type Leaf struct {
	TLS             tls.Certificate
	CertPEM, KeyPEM []byte // PKCS #8 key: what Node (Azurite's --key) reads
}

// Issue makes a server certificate for names (DNS names, wildcards such as
// "*.blob.core.windows.net", or IP addresses) valid around now.
func (ca *CA) Issue(names []string, now time.Time) (Leaf, error) {
	if len(names) == 0 {
		return Leaf{}, errors.New("lab CA: a certificate needs a name")
	}
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		return Leaf{}, err
	}
	tmpl := &x509.Certificate{
		SerialNumber: serial(),
		Subject:      pkix.Name{CommonName: names[0], Organization: []string{"netprobe lab"}},
		NotBefore:    now.Add(-certBefore),
		NotAfter:     now.Add(certAfter),
		KeyUsage:     x509.KeyUsageDigitalSignature,
		ExtKeyUsage:  []x509.ExtKeyUsage{x509.ExtKeyUsageServerAuth},
	}
	for _, n := range names {
		if ip := net.ParseIP(n); ip != nil {
			tmpl.IPAddresses = append(tmpl.IPAddresses, ip)
		} else {
			tmpl.DNSNames = append(tmpl.DNSNames, n)
		}
	}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, ca.cert, &key.PublicKey, ca.key)
	if err != nil {
		return Leaf{}, err
	}
	pk, err := x509.MarshalPKCS8PrivateKey(key)
	if err != nil {
		return Leaf{}, err
	}
	leaf := Leaf{
		CertPEM: pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: der}),
		KeyPEM:  pem.EncodeToMemory(&pem.Block{Type: "PRIVATE KEY", Bytes: pk}),
	}
	leaf.TLS, err = tls.X509KeyPair(leaf.CertPEM, leaf.KeyPEM)
	return leaf, err
}

// serial is a random 64-bit certificate serial number.
func serial() *big.Int {
	n, err := rand.Int(rand.Reader, new(big.Int).Lsh(big.NewInt(1), 64))
	if err != nil {
		// crypto/rand does not fail on Linux or Windows (it panics itself when it cannot
		// read); a constant serial would still make a valid certificate.
		return big.NewInt(1)
	}
	return n
}
