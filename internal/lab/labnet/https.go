package labnet

import (
	"context"
	"crypto/tls"
	"errors"
	"fmt"
	"net"
	"net/http"
	"strings"
	"sync"
	"time"
)

// Responder answers HTTPS for any name, standing in for Azure's service front ends (and for a
// private endpoint): the handshake presents a certificate the CA issues for the name the client
// asked for (SNI; the address it connected to without one), and every request gets 200 with a
// line naming the host, dated as any HTTP server's answer is.
type Responder struct {
	CA *CA
	// Now reads the clock for the certificates; nil is time.Now.
	Now func() time.Time

	mu    sync.Mutex // guards certs
	certs map[string]*tls.Certificate
}

func (r *Responder) now() time.Time {
	if r.Now != nil {
		return r.Now()
	}
	return time.Now()
}

// certificate issues (once per name) the certificate for a handshake.
func (r *Responder) certificate(hello *tls.ClientHelloInfo) (*tls.Certificate, error) {
	name := strings.ToLower(hello.ServerName)
	if name == "" {
		host, _, err := net.SplitHostPort(hello.Conn.LocalAddr().String())
		if err != nil {
			return nil, err
		}
		name = host
	}
	r.mu.Lock()
	defer r.mu.Unlock()
	if c := r.certs[name]; c != nil {
		return c, nil
	}
	leaf, err := r.CA.Issue([]string{name}, r.now())
	if err != nil {
		return nil, err
	}
	if r.certs == nil {
		r.certs = map[string]*tls.Certificate{}
	}
	r.certs[name] = &leaf.TLS
	return &leaf.TLS, nil
}

// Serve answers on ln until ctx ends.
func (r *Responder) Serve(ctx context.Context, ln net.Listener) error {
	srv := &http.Server{
		Handler: http.HandlerFunc(func(w http.ResponseWriter, req *http.Request) {
			w.Header().Set("Content-Type", "text/plain; charset=utf-8")
			fmt.Fprintf(w, "netprobe lab: %s answers\n", req.Host)
		}),
		TLSConfig:         &tls.Config{GetCertificate: r.certificate, MinVersion: tls.VersionTLS12},
		ReadHeaderTimeout: 10 * time.Second,
		// Handshake failures (a probe that only connects) are the clients' business.
		ErrorLog: discardLog(),
	}
	return serveUntil(ctx, srv, func() error { return srv.ServeTLS(ln, "", "") })
}

// serveUntil runs serve until it fails or ctx ends, then closes srv.
func serveUntil(ctx context.Context, srv *http.Server, serve func() error) error {
	errc := make(chan error, 1)
	go func() { errc <- serve() }()
	select {
	case err := <-errc:
		return err
	case <-ctx.Done():
		err := srv.Close()
		if serr := <-errc; !errors.Is(serr, http.ErrServerClosed) {
			err = errors.Join(err, serr)
		}
		return err
	}
}
