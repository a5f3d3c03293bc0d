package agent

import (
	"context"
	"errors"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"
)

func TestHelloWithGoodToken(t *testing.T) {
	a := startAgent(t, Config{Version: "1.2.3"})
	c := dialAgent(t, a, ClientConfig{})
	info := c.Info()
	if info.V != Version || info.Version != "1.2.3" || info.Hostname == "" || info.OS == "" {
		t.Errorf("Info = %+v, want version 1.2.3 with hostname and OS", info)
	}
	if !strings.HasPrefix(info.ObservedSource, "127.0.0.1:") {
		t.Errorf("ObservedSource = %q, want the client's loopback address", info.ObservedSource)
	}
	if info.Bounds.MaxResponders != DefaultBounds().MaxResponders {
		t.Errorf("Bounds = %+v, want defaults", info.Bounds)
	}
	// Several calls in a row reuse the connection with a growing counter.
	for i := range 3 {
		if _, err := c.Hello(context.Background()); err != nil {
			t.Fatalf("Hello #%d: %v", i, err)
		}
	}
}

// TestRefusedAuth: each bad request is refused with 401 and the auth code, promptly.
func TestRefusedAuth(t *testing.T) {
	a := startAgent(t, Config{Bounds: Bounds{AuthFailures: 100}})
	body := []byte(`{"v":1}`)
	cases := []struct {
		name string
		auth func(rc *rawConn) string
	}{
		{"no header", func(*rawConn) string { return "" }},
		{"garbage header", func(*rawConn) string { return "Bearer hunter2" }},
		{"zero counter", func(rc *rawConn) string { return rc.authHeader(0, PathHello, body) }},
		{"short mac", func(*rawConn) string { return "v1 1 AAAA" }},
		{"wrong token", func(rc *rawConn) string {
			k := rc.key
			rc.key = []byte("not the session key at all.....!")
			defer func() { rc.key = k }()
			return rc.authHeader(1, PathHello, body)
		}},
		{"mac over another body", func(rc *rawConn) string { return rc.authHeader(1, PathHello, []byte(`{"v":2}`)) }},
		{"mac over another path", func(rc *rawConn) string { return rc.authHeader(1, PathHostFacts, body) }},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			rc := dialRaw(t, a.addr, testToken)
			status, er, _ := rc.send(PathHello, body, tc.auth(rc))
			if status != http.StatusUnauthorized || er.Error.Code != CodeAuth {
				t.Fatalf("got %d %+v, want 401 %q", status, er, CodeAuth)
			}
			if !strings.Contains(er.Error.Message, "--token-file") {
				t.Errorf("message %q does not say what to check", er.Error.Message)
			}
		})
	}
	if !strings.Contains(a.logs.String(), `"event":"auth_failed"`) {
		t.Errorf("failed attempts not logged with event=auth_failed:\n%s", a.logs)
	}
}

func TestClientWrongToken(t *testing.T) {
	a := startAgent(t, Config{})
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	start := time.Now()
	_, err := Dial(ctx, a.addr, ClientConfig{Token: []byte("this-is-the-wrong-token-xxxxxxxx")})
	if !errors.Is(err, ErrAuth) {
		t.Fatalf("Dial with wrong token: %v, want ErrAuth", err)
	}
	if !strings.Contains(err.Error(), "authentication failed") {
		t.Errorf("error %q does not say authentication failed", err)
	}
	if time.Since(start) > 2*time.Second {
		t.Errorf("refusal took %s; it must be prompt", time.Since(start))
	}
}

