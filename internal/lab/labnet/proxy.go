package labnet

import (
	"context"
	"io"
	"log"
	"net"
	"net/http"
	"sync"
	"time"
)

// Proxy is an unauthenticated HTTP proxy that tunnels CONNECT requests and refuses anything
// else (405), which is what ASR's replication appliance supports ("Only HTTP proxy is
// supported", no authentication: asr-modernized.md 2.7). It resolves the names it is asked
// for itself, as a corporate proxy does.
type Proxy struct {
	// Dial opens the tunnel's far end; nil is a net.Dialer (the process's resolver).
	Dial func(ctx context.Context, network, address string) (net.Conn, error)

	mu    sync.Mutex // guards conns
	conns map[net.Conn]struct{}
	wg    sync.WaitGroup
}

// dialTimeout bounds connecting to a tunnel's far end, as a proxy's connect timeout does.
const dialTimeout = 10 * time.Second

// Serve proxies on ln until ctx ends; then it closes the tunnels still open.
func (p *Proxy) Serve(ctx context.Context, ln net.Listener) error {
	srv := &http.Server{Handler: http.HandlerFunc(p.connect), ReadHeaderTimeout: 10 * time.Second, ErrorLog: discardLog()}
	err := serveUntil(ctx, srv, func() error { return srv.Serve(ln) })
	p.mu.Lock()
	for c := range p.conns {
		_ = c.Close()
	}
	p.mu.Unlock()
	p.wg.Wait()
	return err
}

func (p *Proxy) connect(w http.ResponseWriter, r *http.Request) {
	if r.Method != http.MethodConnect {
		http.Error(w, "this proxy only tunnels CONNECT", http.StatusMethodNotAllowed)
		return
	}
	ctx, cancel := context.WithTimeout(r.Context(), dialTimeout)
	up, err := p.dial(ctx, r.Host)
	cancel()
	if err != nil {
		http.Error(w, "cannot connect to "+r.Host+": "+err.Error(), http.StatusBadGateway)
		return
	}
	hj, ok := w.(http.Hijacker)
	if !ok {
		up.Close()
		http.Error(w, "cannot tunnel on this connection", http.StatusInternalServerError)
		return
	}
	down, buf, err := hj.Hijack()
	if err != nil {
		up.Close()
		return
	}
	if _, err := io.WriteString(down, "HTTP/1.1 200 Connection established\r\n\r\n"); err != nil {
		up.Close()
		down.Close()
		return
	}
	p.track(up, down)
	p.wg.Go(func() {
		defer p.untrack(up, down)
		done := make(chan struct{})
		go func() {
			// What the client sent after CONNECT may already sit in buf.
			_, _ = io.Copy(up, buf.Reader)
			close(done)
		}()
		_, _ = io.Copy(down, up)
		// One direction ended: close both, so the other copy ends too.
		up.Close()
		down.Close()
		<-done
	})
}

func (p *Proxy) dial(ctx context.Context, addr string) (net.Conn, error) {
	if p.Dial != nil {
		return p.Dial(ctx, "tcp", addr)
	}
	var d net.Dialer
	return d.DialContext(ctx, "tcp", addr)
}

func (p *Proxy) track(cs ...net.Conn) {
	p.mu.Lock()
	defer p.mu.Unlock()
	if p.conns == nil {
		p.conns = map[net.Conn]struct{}{}
	}
	for _, c := range cs {
		p.conns[c] = struct{}{}
	}
}

func (p *Proxy) untrack(cs ...net.Conn) {
	p.mu.Lock()
	defer p.mu.Unlock()
	for _, c := range cs {
		delete(p.conns, c)
	}
}

// discardLog keeps net/http's connection-level complaints (a client that only connected)
// out of the servers' output, which a failing test prints.
func discardLog() *log.Logger { return log.New(io.Discard, "", 0) }
