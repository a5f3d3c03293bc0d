package agent

import (
	"crypto/x509"
	"encoding/pem"
	"errors"
	"fmt"
	"io/fs"
	"os"
)

// EnsureCertFiles gives an agent a lasting identity: when neither certFile nor keyFile
// exists, it makes a self-signed certificate (SelfSigned) and writes both as PEM, the key
// readable by its owner only; when both exist it leaves them alone. One without the other
// is an error: a half-written identity is not guessed at. A coordinator's --known-agents
// records an agent's certificate once, so an agent that made a new one at every start
// would be refused after every restart.
func EnsureCertFiles(certFile, keyFile string) (created bool, err error) {
	certErr, keyErr := exists(certFile), exists(keyFile)
	switch {
	case certErr == nil && keyErr == nil:
		return false, nil
	case certErr == nil || keyErr == nil:
		return false, fmt.Errorf("only one of %s and %s exists: remove it to make a new certificate, or restore the other", certFile, keyFile)
	case !errors.Is(certErr, fs.ErrNotExist):
		return false, certErr
	case !errors.Is(keyErr, fs.ErrNotExist):
		return false, keyErr
	}
	cert, err := SelfSigned()
	if err != nil {
		return false, err
	}
	der, err := x509.MarshalPKCS8PrivateKey(cert.PrivateKey)
	if err != nil {
		return false, fmt.Errorf("encode agent key: %w", err)
	}
	// The key first, created exclusively: two agents started at once cannot mix halves.
	if err := writeNew(keyFile, 0o600, pem.EncodeToMemory(&pem.Block{Type: "PRIVATE KEY", Bytes: der})); err != nil {
		return false, err
	}
	if err := writeNew(certFile, 0o644, pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: cert.Certificate[0]})); err != nil {
		_ = os.Remove(keyFile) // a key without its certificate would block the next start
		return false, err
	}
	return true, nil
}

func exists(path string) error {
	_, err := os.Stat(path)
	return err
}

func writeNew(path string, mode os.FileMode, data []byte) error {
	f, err := os.OpenFile(path, os.O_WRONLY|os.O_CREATE|os.O_EXCL, mode)
	if err != nil {
		return err
	}
	_, err = f.Write(data)
	if cerr := f.Close(); err == nil {
		err = cerr
	}
	if err != nil {
		_ = os.Remove(path)
	}
	return err
}
