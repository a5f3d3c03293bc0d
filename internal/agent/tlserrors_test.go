package agent

import (
	"context"
	"crypto/tls"
	"errors"
	"fmt"
	"io"
	"net"
	"testing"
	"time"
)

// handshakeErr shakes hands over a pipe with the two configurations and returns what the
// client saw: the handshake's error, or the first read's (TLS 1.3 reports a refused client
// certificate there).
func handshakeErr(t *testing.T, server, client *tls.Config) error {
	t.Helper()
	ln := listenLoopback(t)
	done := make(chan struct{})
	t.Cleanup(func() { ln.Close(); <-done })
	go func() {
		defer close(done)
		a, err := ln.Accept()
		if err != nil {
			return
		}
		s := tls.Server(a, server)
		_ = s.SetDeadline(time.Now().Add(5 * time.Second))
		_ = s.Handshake()
		s.Close()
	}()
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	b, err := (&net.Dialer{}).DialContext(ctx, "tcp", ln.Addr().String())
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { b.Close() })
	c := tls.Client(b, client)
	if err := c.HandshakeContext(ctx); err != nil {
		return err
	}
	_ = c.SetReadDeadline(time.Now().Add(5 * time.Second))
	_, err = c.Read(make([]byte, 1))
	return err
}

// TestCertificateFailure: the errors crypto/tls really returns, told by type and alert
// number rather than by their text.
func TestCertificateFailure(t *testing.T) {
	cert, err := SelfSigned()
	if err != nil {
		t.Fatal(err)
	}
	_, clientCert := testCA(t)
	otherPool, _ := testCA(t)
	server := func(f func(*tls.Config)) *tls.Config {
		c := &tls.Config{Certificates: []tls.Certificate{cert}, MinVersion: tls.VersionTLS12}
		if f != nil {
			f(c)
		}
		return c
	}
	for _, tc := range []struct {
		name   string
		server *tls.Config
		client *tls.Config
		want   bool
	}{
		{"the agent's certificate fails the CA", server(nil),
			&tls.Config{RootCAs: otherPool, ServerName: "agent"}, true},
		{"the agent's certificate fails the pin", server(nil),
			&tls.Config{InsecureSkipVerify: true, VerifyConnection: func(tls.ConnectionState) error { return &certRefusal{"does not match the pin"} }}, true},
		{"the agent wants a client certificate (TLS 1.3: certificate required)", server(func(c *tls.Config) { c.ClientAuth = tls.RequireAnyClientCert }),
			&tls.Config{InsecureSkipVerify: true}, true},
		{"the agent refuses the client certificate (TLS 1.2: bad certificate)", server(func(c *tls.Config) {
			c.ClientAuth, c.ClientCAs = tls.RequireAndVerifyClientCert, otherPool
		}), &tls.Config{InsecureSkipVerify: true, MaxVersion: tls.VersionTLS12, Certificates: []tls.Certificate{clientCert}}, true},
		{"another alert: no common version", server(func(c *tls.Config) { c.MinVersion = tls.VersionTLS13 }),
			&tls.Config{InsecureSkipVerify: true, MaxVersion: tls.VersionTLS12}, false},
	} {
		t.Run(tc.name, func(t *testing.T) {
			err := handshakeErr(t, tc.server, tc.client)
			if err == nil {
				t.Fatal("the handshake succeeded")
			}
			if got := certificateFailure(fmt.Errorf("TLS handshake: %w", err)); got != tc.want {
				t.Errorf("certificateFailure(%v) = %v, want %v", err, got, tc.want)
			}
		})
	}
	for _, err := range []error{io.EOF, errors.New("tls: bad certificate"), &net.OpError{Op: "read", Err: errors.New("connection reset")}} {
		if certificateFailure(err) {
			t.Errorf("certificateFailure(%v) = true: no certificate in it, whatever its text", err)
		}
	}
}