func TestReplayRefused(t *testing.T) {
	a := startAgent(t, Config{})
	rc := dialRaw(t, a.addr, testToken)
	body := []byte(`{"v":1}`)
	h1 := rc.authHeader(1, PathHello, body)
	if status, er, _ := rc.send(PathHello, body, h1); status != http.StatusOK {
		t.Fatalf("first request: %d %+v", status, er)
	}
	// The same request again on the same session: the counter did not grow.
	status, er, _ := rc.send(PathHello, body, h1)
	if status != http.StatusUnauthorized || !strings.Contains(er.Error.Message, "replayed") {
		t.Fatalf("replay: %d %+v, want 401 replayed", status, er)
	}
	// A lower counter with a fresh MAC is a replay too.
	h5 := rc.authHeader(5, PathHello, body)
	if status, _, _ := rc.send(PathHello, body, h5); status != http.StatusOK {
		t.Fatalf("counter 5: %d", status)
	}
	if status, _, _ := rc.send(PathHello, body, rc.authHeader(3, PathHello, body)); status != http.StatusUnauthorized {
		t.Fatalf("counter 3 after 5: %d, want 401", status)
	}
}

// TestMITMRelay: a man in the middle terminates TLS toward the client and opens its own
// session toward the agent. The client's MAC, valid on the client's session, is relayed onto
// the other session and must be refused.
func TestMITMRelay(t *testing.T) {
	a := startAgent(t, Config{})
	body := []byte(`{"v":1}`)
	victim := dialRaw(t, a.addr, testToken) // the client's session (token known to the client)
	relayed := victim.authHeader(1, PathHello, body)
	mitm := dialRaw(t, a.addr, nil) // the attacker's own session: no token
	status, er, _ := mitm.send(PathHello, body, relayed)
	if status != http.StatusUnauthorized || er.Error.Code != CodeAuth {
		t.Fatalf("relayed MAC: %d %+v, want 401", status, er)
	}
	// The same MAC is good on the session it was made for: the refusal is the binding.
	if status, _, _ := victim.send(PathHello, body, relayed); status != http.StatusOK {
		t.Fatalf("MAC on its own session: %d, want 200", status)
	}
}

func TestRateLimitAfterFailures(t *testing.T) {
	var mu sync.Mutex
	now := time.Date(2026, 11, 25, 14, 0, 0, 0, time.UTC)
	clock := func() time.Time { mu.Lock(); defer mu.Unlock(); return now }
	a := startAgent(t, Config{Now: clock, Bounds: Bounds{AuthFailures: 3, AuthRefill: 10 * time.Second}})
	body := []byte(`{"v":1}`)
	for i := range 3 {
		rc := dialRaw(t, a.addr, nil)
		if status, _, _ := rc.send(PathHello, body, "v1 1 AAAA"); status != http.StatusUnauthorized {
			t.Fatalf("failure %d: status %d, want 401", i+1, status)
		}
	}
	rc := dialRaw(t, a.addr, nil)
	status, er, _ := rc.send(PathHello, body, "v1 1 AAAA")
	if status != http.StatusTooManyRequests || er.Error.Code != CodeRateLimited {
		t.Fatalf("4th failure: %d %+v, want 429", status, er)
	}
	// The right token is never refused for failures, its source's or anyone's: the
	// coordinator shares its address with a neighbour who typed a wrong token (issue 14,
	// item 7: six bad requests from the coordinator's IP made the agent refuse the coordinator).
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	c, err := Dial(ctx, a.addr, ClientConfig{Token: testToken})
	if err != nil {
		t.Fatalf("good token while its source is limited: %v, want served", err)
	}
	if _, err := c.Hello(ctx); err != nil {
		t.Fatalf("second call with the good token: %v", err)
	}
	c.Close()
	if !strings.Contains(a.logs.String(), `"event":"auth_rate_limited"`) {
		t.Errorf("rate limiting not logged")
	}
	// Failures from that source are still refused: a valid request does not reset the count.
	rc = dialRaw(t, a.addr, nil)
	if status, _, _ := rc.send(PathHello, body, "v1 1 AAAA"); status != http.StatusTooManyRequests {
		t.Fatalf("failure after a good request: %d, want 429", status)
	}
	mu.Lock()
	now = now.Add(11 * time.Second) // one failure forgiven
	mu.Unlock()
	rc = dialRaw(t, a.addr, nil)
	if status, _, _ := rc.send(PathHello, body, "v1 1 AAAA"); status != http.StatusUnauthorized {
		t.Fatalf("failure after the refill: %d, want 401", status)
	}
}

