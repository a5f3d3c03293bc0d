package agent

import (
	"bufio"
	"bytes"
	"context"
	"crypto/tls"
	"encoding/json"
	"io"
	"log/slog"
	"net"
	"net/http"
	"sync"
	"testing"
	"time"
)

var testToken = []byte("0123456789abcdef0123456789abcdef")

// testAgent is an agent serving on 127.0.0.1:0, stopped in t.Cleanup.
type testAgent struct {
	srv  *Server
	addr string
	logs *syncBuffer
}

type syncBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (s *syncBuffer) Write(p []byte) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.Write(p)
}

func (s *syncBuffer) String() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.String()
}

func startAgent(t *testing.T, cfg Config) *testAgent {
	t.Helper()
	if cfg.Token == nil && cfg.ClientCAs == nil {
		cfg.Token = testToken
	}
	if cfg.ResponderHost == "" {
		cfg.ResponderHost = "127.0.0.1" // tests never listen beyond loopback
	}
	logs := &syncBuffer{}
	cfg.Logger = slog.New(slog.NewJSONHandler(logs, &slog.HandlerOptions{Level: slog.LevelInfo}))
	if cfg.ShutdownGrace == 0 {
		cfg.ShutdownGrace = time.Second
	}
	srv, err := NewServer(cfg)
	if err != nil {
		t.Fatal(err)
	}
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- srv.Serve(ctx, ln) }()
	t.Cleanup(func() {
		cancel()
		select {
		case err := <-done:
			if err != nil {
				t.Errorf("Serve: %v", err)
			}
		case <-time.After(10 * time.Second):
			t.Error("Serve did not return after cancel")
		}
	})
	return &testAgent{srv: srv, addr: ln.Addr().String(), logs: logs}
}

func dialAgent(t *testing.T, a *testAgent, cfg ClientConfig) *Client {
	t.Helper()
	if cfg.Token == nil {
		cfg.Token = testToken
	}
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	c, err := Dial(ctx, a.addr, cfg)
	if err != nil {
		t.Fatalf("Dial: %v", err)
	}
	t.Cleanup(func() { c.Close() })
	return c
}

// rawConn is a hand-driven TLS connection to an agent, for sending what a Client never would.
type rawConn struct {
	t   *testing.T
	tc  *tls.Conn
	br  *bufio.Reader
	key []byte
}

func dialRaw(t *testing.T, addr string, token []byte) *rawConn {
	t.Helper()
	tc, err := tls.Dial("tcp", addr, &tls.Config{InsecureSkipVerify: true, MinVersion: tls.VersionTLS13})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { tc.Close() })
	_ = tc.SetDeadline(time.Now().Add(5 * time.Second)) // a refused request must never hang
	rc := &rawConn{t: t, tc: tc, br: bufio.NewReader(tc)}
	if token != nil {
		cs := tc.ConnectionState()
		rc.key, err = sessionKey(token, &cs)
		if err != nil {
			t.Fatal(err)
		}
	}
	return rc
}

// authHeader is a valid auth header for this connection's session.
func (rc *rawConn) authHeader(counter uint64, path string, body []byte) string {
	return formatAuth(counter, requestMAC(rc.key, counter, http.MethodPost, path, body))
}

// send writes one request with the given auth header ("" for none) and returns status and
// decoded error body (if any).
func (rc *rawConn) send(path string, body []byte, auth string) (int, ErrorResponse, []byte) {
	rc.t.Helper()
	req, _ := http.NewRequest(http.MethodPost, "https://agent"+path, bytes.NewReader(body))
	if auth != "" {
		req.Header.Set(HeaderAuth, auth)
	}
	if err := req.Write(rc.tc); err != nil {
		rc.t.Fatalf("write: %v", err)
	}
	resp, err := http.ReadResponse(rc.br, req)
	if err != nil {
		rc.t.Fatalf("read answer: %v", err)
	}
	data, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	var er ErrorResponse
	_ = json.Unmarshal(data, &er)
	return resp.StatusCode, er, data
}

func listenLoopback(t *testing.T) net.Listener {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { ln.Close() })
	return ln
}

func tlsListener(ln net.Listener, s *Server) net.Listener { return tls.NewListener(ln, s.tlsConf) }
