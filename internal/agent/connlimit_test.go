package agent

import (
	"context"
	"errors"
	"net"
	"strings"
	"testing"
	"time"
)

// dialFrom opens a plain TCP connection to addr from the loopback address src.
func dialFrom(t *testing.T, src, addr string) net.Conn {
	t.Helper()
	d := net.Dialer{LocalAddr: &net.TCPAddr{IP: net.ParseIP(src)}, Timeout: 2 * time.Second}
	c, err := d.Dial("tcp", addr)
	if err != nil {
		t.Fatalf("dial from %s: %v", src, err)
	}
	t.Cleanup(func() { c.Close() })
	return c
}

// closedByAgent reports whether the agent closed c at once (a read ends with EOF or reset
// rather than waiting for a TLS ClientHello that never comes).
func closedByAgent(c net.Conn) bool {
	_ = c.SetReadDeadline(time.Now().Add(500 * time.Millisecond))
	_, err := c.Read(make([]byte, 1))
	var ne net.Error
	return err != nil && !(errors.As(err, &ne) && ne.Timeout())
}

// TestConnectionCaps: control connections are capped per source and in total; the one over a
// cap is closed at once and logged, and the others - another source's coordinator among them
// - are served (issue 14, item 8: 2,000 idle TLS connections held 121 MB and locked new
// clients out).
func TestConnectionCaps(t *testing.T) {
	a := startAgent(t, Config{Bounds: Bounds{MaxConns: 5, MaxConnsPerSource: 2}})
	// A flood from 127.0.0.2: two connections sending nothing are kept, the third is not.
	f1, f2 := dialFrom(t, "127.0.0.2", a.addr), dialFrom(t, "127.0.0.2", a.addr)
	if f3 := dialFrom(t, "127.0.0.2", a.addr); !closedByAgent(f3) {
		t.Error("a third connection from one source was kept over a per-source cap of 2")
	}
	if closedByAgent(f1) || closedByAgent(f2) {
		t.Error("connections within the cap were closed")
	}
	// The coordinator, from another source, is served meanwhile.
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	c := dialAgent(t, a, ClientConfig{})
	if _, err := c.Hello(ctx); err != nil {
		t.Fatalf("a client from another source while one source is at its cap: %v", err)
	}
	// Fill the total: 2 (flood) + 1 (client) + 2 more; the next from anywhere is refused.
	dialFrom(t, "127.0.0.3", a.addr)
	dialFrom(t, "127.0.0.3", a.addr)
	time.Sleep(50 * time.Millisecond) // let the agent account for them
	if over := dialFrom(t, "127.0.0.4", a.addr); !closedByAgent(over) {
		t.Error("a connection over the total cap of 5 was kept")
	}
	logs := a.logs.String()
	for _, want := range []string{`"event":"conn_limited"`, `"scope":"source"`, `"scope":"total"`, `"remote":"127.0.0.2"`} {
		if !strings.Contains(logs, want) {
			t.Errorf("log lacks %s:\n%s", want, logs)
		}
	}
	// A slot comes back when its connection closes.
	f1.Close()
	time.Sleep(50 * time.Millisecond)
	if again := dialFrom(t, "127.0.0.2", a.addr); closedByAgent(again) {
		t.Error("a closed connection's slot was not given back")
	}
}
