package agent

import (
	"bytes"
	"crypto/hmac"
	"crypto/sha256"
	"crypto/tls"
	"encoding/base64"
	"encoding/binary"
	"errors"
	"fmt"
	"os"
	"strconv"
	"strings"
	"sync"
)

// How the token is bound to the TLS session. Both sides derive a session key from the token and
// an RFC 5705 / RFC 8446 exporter value of their own TLS session; each request is MACed with it.
// The token never crosses the wire, and a man in the middle, who necessarily holds two different
// TLS sessions (one with each side), cannot relay a MAC from one onto the other.
const (
	exporterLabel = "EXPORTER-netprobe-auth"
	exporterLen   = 32

	// HeaderAuth carries "v1 <counter> <base64 mac>" on every request.
	HeaderAuth = "Netprobe-Auth"
	// HeaderServerAuth carries the agent's MAC over its answer, so the client knows it talks to
	// an agent holding the same token even when the agent's certificate is self-signed.
	HeaderServerAuth = "Netprobe-Server-Auth"

	// EnvTokenFile names the environment variable that may point at the token file.
	EnvTokenFile = "NETPROBE_TOKEN_FILE"

	// minTokenLen: 16 bytes is 128 bits when random, the floor for a MAC key (RFC 2104 §3 asks
	// for at least the hash output length; we accept less but not a password-sized guessable one).
	minTokenLen = 16
)

// TokenFile returns the token file to use: the flag's value, else $NETPROBE_TOKEN_FILE. The token
// itself is never accepted on the command line, where ps and shell history would show it.
func TokenFile(flagValue string) (string, error) {
	if flagValue != "" {
		return flagValue, nil
	}
	if p := os.Getenv(EnvTokenFile); p != "" {
		return p, nil
	}
	return "", fmt.Errorf("no token: give --token-file FILE or set %s=FILE (the same token file on the agent and the coordinator; create one with: openssl rand -hex 32 > netprobe.token)", EnvTokenFile)
}

// LoadToken reads a token file. Surrounding whitespace (a trailing newline from an editor) is
// dropped; the rest is the token. A file others can read is refused (checkTokenPerm), with
// the command that fixes it.
func LoadToken(path string) ([]byte, error) {
	if err := checkTokenPerm(path); err != nil {
		return nil, fmt.Errorf("%w (--token-file or %s)", err, EnvTokenFile)
	}
	data, err := os.ReadFile(path)
	if err != nil {
		return nil, fmt.Errorf("read token file (--token-file or %s): %w", EnvTokenFile, err)
	}
	tok := bytes.TrimSpace(data)
	if len(tok) < minTokenLen {
		return nil, fmt.Errorf("token file %s holds %d bytes; use at least %d random bytes, e.g. openssl rand -hex 32 > %s", path, len(tok), minTokenLen, path)
	}
	return tok, nil
}

// sessionKey derives the per-TLS-session key: HMAC-SHA256(token, exporter).
func sessionKey(token []byte, cs *tls.ConnectionState) ([]byte, error) {
	if cs == nil {
		return nil, errors.New("not a TLS connection")
	}
	ekm, err := cs.ExportKeyingMaterial(exporterLabel, nil, exporterLen)
	if err != nil {
		return nil, fmt.Errorf("tls exporter: %w", err)
	}
	m := hmac.New(sha256.New, token)
	m.Write(ekm)
	return m.Sum(nil), nil
}

// requestMAC authenticates one request: its counter, method, path and body.
func requestMAC(key []byte, counter uint64, method, path string, body []byte) []byte {
	m := hmac.New(sha256.New, key)
	m.Write([]byte("netprobe-request\x00"))
	m.Write(binary.BigEndian.AppendUint64(nil, counter))
	m.Write([]byte(method + "\x00" + path + "\x00"))
	h := sha256.Sum256(body)
	m.Write(h[:])
	return m.Sum(nil)
}

// responseMAC authenticates the agent's answer to the request with this counter.
func responseMAC(key []byte, counter uint64, status int, body []byte) []byte {
	m := hmac.New(sha256.New, key)
	m.Write([]byte("netprobe-response\x00"))
	m.Write(binary.BigEndian.AppendUint64(nil, counter))
	m.Write(binary.BigEndian.AppendUint16(nil, uint16(status)))
	h := sha256.Sum256(body)
	m.Write(h[:])
	return m.Sum(nil)
}

func formatAuth(counter uint64, mac []byte) string {
	return "v1 " + strconv.FormatUint(counter, 10) + " " + base64.RawStdEncoding.EncodeToString(mac)
}

// parseAuth parses a HeaderAuth value.
func parseAuth(v string) (counter uint64, mac []byte, err error) {
	f := strings.Fields(v)
	if len(f) != 3 || f[0] != "v1" {
		return 0, nil, errors.New("malformed " + HeaderAuth + " header")
	}
	counter, err = strconv.ParseUint(f[1], 10, 64)
	if err != nil || counter == 0 {
		return 0, nil, errors.New("malformed " + HeaderAuth + " counter")
	}
	mac, err = base64.RawStdEncoding.DecodeString(f[2])
	if err != nil || len(mac) != sha256.Size {
		return 0, nil, errors.New("malformed " + HeaderAuth + " mac")
	}
	return counter, mac, nil
}

// session is the server's state for one TLS connection: the derived key and the highest counter
// accepted on it. A counter must grow strictly, so a request replayed on its own connection is
// refused; on any other connection its MAC does not verify.
type session struct {
	mu   sync.Mutex // guards key, last
	key  []byte
	last uint64
}

// accept checks a request's counter against replay and records it. Call after the MAC verified.
func (s *session) accept(counter uint64) bool {
	s.mu.Lock()
	defer s.mu.Unlock()
	if counter <= s.last {
		return false
	}
	s.last = counter
	return true
}

func (s *session) keyFor(token []byte, cs *tls.ConnectionState) ([]byte, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.key == nil {
		k, err := sessionKey(token, cs)
		if err != nil {
			return nil, err
		}
		s.key = k
	}
	return s.key, nil
}