// TestUnsignedAnswerRefused: a peer that answers 200 without the token's signature is not
// the agent, whatever it says.
func TestUnsignedAnswerRefused(t *testing.T) {
	srv := http.Server{Handler: http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		_, _ = w.Write([]byte(`{"v":1,"version":"evil"}`))
	})}
	fake := startAgent(t, Config{}) // only to borrow a certificate
	ln := listenLoopback(t)
	go func() { _ = srv.Serve(tlsListener(ln, fake.srv)) }()
	t.Cleanup(func() { srv.Close() })
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	_, err := Dial(ctx, ln.Addr().String(), ClientConfig{Token: testToken})
	if !errors.Is(err, ErrAuth) || !strings.Contains(err.Error(), "not signed") {
		t.Fatalf("unsigned answer: %v, want ErrAuth not signed", err)
	}
}

func TestTokenFile(t *testing.T) {
	t.Setenv(EnvTokenFile, "")
	if _, err := TokenFile(""); err == nil || !strings.Contains(err.Error(), "--token-file") || !strings.Contains(err.Error(), EnvTokenFile) {
		t.Errorf("no token: %v, want an error naming --token-file and %s", err, EnvTokenFile)
	}
	t.Setenv(EnvTokenFile, "/from/env")
	if p, _ := TokenFile(""); p != "/from/env" {
		t.Errorf("env: %q", p)
	}
	if p, _ := TokenFile("/from/flag"); p != "/from/flag" {
		t.Errorf("flag must win: %q", p)
	}
	dir := t.TempDir()
	if _, err := LoadToken(filepath.Join(dir, "missing")); err == nil || !strings.Contains(err.Error(), "--token-file") {
		t.Errorf("missing file: %v", err)
	}
	short := filepath.Join(dir, "short")
	_ = os.WriteFile(short, []byte("abc\n"), 0o600)
	if _, err := LoadToken(short); err == nil || !strings.Contains(err.Error(), "at least") {
		t.Errorf("short token: %v", err)
	}
	good := filepath.Join(dir, "good")
	_ = os.WriteFile(good, append(append([]byte{}, testToken...), '\n'), 0o600)
	if tok, err := LoadToken(good); err != nil || string(tok) != string(testToken) {
		t.Errorf("good token: %q %v (trailing newline must be dropped)", tok, err)
	}
}

// TestConcurrentCalls: calls beyond MaxConns wait for a connection; every connection keeps its
// own counter, so none is taken for a replay.
func TestConcurrentCalls(t *testing.T) {
	a := startAgent(t, Config{})
	c := dialAgent(t, a, ClientConfig{MaxConns: 2})
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	var wg sync.WaitGroup
	errs := make(chan error, 40)
	for range 40 {
		wg.Go(func() {
			_, err := c.Hello(ctx)
			errs <- err
		})
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		if err != nil {
			t.Fatalf("concurrent Hello: %v", err)
		}
	}
	if strings.Contains(a.logs.String(), "auth_failed") {
		t.Errorf("concurrent calls caused auth failures:\n%s", a.logs)
	}
}

// TestIdleConnectionClosedByAgent: the agent closes idle connections; the next call notices
// the pooled connection is gone and retries once on a fresh one (new session, new key).
func TestIdleConnectionClosedByAgent(t *testing.T) {
	a := startAgent(t, Config{idleTimeout: 100 * time.Millisecond})
	c := dialAgent(t, a, ClientConfig{MaxConns: 1})
	time.Sleep(400 * time.Millisecond) // past the agent's idle timeout
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	if _, err := c.Hello(ctx); err != nil {
		t.Fatalf("Hello after the agent closed the idle connection: %v", err)
	}
}
